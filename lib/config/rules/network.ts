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
  return problems;
}
