import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseFlags, positiveNumber } from '../../../tools/common/args';
import { blueprintContext, featureFlags, loadEnvironmentConfig, readCdkJson } from '../../../tools/common/cdk-json';
import { cannotRunExit, UsageError, usageErrorText } from '../../../tools/common/errors';
import { readStackOutput } from '../../../tools/common/stack-outputs';

/** A CloudFormation client whose DescribeStacks answers `reply` (or throws it). */
function cloudFormation(reply: { outputs?: Record<string, string>; error?: { name: string; message: string } }): CloudFormationClient {
  return {
    send: async () => {
      if (reply.error) throw Object.assign(new Error(reply.error.message), { name: reply.error.name });
      return { Stacks: [{ Outputs: Object.entries(reply.outputs ?? {}).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })) }] };
    },
  } as unknown as CloudFormationClient;
}

async function usageError(p: Promise<unknown> | (() => unknown)): Promise<UsageError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return e as UsageError;
  }
  throw new Error('expected a UsageError');
}

describe('readStackOutput', () => {
  test('finds the output in the stack the contract names', async () => {
    await expect(readStackOutput(cloudFormation({ outputs: { ApiUrl: 'http://lb' } }), 'perf-eu', 'apiUrl', '--target URL')).resolves.toBe('http://lb');
  });

  test('a missing stack, an AWS error and a missing output each say which stack and what to pass instead', async () => {
    const missing = await usageError(readStackOutput(cloudFormation({ error: { name: 'ValidationError', message: 'Stack with id x does not exist' } }), 'dev', 'loadGeneratorFunctionName', '--function NAME'));
    expect(missing.message).toBe('stack ScalingBlueprint-Dev-LoadTest not found (Stack with id x does not exist). Fix: deploy the LoadTest stack of this environment, or pass --function NAME.');
    const denied = await usageError(readStackOutput(cloudFormation({ error: { name: 'AccessDenied', message: 'no' } }), 'dev', 'kpiSources', '--sources <file.json>'));
    expect(denied.message).toBe('cannot describe stack ScalingBlueprint-Dev-Monitoring: AccessDenied: no. Fix: check AWS credentials and region, or pass --sources <file.json>.');
    const none = await usageError(readStackOutput(cloudFormation({ error: { name: 'CredentialsProviderError', message: 'Could not load credentials from any providers' } }), 'dev', 'apiUrl', '--target URL'));
    expect(none.message).toBe('cannot read stack ScalingBlueprint-Dev-Compute: no AWS credentials. Fix: set AWS_PROFILE (after `aws configure` or `aws sso login`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. Or pass --target URL.');
    const old = await usageError(readStackOutput(cloudFormation({ outputs: {} }), 'dev', 'apiUrl', '--target URL'));
    expect(old.message).toBe('stack ScalingBlueprint-Dev-Compute has no ApiUrl output. Fix: deploy the current Compute stack, or pass --target URL.');
  });
});

describe('cdk.json', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-common-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("the project's cdk.json by default: feature flags apart from the blueprint's environments", () => {
    const cdk = readCdkJson();
    expect(Object.keys(blueprintContext(cdk).environments)).toEqual(expect.arrayContaining(['dev', 'staging', 'prod']));
    expect(featureFlags(cdk)).not.toHaveProperty('scaling-blueprint');
    expect(Object.keys(featureFlags(cdk)).some((k) => k.startsWith('@aws-cdk/'))).toBe(true);
    expect(loadEnvironmentConfig('dev').envName).toBe('dev');
  });

  test('an unreadable file, a file without context, and a configuration error are UsageErrors that name the file or key', async () => {
    expect((await usageError(() => readCdkJson(path.join(dir, 'nope.json')))).message).toMatch(/^cannot read .*nope\.json: ENOENT/);
    const empty = path.join(dir, 'empty.json');
    fs.writeFileSync(empty, '{}');
    expect((await usageError(() => readCdkJson(empty))).message).toContain('has no "context" object');
    expect((await usageError(() => loadEnvironmentConfig('qa'))).message).toContain('env = "qa": no such environment');
  });
});

describe('flags', () => {
  test('unknown flags and missing values show the usage; numbers must be > 0', async () => {
    const options = { env: { type: 'string' }, local: { type: 'boolean' } } as const;
    expect(parseFlags(['--env', 'dev', '--local'], options)).toEqual({ env: 'dev', local: true });
    const unknown = await usageError(() => parseFlags(['--nope'], options));
    expect(unknown.showUsage).toBe(true);
    expect(usageErrorText('tool', unknown)).toBe(`tool: ${unknown.message}\n(npm run tool -- --help lists the flags)\n`);
    expect((await usageError(() => parseFlags(['--env'], options))).message).toBe('--env needs a value.');
    expect(positiveNumber('--rate', undefined)).toBeUndefined();
    expect(positiveNumber('--rate', '2.5')).toBe(2.5);
    expect((await usageError(() => positiveNumber('--rate', '0'))).message).toBe('--rate = "0": must be a number > 0');
    expect(usageErrorText('tool', new UsageError('no stack'))).toBe('tool: no stack\n');
  });
});

describe('cannotRunExit', () => {
  test('credentials an AWS call could not use: one line naming them, exit 2, whatever the CLI would print for other errors', () => {
    const printed: string[] = [];
    const e = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    expect(cannotRunExit('kpi-report', e, (s) => void printed.push(s), () => 'no verdict: something else')).toBe(2);
    expect(printed).toEqual(['kpi-report: no AWS credentials. Fix: set AWS_PROFILE (after `aws configure` or `aws sso login`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.\n']);
  });
});
