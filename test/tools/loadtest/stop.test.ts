import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { spawn, type ChildProcessWithoutNullStreams } from 'child_process';
import { EventEmitter } from 'events';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { ssmStopReader } from '../../../lambda/load-generator/stop';
import { runWorker } from '../../../lambda/load-generator/worker';
import { runResultFileSchema, loadGeneratorEnvironment, EMPTY_STOP_BOARD } from '../../../lib/contracts/loadtest';
import { readLoadResult } from '../../../tools/kpi-report/sources';
import { main, type CliDeps } from '../../../tools/loadtest/cli';
import { requestStop } from '../../../tools/loadtest/stop';
import { motoClient, uniqueId } from '../kpi-report/moto';
import { startServer, type TestServer } from '../../load-engine/server';

const ROOT = path.join(__dirname, '..', '..', '..');
const SECRET = `tok-${uniqueId('s')}-do-not-print`;

let server: TestServer;
let out: string;
let cdkJsonPath: string;
const savedEnv = { ...process.env };
beforeAll(async () => {
  server = await startServer();
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'loadtest-stop-'));
  // A configuration whose mix carries a secret header from the environment, and slices of 2 s.
  const cdk = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8'));
  const lt = cdk.context['scaling-blueprint'].defaults.loadTest;
  lt.mix = [
    { name: 'me', method: 'GET', path: '/me', weight: 3, headers: { authorization: 'Bearer ${env:LOADTEST_TOKEN}', 'x-tenant': 'acme' } },
    { name: 'broken', method: 'GET', path: '/status/503', weight: 1 },
  ];
  lt.sliceSeconds = 10;
  cdkJsonPath = path.join(out, 'cdk.json');
  fs.writeFileSync(cdkJsonPath, JSON.stringify(cdk));
  // The in-process handler's environment, as the LoadTest stack sets it, polling fast.
  Object.assign(process.env, loadGeneratorEnvironment(new URL(server.url).host, lt, { parameterName: 'unused', pollSeconds: 0.05 }));
});
afterAll(async () => {
  process.env = savedEnv;
  await server.close();
  fs.rmSync(out, { recursive: true, force: true });
});
beforeEach(() => {
  server.seen.length = 0;
});

/** `npm run loadtest`'s command as a child process, with a promise per stderr line it waits for. */
function spawnLoadtest(args: string[], env: NodeJS.ProcessEnv) {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'tools/loadtest/cli.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TS_NODE_SWC: 'true', ...env },
  });
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ re: RegExp; resolve: () => void }> = [];
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr += d;
    for (const w of waiters.filter((x) => x.re.test(stderr))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  const line = (re: RegExp) =>
    new Promise<void>((resolve, reject) => {
      if (re.test(stderr)) return resolve();
      waiters.push({ re, resolve });
      void closed.then(() => reject(new Error(`exited before ${re}: ${stderr}`)));
    });
  return { child, closed, line };
}

describe('Ctrl-C during a local load test (a real process, a real SIGINT)', () => {
  test('SIGINT mid-run: no new requests, the partial summary, a result file with state aborted, exit 130', async () => {
    // GIVEN a 60-s run at 40 req/s of the project's mix
    const runId = uniqueId('sigint');
    const p = spawnLoadtest(['--env', 'dev', '--local', '--target', server.url, '--rate', '40', '--duration', '60', '--run', runId, '--out', out, '--progress', 'plain'], {});
    // WHEN the first progress line is out, Ctrl-C
    await p.line(/^\[ +\d+ s\] target 40\.0 req\/s/m);
    p.child.kill('SIGINT');
    const r = await p.closed;
    // THEN
    expect(r.stderr).toContain('loadtest: SIGINT: stopping. No new requests; waiting for the');
    expect(r.code).toBe(130);
    expect(r.stdout).toMatch(/^stopped +by SIGINT after [\d.]+ of 60 s: a partial result$/m);
    expect(r.stdout).toMatch(/latency \(ms\) +p50/);
    const last = r.stdout.trimEnd().split('\n').pop()!;
    expect(last).toMatch(/^achieved_rps=[\d.]+ .* 5xx=\d+ state=aborted$/);
    const file = runResultFileSchema.parse(JSON.parse(fs.readFileSync(path.join(out, `${runId}.json`), 'utf8')));
    expect(file).toMatchObject({ runId, state: 'aborted', stoppedBy: 'SIGINT', stopped: true, mode: 'local' });
    expect(file.durationSeconds).toBeLessThan(30);
    expect(file.sent).toBeGreaterThan(0);
    expect(file.sent).toBe(server.seen.length);
    // per endpoint, and what was tested
    expect(file.endpoints?.map((e) => e.name)).toEqual(['item-read', 'item-create', 'job-submit', 'health']);
    expect(file.endpoints!.reduce((n, e) => n + e.sent, 0)).toBe(file.sent);
    expect(file.tested).toMatchObject({
      environment: 'dev', profile: null, override: { rate: 40, durationSeconds: 60 }, target: server.url, mode: 'local',
      configHash: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), generatorVersion: expect.stringMatching(/^scaling-blueprint@\d/),
      gitCommit: expect.stringMatching(/^[0-9a-f]{40}$/),
    });
    // and npm run kpi-report reads it
    expect(readLoadResult(out, runId)?.result).toMatchObject({ state: 'aborted' });
  }, 30_000);

  test('a second SIGINT while requests drain exits at once, without a result', async () => {
    // GIVEN a target that accepts connections and never answers (the drain would wait out the 10-s timeout)
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((s) => void sockets.add(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const target = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
    const runId = uniqueId('twice');
    try {
      const p = spawnLoadtest(['--env', 'dev', '--local', '--target', target, '--rate', '20', '--duration', '60', '--run', runId, '--out', out, '--progress', 'plain'], {});
      await p.line(/^\[ +\d+ s\] target 20\.0 req\/s/m);
      p.child.kill('SIGINT');
      await p.line(/SIGINT: stopping\. No new requests; waiting for the \d+ in flight/);
      p.child.kill('SIGINT');
      const r = await p.closed;
      // THEN
      expect(r.stderr).toContain('loadtest: SIGINT again: exiting now, without a summary or result file.');
      expect(r.code).toBe(130);
      expect(r.stdout).toBe('');
      expect(fs.existsSync(path.join(out, `${runId}.json`))).toBe(false);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  }, 30_000);
});

/** Captures a run of main() in this process. */
async function inProcess(argv: string[], deps: CliDeps) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main(argv, { cdkJsonPath, stdout: (s) => void stdout.push(s), stderr: (s) => void stderr.push(s), ...deps });
  return { code, stdout: stdout.join(''), stderr: stderr.join('') };
}

describe('stopping a Lambda run (workers in process, the stop flag in memory or on moto SSM)', () => {
  test('SIGTERM: no further slice, the workers of the running one see the flag and return, exit 143 with the partial result', async () => {
    // GIVEN 3 slices of 10 s (loadTest.sliceSeconds) and a stop flag in memory that the CLI writes
    const board = new Set<string>();
    const signals = new EventEmitter();
    const invoked: number[] = [];
    const runId = uniqueId('term');
    const r = await inProcess(['--env', 'dev', '--rate', '30', '--duration', '30', '--target', server.url, '--function', 'fn', '--stop-parameter', 'board', '--run', runId, '--out', out], {
      env: { LOADTEST_TOKEN: SECRET },
      signals,
      exit: () => {
        throw new Error('exit called on the first signal');
      },
      stopper: (name) => async (id) => void board.add(`${name}/${id}`),
      invoker: () => (e) => {
        invoked.push(e.phases[0].durationSeconds);
        // WHEN SIGTERM arrives once the first worker has sent 10 requests
        const sent = server.seen.length;
        const watch = setInterval(() => {
          if (server.seen.length - sent >= 10) {
            clearInterval(watch);
            signals.emit('SIGTERM');
          }
        }, 10);
        return runWorker({ ...e, publish: false }, {
          remainingTimeMs: () => 120_000,
          env: process.env,
          stopReader: async (id) => board.has(`board/${id}`),
        }).finally(() => clearInterval(watch));
      },
    });
    // THEN one slice ran, cut short
    expect(r.stderr).toContain('loadtest: SIGTERM: stopping. Starting no new slice, and telling the workers to stop');
    expect(r.code).toBe(143);
    expect(invoked).toEqual([10]);
    expect(board).toEqual(new Set([`board/${runId}`]));
    const file = runResultFileSchema.parse(JSON.parse(fs.readFileSync(path.join(out, `${runId}.json`), 'utf8')));
    expect(file).toMatchObject({ state: 'aborted', stoppedBy: 'SIGTERM', mode: 'lambda', stopped: true });
    expect(file.durationSeconds).toBeLessThan(5);
    expect(file.sent).toBe(server.seen.length);
    expect(r.stdout).toMatch(/^stopped +by SIGTERM after [\d.]+ of 30 s: a partial result$/m);
  }, 20_000);

  test('npm run loadtest -- stop --run <id> from another shell: the board on SSM (moto) names the run; the running CLI ends its run with exit 1', async () => {
    // GIVEN the stack's stop parameter (as the LoadTest stack creates it) on moto
    const ssm = motoClient(SSMClient);
    const name = `/test/${uniqueId('board')}`;
    await ssm.send(new PutParameterCommand({ Name: name, Type: 'String', Value: JSON.stringify(EMPTY_STOP_BOARD) }));
    const runId = uniqueId('remote');
    const reader = ssmStopReader(name, ssm);
    let stopCommand: Promise<{ code: number; stdout: string }> | undefined;
    // WHEN a run goes, and the stop command runs once the worker has sent 10 requests
    const r = await inProcess(['--env', 'dev', '--profile', 'load', '--rate', '30', '--duration', '8', '--target', server.url, '--function', 'fn', '--run', runId, '--out', out], {
      env: { LOADTEST_TOKEN: SECRET },
      signals: new EventEmitter(),
      invoker: () => (e) => {
        const sent = server.seen.length;
        const watch = setInterval(() => {
          if (server.seen.length - sent >= 10 && !stopCommand) {
            clearInterval(watch);
            stopCommand = inProcess(['stop', '--env', 'dev', '--run', runId, '--stop-parameter', name], { stopper: (n) => async (id) => void (await requestStop(ssm, n, id)) });
          }
        }, 10);
        return runWorker({ ...e, publish: false }, { remainingTimeMs: () => 120_000, env: process.env, stopReader: reader }).finally(() => clearInterval(watch));
      },
    });
    // THEN the stop command says what it did, the run stopped early, and says by what
    const stop = await stopCommand!;
    expect(stop.code).toBe(0);
    expect(stop.stdout).toContain(`stop requested: run ${runId}; its workers read the flag every 2 s`);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^stopped +by npm run loadtest -- stop after [\d.]+ of 8 s: a partial result$/m);
    const file = runResultFileSchema.parse(JSON.parse(fs.readFileSync(path.join(out, `${runId}.json`), 'utf8')));
    expect(file).toMatchObject({ state: 'aborted', stoppedBy: 'stop', profile: 'load', tested: { profile: 'load', override: { rate: 30, durationSeconds: 8 } } });
    expect(file.durationSeconds).toBeLessThan(6);
    expect(await reader(runId)).toBe(true);
    expect(await reader('another-run')).toBe(false);
  }, 20_000);

  test('requestStop keeps the newest 20 runs and adds a run once', async () => {
    const ssm = motoClient(SSMClient);
    const name = `/test/${uniqueId('board')}`;
    // GIVEN a board that does not parse: replaced by the first stop
    await ssm.send(new PutParameterCommand({ Name: name, Type: 'String', Value: 'not json' }));
    expect((await requestStop(ssm, name, 'run-0')).stopped.map((s) => s.runId)).toEqual(['run-0']);
    // GIVEN a full board (20 runs, newest first)
    const full = { stopped: Array.from({ length: 20 }, (_, i) => ({ runId: `run-${20 - i}`, at: new Date(Date.UTC(2026, 0, 1, 0, 0, 20 - i)).toISOString() })) };
    await ssm.send(new PutParameterCommand({ Name: name, Type: 'String', Value: JSON.stringify(full), Overwrite: true }));
    // WHEN one more run stops, and a listed one is stopped again
    const board = await requestStop(ssm, name, 'run-21', () => new Date(Date.UTC(2026, 0, 1, 0, 0, 21)));
    const again = await requestStop(ssm, name, 'run-20');
    // THEN the newest 20, the oldest dropped, nothing doubled
    expect(board.stopped).toHaveLength(20);
    expect(board.stopped[0]).toEqual({ runId: 'run-21', at: '2026-01-01T00:00:21.000Z' });
    expect(board.stopped.map((s) => s.runId)).not.toContain('run-1');
    expect(again).toEqual(board);
  });
});

describe('headers from environment variables: sent, never printed or written', () => {
  test('local and Lambda runs send the resolved header; stdout, stderr and the result file never contain it', async () => {
    for (const mode of ['local', 'lambda'] as const) {
      server.seen.length = 0;
      const runId = uniqueId(`secret-${mode}`);
      const events: string[] = [];
      const r = await inProcess(['--env', 'dev', '--rate', '40', '--duration', '0.5', '--target', server.url, '--run', runId, '--out', out, ...(mode === 'local' ? ['--local'] : ['--function', 'fn'])], {
        env: { LOADTEST_TOKEN: SECRET },
        signals: new EventEmitter(),
        invoker: () => (e) => {
          // Lambda mode: the resolved value travels in the invoke payload (never logged by the handler)
          events.push(JSON.stringify(e));
          return runWorker({ ...e, publish: false }, { remainingTimeMs: () => 120_000, env: process.env, stopReader: async () => false });
        },
      });
      expect(r.code).toBe(0);
      const me = server.seen.filter((s) => s.path === '/me');
      expect(me.length).toBeGreaterThan(0);
      expect(me.every((s) => s.headers.authorization === `Bearer ${SECRET}` && s.headers['x-tenant'] === 'acme')).toBe(true);
      const written = fs.readFileSync(path.join(out, `${runId}.json`), 'utf8');
      expect(r.stdout + r.stderr + written).not.toContain(SECRET);
      expect(written).not.toContain('authorization');
      if (mode === 'lambda') expect(events.join('')).toContain(`Bearer ${SECRET}`);
    }
  }, 20_000);

  test('an unset variable stops the run before it starts, naming the variable, exit 2', async () => {
    const r = await inProcess(['--env', 'dev', '--local', '--rate', '5', '--duration', '1', '--target', server.url, '--out', out], { env: {}, signals: new EventEmitter() });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'loadtest: loadTest.mix[0] "me" header authorization needs $LOADTEST_TOKEN. Fix: export the variable(s) before the run (e.g. export LOADTEST_TOKEN=...); their values are never printed or written.\n',
    );
    expect(server.seen).toHaveLength(0);
  });

  test('a secret that reaches a message is masked anyway (the redactor on every line and on the file)', async () => {
    // GIVEN a target whose base path happens to contain the secret's text (printed in the run's first line)
    const runId = uniqueId('mask');
    const r = await inProcess(['--env', 'dev', '--local', '--rate', '5', '--duration', '0.2', '--target', `${server.url}/${SECRET}`, '--run', runId, '--out', out], {
      env: { LOADTEST_TOKEN: SECRET }, signals: new EventEmitter(),
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`local, target ${server.url}/***, 1 phase(s)`);
    const written = fs.readFileSync(path.join(out, `${runId}.json`), 'utf8');
    expect(JSON.parse(written).tested.target).toBe(`${server.url}/***`);
    expect(r.stdout + r.stderr + written).not.toContain(SECRET);
  });
});
