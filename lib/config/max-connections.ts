/**
 * Default `max_connections` of Aurora PostgreSQL per DB instance class.
 *
 * Aurora sets it to LEAST({DBInstanceClassMemory/9531392}, 5000). The figures are the table in the Aurora
 * User Guide, "Maximum connections to an Aurora PostgreSQL DB instance"
 * (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraPostgreSQL.Managing.html#AuroraPostgreSQL.Managing.MaxConnections).
 * Graviton generations after r6g (r7g, r8g) and the Intel r6i/r7i have the same memory per size as r6g, so
 * they share its figures. A class missing here fails validation with the list of known classes: add it
 * rather than guess. The formulas that use it (Serverless v2, the connection budget) are in capacity.ts.
 */
export const AURORA_POSTGRES_MAX_CONNECTIONS: Readonly<Record<string, number>> = Object.freeze({
  'db.t3.medium': 420,
  'db.t3.large': 844,
  'db.t4g.medium': 405,
  'db.t4g.large': 844,
  'db.r5.large': 1600,
  'db.r5.xlarge': 3300,
  ...sizes(['r5'], 5000, ['2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge']),
  ...sizes(['r6g', 'r6i', 'r7g', 'r7i', 'r8g'], 1722, ['large']),
  ...sizes(['r6g', 'r6i', 'r7g', 'r7i', 'r8g'], 3479, ['xlarge']),
  ...sizes(['r6g', 'r6i', 'r7g', 'r7i', 'r8g'], 5000, ['2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge']),
  'db.x2g.large': 3479,
  ...sizes(['x2g'], 5000, ['xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge']),
});

function sizes(families: string[], value: number, suffixes: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const family of families) for (const size of suffixes) out[`db.${family}.${size}`] = value;
  return out;
}
