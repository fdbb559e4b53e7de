import { UsageError } from './errors';

/** How a CLI shows progress (`--progress`): `auto` is `tty` on a terminal and `none` otherwise. */
export const PROGRESS_MODES = ['auto', 'tty', 'plain', 'none'] as const;
export type ProgressMode = (typeof PROGRESS_MODES)[number];

/** The value of `--progress`; undefined means auto. */
export function progressMode(value: string | undefined): ProgressMode {
  if (value === undefined) return 'auto';
  if (!(PROGRESS_MODES as readonly string[]).includes(value)) {
    throw new UsageError(`--progress = "${value}": must be one of ${PROGRESS_MODES.join(', ')} (auto: in place on a terminal, none otherwise; plain: a line per update, e.g. for a CI log).`, true);
  }
  return value as ProgressMode;
}

/** Where progress goes: a stream (process.stderr) or, in tests, a function with its own isTTY. */
export interface ProgressSink {
  readonly write: (text: string) => void;
  readonly isTTY?: boolean;
}

/**
 * A status line that progresses: rewritten in place on a terminal (`tty`), a line per update (`plain`), or
 * nothing (`none`: a log, a pipe, a CI step, unless asked for with --progress plain). `log` prints a line
 * that stays (a phase that ended, a warning) without mixing it into the status line.
 */
export class Progress {
  readonly mode: Exclude<ProgressMode, 'auto'>;
  private shown = false;

  constructor(private readonly sink: ProgressSink, mode: ProgressMode = 'auto') {
    this.mode = mode === 'auto' ? (sink.isTTY ? 'tty' : 'none') : mode;
  }

  update(line: string): void {
    if (this.mode === 'tty') {
      // \r and "erase in line" (ECMA-48 EL, CSI 2 K): the new status replaces the old one.
      this.sink.write(`\r\x1b[2K${line}`);
      this.shown = true;
    } else if (this.mode === 'plain') {
      this.sink.write(`${line}\n`);
    }
  }

  /** A line that stays, whatever the mode. */
  log(line: string): void {
    this.clear();
    this.sink.write(line.endsWith('\n') ? line : `${line}\n`);
  }

  /** Removes the status line (before the result is printed, or on exit). */
  clear(): void {
    if (this.shown) this.sink.write('\r\x1b[2K');
    this.shown = false;
  }
}
