import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import { readFileSync } from 'fs';
import { join } from 'path';

const ROOT = join(__dirname, '..', '..');

/** JSON with object keys sorted at every level: the same configuration always hashes the same. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/** `sha256:<hex>` of an environment's loaded configuration (header values as written: `${env:…}`, never resolved). */
export function configHash(config: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(config)).digest('hex')}`;
}

/** HEAD and whether tracked files differ from it; nulls outside a git checkout or without git. */
export function gitState(cwd: string = ROOT): { gitCommit: string | null; gitDirty: boolean | null } {
  const git = (...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
  let gitCommit: string | null;
  try {
    gitCommit = git('rev-parse', 'HEAD');
  } catch {
    return { gitCommit: null, gitDirty: null };
  }
  let gitDirty: boolean | null;
  try {
    gitDirty = git('status', '--porcelain', '--untracked-files=no').length > 0;
  } catch {
    gitDirty = null;
  }
  return { gitCommit, gitDirty };
}

/** `<name>@<version>` of the project's package.json: the generator's code is the project's. */
export function generatorVersion(root: string = ROOT): string {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name?: string; version?: string };
  return `${pkg.name ?? 'scaling-blueprint'}@${pkg.version ?? '0.0.0'}`;
}
