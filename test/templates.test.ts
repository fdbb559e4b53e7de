// The template assertions of every construct (test/constructs/*.spec.ts, one per construct) and of the
// stacks (test/stacks/stacks.spec.ts: pinned ids, cross-stack references, deploy traps, snapshots), and
// cfn-lint over the same templates (test/stacks/cfn-lint.spec.ts), run in
// one jest module registry: aws-cdk-lib is loaded once and each environment is synthesized once for all of
// them (test/helpers/synth.ts memoises per registry). As separate test files they cost ~3 s of CPU each.
import './constructs/network.spec';
import './constructs/aurora-database.spec';
import './constructs/cache.spec';
import './constructs/job-queue.spec';
import './constructs/web-service.spec';
import './constructs/queue-worker.spec';
import './constructs/kpi-alarms.spec';
import './constructs/kpi-dashboard.spec';
import './constructs/load-generator.spec';
import './stacks/stacks.spec';
import './stacks/cfn-lint.spec';
