import { ALARM_KINDS, type ThresholdKey } from '../alarm-kinds';
import { collector, round, type Config, type Problem } from './problem';

/** Alarms and objectives: no threshold or burn rate that can never fire, warnings before criticals. */
export function checkMonitoring(cfg: Config): Problem[] {
  const { problems, add } = collector();
  const m = cfg.monitoring;
  add(m.datapointsToAlarm > m.evaluationPeriods, 'monitoring.datapointsToAlarm', ['monitoring.evaluationPeriods'],
    `exceeds monitoring.evaluationPeriods (${m.evaluationPeriods}); no alarm could ever fire`,
    `lower it to at most ${m.evaluationPeriods}`);

  for (const key of Object.keys(ALARM_KINDS) as ThresholdKey[]) {
    const { breaches, ceiling } = ALARM_KINDS[key];
    const { warning, critical } = cfg.alarms[key];
    for (const [level, value] of [['warning', warning], ['critical', critical]] as const) {
      if (value === null) continue;
      add(breaches === 'above' && ceiling !== undefined && value >= ceiling, `alarms.${key}.${level}`, [],
        `can never fire: the metric never exceeds ${ceiling}`, `set it below ${ceiling}, or to null to turn the level off`);
      add(breaches === 'below' && value <= 0, `alarms.${key}.${level}`, [],
        'can never fire: the metric never goes below 0', 'set it above 0, or to null to turn the level off');
    }
    if (warning !== null && critical !== null) {
      const ordered = breaches === 'below' ? warning > critical : warning < critical;
      add(!ordered, `alarms.${key}.warning`, [`alarms.${key}.critical`],
        `must be ${breaches === 'below' ? 'above' : 'below'} the critical threshold (${critical}), or the warning never comes first`,
        `${breaches === 'below' ? 'raise' : 'lower'} the warning, or set it to null`);
    }
  }

  const retentionSeconds = cfg.queue.retentionDays * 86400;
  for (const level of ['warning', 'critical'] as const) {
    const multiple = cfg.alarms.queueAgeLatencyMultiple[level];
    if (multiple === null) continue;
    const seconds = multiple * cfg.worker.acceptableLatencySeconds;
    add(seconds >= retentionSeconds, `alarms.queueAgeLatencyMultiple.${level}`, ['worker.acceptableLatencySeconds', 'queue.retentionDays'],
      `can never fire: ${multiple} × worker.acceptableLatencySeconds = ${seconds} s, but SQS deletes messages after queue.retentionDays (${retentionSeconds} s)`,
      'lower the multiple, or raise queue.retentionDays');
  }

  const slo = cfg.slo;
  slo.burnRates.forEach((rate, i) => {
    add(rate.shortWindowMinutes >= rate.longWindowMinutes, `slo.burnRates.${i}.shortWindowMinutes`, [`slo.burnRates.${i}.longWindowMinutes`],
      `must be shorter than the long window (${rate.longWindowMinutes} min)`, 'use a short window of about 1/12 of the long one');
    for (const [key, target] of [['availabilityPercent', slo.availabilityPercent], ['latencyPercent', slo.latencyPercent]] as const) {
      const needed = rate.factor * (100 - target);
      add(needed >= 100, `slo.burnRates.${i}.factor`, [`slo.${key}`],
        `can never fire with slo.${key} ${target}: ${rate.factor} × the ${round(100 - target)} % error budget = ${round(needed)} % of requests, more than all of them`,
        `lower the factor below ${round(100 / (100 - target))}, or raise slo.${key}`);
    }
  });
  return problems;
}
