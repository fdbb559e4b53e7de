import { z } from 'zod';

export const statefulSchema = z.strictObject({
  removalPolicy: z.enum(['destroy', 'snapshot', 'retain'])
    .describe('What happens to the database, cache and queues when the Data stack is deleted or a resource is replaced: `destroy` (not in production), `snapshot` (database and cache keep a final snapshot; queues, keys, secrets and logs are retained) or `retain`.'),
  terminationProtection: z.boolean()
    .describe('CloudFormation termination protection on the Data stack (on in production).'),
}).describe('What protects the data of the stateful (Data) stack.');

export type StatefulConfig = z.infer<typeof statefulSchema>;
