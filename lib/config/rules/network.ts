import { parseEcrImage } from '../schema/compute';
import { collector, type Config, type Problem } from './problem';

/**
 * The VPC: at least two zones, all of them in the region, listed once; a NAT gateway per zone at most; the
 * interface endpoints listed once, ECR's two together.
 */
export function checkNetwork(cfg: Config): Problem[] {
  const { problems, add } = collector();
  const n = cfg.network;
  add(n.maxAzs < 2, 'network.maxAzs', [],
    `is below 2; the load balancer and the Aurora subnet group need subnets in two zones${cfg.production ? ', and a production service must survive the loss of one' : ''}`,
    'set network.maxAzs to 2 or more (3 recommended for production)');
  add(n.maxAzs > n.availabilityZones.length, 'network.maxAzs', ['network.availabilityZones'],
    `asks for more zones than network.availabilityZones lists (${n.availabilityZones.length})`,
    `list at least ${n.maxAzs} zones of ${cfg.region} in network.availabilityZones, or lower network.maxAzs`);
  add(n.natGateways > n.maxAzs, 'network.natGateways', ['network.maxAzs'],
    `exceeds network.maxAzs (${n.maxAzs}); a NAT gateway lives in one zone's public subnet`,
    `lower it to at most ${n.maxAzs}`);
  const foreign = n.availabilityZones.filter((az) => az.slice(0, -1) !== cfg.region);
  add(foreign.length > 0, 'network.availabilityZones', ['region'],
    `has zones outside region ${cfg.region}: ${foreign.join(', ')}`,
    `use zones of ${cfg.region} (such as ${cfg.region}a), or change region`);
  add(new Set(n.availabilityZones).size !== n.availabilityZones.length, 'network.availabilityZones', [],
    'lists a zone twice', 'list each zone once');
  add(new Set(n.interfaceEndpoints).size !== n.interfaceEndpoints.length, 'network.interfaceEndpoints', [],
    'lists an endpoint twice', 'list each endpoint once');
  // A Fargate image pull calls both: ecr.api for the authorization token and the manifest, ecr.dkr for the
  // Docker registry API (https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html). With
  // only one, private DNS sends that one inside the VPC and the other still through NAT: nothing is saved.
  const ecr = (['ecr.api', 'ecr.dkr'] as const).filter((e) => n.interfaceEndpoints.includes(e));
  add(ecr.length === 1, 'network.interfaceEndpoints', [],
    `has ${ecr[0]} without ${ecr[0] === 'ecr.api' ? 'ecr.dkr' : 'ecr.api'}; a Fargate image pull calls both, so one alone still pulls through the NAT gateways`,
    `add "${ecr[0] === 'ecr.api' ? 'ecr.dkr' : 'ecr.api'}", or remove "${ecr[0]}"`);
  if (n.taskEgress === 'vpcEndpoints') checkVpcEndpointsEgress(cfg, add);
  return problems;
}

/**
 * The endpoints the tasks cannot do without once they have no route out (lib/constructs/task-egress.ts):
 * `sqs` (the API sends jobs, the worker receives them), `ecr.api` and `ecr.dkr` (the image pull), `logs` (the
 * awslogs driver), `secretsmanager` (the database password, registry credentials). The workload calls no
 * other AWS API: it signs IAM tokens for RDS and ElastiCache locally and emits its metrics as EMF log
 * lines, so `sts` and `monitoring` stay optional.
 */
export const TASK_ENDPOINTS = ['sqs', 'ecr.api', 'ecr.dkr', 'logs', 'secretsmanager'] as const;

function checkVpcEndpointsEgress(cfg: Config, add: ReturnType<typeof collector>['add']): void {
  const n = cfg.network;
  const missing = TASK_ENDPOINTS.filter((e) => !n.interfaceEndpoints.includes(e));
  add(missing.length > 0, 'network.taskEgress', ['network.interfaceEndpoints'],
    `is "vpcEndpoints", but network.interfaceEndpoints lacks ${missing.map((e) => `"${e}"`).join(', ')}; without a route out the tasks reach AWS only through these endpoints, so ${missing.join(', ')} calls would time out`,
    `add ${missing.map((e) => `"${e}"`).join(', ')} to network.interfaceEndpoints, or set network.taskEgress to "internet"`);
  // ECR's endpoints and S3's gateway endpoint reach this region only, and no other registry has an endpoint.
  const tasks: Array<readonly [string, { image: { uri: string } }]> = [['api', cfg.api], ['worker', cfg.worker], ...cfg.services.map((s, i) => [`services.${i}`, s] as const)];
  for (const [svc, { image: { uri } }] of tasks) {
    if (uri === '') continue;
    const ecr = parseEcrImage(uri);
    add(ecr?.region !== cfg.region, `${svc}.image.uri`, ['network.taskEgress', 'region'],
      `${ecr ? `is in Amazon ECR of ${ecr.region}, not of region ${cfg.region}` : 'is not in Amazon ECR'}, and network.taskEgress "vpcEndpoints" leaves the tasks no route to it: they pull only through the ECR endpoints and S3 gateway endpoint of ${cfg.region}`,
      `copy the image into an ECR repository of ${cfg.region} (or build it from ${svc}.image.directory), or set network.taskEgress to "internet"`);
  }
}
