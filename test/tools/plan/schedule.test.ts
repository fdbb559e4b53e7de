import { resolveSchedule, type ScheduleEntry } from '../../../tools/plan/schedule';

const CONFIGURED = { minTasks: 3, maxTasks: 30, from: 'api.minTasks/api.maxTasks' };
// prod's entries (cdk.json): weekdays 07:00 UTC min 6, 20:00 UTC back to 3.
const PROD: ScheduleEntry[] = [
  { name: 'weekday-peak', schedule: 'cron(0 7 ? * MON-FRI *)', timeZone: 'UTC', minTasks: 6, maxTasks: 30 },
  { name: 'weekday-evening', schedule: 'cron(0 20 ? * MON-FRI *)', timeZone: 'UTC', minTasks: 3, maxTasks: 30 },
];
const ms = (iso: string) => Date.parse(iso);

describe('api.scheduledScaling on a clock', () => {
  test('Monday 06:59 UTC: Friday evening\'s range, then the weekday peak 60 s in', () => {
    // 2025-03-03 is a Monday; the last firing before is Friday 2025-02-28 20:00 (weekday-evening).
    const r = resolveSchedule(PROD, CONFIGURED, 'api.scheduledScaling', ms('2025-03-03T06:59:00Z'), 600);
    expect(r.initial).toEqual({ minTasks: 3, maxTasks: 30, from: 'api.scheduledScaling[1] (weekday-evening)' });
    expect(r.changes).toEqual([{ minTasks: 6, maxTasks: 30, from: 'api.scheduledScaling[0] (weekday-peak)', atSeconds: 60 }]);
  });

  test('Saturday noon: still Friday evening\'s range, and nothing fires for hours', () => {
    const r = resolveSchedule(PROD, CONFIGURED, 'api.scheduledScaling', ms('2025-03-01T12:00:00Z'), 3600);
    expect(r.initial.from).toBe('api.scheduledScaling[1] (weekday-evening)');
    expect(r.changes).toEqual([]);
  });

  test('the entry\'s time zone: 08:00 in Berlin is 07:00 UTC in winter', () => {
    const berlin: ScheduleEntry[] = [{ name: 'berlin', schedule: 'cron(0 8 ? * MON-FRI *)', timeZone: 'Europe/Berlin', minTasks: 8, maxTasks: 30 }];
    const r = resolveSchedule(berlin, CONFIGURED, 'api.scheduledScaling', ms('2025-03-03T06:30:00Z'), 3600);
    // Friday 08:00 Berlin fired before the start; Monday 08:00 Berlin = 07:00 UTC, 1800 s in.
    expect(r.initial.minTasks).toBe(8);
    expect(r.changes.map((c) => c.atSeconds)).toEqual([1800]);
  });

  test('steps, lists and at()', () => {
    const entries: ScheduleEntry[] = [
      { name: 'every-15', schedule: 'cron(0/15 * * * ? *)', timeZone: 'UTC', minTasks: 4, maxTasks: 30 },
      { name: 'once', schedule: 'at(2025-03-03T10:20:00)', timeZone: 'UTC', minTasks: 9, maxTasks: 30 },
    ];
    const r = resolveSchedule(entries, CONFIGURED, 'api.scheduledScaling', ms('2025-03-03T10:05:00Z'), 1800);
    expect(r.initial.from).toBe('api.scheduledScaling[0] (every-15)');
    // 10:15 and 10:30 (every-15), 10:20 (once)
    expect(r.changes.map((c) => [c.atSeconds, c.minTasks])).toEqual([[600, 4], [900, 9], [1500, 4]]);
  });

  test('what cannot be simulated is said, and the run keeps the configured range', () => {
    const entries: ScheduleEntry[] = [
      { name: 'rate', schedule: 'rate(5 minutes)', timeZone: 'UTC', minTasks: 4, maxTasks: 30 },
      { name: 'last-day', schedule: 'cron(0 7 L * ? *)', timeZone: 'UTC', minTasks: 4, maxTasks: 30 },
    ];
    const r = resolveSchedule(entries, CONFIGURED, 'api.scheduledScaling', ms('2025-03-03T10:05:00Z'), 600);
    expect(r.initial).toEqual(CONFIGURED);
    expect(r.notes).toEqual([
      'api.scheduledScaling[0] (rate) "rate(5 minutes)" is not simulated: a rate() schedule fires relative to when the action was created, which the configuration does not say.',
      'api.scheduledScaling[1] (last-day) "cron(0 7 L * ? *)" is not simulated: the cron field "L" uses L, W or #, which the planner does not simulate.',
      'no entry of api.scheduledScaling fired in the 8 days before --start: the run starts in api.minTasks/api.maxTasks.',
    ]);
  });

  test('without --start the schedules are not applied, and the note says how to', () => {
    const r = resolveSchedule(PROD, CONFIGURED, 'api.scheduledScaling', null, 600);
    expect(r.initial).toEqual(CONFIGURED);
    expect(r.changes).toEqual([]);
    expect(r.notes).toEqual(['api.scheduledScaling has 2 entries (weekday-peak, weekday-evening), not applied: the run has no clock time. Pass --start <ISO time> to simulate the range in effect then; without it the range is api.minTasks/api.maxTasks, what a deploy resets it to.']);
  });
});
