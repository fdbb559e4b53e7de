import type { Template } from 'aws-cdk-lib/assertions';
import { configFor } from '../helpers/context';
import { ENVIRONMENTS, synth } from '../helpers/synth';

// The capacity model's numbers reach the template: editing cdk.json's inputs to a formula changes the
// synthesized target, with no construct reading the formula's inputs itself.

function targetValue(t: Template, scalingTarget: RegExp, metric?: string): number[] {
  return Object.values(t.findResources('AWS::ApplicationAutoScaling::ScalingPolicy'))
    .map((r) => r.Properties)
    .filter((p) => p.PolicyType === 'TargetTrackingScaling' && scalingTarget.test(p.ScalingTargetId.Ref))
    .filter((p) => metric === undefined || p.TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification?.PredefinedMetricType === metric
      // A blue/green-family deploy tracks RequestCountPerTarget of both target groups instead (lib/constructs/deployment-strategy.ts).
      || (metric === 'ALBRequestCountPerTarget' && p.TargetTrackingScalingPolicyConfiguration.CustomizedMetricSpecification?.Metrics
        .some((q: { MetricStat?: { Metric: { MetricName: string } } }) => q.MetricStat?.Metric.MetricName === 'RequestCountPerTarget')))
    .map((p) => p.TargetTrackingScalingPolicyConfiguration.TargetValue);
}

describe('capacity model in the template', () => {
  describe.each(ENVIRONMENTS)('%s defaults', (env) => {
    const cfg = configFor(env);
    const { compute } = synth(env);

    test('the worker\'s backlog target is acceptable latency × concurrency ÷ processing time', () => {
      const w = cfg.worker;
      expect(targetValue(compute, /^WorkerScaling/)).toEqual([(w.acceptableLatencySeconds * w.concurrency) / w.avgProcessingSeconds]);
    });

    test('the API\'s request target is the capacity × 60 × the CPU target', () => {
      const api = cfg.api;
      expect(targetValue(compute, /^WebServiceTaskCountTarget/, 'ALBRequestCountPerTarget'))
        .toEqual([Math.floor((api.capacityPerTaskRps! * 60 * api.targetCpuUtilizationPercent) / 100)]);
    });
  });

  describe('edited inputs', () => {
    // One synth for both edits (synth is the slow part): staging with 4 jobs at once and a measured 900 req/s.
    const edited = () => synth('staging', { worker: { concurrency: 4, dbPoolSize: 4 }, api: { capacityPerTaskRps: 900 } }).compute;

    test('changing worker.concurrency changes the worker\'s TargetValue', () => {
      // 60 s × 4 ÷ 2 s = 120 messages per task (the default 10 gives 300)
      expect(targetValue(edited(), /^WorkerScaling/)).toEqual([120]);
    });

    test('changing api.capacityPerTaskRps changes the request target', () => {
      // 900 × 60 × 60 % = 32400 requests per task per minute (the default 750 gives 27000)
      expect(targetValue(edited(), /^WebServiceTaskCountTarget/, 'ALBRequestCountPerTarget')).toEqual([32400]);
    });
  });
});
