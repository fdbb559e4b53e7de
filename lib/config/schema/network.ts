import { z } from 'zod';
import { int, logRetentionDays } from './common';

export const networkSchema = z.strictObject({
  cidr: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/(1[6-9]|2[0-8])$/, 'an IPv4 CIDR with a /16 to /28 mask')
    .describe('IPv4 CIDR of the VPC (/16 to /28).'),
  availabilityZones: z.array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/, 'an AZ name such as us-east-1a')).min(1).max(6)
    .describe('Availability zones, named explicitly so that synth needs no account lookup; the first `maxAzs` are used. They must belong to `region`.'),
  maxAzs: int(1, 6)
    .describe('How many of `availabilityZones` the VPC spans (at least 2: the load balancer and the Aurora subnet group need two zones).'),
  natGateways: int(1, 6)
    .describe('NAT gateways: one per zone for zone-independent egress; fewer to save cost outside production.'),
  flowLogRetentionDays: logRetentionDays
    .describe('Retention of the VPC flow logs in CloudWatch Logs (days; 365 or more in production).'),
}).describe('The VPC: public subnets (NAT), `App` private subnets with egress (tasks), `Data` isolated subnets (database, cache).');

export type NetworkConfig = z.infer<typeof networkSchema>;
