import { MIN_ALB_LCU_RESERVATION } from '../schema/nlb';
import { collector, type Config, type Problem } from './problem';

/**
 * The NLB beside the ALB and the ALB's capacity reservation: what CloudFormation or Elastic Load Balancing
 * would refuse only at deploy time.
 */
export function checkLoadBalancerFronts(cfg: Config): Problem[] {
  const { problems, add } = collector();
  const { nlb, alb } = cfg;

  // The NLB exists for affinity-sensitive and layer-4 clients on the internet: only behind TLS (as the ALB
  // is in production), so its listener needs a certificate; Control Tower CT.ELASTICLOADBALANCING.PR.2 asks
  // for one on every network load balancer too.
  add(nlb.enabled && nlb.certificateArn === '', 'nlb.certificateArn', ['nlb.enabled'],
    'is empty while nlb.enabled is true; the Network Load Balancer has only a TLS listener, which needs a certificate',
    `set nlb.certificateArn to an issued ACM certificate in ${cfg.region} for the name clients use to reach the NLB (alb.certificateArn will do if it covers that name), or set nlb.enabled to false`);
  add(nlb.enabled && new Set(nlb.allowedCidrs).size !== nlb.allowedCidrs.length, 'nlb.allowedCidrs', ['nlb.enabled'],
    'lists a range twice', 'list each range once');

  const units = alb.minimumCapacityUnits;
  add(units > 0 && units < MIN_ALB_LCU_RESERVATION, 'alb.minimumCapacityUnits', [],
    `is below ${MIN_ALB_LCU_RESERVATION}, the least LCU reservation an Application Load Balancer accepts ("The total reservation request must be at least 100 LCU", https://docs.aws.amazon.com/elasticloadbalancing/latest/application/capacity-unit-reservation.html)`,
    `set it to 0 for no reservation, or to ${MIN_ALB_LCU_RESERVATION} or more`);
  return problems;
}
