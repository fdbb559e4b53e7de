import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { RDSClient } from '@aws-sdk/client-rds';
import { onEvent as handle, type Log, type OnEventResult, type ProtectionEvent } from './protection';

/**
 * Handler of the AuroraDeletionProtection custom resource (CDK Provider framework, onEvent only). The logic
 * lives in ./protection.ts; this file only builds the clients and the logger.
 */
const clients = { rds: new RDSClient({}), cloudFormation: new CloudFormationClient({}) };

// One JSON object per line, so Logs Insights can filter on `cluster` and `status`.
const log: Log = (message, fields = {}) => console.log(JSON.stringify({ message, ...fields }));

export const onEvent = (event: ProtectionEvent): Promise<OnEventResult> => handle(event, clients, log);
