import { RDSClient } from '@aws-sdk/client-rds';
import { isComplete as checkComplete, onEvent as startEvent, type CleanupEvent, type IsCompleteResult, type Log, type OnEventResult } from './cleanup';

/**
 * Handlers of the AuroraReaderCleanup custom resource (CDK Provider framework): `onEvent` for every
 * lifecycle event, `isComplete` polled by the framework's waiter until the autoscaled readers are gone.
 * The logic lives in ./cleanup.ts; this file only builds the client and the logger.
 */
const rds = new RDSClient({});

// One JSON object per line, so Logs Insights can filter on `cluster` and `instance`.
const log: Log = (message, fields = {}) => console.log(JSON.stringify({ message, ...fields }));

export const onEvent = (event: CleanupEvent): Promise<OnEventResult> => startEvent(event, rds, log);

export const isComplete = (event: CleanupEvent): Promise<IsCompleteResult> => checkComplete(event, rds, log);
