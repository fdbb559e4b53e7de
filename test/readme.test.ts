import { readFileSync } from 'fs';
import { join } from 'path';
import { z } from 'zod';
import { blueprintConfigSchema } from '../lib/config/schema';

/** Every configuration key, as a dot path to each leaf of the schema (an alarm's threshold pair counts as one). */
function leafKeys(schema: z.ZodType, prefix = ''): string[] {
  if (!(schema instanceof z.ZodObject)) return [prefix];
  // Alarm thresholds are documented as one key with its { warning, critical } pair.
  if (Object.keys(schema.shape).join() === 'warning,critical') return [prefix];
  return Object.entries(schema.shape).flatMap(([key, child]) => leafKeys(child as z.ZodType, prefix ? `${prefix}.${key}` : key));
}

test('README documents every configuration key', () => {
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
  const missing = leafKeys(blueprintConfigSchema).filter((key) => !readme.includes(`\`${key}\``));
  expect(missing).toEqual([]);
});
