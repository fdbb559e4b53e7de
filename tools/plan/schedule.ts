/**
 * `api.scheduledScaling` on a clock: which task range is in effect when a simulated run starts, and when it
 * changes during the run. Application Auto Scaling's schedules are `cron(minutes hours day-of-month month
 * day-of-week year)`, `rate(n unit)` or `at(yyyy-mm-ddThh:mm:ss)`, in the entry's time zone; at each firing
 * the scalable target's min and max become the entry's, and "if the current capacity is below the new
 * minimum, Application Auto Scaling scales out to the new minimum; above the new maximum, it scales in to it".
 * https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-scheduled-scaling.html
 * https://docs.aws.amazon.com/autoscaling/application/userguide/scheduled-scaling-using-cron-expressions.html
 */

export interface ScheduleEntry {
  readonly name: string;
  readonly schedule: string;
  readonly timeZone: string;
  readonly minTasks: number;
  readonly maxTasks: number;
}

/** A task range and where it comes from (a key path of the configuration). */
export interface TaskRange {
  readonly minTasks: number;
  readonly maxTasks: number;
  readonly from: string;
}

/** The range changing `atSeconds` after the run's start. */
export interface RangeChange extends TaskRange {
  readonly atSeconds: number;
}

export interface ScheduleResolution {
  readonly initial: TaskRange;
  readonly changes: readonly RangeChange[];
  readonly notes: readonly string[];
}

/** How far before the run a firing is looked for: a week and a day covers daily and weekly schedules. */
const LOOKBACK_MINUTES = 8 * 24 * 60;
const MINUTE_MS = 60_000;

/**
 * The range at the start and its changes during `durationSeconds`, for a run starting at `startMs` (epoch
 * ms), or the configured range alone when no start time is given (what a deploy resets the range to).
 */
export function resolveSchedule(
  entries: readonly ScheduleEntry[], configured: TaskRange, keyPrefix: string, startMs: number | null, durationSeconds: number,
): ScheduleResolution {
  const notes: string[] = [];
  if (entries.length === 0) return { initial: configured, changes: [], notes };
  if (startMs === null) {
    notes.push(`${keyPrefix} has ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} (${entries.map((e) => e.name).join(', ')}), not applied: the run has no clock time. Pass --start <ISO time> to simulate the range in effect then; without it the range is ${configured.from}, what a deploy resets it to.`);
    return { initial: configured, changes: [], notes };
  }
  const firings: Array<{ atMs: number; range: TaskRange }> = [];
  const startMinute = Math.floor(startMs / MINUTE_MS) * MINUTE_MS;
  const endMs = startMs + durationSeconds * 1000;
  entries.forEach((entry, i) => {
    const range: TaskRange = { minTasks: entry.minTasks, maxTasks: entry.maxTasks, from: `${keyPrefix}[${i}] (${entry.name})` };
    let matcher: ((ms: number) => boolean) | string;
    try {
      matcher = compile(entry.schedule, entry.timeZone);
    } catch (e) {
      matcher = (e as Error).message;
    }
    if (typeof matcher === 'string') {
      notes.push(`${keyPrefix}[${i}] (${entry.name}) "${entry.schedule}" is not simulated: ${matcher}.`);
      return;
    }
    // The latest firing at or before the start sets the range the run starts in.
    for (let m = 0; m <= LOOKBACK_MINUTES; m++) {
      const at = startMinute - m * MINUTE_MS;
      if (matcher(at)) {
        firings.push({ atMs: at, range });
        break;
      }
    }
    for (let at = startMinute + MINUTE_MS; at <= endMs; at += MINUTE_MS) if (matcher(at)) firings.push({ atMs: at, range });
  });
  firings.sort((a, b) => a.atMs - b.atMs);
  const before = firings.filter((f) => f.atMs <= startMs);
  const initial = before.length > 0 ? before[before.length - 1].range : configured;
  if (before.length === 0) notes.push(`no entry of ${keyPrefix} fired in the ${LOOKBACK_MINUTES / 1440} days before --start: the run starts in ${configured.from}.`);
  const changes = firings.filter((f) => f.atMs > startMs).map((f) => ({ ...f.range, atSeconds: (f.atMs - startMs) / 1000 }));
  return { initial, changes, notes };
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
/** Application Auto Scaling numbers the days of the week 1-7 from Sunday. */
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface LocalTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  /** 1 (Sunday) to 7. */
  readonly weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock time of an instant in an IANA time zone; throws a RangeError for an unknown zone. */
function localTime(ms: number, timeZone: string): LocalTime {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', weekday: 'short',
    });
    formatters.set(timeZone, f);
  }
  const parts: Record<string, string> = {};
  for (const p of f.formatToParts(new Date(ms))) parts[p.type] = p.value;
  return {
    year: Number(parts.year), month: Number(parts.month), day: Number(parts.day), hour: Number(parts.hour), minute: Number(parts.minute),
    second: Number(parts.second), weekday: DAYS.indexOf(parts.weekday.toUpperCase()) + 1,
  };
}

/** A predicate on minute-aligned instants that says whether the schedule fires then; throws what it cannot simulate. */
function compile(schedule: string, timeZone: string): (ms: number) => boolean {
  localTime(0, timeZone);
  const at = /^at\((\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\)$/.exec(schedule);
  if (at) {
    const [y, mo, d, h, mi] = at.slice(1, 6).map(Number);
    return (ms) => {
      const t = localTime(ms, timeZone);
      return t.year === y && t.month === mo && t.day === d && t.hour === h && t.minute === mi;
    };
  }
  if (schedule.startsWith('rate(')) throw new Error('a rate() schedule fires relative to when the action was created, which the configuration does not say');
  const cron = /^cron\((.+)\)$/.exec(schedule);
  if (!cron) throw new Error('not a cron(), rate() or at() expression');
  const fields = cron[1].trim().split(/\s+/);
  if (fields.length !== 6) throw new Error(`cron() needs 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`);
  const [minutes, hours, dom, month, dow, year] = [
    field(fields[0], 0, 59), field(fields[1], 0, 23), field(fields[2], 1, 31), field(fields[3], 1, 12, MONTHS), field(fields[4], 1, 7, DAYS), field(fields[5], 1970, 2199),
  ];
  return (ms) => {
    const t = localTime(ms, timeZone);
    return minutes(t.minute) && hours(t.hour) && dom(t.day) && month(t.month) && dow(t.weekday) && year(t.year);
  };
}

/** One cron field: `*`, `?`, numbers or names, ranges `a-b`, lists `a,b`, steps `a/n` or `*`/n. */
function field(text: string, lo: number, hi: number, names: readonly string[] = []): (v: number) => boolean {
  if (text === '*' || text === '?') return () => true;
  if (/[LW#]/.test(text.replace(/[A-Z]{3}/g, ''))) throw new Error(`the cron field "${text}" uses L, W or #, which the planner does not simulate`);
  const value = (s: string): number => {
    const i = names.indexOf(s.toUpperCase());
    const n = i >= 0 ? i + lo : Number(s);
    if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`"${s}" is not a value of the cron field "${text}" (${lo}-${hi})`);
    return n;
  };
  const allowed = new Set<number>();
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`bad step in the cron field "${text}"`);
    let from: number;
    let to: number;
    if (range === '*') [from, to] = [lo, hi];
    else if (range.includes('-')) [from, to] = range.split('-').map(value) as [number, number];
    else [from, to] = [value(range), stepText === undefined ? value(range) : hi];
    for (let v = from; v <= to; v += step) allowed.add(v);
  }
  return (v) => allowed.has(v);
}
