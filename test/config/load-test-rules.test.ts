import { configFor, problemsFor } from '../helpers/context';

const profile = { description: 'a checkout burst', phases: [{ durationSeconds: 30, arrivalRate: 50 }], stopWhenSlaBreaks: false };

describe('loadTest rules (issue 19: profiles of any name, headers, the stop poll)', () => {
  test('a profile of any name loads next to the four every environment has', () => {
    const cfg = configFor('dev', { loadTest: { profiles: { 'checkout-burst': profile } } });
    expect(cfg.loadTest.profiles['checkout-burst']).toEqual(profile);
    expect(cfg.loadTest.profiles.load.phases.length).toBeGreaterThan(0);
  });

  test('a profile name that cannot name a run', () => {
    expect(problemsFor('dev', { loadTest: { profiles: { 'black friday': profile } } })).toEqual([
      'scaling-blueprint.environments.dev.loadTest.profiles.black friday = {"description":"a checkout burst","phases":[{"durationSeconds":30,"arrivalRate":50}],"stopWhenSlaBreaks":false}: ' +
        'is not a profile name: it names the run (`--profile`), its result file and its CloudWatch RunId. Fix: rename it with 1-64 letters, digits, "_" or "-".',
    ]);
  });

  test('headers load; a host header is refused', () => {
    const mix = [{ name: 'me', method: 'GET', path: '/me', weight: 1, headers: { authorization: 'Bearer ${env:LOADTEST_TOKEN}' } }];
    expect(configFor('dev', { loadTest: { mix } }).loadTest.mix[0].headers).toEqual({ authorization: 'Bearer ${env:LOADTEST_TOKEN}' });
    expect(problemsFor('dev', { loadTest: { mix: [{ ...mix[0], headers: { Host: 'example.com' } }] } })).toEqual([
      'scaling-blueprint.environments.dev.loadTest.mix.0.headers.Host = "example.com": sets the host header of "me"; the load generator sends the target\'s host and refuses any other. ' +
        'Fix: remove it: the target (--target, or the Compute stack\'s ApiUrl) decides the host.',
    ]);
  });

  test('workers that would poll the stop parameter faster than SSM serves the account', () => {
    expect(problemsFor('dev', { loadTest: { maxWorkers: 100, stopPollSeconds: 2 } })).toEqual([
      'scaling-blueprint.environments.dev.loadTest.stopPollSeconds = 2: (2 s) with loadTest.maxWorkers 100 reads the stop parameter 50 times a second, ' +
        "more than 20 (half of SSM GetParameter's default 40 per second for the whole account). Fix: raise loadTest.stopPollSeconds to at least 5, or lower loadTest.maxWorkers to 40.",
    ]);
  });
});

describe('unknown keys inside a list (the mix): the valid keys are named', () => {
  test('a misspelt key of a mix entry suggests the right one, and lists them', () => {
    const mix = [{ name: 'me', method: 'GET', path: '/me', weight: 1, header: { authorization: 'x' } }];
    expect(problemsFor('dev', { loadTest: { mix } })).toEqual([
      'scaling-blueprint.environments.dev.loadTest.mix.0.header = {"authorization":"x"}: unknown key. ' +
        'Fix: did you mean "headers"? Rename it (valid keys here: name, method, path, body, headers, weight).',
    ]);
  });
});
