import { z } from 'zod';
import { int } from './common';

/** An IPv4 CIDR such as 203.0.113.0/24 (0.0.0.0/0 for anyone). */
const ipv4Cidr = z.string().regex(/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/([0-9]|[12]\d|3[0-2])$/, 'an IPv4 CIDR such as "203.0.113.0/24" or "0.0.0.0/0"');

/**
 * The opt-in Network Load Balancer beside the ALB (lib/constructs/network-load-balancer.ts): the same API
 * tasks behind a TLS listener, for clients that need source-IP affinity or a layer-4 path (TCP, gRPC over
 * TLS without ALB's HTTP processing). A top-level key of its own: the ALB and its routes keep theirs.
 */
export const nlbSchema = z.strictObject({
  enabled: z.boolean()
    .describe('A Network Load Balancer beside the ALB, in the public subnets, forwarding TLS-terminated TCP to the same API tasks (a second target group of the service). It sees TCP, not HTTP: WAF, `alb.blockedPaths` and the HSTS header do not apply on this path. Off by default: it costs an hour charge and NLCUs of its own. docs/scaling.md compares what ALB and NLB can do.'),
  certificateArn: z.string().regex(/^(arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]+)?$/, 'an ACM certificate ARN, or ""')
    .describe('ACM certificate in `region` for the TLS listener (for the name clients use for the NLB: its own DNS name is *.elb.amazonaws.com). Required when `enabled`; TLS 1.3 and 1.2 with post-quantum key exchange, the ALB\'s policy.'),
  listenerPort: int(1, 65535)
    .describe('Port of the TLS listener (443 usually; another port if clients reach the NLB under the ALB\'s name through another record).'),
  allowedCidrs: z.array(ipv4Cidr).min(1).max(50)
    .describe('IPv4 ranges allowed to connect to the listener port (the NLB\'s security group); ["0.0.0.0/0"] for anyone. Narrow it when the clients are known (partners, offices): nothing else reaches the NLB.'),
  stickiness: z.boolean()
    .describe('Source-IP affinity: connections from one client address go to the same task while it stays healthy and registered (target group attribute stickiness.type = source_ip). Clients behind one NAT share an address, and so a task.'),
  deregistrationDelaySeconds: int(0, 3600)
    .describe('How long a deregistering task keeps its open connections before the NLB closes them (s); long-lived TCP or gRPC streams need it above their usual length.'),
}).describe('An opt-in Network Load Balancer beside the ALB, with source-IP stickiness and a TLS listener, over the same API tasks.');

export type NlbConfig = z.infer<typeof nlbSchema>;

/**
 * The least LCU reservation an Application Load Balancer accepts: "The total reservation request must be at
 * least 100 LCU" (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/capacity-unit-reservation.html).
 */
export const MIN_ALB_LCU_RESERVATION = 100;

/** `alb.minimumCapacityUnits`, kept here so that the ALB's schema gains one line for it. */
export const albMinimumCapacityUnitsSchema = int(0, 1_000_000)
  .describe(`LCU reservation: the ALB's minimum capacity in load balancer capacity units, held whatever the traffic (CloudFormation MinimumLoadBalancerCapacity.CapacityUnits), for a known peak that would outgrow the ALB's own scaling (it roughly doubles in minutes). 0 for none, else ${MIN_ALB_LCU_RESERVATION} or more. Billed per reserved LCU-hour while set. Needs the account's Service Quotas "Reserved Application Load Balancer Capacity Units (LCU) per Region" (elasticloadbalancing L-8A66D0E6), which is 0 by default: \`npm run preflight\` checks it.`);
