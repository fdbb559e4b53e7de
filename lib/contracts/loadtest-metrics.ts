/** CloudWatch namespace, metric names and dimensions of the client-side load-test metrics. */
export const LOADTEST_NAMESPACE = 'ScalingBlueprint/LoadTest';
export const LOADTEST_DIMENSIONS = { environment: 'Environment', runId: 'RunId' } as const;
export const LOADTEST_METRICS = {
  latency: 'Latency',          // Milliseconds, values/counts from the interval distribution
  requests: 'Requests',        // Count, sent
  scheduled: 'Scheduled',      // Count, arrivals the schedule called for
  dropped: 'Dropped',          // Count
  errors: 'Errors',            // Count, connection/protocol errors
  timeouts: 'Timeouts',        // Count
  http2xx: 'Http2xx',
  http3xx: 'Http3xx',
  http4xx: 'Http4xx',
  http5xx: 'Http5xx',
} as const;
