import { readFileSync } from 'fs';
import { join } from 'path';
import { z } from 'zod';
import { CONFIG_SCHEMA_JSON, CONFIGURATION_MD, contextJsonSchema, generateDocs, keyRows, readBlueprintContext } from '../scripts/docs';

const root = join(__dirname, '..');

describe('generated configuration docs', () => {
  test.each(generateDocs().map((file) => [file.path, file.content]))('%s is as `npm run docs` writes it now', (path, content) => {
    const committed = readFileSync(join(root, path), 'utf8');
    if (committed !== content) {
      throw new Error(`${path} is out of date with lib/config/schema/ or cdk.json: run \`npm run docs\` and commit the result`);
    }
  });

  test('every key, group and list field has a description in the schema', () => {
    expect(keyRows().filter((row) => row.description.trim() === '').map((row) => row.path)).toEqual([]);
  });

  test('the reference has a row for every key and a section for every top-level group', () => {
    const markdown = readFileSync(join(root, CONFIGURATION_MD), 'utf8');
    const entry = (row: { path: string; kind: string }) =>
      row.kind === 'group' && !row.path.includes('.') ? `\n### \`${row.path}\`\n` : `\n| \`${row.path}\` |`;
    expect(keyRows().filter((row) => !markdown.includes(entry(row))).map((row) => row.path)).toEqual([]);
  });

  test('the reference shows each environment\'s merged value where it differs from the default', () => {
    const markdown = readFileSync(join(root, CONFIGURATION_MD), 'utf8');
    const row = markdown.split('\n').find((line) => line.startsWith('| `database.instanceClass` |'))!;
    const ctx = readBlueprintContext();
    const cells = row.split(' | ');
    // key | meaning | type | default | dev | staging | prod: dev and prod override the class, staging keeps it
    expect(cells[3]).toBe(`\`${JSON.stringify((ctx.defaults.database as { instanceClass: string }).instanceClass)}\``);
    expect(cells[4]).toBe(`\`${JSON.stringify((ctx.environments.dev.database as { instanceClass: string }).instanceClass)}\``);
    expect(cells[5]).toBe('');
  });
});

describe('the JSON Schema of cdk.json', () => {
  // Read back with zod's own JSON Schema reader, so the committed file is checked as an editor would use it.
  const schema = z.fromJSONSchema(JSON.parse(readFileSync(join(root, CONFIG_SCHEMA_JSON), 'utf8')));
  const cdkJson = JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8'));
  const edited = (edit: (blueprint: { defaults: any; environments: any }) => void) => {
    const copy = JSON.parse(JSON.stringify(cdkJson));
    edit(copy.context['scaling-blueprint']);
    return copy;
  };

  test('accepts the committed cdk.json, feature flags and all', () => {
    expect(schema.safeParse(cdkJson).error?.issues).toBeUndefined();
  });

  test('an environment may override any subset, down to one alarm level', () => {
    expect(schema.safeParse(edited((b) => { b.environments.qa = { alarms: { latencyP99Ms: { warning: null } } }; })).success).toBe(true);
  });

  test.each([
    ['a misspelt key in an environment', (b: any) => { b.environments.prod.api.maxTask = 3; }],
    ['a key missing from defaults', (b: any) => { delete b.defaults.api.maxTasks; }],
    ['a Fargate CPU size that does not exist', (b: any) => { b.environments.dev.api.cpu = 300; }],
    ['a value out of range', (b: any) => { b.defaults.queue.retentionDays = 15; }],
    ['an unknown key beside defaults and environments', (b: any) => { b.$schema = './docs/config.schema.json'; }],
  ])('rejects %s', (_name, edit) => {
    expect(schema.safeParse(edited(edit)).success).toBe(false);
  });

  test('carries the schema\'s descriptions for the editor to show', () => {
    const js = contextJsonSchema() as any;
    const api = js.properties.context.properties['scaling-blueprint'].properties.defaults.properties.api;
    expect(api.properties.dbPoolSize.description).toMatch(/connection pool/);
  });
});
