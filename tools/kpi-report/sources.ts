import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import * as fs from 'fs';
import * as path from 'path';
import { z } from 'zod';
import { ConfigError, CONTEXT_KEY, loadConfig } from '../../lib/config/loader';
import type { BlueprintConfig } from '../../lib/config/schema';
import type { KpiSources, LoadResult } from '../loadtest/types';

/** A problem the user fixes (arguments, configuration, missing stack): the CLI exits 2 with the message. */
export class UsageError extends Error {
  /** `showUsage`: the arguments were wrong, so the usage text helps. */
  constructor(message: string, readonly showUsage = false) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Name of the Monitoring stack's output that holds the KpiSources JSON. */
export const KPI_SOURCES_OUTPUT = 'KpiSources';

const name = z.string().min(1);
const kpiSourcesSchema = z.strictObject({
  loadBalancerFullName: name,
  targetGroupFullName: name,
  clusterName: name,
  apiServiceName: name,
  workerServiceName: name,
  queueName: name,
  deadLetterQueueName: name,
  dbClusterIdentifier: name,
}) satisfies z.ZodType<KpiSources>;

/** One environment's validated configuration from a cdk.json; a ConfigError becomes a UsageError. */
export function loadEnvironmentConfig(cdkJsonPath: string, envName: string): BlueprintConfig {
  let context: unknown;
  try {
    context = JSON.parse(fs.readFileSync(cdkJsonPath, 'utf8')).context?.[CONTEXT_KEY];
  } catch (e) {
    throw new UsageError(`cannot read ${cdkJsonPath}: ${(e as Error).message}. Fix: run from the project root, or pass --config <cdk.json>.`);
  }
  try {
    return loadConfig(context, envName);
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
}

export interface ResolvedSources {
  readonly sources: KpiSources;
  /** Where they came from, for the report. */
  readonly from: string;
}

/** KpiSources from a JSON file (`--sources`), validated. */
export function readSourcesFile(file: string): ResolvedSources {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`--sources ${file}: ${(e as Error).message}. Fix: pass a JSON file with the KpiSources fields (tools/loadtest/types.ts).`);
  }
  return { sources: parseSources(raw, `--sources ${file}`), from: file };
}

/** KpiSources from the `KpiSources` output of the deployed Monitoring stack. */
export async function readSourcesFromStack(client: CloudFormationClient, stackName: string): Promise<ResolvedSources> {
  let outputs;
  try {
    const r = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = r.Stacks?.[0]?.Outputs ?? [];
  } catch (e) {
    const err = e as Error;
    if (err.name === 'ValidationError') {
      throw new UsageError(`stack ${stackName} not found (${err.message}). Fix: deploy the Monitoring stack of this environment, or pass --sources <file.json>.`);
    }
    throw new UsageError(`cannot describe stack ${stackName}: ${err.name}: ${err.message}. Fix: check AWS credentials and region, or pass --sources <file.json>.`);
  }
  const output = outputs.find((o) => o.OutputKey === KPI_SOURCES_OUTPUT);
  if (!output?.OutputValue) {
    throw new UsageError(`stack ${stackName} has no ${KPI_SOURCES_OUTPUT} output. Fix: deploy the current Monitoring stack, or pass --sources <file.json>.`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(output.OutputValue);
  } catch (e) {
    throw new UsageError(`stack ${stackName} output ${KPI_SOURCES_OUTPUT} is not JSON: ${(e as Error).message}`);
  }
  return { sources: parseSources(raw, `${stackName} output ${KPI_SOURCES_OUTPUT}`), from: `CloudFormation ${stackName} output ${KPI_SOURCES_OUTPUT}` };
}

function parseSources(raw: unknown, where: string): KpiSources {
  const parsed = kpiSourcesSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new UsageError(`${where} is not a valid KpiSources object: ${problems.join('; ')}`);
}

/** The load-test CLI's result of a run, `<dir>/<runId>.json`, if it exists. */
export function readLoadResult(dir: string, runId: string): { result: LoadResult; file: string } | undefined {
  const file = path.join(dir, `${runId}.json`);
  if (!fs.existsSync(file)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`${file}: ${(e as Error).message}`);
  }
  const r = raw as Partial<LoadResult>;
  if (typeof r.startedAt !== 'string' || typeof r.durationSeconds !== 'number' || typeof r.sent !== 'number' || !r.latency || !r.status) {
    throw new UsageError(`${file} is not a LoadResult (startedAt, durationSeconds, sent, status, latency expected)`);
  }
  return { result: raw as LoadResult, file };
}
