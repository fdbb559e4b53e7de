import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, PutMetricDataCommand, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { SlaConfig } from '../../../lib/config/schema';
import { cloudWatchPublisher } from '../../../lib/load-engine/publish';
import type { KpiSources } from '../../../lib/contracts/kpi-sources';
import type { LoadResult } from '../../../lib/contracts/loadtest';
import { motoClient, uniqueId } from './moto';

export const MINUTE = 60_000;

/**
 * A five-minute load test seeded into moto: client metrics through the real publisher, the Monitoring
 * stack's server-side metrics with PutMetricData, the KpiSources output on a CloudFormation stack, the
 * run's result file, and a cdk.json with environments whose SLAs the run meets (`pass`) or breaches (`fail`).
 *
 *   client: 3030 scheduled, 3000 sent (99.0 %), 3 × 5xx + 1 error + 2 timeouts = 0.2 %
 *   server: 3000 requests, 2 target 5xx + 1 ELB 5xx = 0.1 %; queue age ≤ 120 s; API CPU ≤ 70 %
 */
export interface Fixture {
  readonly dir: string;
  readonly cdkJson: string;
  readonly resultsDir: string;
  readonly envs: { readonly pass: string; readonly fail: string };
  readonly runId: string;
  /** A run with client metrics but no result file. */
  readonly runWithoutFile: string;
  readonly startMs: number;
  readonly sources: KpiSources;
  readonly sourcesFile: string;
  readonly cloudWatch: CloudWatchClient;
  readonly cloudFormation: CloudFormationClient;
}

export const PASS_SLA: Partial<SlaConfig> = { errorRatePercent: 1 };
export const FAIL_SLA: Partial<SlaConfig> = { errorRatePercent: 0.15, latencyP50Ms: 15, latencyP90Ms: 100, latencyP99Ms: 150, queueAgeSeconds: 60 };

export async function createFixture(stackPrefix: (env: string) => string): Promise<Fixture> {
  const id = uniqueId('kpi').replace(/-/g, '');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kpi-report-'));
  const cloudWatch = motoClient(CloudWatchClient);
  const cloudFormation = motoClient(CloudFormationClient);
  const startMs = Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;

  // cdk.json: the project's, with two environments of our own (unique: moto is shared).
  const cdk = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'cdk.json'), 'utf8'));
  const root = cdk.context['scaling-blueprint'];
  const envs = { pass: `${id}pass`, fail: `${id}fail` };
  root.environments[envs.pass] = { ...root.environments.dev, sla: PASS_SLA };
  root.environments[envs.fail] = { ...root.environments.dev, sla: FAIL_SLA };
  const cdkJson = path.join(dir, 'cdk.json');
  fs.writeFileSync(cdkJson, JSON.stringify(cdk));

  const sources: KpiSources = {
    loadBalancerFullName: `app/${id}/0123456789abcdef`,
    targetGroupFullName: `targetgroup/${id}/0123456789abcdef`,
    clusterName: `${id}-cluster`,
    apiServiceName: `${id}-api`,
    workerServiceName: `${id}-worker`,
    queueName: `${id}-jobs`,
    deadLetterQueueName: `${id}-jobs-dlq`,
    dbClusterIdentifier: `${id}-db`,
  };
  const sourcesFile = path.join(dir, 'sources.json');
  fs.writeFileSync(sourcesFile, JSON.stringify(sources));
  for (const env of Object.values(envs)) {
    await cloudFormation.send(new CreateStackCommand({
      StackName: `${stackPrefix(env)}-Monitoring`,
      TemplateBody: JSON.stringify({ Resources: { Handle: { Type: 'AWS::CloudFormation::WaitConditionHandle' } }, Outputs: { KpiSources: { Value: JSON.stringify(sources) } } }),
    }));
  }

  // Client side, once per environment (client metrics carry the environment), through the real publisher.
  const runId = uniqueId('run');
  const runWithoutFile = uniqueId('run');
  for (const env of Object.values(envs)) {
    for (const run of [runId, runWithoutFile]) {
      const publisher = cloudWatchPublisher({ envName: env, runId: run, client: cloudWatch, backgroundIntervalMs: 0 });
      for (let m = 0; m < 5; m++) {
        for (let s = 0; s < 6; s++) {
          const t = startMs + m * MINUTE + s * 10_000;
          const first = s === 0;
          const errors = m === 1 && first ? 1 : 0;
          const timeouts = m === 3 && first ? 2 : 0;
          const http5xx = m === 2 && first ? 3 : 0;
          // A sample of the latencies only: moto stores every counted value as a datapoint, and slows down with them.
          const latency = first ? { values: [20, 40, 200], counts: [8, 1, 1] } : { values: [], counts: [] };
          publisher.record({
            startMs: t, endMs: t + 10_000, targetRps: 10, inFlight: 3,
            scheduled: first ? 106 : 100, sent: 100, completed: 100, dropped: first ? 6 : 0,
            errors, timeouts,
            status: { '1xx': 0, '2xx': 100 - http5xx, '3xx': 0, '4xx': 0, '5xx': http5xx },
            latency,
            // Per endpoint: item-read carries every failure, health none (80 + 20 = the 100 sent).
            endpoints: [
              { name: 'item-read', sent: 80, completed: 80, errors, timeouts, status: { '1xx': 0, '2xx': 80 - http5xx, '3xx': 0, '4xx': 0, '5xx': http5xx }, latency },
              { name: 'health', sent: 20, completed: 20, errors: 0, timeouts: 0, status: { '1xx': 0, '2xx': 20, '3xx': 0, '4xx': 0, '5xx': 0 }, latency: { values: [], counts: [] } },
            ],
          });
        }
        // One minute per PutMetricData: moto_server answers a call of more than about 50 datums with an error page.
        await publisher.flush();
      }
    }
  }
  const resultsDir = path.join(dir, 'loadtest-results');
  fs.mkdirSync(resultsDir);
  const result: LoadResult = {
    target: 'http://example.test', startedAt: new Date(startMs).toISOString(), durationSeconds: 300,
    scheduled: 3030, sent: 3000, completed: 2997, dropped: 30, timeouts: 2, errors: 1,
    status: { '1xx': 0, '2xx': 2997, '3xx': 0, '4xx': 0, '5xx': 3 },
    requestedRps: 10.1, achievedRps: 10,
    latency: { count: 2997, minMs: 20, meanMs: 25.6, p50Ms: 20, p90Ms: 40, p99Ms: 200, maxMs: 200 },
    distribution: { values: [20, 40, 200], counts: [2400, 570, 30] },
  };
  fs.writeFileSync(path.join(resultsDir, `${runId}.json`), JSON.stringify(result));

  // Server side: the Monitoring stack's metrics, one datapoint per minute.
  const lb = [{ Name: 'LoadBalancer', Value: sources.loadBalancerFullName }];
  const api = [{ Name: 'ClusterName', Value: sources.clusterName }, { Name: 'ServiceName', Value: sources.apiServiceName }];
  const worker = [{ Name: 'ClusterName', Value: sources.clusterName }, { Name: 'ServiceName', Value: sources.workerServiceName }];
  const byNamespace = new Map<string, MetricDatum[]>();
  const put = (namespace: string, MetricName: string, Dimensions: typeof lb, values: number[], Unit: 'Count' | 'Seconds' | 'Percent' = 'Count') =>
    byNamespace.set(namespace, [...(byNamespace.get(namespace) ?? []), ...values.map((Value, m) => ({ MetricName, Dimensions, Value, Unit, Timestamp: new Date(startMs + m * MINUTE) }))]);
  put('AWS/ApplicationELB', 'RequestCount', lb, [600, 600, 600, 600, 600]);
  put('AWS/ApplicationELB', 'HTTPCode_Target_5XX_Count', lb, [0, 0, 2]); // absent later: CloudWatch emits no zero 5xx
  put('AWS/ApplicationELB', 'HTTPCode_ELB_5XX_Count', lb, [0, 0, 0, 1, 0]);
  put('AWS/ApplicationELB', 'TargetResponseTime', lb, [0.018, 0.02, 0.025, 0.02, 0.019], 'Seconds');
  put('AWS/ECS', 'CPUUtilization', api, [40, 55, 70, 65, 50], 'Percent');
  put('AWS/ECS', 'MemoryUtilization', api, [30, 31, 33, 33, 32], 'Percent');
  put('ECS/ContainerInsights', 'RunningTaskCount', api, [2, 2, 3, 4, 4]);
  put('ECS/ContainerInsights', 'RunningTaskCount', worker, [1, 1, 2, 2, 1]);
  put('AWS/SQS', 'ApproximateAgeOfOldestMessage', [{ Name: 'QueueName', Value: sources.queueName }], [5, 30, 120, 60, 10], 'Seconds');
  put('AWS/SQS', 'ApproximateNumberOfMessagesVisible', [{ Name: 'QueueName', Value: sources.queueName }], [0, 40, 150, 80, 5]);
  put('AWS/SQS', 'ApproximateNumberOfMessagesVisible', [{ Name: 'QueueName', Value: sources.deadLetterQueueName }], [0, 0, 0, 0, 0]);
  put('AWS/RDS', 'CPUUtilization', [{ Name: 'DBClusterIdentifier', Value: sources.dbClusterIdentifier }, { Name: 'Role', Value: 'WRITER' }], [20, 25, 35, 30, 22], 'Percent');
  for (const [Namespace, MetricData] of byNamespace) await cloudWatch.send(new PutMetricDataCommand({ Namespace, MetricData }));

  return { dir, cdkJson, resultsDir, envs, runId, runWithoutFile, startMs, sources, sourcesFile, cloudWatch, cloudFormation };
}
