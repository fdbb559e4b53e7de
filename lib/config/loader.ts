import { closest, distance } from 'fastest-levenshtein';
import { z } from 'zod';
import { checkRules, RULE_GROUPS, type Problem } from './rules';
import { effectiveRequestsPerTarget } from './capacity';
import { blueprintConfigSchema, type BlueprintConfig, type ConfigInput } from './schema';

/** The cdk.json context key that holds the whole configuration. */
export const CONTEXT_KEY = 'scaling-blueprint';

/** Synth stops with every problem found, each naming the key path, the value received and the fix. */
export class ConfigError extends Error {
  constructor(
    readonly envName: string,
    readonly problems: readonly string[],
  ) {
    super(
      `${CONTEXT_KEY}: configuration of environment "${envName}" is invalid ` +
        `(${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/**
 * Turns the `scaling-blueprint` context value into one environment's validated, frozen configuration:
 * `defaults` deep-merged with `environments.<envName>` (objects merge key by key; arrays and scalars replace).
 * Throws ConfigError listing every problem at once.
 */
export function loadConfig(contextValue: unknown, envName: string): BlueprintConfig {
  const root = parseRoot(contextValue);
  const environments = root.environments as JsonObject;
  if (!Object.prototype.hasOwnProperty.call(environments, envName)) {
    const names = Object.keys(environments);
    throw new ConfigError(envName, [
      `env = ${JSON.stringify(envName)}: no such environment under ${CONTEXT_KEY}.environments. ` +
        `Fix: pick one of ${names.join(', ')} (npx cdk synth -c env=${closest(envName, names) ?? names[0]}), ` +
        `or add "${envName}" to ${CONTEXT_KEY}.environments in cdk.json.`,
    ]);
  }
  const override = environments[envName];
  if (!isObject(override)) {
    throw new ConfigError(envName, [
      `${CONTEXT_KEY}.environments.${envName} = ${show(override)}: must be an object. Fix: write it as { } with the keys to override.`,
    ]);
  }
  const merged = deepMerge(root.defaults as JsonObject, override);
  const where = (path: string) => sourceOf(path, envName, override);

  const parsed = blueprintConfigSchema.safeParse(merged);
  if (parsed.success) {
    const problems = checkRules(parsed.data);
    if (problems.length === 0) return deepFreeze(resolveDerived(parsed.data, envName));
    throw new ConfigError(envName, problems.map((p) => formatProblem(p, merged, where)));
  }
  // Report the rules too, so one synth shows everything to fix. A group whose inputs are themselves
  // broken may throw; its problems come back once the schema errors are fixed.
  const schemaProblems = parsed.error.issues.flatMap((issue) => describeIssue(issue, merged, where));
  const ruleProblems = RULE_GROUPS.flatMap((group) => {
    try {
      return group(merged as unknown as Parameters<typeof group>[0]);
    } catch {
      return [];
    }
  });
  // A rule about a key, or reading a key, that the schema rejected would only repeat that error.
  const invalid = parsed.error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k].join('.')) : [issue.path.join('.')],
  );
  const overlaps = (key: string) => invalid.some((bad) => bad === key || bad.startsWith(`${key}.`) || key.startsWith(`${bad}.`));
  throw new ConfigError(envName, [
    ...schemaProblems,
    ...ruleProblems.filter((p) => ![p.path, ...p.inputs].some(overlaps)).map((p) => formatProblem(p, merged, where)),
  ]);
}

/**
 * The configuration the constructs get: values that follow from others are worked out here, once, by the
 * capacity model, so that every construct reads a plain number. The rules have already made sure each can
 * be worked out (a "fromCapacity" request target has a capacity).
 */
function resolveDerived(cfg: ConfigInput, envName: string): BlueprintConfig {
  const requestsPerTarget = effectiveRequestsPerTarget(cfg.api);
  if (requestsPerTarget === undefined) throw new Error('api.requestsPerTarget cannot be resolved; checkServices should have reported it');
  const services = cfg.services.map((svc) => {
    const target = effectiveRequestsPerTarget(svc);
    if (target === undefined) throw new Error(`services.${svc.name}.requestsPerTarget cannot be resolved; checkRoutes should have reported it`);
    return { ...svc, requestsPerTarget: target };
  });
  return { ...cfg, api: { ...cfg.api, requestsPerTarget }, services, envName };
}

function parseRoot(contextValue: unknown): JsonObject {
  const value = typeof contextValue === 'string' ? safeJson(contextValue) : contextValue;
  const problems: string[] = [];
  if (!isObject(value)) {
    problems.push(`${CONTEXT_KEY} = ${show(value as Json)}: missing or not an object. Fix: add "${CONTEXT_KEY}": { "defaults": {...}, "environments": {...} } to the context in cdk.json.`);
  } else {
    for (const key of ['defaults', 'environments']) {
      if (!isObject(value[key])) {
        problems.push(`${CONTEXT_KEY}.${key} = ${show(value[key])}: missing or not an object. Fix: add "${key}": { ... } under ${CONTEXT_KEY} in cdk.json.`);
      }
    }
    for (const key of Object.keys(value).filter((k) => k !== 'defaults' && k !== 'environments')) {
      problems.push(`${CONTEXT_KEY}.${key}: unknown key. Fix: remove it; only "defaults" and "environments" belong here.`);
    }
  }
  if (problems.length > 0) throw new ConfigError('?', problems);
  return value as JsonObject;
}

/** Where the user wrote a key: in the environment's override if it is there, else in `defaults`. */
function sourceOf(path: string, envName: string, override: JsonObject): string {
  const segments = path.split('.');
  let node: Json | undefined = override;
  for (const segment of segments) {
    if (node === null || typeof node !== 'object' || !(segment in node)) return `${CONTEXT_KEY}.defaults.${path}`;
    node = (node as Record<string, Json>)[segment];
  }
  return `${CONTEXT_KEY}.environments.${envName}.${path}`;
}

function describeIssue(issue: z.core.$ZodIssue, merged: JsonObject, where: (path: string) => string): string[] {
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const valid = keysAt(issue.path.map(String));
    return issue.keys.map((key) => {
      const keyPath = path ? `${path}.${key}` : key;
      const suggestion = closest(key, valid);
      const near = suggestion !== undefined && distance(key, suggestion) <= Math.max(2, Math.floor(key.length / 3));
      const fix = near
        ? `did you mean "${suggestion}"? Rename it (valid keys here: ${valid.join(', ')}).`
        : `remove it; valid keys here are ${valid.join(', ')}.`;
      return `${where(keyPath)} = ${show(valueAt(merged, keyPath))}: unknown key. Fix: ${fix}`;
    });
  }
  const value = valueAt(merged, path);
  const [problem, fix] = explain(issue, value);
  return [`${where(path)} = ${show(value)}: ${problem}. Fix: ${fix}.`];
}

const TYPE_NAMES: Record<string, string> = {
  int: 'a whole number',
  number: 'a number',
  string: 'a string',
  boolean: 'a boolean (true or false)',
  object: 'an object',
  array: 'an array',
};

function explain(issue: z.core.$ZodIssue, value: Json | undefined): [string, string] {
  switch (issue.code) {
    case 'invalid_type': {
      const expected = TYPE_NAMES[issue.expected] ?? `a ${issue.expected}`;
      return value === undefined
        ? ['missing', `add it (${expected}) to ${CONTEXT_KEY}.defaults or to the environment`]
        : [`must be ${expected}, got ${describeType(value)}`, `write it as ${expected}`];
    }
    case 'too_small':
      return [`must be ${issue.inclusive === false ? '>' : '≥'} ${issue.minimum}${issue.origin === 'array' ? ' items' : ''}`, `raise it to at least ${issue.minimum}`];
    case 'too_big':
      return [`must be ${issue.inclusive === false ? '<' : '≤'} ${issue.maximum}${issue.origin === 'array' ? ' items' : ''}`, `lower it to at most ${issue.maximum}`];
    case 'not_multiple_of':
      return [`must be a multiple of ${issue.divisor}`, `round it to a multiple of ${issue.divisor}`];
    case 'invalid_value':
      return ['is not an allowed value', `use one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`];
    case 'invalid_format':
      return [`must be ${issue.message}`, `write ${issue.message}`];
    default:
      return [issue.message, 'see the key in docs/configuration.md'];
  }
}

function formatProblem(p: Problem, merged: JsonObject, where: (path: string) => string): string {
  return `${where(p.path)} = ${show(valueAt(merged, p.path))}: ${p.message}. Fix: ${p.fix}.`;
}

/** Valid keys of the schema object at `path`. */
function keysAt(path: string[]): string[] {
  // Through optional wrappers and into array items (`loadTest.mix.0`), or the keys of a mix entry read "".
  const unwrap = (t: z.ZodType): z.ZodType => (t instanceof z.ZodOptional || t instanceof z.ZodNullable ? unwrap(t.unwrap() as z.ZodType) : t);
  let schema: z.ZodType = unwrap(blueprintConfigSchema);
  for (const segment of path) {
    if (schema instanceof z.ZodArray && /^\d+$/.test(segment)) schema = unwrap(schema.element as z.ZodType);
    else if (schema instanceof z.ZodObject) schema = unwrap(schema.shape[segment] as z.ZodType);
    else return [];
  }
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

/** Objects merge key by key; arrays and scalars in `override` replace. */
export function deepMerge(base: JsonObject, override: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = out[key];
    out[key] = isObject(current) && isObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

function valueAt(obj: JsonObject, path: string): Json | undefined {
  let node: Json | undefined = obj;
  for (const segment of path ? path.split('.') : []) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, Json>)[segment];
  }
  return node;
}

function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function describeType(v: Json): string {
  if (v === null) return 'null';
  if (typeof v === 'number' && !Number.isInteger(v)) return 'a fraction';
  return Array.isArray(v) ? 'an array' : TYPE_NAMES[typeof v];
}

function show(v: Json | undefined): string {
  return v === undefined ? '(missing)' : JSON.stringify(v);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
