import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, watch, writeSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

// What several test files need and one jest run can make once: the workload's bundle (~1.5 s of CPU to build),
// an initdb'd PostgreSQL data directory to copy (~1.5 s). Global setup names the run's directory
// (SB_TEST_RUN_DIR, inherited by jest's workers); the first file that asks builds the thing under a lock, the
// files that ask meanwhile wait for it (an inotify event, not a poll), and later files find it made.
/** Longest wait for another worker's build (one initdb took 15 s on a 2-core machine at load 15). */
const WAIT_MS = 120_000;

/** The run's directory (a private one outside jest, e.g. when a helper is used from a script). */
export function runDir(): string {
  const dir = process.env.SB_TEST_RUN_DIR ?? mkdtempSync(join(tmpdir(), 'sb-test-run-'));
  mkdirSync(dir, { recursive: true });
  // PostgreSQL's tools run as the postgres user when we are root: they must reach what is built here.
  chmodSync(dir, 0o755);
  process.env.SB_TEST_RUN_DIR = dir;
  return dir;
}

/** Resolves when `name` is renamed into `dir` or `ms` pass; `cancel` ends the wait at once. */
function renamedInto(dir: string, name: string, ms: number): { done: Promise<void>; cancel(): void } {
  let cancel = () => undefined as void;
  const done = new Promise<void>((resolve) => {
    const watcher = watch(dir, (_event, changed) => {
      if (changed === name) cancel();
    });
    const timer = setTimeout(() => cancel(), ms);
    cancel = () => {
      clearTimeout(timer);
      watcher.close();
      resolve();
    };
  });
  return { done, cancel };
}

function holderAlive(lock: string): boolean {
  try {
    process.kill(Number(readFileSync(lock, 'utf8')), 0);
    return true;
  } catch {
    return false;
  }
}

export interface OncePerRun {
  /** The file or directory's name in the run directory. */
  readonly name: string;
  /** Makes it at `path` (a temporary name; it is renamed into place when done). */
  make(path: string): Promise<void>;
  /** False when what is there is out of date (made before an input changed); default: it exists. */
  fresh?(path: string): boolean;
}

/**
 * The path of `thing` in the run directory, made by this process if nobody has (or if it is stale). The mtime
 * of what is renamed into place is the moment its making started, so that `fresh` can compare inputs with it.
 */
export async function oncePerRun(thing: OncePerRun): Promise<string> {
  const dir = runDir();
  const target = join(dir, thing.name);
  const fresh = () => existsSync(target) && (thing.fresh?.(target) ?? true);
  const lock = join(dir, `${thing.name}.lock`);
  const until = Date.now() + WAIT_MS;
  const make = async (into: string) => {
    const started = new Date();
    const tmp = join(dir, `${thing.name}.${process.pid}.${Date.now()}.tmp`);
    await thing.make(tmp);
    utimesSync(tmp, started, started);
    renameSync(tmp, into);
  };
  while (!fresh()) {
    let fd: number | undefined;
    try {
      fd = openSync(lock, 'wx');
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw err;
    }
    if (fd !== undefined) {
      try {
        writeSync(fd, String(process.pid));
        closeSync(fd);
        // Another process may have finished between our check and the lock.
        if (!fresh()) {
          // A stale directory cannot be renamed over: move it aside first (a file is replaced atomically).
          if (existsSync(target) && statSync(target).isDirectory()) renameSync(target, join(dir, `${thing.name}.${process.pid}.${Date.now()}.old`));
          await make(target);
        }
      } finally {
        unlinkSync(lock);
      }
    } else if (!holderAlive(lock) || Date.now() > until) {
      // Its maker died (a killed jest worker) or is stuck: make a private one rather than wait on it.
      const own = join(mkdtempSync(join(dir, 'own-')), thing.name);
      await make(own);
      return own;
    } else {
      // The watch starts before the re-check, so a rename between the two is not missed; it wakes every 5 s
      // to see whether the maker is still alive.
      const renamed = renamedInto(dir, thing.name, Math.max(0, Math.min(5_000, until - Date.now())));
      if (fresh()) renamed.cancel();
      await renamed.done;
    }
  }
  return target;
}
