import * as fs from 'fs';
import * as path from 'path';
import { stackPrefix } from '../../../lib/contracts/stacks';
import { main } from '../../../tools/kpi-report/cli';
import { fetchDbWaits, piPeriod, TOP_N, type DbWaits } from '../../../tools/kpi-report/db-waits';
import { createFixture, MINUTE, type Fixture } from './fixture';
import { notAuthorized, piStub } from './pi-stub';

// The recorded answer (fixtures/pi/get-resource-metrics.json): DB load 2, 3, 4, 3, 2 → 2.8 average active sessions.
const START = 1764968400_000;
const END = START + 5 * MINUTE;

describe('top waits (Performance Insights)', () => {
  test('resolves the writer\'s DbiResourceId and averages each wait over the window, with its share of the load', async () => {
    // GIVEN a cluster whose writer is the second member, and PI's answer over two pages
    const stub = piStub({ clusterId: 'db', writer: 'db-instance-2', resourceId: 'db-WRITERRESOURCEID', pages: 2 });
    // WHEN the waits of the window are fetched
    const w = await fetchDbWaits(stub, 'db', START, END);
    // THEN PI was asked for the writer's resource id, db.load.avg by wait event and by statement, top 5, at 60 s
    expect(stub.piCalls).toHaveLength(2);
    expect(stub.piCalls[0]).toMatchObject({
      ServiceType: 'RDS', Identifier: 'db-WRITERRESOURCEID', StartTime: new Date(START), EndTime: new Date(END), PeriodInSeconds: 60,
      MetricQueries: [
        { Metric: 'db.load.avg', GroupBy: { Group: 'db.wait_event', Limit: TOP_N } },
        { Metric: 'db.load.avg', GroupBy: { Group: 'db.sql_tokenized', Limit: TOP_N } },
      ],
    });
    expect(stub.piCalls[1].NextToken).toBe('1');
    if (!w.available) throw new Error(w.reason);
    expect(w.instance).toBe('db-instance-2');
    expect(w.totalAverageActiveSessions).toBeCloseTo(2.8, 9);
    // AND the waits, largest first; a wait present in 2 of the 5 periods counts 0 in the others (0.4 / 5)
    expect(w.waits.map((r) => [r.name, r.detail])).toEqual([
      ['CPU', 'CPU'], ['IO:DataFileRead', 'IO'], ['Lock:transactionid', 'Lock'], ['LWLock:WALWrite', 'LWLock'],
    ]);
    expect(w.waits.map((r) => r.averageActiveSessions)).toEqual([1.4, 0.8, 0.38, 0.08].map((v) => expect.closeTo(v, 9)));
    expect(w.waits.map((r) => r.sharePercent)).toEqual([50, 28.5714285714, 13.5714285714, 2.8571428571].map((v) => expect.closeTo(v, 6)));
    // AND the statements (from the second page)
    expect(w.statements.map((r) => [r.detail, r.averageActiveSessions, r.sharePercent])).toEqual([
      ['5F3C1A9E0B7D2468', expect.closeTo(1.8, 9), expect.closeTo(64.2857142857, 6)],
      ['9D04E6B2C81A7F35', expect.closeTo(0.6, 9), expect.closeTo(21.4285714286, 6)],
    ]);
  });

  test('PI off, access denied, no cluster: "not available" with the reason, never a throw', async () => {
    const off = await fetchDbWaits(piStub({ clusterId: 'db', writer: 'w1', performanceInsightsEnabled: false }), 'db', START, END);
    expect(off).toEqual({ available: false, reason: 'Performance Insights is off on the writer w1 (the Data stack enables it on every instance: turned off outside the stack?)' });
    const denied = await fetchDbWaits(piStub({ clusterId: 'db', piError: notAuthorized() }), 'db', START, END);
    expect(denied).toEqual({ available: false, reason: 'NotAuthorizedException: Performance Insights not enabled on this instance.' });
    const missing = await fetchDbWaits(piStub({ clusterId: 'db' }), 'other', START, END);
    expect(missing).toEqual({ available: false, reason: 'DBClusterNotFoundFault: DBCluster other not found.' });
    expect(await fetchDbWaits(piStub({ clusterId: 'db' }), undefined, START, END)).toEqual({ available: false, reason: 'the KPI sources name no DB cluster' });
  });

  test('the period is the finest PI accepts that keeps a series under 500 points', () => {
    expect(piPeriod(300)).toBe(60);
    expect(piPeriod(500 * 60)).toBe(60);
    expect(piPeriod(500 * 60 + 60)).toBe(300);
    expect(piPeriod(3 * 86400)).toBe(3600);
    expect(piPeriod(400 * 86400)).toBe(86400);
  });
});

describe('npm run kpi-report: the Top waits table', () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await createFixture(stackPrefix);
  });

  async function run(stub: ReturnType<typeof piStub>) {
    const out = path.join(fx.dir, 'out', Math.random().toString(36).slice(2));
    let stdout = '';
    let stderr = '';
    const code = await main(['--env', fx.envs.pass, '--run', fx.runId, '--allow-no-data', '--config', fx.cdkJson, '--results', fx.resultsDir, '--out', out], {
      cloudWatch: fx.cloudWatch, cloudFormation: fx.cloudFormation, rds: stub.rds, pi: stub.pi, stdout: (s) => (stdout += s), stderr: (s) => (stderr += s),
    });
    const json = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')) as { dbWaits: DbWaits };
    return { code, stdout, stderr, json, md: fs.readFileSync(path.join(out, 'report.md'), 'utf8') };
  }

  test('text, Markdown and JSON carry the waits and their shares; PI denied says why and keeps the exit code', async () => {
    // GIVEN the fixture's run, with PI answering for the sources' cluster
    const ok = await run(piStub({ clusterId: fx.sources.dbClusterIdentifier, writer: 'w1' }));
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    // THEN the table on stdout: wait event, type, average active sessions, share
    expect(ok.stdout).toContain('Top waits (Performance Insights, writer):\nw1: DB load 2.8 average active sessions over the window (60 s periods)');
    expect(ok.stdout).toMatch(/wait event\s+type\s+avg active sessions\s+share of DB load\n/);
    expect(ok.stdout).toMatch(/\nCPU\s+CPU\s+1\.4\s+50 %\n/);
    expect(ok.stdout).toMatch(/\nIO:DataFileRead\s+IO\s+0\.8\s+28\.57 %\n/);
    expect(ok.stdout).toMatch(/\nSELECT id, name, payload FROM items WHERE id = \$1\s+5F3C1A9E0B7D2468\s+1\.8\s+64\.29 %\n/);
    // AND in report.md and report.json
    expect(ok.md).toContain('## Top waits (Performance Insights, writer)');
    expect(ok.md).toContain('| Lock:transactionid | Lock | 0.38 | 13.57 % |');
    expect(ok.json.dbWaits).toMatchObject({ available: true, instance: 'w1', waits: expect.arrayContaining([expect.objectContaining({ name: 'CPU', sharePercent: 50 })]) });

    // WHEN PI refuses (off, or no pi:GetResourceMetrics)
    const denied = await run(piStub({ clusterId: fx.sources.dbClusterIdentifier, piError: notAuthorized('User is not authorized to perform pi:GetResourceMetrics') }));
    // THEN the report says so, and the verdict and exit code are the same as with PI
    expect(denied.stderr).toBe('');
    expect(denied.code).toBe(ok.code);
    expect(denied.stdout).toContain('Top waits (Performance Insights, writer):\nnot available: NotAuthorizedException: User is not authorized to perform pi:GetResourceMetrics');
    expect(denied.md).toContain('not available: NotAuthorizedException: User is not authorized to perform pi:GetResourceMetrics');
    expect(denied.json.dbWaits).toEqual({ available: false, reason: 'NotAuthorizedException: User is not authorized to perform pi:GetResourceMetrics' });
  });
});
