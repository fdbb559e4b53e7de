import { z } from 'zod';

/**
 * Building blocks shared by the schema's domains. Every key's meaning lives in its `.describe()`:
 * docs/configuration.md and docs/config.schema.json are written from it (`npm run docs`).
 */

export const int = (min: number, max: number) => z.number().int().min(min).max(max);
export const num = (min: number, max: number) => z.number().min(min).max(max);

/** CloudWatch Logs accepts only these retention periods (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;
export const logRetentionDays = z.literal(LOG_RETENTION_DAYS);
