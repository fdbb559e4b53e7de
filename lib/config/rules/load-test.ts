import { collector, round, type Config, type Problem } from './problem';

/** Load tests: profiles the generator can send and that can find a breaking rate; SLAs in order. */
export function checkLoadTest(cfg: Config): Problem[] {
  const { problems, add } = collector();
  const lt = cfg.loadTest;
  const capacity = lt.maxWorkers * lt.maxRatePerWorker;
  for (const [name, profile] of Object.entries(lt.profiles)) {
    const peak = Math.max(...profile.phases.map((p) => Math.max(p.arrivalRate, p.rampTo ?? p.arrivalRate)));
    add(peak > capacity, `loadTest.profiles.${name}.phases`, ['loadTest.maxWorkers', 'loadTest.maxRatePerWorker'],
      `peak at ${peak} req/s, more than the load generator can send (maxWorkers ${lt.maxWorkers} × maxRatePerWorker ${lt.maxRatePerWorker} = ${capacity} req/s)`,
      `raise loadTest.maxWorkers to at least ${Math.ceil(peak / lt.maxRatePerWorker)}, or lower the profile's rates`);
    add(peak === 0, `loadTest.profiles.${name}.phases`, [], 'never sends a request (every rate is 0)', 'give at least one phase an arrivalRate or rampTo above 0');
    if (profile.stopWhenSlaBreaks) {
      const rates = profile.phases.map((p) => p.rampTo ?? p.arrivalRate);
      add(rates.some((r, i) => i > 0 && r <= rates[i - 1]), `loadTest.profiles.${name}.phases`, [`loadTest.profiles.${name}.stopWhenSlaBreaks`],
        `must step up (each phase faster than the one before) to find a breaking rate; the rates are ${rates.join(', ')}`,
        'order the phases by rising rate, or set stopWhenSlaBreaks to false');
    }
  }
  const { latencyP50Ms: p50, latencyP90Ms: p90, latencyP99Ms: p99 } = cfg.sla;
  add(p50 > p90, 'sla.latencyP50Ms', ['sla.latencyP90Ms'], `(${p50} ms) exceeds sla.latencyP90Ms (${p90} ms); a median cannot be slower than the 90th percentile`,
    `lower sla.latencyP50Ms to at most ${p90}, or raise sla.latencyP90Ms`);
  add(p90 > p99, 'sla.latencyP90Ms', ['sla.latencyP99Ms'], `(${p90} ms) exceeds sla.latencyP99Ms (${p99} ms)`,
    `lower sla.latencyP90Ms to at most ${p99}, or raise sla.latencyP99Ms`);
  add(cfg.sla.errorRatePercent > round(100 - cfg.slo.availabilityPercent), 'sla.errorRatePercent', ['slo.availabilityPercent'],
    `(${cfg.sla.errorRatePercent} %) allows more failures than the availability objective (slo.availabilityPercent ${cfg.slo.availabilityPercent} % leaves ${round(100 - cfg.slo.availabilityPercent)} %); a passing load test would still burn the error budget`,
    `set sla.errorRatePercent to at most ${round(100 - cfg.slo.availabilityPercent)}`);
  return problems;
}
