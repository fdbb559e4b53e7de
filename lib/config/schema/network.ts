import { z } from 'zod';
import { int, logRetentionDays } from './common';

/**
 * The interface endpoints `network.interfaceEndpoints` may name: the AWS APIs the tasks and the stacks'
 * functions call, by the suffix of their service name (com.amazonaws.<region>.<suffix>).
 */
export const INTERFACE_ENDPOINT_SERVICES = ['sqs', 'ecr.api', 'ecr.dkr', 'logs', 'secretsmanager', 'sts', 'monitoring'] as const;
export type InterfaceEndpointService = (typeof INTERFACE_ENDPOINT_SERVICES)[number];

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
  interfaceEndpoints: z.array(z.enum(INTERFACE_ENDPOINT_SERVICES))
    .describe('Interface VPC endpoints (AWS PrivateLink) in the `App` subnets, so that the tasks reach these AWS APIs inside the VPC instead of through the NAT gateways: `sqs` (jobs), `ecr.api` and `ecr.dkr` (image pulls, both needed; layers come through the S3 gateway endpoint), `logs` (container logs), `secretsmanager` (database and registry secrets), `sts`, `monitoring` (CloudWatch metrics). Each has private DNS, a policy admitting only this account\'s principals to this account\'s resources (and the accounts of configured ECR images and registry secrets), and a security group open on 443 to the VPC only. Billed per endpoint per zone-hour (docs/security.md lists the cost); [] for none.'),
  taskEgress: z.enum(['internet', 'vpcEndpoints'])
    .describe('Outbound HTTPS of the API, HTTP-service and worker tasks. `internet`: 443 to 0.0.0.0/0 through the NAT gateways (images from any registry, any HTTPS API). `vpcEndpoints`: no 0.0.0.0/0 rule; 443 only to the VPC\'s CIDR (the interface endpoints) and to S3\'s AWS-managed prefix list (ECR image layers through the gateway endpoint; its id is read at deploy time). Requires `sqs`, `ecr.api`, `ecr.dkr`, `logs` and `secretsmanager` in `interfaceEndpoints`, and every image built here or pulled from ECR in `region`. The data tier\'s ports are opened either way.'),
}).describe('The VPC: public subnets (NAT), `App` private subnets with egress (tasks), `Data` isolated subnets (database, cache).');

export type NetworkConfig = z.infer<typeof networkSchema>;
