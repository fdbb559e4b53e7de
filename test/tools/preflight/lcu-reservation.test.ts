import { CHECKS, LCU_RESERVATION_QUOTAS, runChecks, type PreflightContext } from '../../../tools/preflight/checks';
import { awsError, context, motoClients, stub } from './fixture';

async function lcuCheck(ctx: PreflightContext) {
  const [r] = await runChecks(ctx, CHECKS.filter((c) => c.id === 'lcu-reservation'));
  return r;
}

/** Service Quotas answering the applied values given (else NoSuchResource) and AWS's defaults; records what was asked. */
function quotas(applied: Record<string, number>, defaults: Record<string, number>) {
  const asked: string[] = [];
  const serviceQuotas = stub<ReturnType<typeof motoClients>['serviceQuotas']>({
    GetServiceQuotaCommand: (input: { ServiceCode: string; QuotaCode: string }) => {
      asked.push(`${input.ServiceCode}/${input.QuotaCode}`);
      if (applied[input.QuotaCode] === undefined) throw awsError('NoSuchResourceException');
      return { Quota: { Value: applied[input.QuotaCode] } };
    },
    GetAWSDefaultServiceQuotaCommand: (input: { ServiceCode: string; QuotaCode: string }) => ({ Quota: { Value: defaults[input.QuotaCode] } }),
  });
  return { serviceQuotas, asked };
}

const AWS_DEFAULTS = { [LCU_RESERVATION_QUOTAS.perRegion]: 0, [LCU_RESERVATION_QUOTAS.perLoadBalancer]: 15000 };

describe('lcu-reservation (stubbed Service Quotas)', () => {
  test('skipped without calling AWS when alb.minimumCapacityUnits is 0', async () => {
    const { serviceQuotas, asked } = quotas({}, AWS_DEFAULTS);
    const r = await lcuCheck(context({ clients: { ...motoClients(), serviceQuotas } }));
    expect(r).toMatchObject({ status: 'skipped', found: 'alb.minimumCapacityUnits is 0: no LCU reservation (the ALB scales on its own).' });
    expect(asked).toEqual([]);
  });

  test('blocked on a new account: the regional quota is 0 by default, named with its code and the units to ask for', async () => {
    const { serviceQuotas, asked } = quotas({}, AWS_DEFAULTS);
    const r = await lcuCheck(context({ clients: { ...motoClients(), serviceQuotas }, configOverrides: { alb: { minimumCapacityUnits: 400 } } }));
    expect(asked.sort()).toEqual(['elasticloadbalancing/L-0BB7B635', 'elasticloadbalancing/L-8A66D0E6']);
    expect(r.status).toBe('blocked');
    expect(r.found).toBe('alb.minimumCapacityUnits reserves 400 LCU; "Reserved Application Load Balancer Capacity Units (LCU) per Region" is 0 (default, elasticloadbalancing L-8A66D0E6), so Elastic Load Balancing would refuse the reservation (the regional quota is 0 until you ask for more).');
    expect(r.fix).toBe('request "Reserved Application Load Balancer Capacity Units (LCU) per Region" (Service Quotas, elasticloadbalancing L-8A66D0E6) of at least 400, a few days before the peak; or set alb.minimumCapacityUnits to 0.');
  });

  test('blocked above the per-load-balancer quota too', async () => {
    const { serviceQuotas } = quotas({ [LCU_RESERVATION_QUOTAS.perRegion]: 50000 }, AWS_DEFAULTS);
    const r = await lcuCheck(context({ clients: { ...motoClients(), serviceQuotas }, configOverrides: { alb: { minimumCapacityUnits: 20000 } } }));
    expect(r.status).toBe('blocked');
    expect(r.fix).toContain('"Reserved Application Load Balancer Capacity Units (LCUs) per Application Load Balancer" (Service Quotas, elasticloadbalancing L-0BB7B635) of at least 20000');
    expect(r.fix).not.toContain('L-8A66D0E6');
  });

  test('ok once the regional quota was raised (applied value), the per-load-balancer one at its default', async () => {
    const { serviceQuotas } = quotas({ [LCU_RESERVATION_QUOTAS.perRegion]: 1000 }, AWS_DEFAULTS);
    const r = await lcuCheck(context({ clients: { ...motoClients(), serviceQuotas }, configOverrides: { alb: { minimumCapacityUnits: 400 } } }));
    expect(r.status).toBe('ok');
    expect(r.details).toMatchObject({ quotas: [{ code: 'L-8A66D0E6', value: 1000, from: 'applied' }, { code: 'L-0BB7B635', value: 15000, from: 'default' }] });
  });
});
