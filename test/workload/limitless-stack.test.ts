import { Match } from 'aws-cdk-lib/assertions';
import { LIMITLESS_DATABASE } from '../../lib/contracts/sharding';
import { configFor } from '../helpers/context';
import { synth } from '../helpers/synth';

// What the stacks tell the workload and the migrations in `database.sharding.mode: limitless`: the custom
// resource runs the Limitless schema (Schema: limitless, lambda/db-migrate → LIMITLESS_MIGRATIONS), and the tasks
// get the logical shard count the shard key takes its values from (DB_LOGICAL_SHARDS). Mode none (the dev
// default) keeps its resource as it was: no Schema property, no DB_LOGICAL_SHARDS.

jest.setTimeout(60_000);

const LIMITLESS = { database: { sharding: { mode: 'limitless' }, performanceInsightsRetentionDays: 31 } };
const cfg = configFor('dev', LIMITLESS);
const limitless = synth('dev', LIMITLESS);
const none = synth('dev');

const envOf = (def: { Properties: { ContainerDefinitions: Array<{ Environment: Array<{ Name: string; Value: unknown }> }> } }) =>
  Object.fromEntries(def.Properties.ContainerDefinitions[0].Environment.map((e) => [e.Name, e.Value]));

test('limitless: the migrations custom resource runs the Limitless schema, in postgres_limitless', () => {
  limitless.data.hasResourceProperties('Custom::DatabaseMigrations', { Schema: 'limitless', Database: LIMITLESS_DATABASE });
});

test('mode none: the custom resource has no Schema (the standard schema, its properties unchanged)', () => {
  none.data.hasResourceProperties('Custom::DatabaseMigrations', { Schema: Match.absent() });
});

test('limitless: every task gets DB_LOGICAL_SHARDS = database.sharding.logicalShards; mode none none', () => {
  const defs = Object.values(limitless.compute.findResources('AWS::ECS::TaskDefinition'));
  expect(defs.length).toBeGreaterThan(0);
  for (const def of defs) expect(envOf(def as never)).toMatchObject({ DB_SHARDING_MODE: 'limitless', DB_LOGICAL_SHARDS: String(cfg.database.sharding.logicalShards) });
  for (const def of Object.values(none.compute.findResources('AWS::ECS::TaskDefinition'))) {
    expect(envOf(def as never).DB_LOGICAL_SHARDS).toBeUndefined();
  }
});
