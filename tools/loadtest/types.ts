// Transitional: files owned by other parts of issue 11 still import from here. Remove with their last import.
export type { Distribution, LoadResult, LoadWorkerEvent, Phase, RequestSpec } from '../../lib/contracts/loadtest';
export { LOADTEST_DIMENSIONS, LOADTEST_METRICS, LOADTEST_NAMESPACE } from '../../lib/contracts/loadtest';
export type { KpiSources } from '../../lib/contracts/kpi-sources';
export { STACK_OUTPUTS } from '../../lib/contracts/stacks';
