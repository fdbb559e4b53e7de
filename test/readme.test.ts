import { existsSync, readdirSync, readFileSync } from 'fs';
import { dirname, join, relative } from 'path';

const root = join(__dirname, '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  const withoutCode = markdown.replace(/^```[\s\S]*?^```/gm, '');
  for (const [, text] of withoutCode.matchAll(/^#{1,6} (.+)$/gm)) {
    const base = text.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Relative links of a Markdown file (outside code blocks) that point nowhere. */
function brokenLinks(file: string): string[] {
  const markdown = readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```/gm, '');
  const broken: string[] = [];
  for (const [, target] of markdown.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/i.test(target)) continue;
    const [path, anchor] = target.split('#');
    const resolved = path ? join(dirname(file), path) : file;
    if (!existsSync(resolved)) {
      broken.push(`${target} (no such file)`);
    } else if (anchor && resolved.endsWith('.md') && !anchors(readFileSync(resolved, 'utf8')).has(anchor)) {
      broken.push(`${target} (no such heading in ${relative(root, resolved)})`);
    }
  }
  return broken;
}

test('README.md stays under 20 KB: details live under docs/', () => {
  expect(Buffer.byteLength(readme)).toBeLessThan(20_000);
});

test('README.md says how to start on a fresh machine and how to run one spec', () => {
  expect(readme).toContain('npm ci && npm ci --prefix workload && npx cdk synth');
  expect(readme).toMatch(/^npm test\b/m);
  expect(readme).toContain("pip install 'cfn-lint>=1'");
  expect(readme).toMatch(/npx jest test\/templates\.test\.ts -t '/);
});

test('README.md copies no configuration table from cdk.json: the reference is generated', () => {
  expect(readme).not.toMatch(/\|\s*default\s*\|/i);
  expect(readme).toContain('docs/configuration.md');
});

test.each([
  'README.md',
  ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`),
])('every relative link in %s resolves', (file) => {
  expect(brokenLinks(join(root, file))).toEqual([]);
});

test('the anchor rule matches GitHub on the headings this project uses', () => {
  expect([...anchors('## Prove it scales: load tests and the KPI report\n## `max_connections` per instance class\n## A\n## A')])
    .toEqual(['prove-it-scales-load-tests-and-the-kpi-report', 'max_connections-per-instance-class', 'a', 'a-1']);
});
