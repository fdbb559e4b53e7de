// Every construct's template assertions, one file per construct (*.spec.ts), run in one jest module
// registry: aws-cdk-lib is loaded once and each environment is synthesized once for all of them
// (test/helpers/synth.ts memoises per registry). Separate test files cost ~3 s of CPU each for that.
import './network.spec';
import './aurora-database.spec';
import './cache.spec';
import './job-queue.spec';
import './web-service.spec';
import './queue-worker.spec';
import './kpi-alarms.spec';
import './kpi-dashboard.spec';
import './load-generator.spec';
