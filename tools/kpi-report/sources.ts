import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import * as fs from 'fs';
import * as path from 'path';
import type { z } from 'zod';
import { kpiSourcesSchema, type KpiSources } from '../../lib/contracts/kpi-sources';
import { runResultFileSchema, type RunResultFile } from '../../lib/contracts/loadtest';
import { STACK_OUTPUTS, stackId } from '../../lib/contracts/stacks';
import { UsageError } from '../common/errors';
import { readStackOutput } from '../common/stack-outputs';

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
    throw new UsageError(`--sources ${file}: ${(e as Error).message}. Fix: pass a JSON file with the KpiSources fields (lib/contracts/kpi-sources.ts; tools/kpi-report/sources.example.json is one).`);
  }
  return { sources: parseWith(kpiSourcesSchema, raw, `--sources ${file} is not a valid KpiSources object`), from: file };
}

/** KpiSources from the `KpiSources` output of the environment's deployed Monitoring stack. */
export async function readSourcesFromStack(client: CloudFormationClient, envName: string): Promise<ResolvedSources> {
  const text = await readStackOutput(client, envName, 'kpiSources', '--sources <file.json>');
  const where = `${stackId(envName, 'Monitoring')} output ${STACK_OUTPUTS.kpiSources}`;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`stack ${where} is not JSON: ${(e as Error).message}`);
  }
  return { sources: parseWith(kpiSourcesSchema, raw, `${where} is not a valid KpiSources object`), from: `CloudFormation ${where}` };
}

/** The load-test CLI's result of a run, `<dir>/<runId>.json`, if it exists. */
export function readLoadResult(dir: string, runId: string): { result: RunResultFile; file: string } | undefined {
  const file = path.join(dir, `${runId}.json`);
  if (!fs.existsSync(file)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`${file}: ${(e as Error).message}`);
  }
  return { result: parseWith(runResultFileSchema, raw, `${file} is not a load-test result`), file };
}

function parseWith<T>(schema: z.ZodType<T>, raw: unknown, what: string): T {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.slice(0, 10).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new UsageError(`${what}: ${problems.join('; ')}`);
}
