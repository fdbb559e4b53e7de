import { spawnSync } from 'child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { delimiter, join } from 'path';

// cfn-lint is a Python tool: each process spends ~1.5 s of CPU starting Python and loading its schemas before
// it reads a template. The template specs share one probe and one lint process per jest registry.

const ROOT = join(__dirname, '..', '..');

let installed: boolean | undefined;

/**
 * Whether cfn-lint is on PATH (an executable file of that name), looked up once per registry. Not by running
 * `cfn-lint --version`: a Python start costs ~2.7 s of CPU before the real run costs it again. One on PATH
 * that does not run is not skipped: its spec fails on the lint's exit status instead.
 */
export function cfnLintInstalled(): boolean {
  installed ??= (process.env.PATH ?? '').split(delimiter).filter(Boolean).some((dir) => {
    try {
      accessSync(join(dir, 'cfn-lint'), constants.X_OK);
      return statSync(join(dir, 'cfn-lint')).isFile();
    } catch {
      return false;
    }
  });
  return installed;
}

export interface LintRun {
  /** cfn-lint's `parseable` lines (`<file>:<line>:<col>:<endline>:<endcol>:<rule>:<message>`) for this batch's files only. */
  readonly findings: string[];
  /** The shared process's stderr and exit status (it linted every batch). */
  readonly stderr: string;
  readonly status: number | null;
}

interface Batch {
  readonly templates: () => Record<string, unknown>;
  files?: string[];
}

const batches: Batch[] = [];
let shared: { stdout: string[]; stderr: string; status: number | null } | undefined;

/**
 * Registers templates (file name -> template JSON, made when the lint runs) for the registry's one cfn-lint
 * process. Call it while jest collects the spec; the returned function runs cfn-lint over every registered
 * batch the first time any batch asks, and returns this batch's findings, keyed by the paths it returns in
 * `files`.
 */
export function lintBatch(templates: () => Record<string, unknown>): () => LintRun & { files: string[] } {
  const batch: Batch = { templates };
  batches.push(batch);
  return () => {
    if (!shared) {
      const dir = mkdtempSync(join(tmpdir(), 'sb-lint-'));
      try {
        batches.forEach((b, i) => {
          const sub = join(dir, String(i));
          mkdirSync(sub);
          b.files = Object.entries(b.templates()).map(([name, json]) => {
            const file = join(sub, name);
            writeFileSync(file, JSON.stringify(json, null, 1));
            return file;
          });
        });
        const run = spawnSync('cfn-lint', ['--format', 'parseable', '--', ...batches.flatMap((b) => b.files!)], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
        shared = { stdout: run.stdout.split('\n').filter(Boolean), stderr: run.stderr, status: run.status };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    const files = batch.files!;
    return { files, findings: shared.stdout.filter((line) => files.some((f) => line.startsWith(`${f}:`))), stderr: shared.stderr, status: shared.status };
  };
}
