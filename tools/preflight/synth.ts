import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { readCdkJson } from '../common/cdk-json';
import { UsageError } from '../common/errors';
import { readAssembly, type AppFacts } from './assembly';
import type { ProcessRunner } from './process';

/** Long enough for a cold ts-node start and the synth of every stack on a slow machine. */
const SYNTH_TIMEOUT_MS = 300_000;

/**
 * Synthesizes `envName` the way `cdk synth` does (the `app` command of cdk.json, with cdk.json's context
 * in CDK_CONTEXT_JSON and the assembly written to CDK_OUTDIR), into a temporary directory, and reads it.
 * Lambda bundling is skipped: preflight reads templates and manifests, not function code.
 * Running the app as its own process keeps the tools apart from the stacks (DESIGN.md: tools never import one).
 */
export async function synthesize(envName: string, region: string, cdkJsonFile: string, run: ProcessRunner): Promise<AppFacts> {
  const { context } = readCdkJson(cdkJsonFile);
  const app = appCommand(cdkJsonFile);
  const outdir = mkdtempSync(join(tmpdir(), 'preflight-cdk-out-'));
  try {
    const r = await run('sh', ['-c', app], {
      cwd: dirname(cdkJsonFile),
      timeoutMs: SYNTH_TIMEOUT_MS,
      env: {
        ...process.env,
        CDK_OUTDIR: outdir,
        // nag=false: preflight reads templates; cdk-nag runs on the user's own synth and in npm run check.
        CDK_CONTEXT_JSON: JSON.stringify({ ...context, env: envName, nag: false, 'aws:cdk:bundling-stacks': [] }),
      },
    });
    if (r.exitCode !== 0) {
      const why = r.error === 'timeout' ? `timed out after ${SYNTH_TIMEOUT_MS / 1000} s` : `exit ${r.exitCode ?? r.error}`;
      throw new UsageError(`synth of ${envName} failed (${app}: ${why}):\n${r.stderr.trim()}\nFix: make \`npx cdk synth -c env=${envName}\` pass, or pass --assembly <cdk.out>.`);
    }
    return readAssembly(outdir, envName, region);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

function appCommand(cdkJsonFile: string): string {
  const app = (JSON.parse(readFileSync(cdkJsonFile, 'utf8')) as { app?: unknown }).app;
  if (typeof app !== 'string' || app.trim() === '') throw new UsageError(`${cdkJsonFile} has no "app" command. Fix: give the path of the project's cdk.json.`);
  return app;
}
