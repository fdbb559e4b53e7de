import { Match } from 'aws-cdk-lib/assertions';
import { PROXY_INIT_QUERY } from '../../lib/contracts/container-env';
import { configFor } from '../helpers/context';
import { ENVIRONMENTS, synth } from '../helpers/synth';

// What the stack tells the workload about itself: the environment its metrics are dimensioned by, and where its
// PostgreSQL timeouts are set (by the workload at connection start, or by RDS Proxy's initialization query).
describe.each(ENVIRONMENTS)('workload environment from the stack (%s)', (env) => {
  const { compute, data } = synth(env);
  const proxy = configFor(env).database.proxy.enabled;
  const containers = Object.values(compute.findResources('AWS::ECS::TaskDefinition'))
    .map((def) => def.Properties.ContainerDefinitions[0].Environment as Array<{ Name: string; Value: unknown }>);
  const value = (environment: Array<{ Name: string; Value: unknown }>, name: string) => environment.find((e) => e.Name === name)?.Value;

  test('API and worker: METRICS_ENVIRONMENT is the config environment (the EMF Environment dimension)', () => {
    expect(containers).toHaveLength(2);
    for (const environment of containers) expect(value(environment, 'METRICS_ENVIRONMENT')).toBe(env);
  });

  test('API: keep-alive above the load balancer\'s idle timeout, the handler\'s bound below it', () => {
    const idleMs = configFor(env).alb.idleTimeoutSeconds * 1000;
    const api = containers.find((e) => value(e, 'WORKLOAD_PROCESSES') !== undefined)!;
    expect(Number(value(api, 'HTTP_KEEP_ALIVE_TIMEOUT_MS'))).toBe(idleMs + 5000);
    expect(Number(value(api, 'HTTP_HANDLER_TIMEOUT_MS'))).toBeLessThan(idleMs);
  });

  test('worker: its drain deadline comes 5 s before ECS\'s SIGKILL (the container\'s stopTimeout)', () => {
    const { stopTimeoutSeconds } = configFor(env).worker;
    const def = Object.values(compute.findResources('AWS::ECS::TaskDefinition'))
      .map((d) => d.Properties.ContainerDefinitions[0])
      .find((c) => value(c.Environment, 'WORKER_CONCURRENCY') !== undefined);
    expect(def.StopTimeout).toBe(stopTimeoutSeconds);
    expect(value(def.Environment, 'SHUTDOWN_TIMEOUT_MS')).toBe(String((stopTimeoutSeconds - 5) * 1000));
  });

  test(`PostgreSQL timeouts: ${proxy ? 'set by the proxy\'s init query, none sent by the client' : 'sent by the client at connection start'}`, () => {
    for (const environment of containers) expect(value(environment, 'DB_SESSION_TIMEOUTS')).toBe(proxy ? 'proxy' : 'startup');
    if (proxy) {
      data.hasResourceProperties('AWS::RDS::DBProxyTargetGroup', {
        ConnectionPoolConfigurationInfo: Match.objectLike({ InitQuery: PROXY_INIT_QUERY }),
      });
      expect(PROXY_INIT_QUERY).toBe('SET statement_timeout = 5000; SET lock_timeout = 3000; SET idle_in_transaction_session_timeout = 10000');
    } else {
      data.resourceCountIs('AWS::RDS::DBProxyTargetGroup', 0);
    }
  });
});
