import { productionMinApiTasks } from '../capacity';
import { collector, type Config, type Problem } from './problem';

/** Log retention that production needs (AWS Control Tower CT.CLOUDWATCH.PR.2: at least one year). */
export const MIN_PRODUCTION_LOG_RETENTION_DAYS = 365;

/** What a production environment must have, whatever the other rules allow. */
export function checkProduction(cfg: Config): Problem[] {
  if (!cfg.production) return [];
  const { problems, add } = collector();
  // A Limitless cluster has no instances (its standbys are the shard group's computeRedundancy: rules/sharding.ts).
  add(cfg.database.readers < 1 && cfg.database.sharding.mode !== 'limitless', 'database.readers', ['production', 'database.sharding.mode'],
    'is 0 in a production environment; without a reader, a writer failure means minutes of downtime while Aurora replaces it',
    'set database.readers to at least 1');
  add(cfg.stateful.removalPolicy === 'destroy', 'stateful.removalPolicy', ['production'],
    'is "destroy" in a production environment; deleting the stack would delete the data',
    'set stateful.removalPolicy to "snapshot" or "retain"');
  add(!cfg.stateful.terminationProtection, 'stateful.terminationProtection', ['production'],
    'is off in a production environment', 'set stateful.terminationProtection to true');
  add(cfg.worker.jobCostFromRequest, 'worker.jobCostFromRequest', ['production'],
    'is true in a production environment: any client could set a job\'s cpuMs and ioMs, hold worker slots for up to the longest job and drive the workers to worker.maxTasks',
    'set worker.jobCostFromRequest to false (job costs then come from worker.jobCpuMs and worker.jobIoMs); load-test job costs in a non-production environment');
  add(cfg.api.minHealthyPercent < 100, 'api.minHealthyPercent', ['production'],
    'is below 100 in a production environment; a deploy would remove serving capacity before the new tasks are healthy',
    'set api.minHealthyPercent to 100');
  // ECS spreads a service's tasks over its subnets' zones; with fewer tasks than zones some zone has none, and
  // losing the zone that holds them loses the service until new tasks start elsewhere. Two at the least: one
  // task cannot survive its own replacement.
  // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-placement-strategies.html
  const zones = Math.min(cfg.network.maxAzs, cfg.network.availabilityZones.length);
  const minTasks = productionMinApiTasks(zones);
  add(cfg.api.minTasks < minTasks, 'api.minTasks', ['production', 'network.maxAzs', 'network.availabilityZones'],
    `is below ${minTasks} in a production environment: the VPC spans ${zones} availability zone${zones === 1 ? '' : 's'} (network.maxAzs ${cfg.network.maxAzs}), and with fewer tasks than zones the loss of one zone takes more than its share of the service with it (and one task cannot survive its own replacement)`,
    `set api.minTasks to at least ${minTasks} (one task per zone, never fewer than 2)`);
  add(cfg.cache.mode === 'replication-group' && cfg.cache.replicas < 1, 'cache.replicas', ['production', 'cache.mode'],
    'is 0 in a production environment; without a replica there is no Multi-AZ and no automatic failover',
    'set cache.replicas to at least 1, or cache.mode to "serverless"');
  // Without a certificate the load balancer serves the API over plain HTTP on port 80: credentials, tokens and
  // data in clear text on the internet. AWS Control Tower CT.ELASTICLOADBALANCING.PR.1 wants HTTP to redirect.
  add(cfg.alb.certificateArn === '', 'alb.certificateArn', ['production'],
    'is empty in a production environment, so the load balancer would serve the API over plain HTTP on port 80 (AWS Control Tower CT.ELASTICLOADBALANCING.PR.1)',
    `set alb.certificateArn to an issued ACM certificate in ${cfg.region} for your API's domain (\`aws acm request-certificate --domain-name api.example.com --validation-method DNS --region ${cfg.region}\`, then add the validation CNAME); port 80 then redirects to HTTPS`);
  const retentions: Array<readonly [string, number]> = [
    ['network.flowLogRetentionDays', cfg.network.flowLogRetentionDays],
    ['compute.logRetentionDays', cfg.compute.logRetentionDays],
    ['database.logRetentionDays', cfg.database.logRetentionDays],
  ];
  if (cfg.alb.waf.enabled && cfg.alb.waf.logging) retentions.push(['alb.waf.logRetentionDays', cfg.alb.waf.logRetentionDays]);
  for (const [path, days] of retentions) {
    add(days < MIN_PRODUCTION_LOG_RETENTION_DAYS, path, ['production'],
      `keeps logs ${days} days in a production environment; AWS Control Tower (CT.CLOUDWATCH.PR.2) and most audits want at least a year`,
      `set ${path} to ${MIN_PRODUCTION_LOG_RETENTION_DAYS} or more`);
  }
  return problems;
}
