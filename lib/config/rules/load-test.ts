import { PROFILE_NAME } from '../../contracts/loadtest';
import { collector, round, type Config, type Problem } from './problem';

/**
 * SSM GetParameter's default throughput: 40 transactions per second for the account and region, shared by
 * every caller of GetParameter, GetParameters and GetParametersByPath
 * (https://docs.aws.amazon.com/general/latest/gr/ssm.html#limits_ssm, "Max throughput (transactions per
 * second)"). The load generator's workers all poll one parameter: half of it leaves room for the rest of the account.
 */
export const STOP_POLL_MAX_READS_PER_SECOND = 20;

/** Load tests: profiles the generator can send and that can find a breaking rate; SLAs in order. */
export function checkLoadTest(cfg: Config): Problem[] {
  const { problems, add } = collector();
  const lt = cfg.loadTest;
  const capacity = lt.maxWorkers * lt.maxRatePerWorker;
  for (const [name, profile] of Object.entries(lt.profiles)) {
    add(!PROFILE_NAME.test(name), `loadTest.profiles.${name}`, [],
      'is not a profile name: it names the run (`--profile`), its result file and its CloudWatch RunId',
      'rename it with 1-64 letters, digits, "_" or "-"');
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
  lt.mix.forEach((r, i) => {
    const host = Object.keys(r.headers ?? {}).find((h) => h.toLowerCase() === 'host');
    add(host !== undefined, `loadTest.mix.${i}.headers.${host}`, [],
      `sets the host header of "${r.name}"; the load generator sends the target's host and refuses any other`,
      'remove it: the target (--target, or the Compute stack\'s ApiUrl) decides the host');
  });
  const reads = lt.maxWorkers / lt.stopPollSeconds;
  add(reads > STOP_POLL_MAX_READS_PER_SECOND, 'loadTest.stopPollSeconds', ['loadTest.maxWorkers'],
    `(${lt.stopPollSeconds} s) with loadTest.maxWorkers ${lt.maxWorkers} reads the stop parameter ${round(reads)} times a second, more than ${STOP_POLL_MAX_READS_PER_SECOND} (half of SSM GetParameter's default 40 per second for the whole account)`,
    `raise loadTest.stopPollSeconds to at least ${Math.ceil(lt.maxWorkers / STOP_POLL_MAX_READS_PER_SECOND)}, or lower loadTest.maxWorkers to ${lt.stopPollSeconds * STOP_POLL_MAX_READS_PER_SECOND}`);
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
