import { execFileSync, spawn, spawnSync } from 'child_process';
import * as path from 'path';
import type { RequestSpec } from '../../lib/contracts/loadtest';
import type { IntervalSnapshot } from '../../lib/load-engine/engine';
import { FLAG, parseFlags, positiveNumber } from '../common/args';
import { EXIT, UsageError, usageErrorText } from '../common/errors';

// Loaded after the arguments are checked (bench-loadgen.sh checks them before it starts nginx).
const loadEngine = (): typeof import('../../lib/load-engine/engine') => require('../../lib/load-engine/engine');

/**
 * `npm run bench:loadgen` (driven by scripts/bench-loadgen.sh, which starts nginx on core 0 and runs this on
 * core 1): figures, no assertions.
 *   (a) the engine's open-model rate at each requested rate, and its rate error per 100-ms window:
 *       |sent − requested| / requested, median, p90 and max over the windows of the run, and how many
 *       windows were more than 1 % off (the first 0.5 s, while the connection pool grows, is left out);
 *   (b) closed-loop maximum of the engine, autocannon and wrk with the same connections, and the ratios.
 * Traffic goes only to the --target given (127.0.0.1); every run is bounded by --seconds.
 */
export const FLAGS = {
  target: { type: 'string' },
  rates: { type: 'string' },
  seconds: { type: 'string' },
  connections: { type: 'string' },
  'max-concurrency': { type: 'string' },
  cpu: { type: 'string' },
  // scripts/bench-loadgen.sh checks the arguments with this before it installs or starts anything.
  'check-args': { type: 'boolean' },
  help: FLAG.help,
} as const;

function flags() {
  const v = parseFlags(process.argv.slice(2), FLAGS);
  const whole = (flag: string, value: string | undefined, fallback: number) => {
    const n = positiveNumber(flag, value) ?? fallback;
    if (!Number.isInteger(n)) throw new UsageError(`${flag} = "${value}": must be a whole number`, true);
    return n;
  };
  const rates = (v.rates ?? '10000,20000,30000,40000').split(',').map((r) => whole('--rates', r, 0));
  const checked = {
    target: v.target ?? '', seconds: whole('--seconds', v.seconds, 10), connections: whole('--connections', v.connections, 50),
    maxConcurrency: whole('--max-concurrency', v['max-concurrency'], 1000), cpu: v.cpu ?? '1', rates,
  };
  if (v['check-args']) process.exit(EXIT.ok);
  // bench-loadgen.sh gives the target: the nginx it started.
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(checked.target)) throw new UsageError(`--target must be http://127.0.0.1:PORT, got "${checked.target}"`);
  return checked;
}

let values: ReturnType<typeof flags>;
try {
  values = flags();
} catch (e) {
  process.stderr.write(e instanceof UsageError ? usageErrorText('bench:loadgen', e) : `bench:loadgen: ${String(e)}\n`);
  process.exit(EXIT.cannotRun);
}
const { target, seconds, connections, maxConcurrency, rates } = values;
const mix: RequestSpec[] = [{ name: 'root', method: 'GET', path: '/', weight: 1 }];
const ROOT = path.join(__dirname, '..', '..');

interface OpenRow {
  requested: number;
  achieved: number;
  medianError: number;
  p90Error: number;
  maxError: number;
  windows: number;
  windowsOver1: number;
  dropped: number;
  p50: number;
  p99: number;
}

async function openModel(rate: number, durationSeconds: number): Promise<OpenRow> {
  const windows: IntervalSnapshot[] = [];
  const r = await loadEngine().runLoad({
    target,
    phases: [{ durationSeconds, arrivalRate: rate }],
    mix,
    maxConcurrency,
    timeoutMs: 5000,
    intervalMs: 100,
    onInterval: (s) => windows.push(s),
  });
  const start = Date.parse(r.startedAt);
  const errors = windows
    .filter((w) => w.startMs - start >= 500 && w.endMs - start <= durationSeconds * 1000 && w.endMs - w.startMs >= 50)
    .map((w) => {
      const requested = (rate * (w.endMs - w.startMs)) / 1000;
      return Math.abs(w.sent - requested) / requested;
    })
    .sort((a, b) => a - b);
  return {
    requested: rate,
    achieved: r.achievedRps,
    medianError: errors[errors.length >> 1] ?? NaN,
    p90Error: errors[Math.min(errors.length - 1, Math.floor(errors.length * 0.9))] ?? NaN,
    maxError: errors[errors.length - 1] ?? NaN,
    windows: errors.length,
    windowsOver1: errors.filter((e) => e > 0.01).length,
    dropped: r.dropped,
    p50: r.latency.p50Ms,
    p99: r.latency.p99Ms,
  };
}

/** Runs a command pinned to the generator's core and returns its stdout. */
function pinned(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', values.cpu, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${err}`))));
  });
}

async function autocannonRps(): Promise<number> {
  const out = await pinned(process.execPath, [path.join(ROOT, 'node_modules', 'autocannon', 'autocannon.js'), '-j', '-c', String(connections), '-d', String(seconds), target]);
  const r = JSON.parse(out) as { requests: { total: number }; duration: number };
  return r.requests.total / r.duration;
}

async function wrkRps(): Promise<number> {
  const out = await pinned('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, `${target}/`]);
  const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!m) throw new Error(`unexpected wrk output: ${out}`);
  return Number(m[1]);
}

const f0 = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (x: number) => `${(x * 100).toFixed(2)} %`;

async function main(): Promise<void> {
  const nginx = spawnSync('nginx', ['-v'], { encoding: 'utf8' }).stderr.trim() || 'nginx';
  process.stdout.write(`node ${process.version}, ${nginx.replace(/^nginx version: /, '')} (1 worker, core 0), generator on core ${values.cpu}, ${seconds} s per run, loopback\n`);
  const load = execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).split(' ').slice(0, 3).join(' ');
  process.stdout.write(`load average before: ${load} (the machine is shared: low figures may be other work)\n\n`);

  await openModel(5000, 2); // warm-up: JIT and connections
  process.stdout.write(`(a) open model, max ${maxConcurrency} in flight; rate error per 100-ms window = |sent − requested| / requested\n`);
  process.stdout.write('| requested req/s | achieved req/s | window error median | p90 | max | windows > 1 % | dropped | p50 ms | p99 ms |\n|---|---|---|---|---|---|---|---|---|\n');
  for (const rate of rates) {
    const r = await openModel(rate, seconds);
    process.stdout.write(
      `| ${f0(r.requested)} | ${f0(r.achieved)} | ${pct(r.medianError)} | ${pct(r.p90Error)} | ${pct(r.maxError)} | ${r.windowsOver1} of ${r.windows} | ${f0(r.dropped)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |\n`,
    );
  }

  process.stdout.write(`\n(b) closed loop, ${connections} connections\n| generator | req/s | ratio to autocannon | ratio to wrk |\n|---|---|---|---|\n`);
  const engine = (await loadEngine().runClosedLoop({ target, mix, connections, durationSeconds: seconds, timeoutMs: 5000 })).achievedRps;
  const ac = await autocannonRps();
  const wrk = await wrkRps();
  for (const [name, rps] of [['engine (lib/load-engine)', engine], ['autocannon 9', ac], ['wrk 4 (C, 1 thread)', wrk]] as const) {
    process.stdout.write(`| ${name} | ${f0(rps)} | ${(rps / ac).toFixed(2)} | ${(rps / wrk).toFixed(2)} |\n`);
  }
}

main().catch((err) => {
  // A bench that fails half-way has no figures: 1, as a finding; the stack says where.
  process.stderr.write(`bench:loadgen: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(EXIT.finding);
});
