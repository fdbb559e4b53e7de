/** How the workload reports an event: a name and its fields, one JSON line each. */
export type Log = (event: string, fields?: Record<string, unknown>) => void;

/**
 * A Log that writes one JSON line per event to `stream` (stderr by default; ECS's awslogs driver passes the
 * container's stdout and stderr to CloudWatch Logs: https://repost.aws/knowledge-center/ecs-container-logs-cloudwatch):
 * its time, then `base` (the fields every line of this process carries), then the event's.
 */
export function jsonLog(stream: { write(line: string): unknown } = process.stderr, base: Record<string, unknown> = {}): Log {
  return (event, fields = {}) => {
    stream.write(`${JSON.stringify({ time: new Date().toISOString(), ...base, event, ...fields })}\n`);
  };
}

/**
 * `emit` at most once per `intervalMs`; calls in between are counted, and the next `emit` gets that count as
 * `suppressed`: a dependency that is down fails every call, and its errors should be a few lines, not a flood.
 */
export function throttled<A extends unknown[]>(
  intervalMs: number, emit: (suppressed: number, ...args: A) => void, now: () => number = Date.now,
): (...args: A) => void {
  let last = -Infinity;
  let suppressed = 0;
  return (...args) => {
    const t = now();
    if (t - last < intervalMs) {
      suppressed++;
      return;
    }
    emit(suppressed, ...args);
    last = t;
    suppressed = 0;
  };
}
