import { spawn } from 'child_process';

/** What a child process did: its exit code, or why it never ran to the end. */
export interface RunResult {
  /** null when the process did not exit by itself (spawn failure, timeout). */
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** `ENOENT` (no such program), `timeout`, or another spawn error code. */
  readonly error?: string;
}

export interface RunOptions {
  readonly timeoutMs: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/** Runs one command; the checks take it as a parameter so tests answer for `docker` without a Docker engine. */
export type ProcessRunner = (command: string, args: readonly string[], options: RunOptions) => Promise<RunResult>;

/**
 * The real runner. The child leads its own process group, so a timeout kills what it started too
 * (`sh -c "npx ts-node ..."` would otherwise leave the app running after its shell is gone).
 */
export const runProcess: ProcessRunner = (command, args, options) =>
  new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let settled = false;
    const done = (r: RunResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const child = spawn(command, [...args], { cwd: options.cwd, env: options.env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }, options.timeoutMs);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (e: NodeJS.ErrnoException) => done({ exitCode: null, stdout, stderr, error: e.code ?? e.message }));
    child.on('close', (code) => done(timedOut ? { exitCode: null, stdout, stderr, error: 'timeout' } : { exitCode: code, stdout, stderr }));
  });
