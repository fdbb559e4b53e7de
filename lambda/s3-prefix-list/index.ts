import { EC2Client } from '@aws-sdk/client-ec2';
import { onEvent as handle, type LookupEvent, type LookupResult } from './lookup';

/** Handler of the S3PrefixList custom resource (CDK Provider framework, onEvent only); logic in ./lookup.ts. */
const ec2 = new EC2Client({});

export const onEvent = (event: LookupEvent): Promise<LookupResult> => handle(event, ec2);
