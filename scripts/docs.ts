import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import { dirname, join } from 'path';
import { z } from 'zod';
import { AURORA_POSTGRES_MAX_CONNECTIONS } from '../lib/config/capacity';
import { ConfigError, CONTEXT_KEY, deepMerge, loadConfig, type Json, type JsonObject } from '../lib/config/loader';
import { blueprintConfigSchema } from '../lib/config/schema';
import { cliEntry } from '../tools/common/args';

/**
 * `npm run docs`: writes the configuration reference (docs/configuration.md) and the JSON Schema of the
 * `scaling-blueprint` context (docs/config.schema.json) from the schema's descriptions and from cdk.json, so
 * that a key's meaning is written once, in lib/config/schema/. test/docs.test.ts regenerates both in memory
 * and fails while the committed files differ.
 */

const ROOT = join(__dirname, '..');
export const CONFIGURATION_MD = 'docs/configuration.md';
export const CONFIG_SCHEMA_JSON = 'docs/config.schema.json';

export interface GeneratedFile {
  /** Relative to the project root. */
  readonly path: string;
  readonly content: string;
}

interface BlueprintContext {
  readonly defaults: JsonObject;
  readonly environments: Record<string, JsonObject>;
}

/** The `scaling-blueprint` context value of the project's cdk.json. */
export function readBlueprintContext(): BlueprintContext {
  const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  return cdkJson.context[CONTEXT_KEY] as BlueprintContext;
}

/** Both generated files, as `npm run docs` writes them. */
export function generateDocs(context: BlueprintContext = readBlueprintContext()): GeneratedFile[] {
  return [
    { path: CONFIGURATION_MD, content: configurationMarkdown(context) },
    { path: CONFIG_SCHEMA_JSON, content: `${JSON.stringify(contextJsonSchema(), null, 2)}\n` },
  ];
}

// ---------------------------------------------------------------------------------------------------------
// The schema, walked key by key
// ---------------------------------------------------------------------------------------------------------

/** One row of the reference: a key (dot path), or a field of an array's items (`path[].field`). */
export interface KeyRow {
  readonly path: string;
  readonly schema: z.ZodType;
  readonly description: string;
  /** `value`: has a value in cdk.json; `group`: an object whose keys follow; `item`: a field of array items. */
  readonly kind: 'value' | 'group' | 'item';
}

/** Every key of the configuration in schema order; an alarm's `{ warning, critical }` pair is one key. */
export function keyRows(schema: z.ZodObject = blueprintConfigSchema, prefix = '', kind: 'value' | 'item' = 'value'): KeyRow[] {
  return Object.entries(schema.shape).flatMap(([key, child]) => {
    const field = child as z.ZodType;
    const path = prefix ? `${prefix}.${key}` : key;
    const description = field.description ?? '';
    const inner = unwrap(field);
    if (inner instanceof z.ZodObject && !isThresholds(inner)) {
      return [{ path, schema: field, description, kind: kind === 'item' ? 'item' : 'group' } as KeyRow, ...keyRows(inner, path, kind)];
    }
    const row: KeyRow = { path, schema: field, description, kind };
    const element = inner instanceof z.ZodArray ? unwrap(inner.element as z.ZodType) : undefined;
    return element instanceof z.ZodObject ? [row, ...keyRows(element, `${path}[]`, 'item')] : [row];
  });
}

function unwrap(schema: z.ZodType): z.ZodType {
  return schema instanceof z.ZodOptional || schema instanceof z.ZodNullable ? unwrap(schema.unwrap() as z.ZodType) : schema;
}

function isThresholds(schema: z.ZodObject): boolean {
  return Object.keys(schema.shape).join() === 'warning,critical';
}

/** Units are in the keys' names; the reference spells them out. */
const UNIT_SUFFIXES: ReadonlyArray<readonly [string, string]> = [
  ['Seconds', 's'], ['Ms', 'ms'], ['Minutes', 'min'], ['Days', 'days'], ['MiB', 'MiB'], ['Gb', 'GB'],
  ['Percent', '%'], ['Acu', 'ACU'], ['PerSecond', 'per second'],
];

function unitOf(path: string): string | undefined {
  const name = path.split('.').pop()!;
  return UNIT_SUFFIXES.find(([suffix]) => name.endsWith(suffix))?.[1];
}

type JsonSchema = {
  type?: string;
  anyOf?: JsonSchema[];
  enum?: Json[];
  const?: Json;
  minimum?: number;
  maximum?: number;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
};

/** Type, range and unit of a key, in words, from the same JSON Schema an editor sees. */
export function typeOf(row: KeyRow): string {
  const inner = unwrap(row.schema);
  const unit = unitOf(row.path);
  const withUnit = (text: string) => (unit ? `${text} (${unit})` : text);
  if (inner instanceof z.ZodObject && isThresholds(inner)) {
    return withUnit(`{ warning, critical }: each ${describeJson(z.toJSONSchema(inner.shape.warning as z.ZodType) as JsonSchema, inner.shape.warning as z.ZodType)}`);
  }
  if (inner instanceof z.ZodObject) return 'object';
  const text = describeJson(z.toJSONSchema(inner) as JsonSchema, inner);
  return withUnit(row.schema instanceof z.ZodOptional ? `${text}, optional` : text);
}

function describeJson(js: JsonSchema, schema: z.ZodType): string {
  if (js.anyOf) {
    const options = js.anyOf.filter((o) => o.type !== 'null');
    const nullable = options.length < js.anyOf.length;
    return `${options.map((o) => describeJson(o, unwrap(schema))).join(' or ')}${nullable ? ' or null' : ''}`;
  }
  if (js.enum) return `one of ${js.enum.map((v) => `\`${JSON.stringify(v)}\``).join(', ')}`;
  if (js.const !== undefined) return `\`${JSON.stringify(js.const)}\``;
  switch (js.type) {
    case 'integer':
    case 'number':
      return `${js.type === 'integer' ? 'integer' : 'number'}${range(js.minimum, js.maximum)}${js.multipleOf ? `, steps of ${js.multipleOf}` : ''}`;
    case 'string': {
      const format = js.pattern ? formatOf(schema) : undefined;
      const length = js.minLength !== undefined || js.maxLength !== undefined ? `, ${range(js.minLength, js.maxLength).trim()} characters` : '';
      return format ? `string: ${format}` : `string${length}`;
    }
    case 'boolean':
      return 'boolean';
    case 'array': {
      const element = schema instanceof z.ZodArray ? unwrap(schema.element as z.ZodType) : schema;
      const items = element instanceof z.ZodObject ? 'objects (fields below)' : describeJson(js.items ?? {}, element);
      const count = js.minItems !== undefined || js.maxItems !== undefined ? `; ${range(js.minItems, js.maxItems).trim()} items` : '';
      return `list of ${items}${count}`;
    }
    default:
      return js.type ?? 'any';
  }
}

function range(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return ` ${min} to ${max}`;
  if (min !== undefined) return ` ≥ ${min}`;
  if (max !== undefined) return ` up to ${max}`;
  return '';
}

/**
 * The words a pattern stands for: the message the schema gives when a value does not match it (the one the
 * loader prints), found by parsing a value no pattern of ours accepts.
 */
function formatOf(schema: z.ZodType): string | undefined {
  const result = schema.safeParse('\u0000');
  return result.success ? undefined : result.error.issues.find((i) => i.code === 'invalid_format')?.message;
}

// ---------------------------------------------------------------------------------------------------------
// docs/config.schema.json
// ---------------------------------------------------------------------------------------------------------

/**
 * An environment overrides any subset of the keys: objects merge key by key (every key optional), arrays
 * and values replace, as lib/config/loader.ts deepMerge does.
 */
function deepPartial(schema: z.ZodType): z.ZodType {
  if (!(schema instanceof z.ZodObject)) return schema;
  const shape = Object.fromEntries(Object.entries(schema.shape).map(([key, child]) => [key, deepPartial(child as z.ZodType).optional()]));
  // A catchall (loadTest.profiles: any name) stays open in an environment's override too.
  const catchall = schema._zod.def.catchall;
  const partial = catchall && !(catchall instanceof z.ZodNever) ? z.object(shape).catchall(deepPartial(catchall as z.ZodType)) : z.strictObject(shape);
  return schema.description ? partial.describe(schema.description) : partial;
}

/** The JSON Schema of cdk.json as far as this project defines it: the `scaling-blueprint` context value. */
export function contextJsonSchema(): Record<string, unknown> {
  const blueprint = z.strictObject({
    defaults: blueprintConfigSchema
      .describe('Every key, for every environment (docs/configuration.md).'),
    environments: z.record(z.string(), deepPartial(blueprintConfigSchema))
      .describe('One entry per environment (`npx cdk synth -c env=<name>`): only the keys that differ from defaults; objects merge key by key, arrays and values replace.'),
  }).describe('scaling-blueprint: the configuration of every environment (docs/configuration.md).');
  const cdkJson = z.looseObject({
    context: z.looseObject({ [CONTEXT_KEY]: blueprint }),
  });
  return {
    ...z.toJSONSchema(cdkJson, { target: 'draft-07', io: 'input' }),
    title: 'cdk.json of scaling-blueprint',
    description: 'Generated by `npm run docs` from lib/config/schema/. Checks the "scaling-blueprint" context; other keys of cdk.json are left to the CDK.',
  };
}

// ---------------------------------------------------------------------------------------------------------
// docs/configuration.md
// ---------------------------------------------------------------------------------------------------------

function valueAt(obj: Json | undefined, path: string): Json | undefined {
  let node = obj;
  for (const segment of path.split('.')) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
    node = node[segment];
  }
  return node;
}

/** A value as it is written in cdk.json, safe inside a Markdown table cell. */
function code(value: Json | undefined): string {
  if (value === undefined) return '';
  return `\`${JSON.stringify(value).replace(/\|/g, '\\|')}\``;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** What synth prints for a few bad values in the last environment, run through the loader itself. */
function badValueExample(context: BlueprintContext): { env: string; overrides: JsonObject; output: string } {
  const env = Object.keys(context.environments).pop()!;
  const overrides: JsonObject = { api: { maxTask: 3 }, worker: { minTasks: 50 }, database: { instanceClass: 'db.t4g.medium' } };
  const edited = { ...context, environments: { ...context.environments, [env]: deepMerge(context.environments[env], overrides) } };
  try {
    loadConfig(edited, env);
  } catch (err) {
    if (err instanceof ConfigError) return { env, overrides, output: err.message };
    throw err;
  }
  throw new Error(`scripts/docs.ts: the bad-value example loaded in ${env}; pick overrides that the rules reject`);
}

function maxConnectionsTable(): string {
  const byValue = new Map<number, string[]>();
  for (const [instanceClass, value] of Object.entries(AURORA_POSTGRES_MAX_CONNECTIONS)) {
    byValue.set(value, [...(byValue.get(value) ?? []), instanceClass]);
  }
  const rows = [...byValue.entries()].sort(([a], [b]) => a - b).map(([value, classes]) => `| ${value} | ${classes.join(', ')} |`);
  return [
    '| max_connections | classes |',
    '|---|---|',
    ...rows,
    '| estimated from the formula at `serverlessV2MaxCapacityAcu` × 2 GiB, at most 5000 | db.serverless |',
  ].join('\n');
}

function keyTables(context: BlueprintContext): string {
  const envs = Object.keys(context.environments);
  const merged = Object.fromEntries(envs.map((env) => [env, deepMerge(context.defaults, context.environments[env])]));
  const header = ['| key | meaning | type | default | ' + envs.join(' | ') + ' |', '|---|---|---|---|' + envs.map(() => '---|').join('')];
  const rows = keyRows();
  const groups = new Set(rows.filter((r) => r.kind === 'group' && !r.path.includes('.')).map((r) => r.path));
  const sections = new Map<string, KeyRow[]>();
  for (const row of rows) {
    const top = row.path.split('.')[0];
    const section = groups.has(top) ? top : '';
    sections.set(section, [...(sections.get(section) ?? []), row]);
  }
  return [...sections.entries()].map(([section, sectionRows]) => {
    const own = sectionRows.filter((r) => r.path !== section);
    const title = section ? `### \`${section}\`` : '### Top level';
    const intro = section ? `\n\n${sectionRows.find((r) => r.path === section)?.description ?? ''}` : '';
    const lines = own.map((row) => {
      const values = row.kind === 'value'
        ? [code(valueAt(context.defaults, row.path)), ...envs.map((env) => {
          const value = valueAt(merged[env], row.path);
          return JSON.stringify(value) === JSON.stringify(valueAt(context.defaults, row.path)) ? '' : code(value);
        })]
        : ['', ...envs.map(() => '')];
      return `| \`${row.path}\` | ${cell(row.description)} | ${cell(typeOf(row))} | ${values.join(' | ')} |`;
    });
    return `${title}${intro}\n\n${[...header, ...lines].join('\n')}`;
  }).join('\n\n');
}

export function configurationMarkdown(context: BlueprintContext): string {
  const envs = Object.keys(context.environments);
  const example = badValueExample(context);
  return `# Configuration reference

<!-- Generated by \`npm run docs\` (scripts/docs.ts) from lib/config/schema/ and cdk.json: do not edit by hand.
     Change a key's description in the schema or a value in cdk.json, then run \`npm run docs\`;
     npm test fails while this file or docs/config.schema.json is out of date. -->

Everything lives in \`cdk.json\` under the context key \`${CONTEXT_KEY}\`:

\`\`\`jsonc
"${CONTEXT_KEY}": {
  "defaults": { ... every key ... },
  "environments": {
${envs.map((env) => `    "${env}": { ... only what differs ... }`).join(',\n')}
  }
}
\`\`\`

\`environments.<env>\` is deep-merged over \`defaults\` (objects key by key; arrays and values replace).
\`bin/scaling-blueprint.ts\` is the only code that reads context: it picks \`-c env=<name>\` (default \`dev\`),
loads and validates the configuration (\`lib/config/\`), and hands the frozen, typed result to
\`buildApp()\` in \`lib/app.ts\`. Nothing below \`bin/\` reads context or environment variables.

Adding a key: its line in the schema (\`lib/config/schema/\`, with \`.describe()\`), its default in
\`cdk.json\`, the code that uses it, then \`npm run docs\`.

## Editor support

[\`config.schema.json\`](config.schema.json) is the JSON Schema of \`cdk.json\`'s \`${CONTEXT_KEY}\` context:
an editor that knows it completes keys, shows these descriptions and marks unknown keys, wrong types and
values out of range (the rules across keys below are checked by synth only). In VS Code, add to
\`.vscode/settings.json\` (the mapping lives in the editor's settings: a \`$schema\` key inside \`${CONTEXT_KEY}\` would be rejected
by the loader as an unknown key):

\`\`\`json
{
  "json.schemas": [{ "fileMatch": ["/cdk.json"], "url": "./docs/config.schema.json" }]
}
\`\`\`

## Tuning a threshold

Change a value in \`environments.<env>\` (or in \`defaults\` for every environment) and synth:

\`\`\`bash
# cdk.json: "prod": { "api": { "maxTasks": 60 } }
npx cdk synth -c env=prod
\`\`\`

## What a bad value prints

Every problem, at once, each with the key path where you wrote it, the value, and the fix; synth exits 1
and writes no template. With \`${JSON.stringify(example.overrides)}\` added to \`environments.${example.env}\`:

\`\`\`
${example.output}
\`\`\`

## What is checked

- **Schema** (zod, \`lib/config/schema/\`): unknown keys (with the closest valid key suggested), missing keys,
  wrong types, ranges, allowed values (CloudWatch log retention periods, Fargate CPU sizes,
  enhanced-monitoring intervals, Performance Insights retention), formats (region, AZ names, instance
  classes, versions).
- **Rules across keys** (\`lib/config/rules/\`, by domain; the formulas in \`lib/config/capacity.ts\`):
  - \`minTasks\` ≤ \`maxTasks\` for \`api\` and \`worker\`; \`memoryMiB\` is a size Fargate offers for \`cpu\`;
  - \`queue.visibilityTimeoutSeconds\` ≥ 2 × \`worker.maxProcessingSeconds\` (so a slow job is not handed to
    a second worker), and \`worker.maxProcessingSeconds\` ≥ \`worker.avgProcessingSeconds\`;
  - backlog target per task = \`worker.acceptableLatencySeconds\` ÷ \`worker.avgProcessingSeconds\` ≥ 1;
  - **connection budget**: Σ over services of \`maxTasks × dbPoolSize\` ≤ the writer's \`max_connections\`
    less 3 reserved for AWS automation, × \`database.proxy.maxConnectionsPercent\` when the proxy is on;
  - proxy idle percent ≤ proxy max percent; Serverless v2 min ≤ max ACU;
  - reader autoscaling \`minReaders\` ≤ \`maxReaders\`, and \`maxReaders\` ≥ \`database.readers\` (Application Auto
    Scaling counts every reader);
  - \`network.maxAzs\` ≥ 2 (the ALB and the Aurora subnet group need two zones), ≤ the zones listed;
    \`natGateways\` ≤ \`maxAzs\`; zones belong to \`region\` and are listed once;
  - supported by AWS (\`lib/config/supported.ts\`): \`database.engineVersion\` among the Aurora PostgreSQL
    versions aws-cdk-lib knows; \`cache.engineVersion\` in the dated list for its engine; \`cache.nodeType\` a
    current-generation type;
  - images: exactly one of \`image.uri\` and \`image.directory\`;
  - load balancer, for \`alb\` and every \`services[].targetGroup\`: no slow start with \`weighted_random\` or
    \`least_outstanding_requests\`, no stickiness with \`weighted_random\`; anomaly mitigation only with
    \`weighted_random\`; slow start 0 or 30–900 s; health-check timeout shorter than its interval; an
    application cookie name for \`app_cookie\` that is not one of the load balancer's reserved names; a
    certificate in \`region\`;
  - routes (\`alb.routes\`, lib/config/rules/routes.ts): unique priorities, not 1 while \`alb.blockedPaths\` is set;
    at least one condition, at most 3 values per condition, 5 per rule and 5 wildcards per rule; exactly one
    action; forwards to known services, each once, weights 0–999; no application-cookie target group in a
    weighted forward, and target group stickiness there when a group in it is sticky; a redirect that
    changes something; fixed responses 2XX/4XX/5XX; every service (and the API) reached by a route or
    \`alb.defaultService\`; service names unique and not \`api\` or \`worker\`;
  - deploys: \`api.maxHealthyPercent\` ≠ \`api.minHealthyPercent\` when both are 100; scheduled entries with
    min ≤ max and unique names;
  - worker: \`stopTimeoutSeconds\` ≤ \`queue.visibilityTimeoutSeconds\` and ≥ the longest job (capped at 120 s);
    the capacity-provider weights not both 0;
  - monitoring: \`datapointsToAlarm\` ≤ \`evaluationPeriods\`; no threshold a metric can never cross (a
    percentage at or above 100, a "below" threshold of 0, a queue age beyond the message retention, a
    burn-rate factor × error budget above 100 %); warning before critical; short burn window < long;
  - load tests: no profile peaking above \`maxWorkers\` × \`maxRatePerWorker\`; stress profiles that step up;
    SLA percentiles in order; \`sla.errorRatePercent\` within the availability objective's error budget;
  - with \`production: true\`: at least one reader, no \`destroy\` removal, termination protection on, a cache
    replica (or serverless cache), \`api.minHealthyPercent\` 100, \`api.minTasks\` ≥ 2, logs kept 365 days or more.

## \`max_connections\` per instance class

\`lib/config/max-connections.ts\` holds the table from the Aurora User Guide ("Maximum connections to an
Aurora PostgreSQL DB instance", \`LEAST({DBInstanceClassMemory/9531392}, 5000)\`); the connection budget
(\`lib/config/capacity.ts\`) reads it:

${maxConnectionsTable()}

A class that is not in the table fails validation with the list of known classes; add it there rather
than guess.

## Every key

Units are in the names. A blank environment cell means the environment keeps the default; \`a.b[].c\` rows
describe the fields of each item of the list \`a.b\`.

${keyTables(context)}
`;
}

const USAGE = `Usage: npm run docs

Writes ${CONFIGURATION_MD} and ${CONFIG_SCHEMA_JSON} from the configuration schema (lib/config/schema/) and
cdk.json; test/docs.test.ts fails while the committed files differ from what this writes. No flags.

  -h, --help    this text`;

if (require.main === module) {
  // The CLI layer's rules (tools/common/args.ts): --help answers without writing; any other argument is an error.
  process.exitCode = cliEntry('docs', USAGE, process.argv.slice(2), {}, { help: { type: 'boolean', short: 'h' } }, () => {
    writeDocs();
    return 0;
  });
}

function writeDocs(): void {
  for (const file of generateDocs()) {
    const target = join(ROOT, file.path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.content);
    process.stdout.write(`wrote ${file.path} (${Buffer.byteLength(file.content)} bytes)\n`);
  }
}
