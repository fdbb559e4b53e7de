import { jsonLog, throttled } from '../../workload/src/log';

describe('jsonLog', () => {
  test('one JSON line per event: time, the base fields, the event, its fields', () => {
    const lines: string[] = [];
    const log = jsonLog({ write: (line: string) => lines.push(line) }, { service: 'api', pid: 7 });
    log('draining', { signal: 'SIGTERM' });
    log('stopped');
    expect(lines.every((l) => l.endsWith('\n') && l.indexOf('\n') === l.length - 1)).toBe(true);
    const [first, second] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(Object.keys(first)).toEqual(['time', 'service', 'pid', 'event', 'signal']);
    expect(first).toMatchObject({ service: 'api', pid: 7, event: 'draining', signal: 'SIGTERM' });
    expect(new Date(first.time as string).toISOString()).toBe(first.time);
    expect(second).toMatchObject({ service: 'api', pid: 7, event: 'stopped' });
  });
});

describe('throttled', () => {
  test('emits at most once per interval, with the number of calls it skipped since the last', () => {
    let clock = 1_000;
    const emitted: Array<[number, string]> = [];
    const report = throttled(10_000, (suppressed, what: string) => emitted.push([suppressed, what]), () => clock);
    report('a');
    report('b');
    clock += 9_999;
    report('c');
    clock += 1;
    report('d');
    report('e');
    clock += 10_000;
    report('f');
    expect(emitted).toEqual([[0, 'a'], [2, 'd'], [1, 'f']]);
  });
});
