import { ACMClient, ImportCertificateCommand, RequestCertificateCommand } from '@aws-sdk/client-acm';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EXAMPLE_CERTIFICATE_ARN } from '../../../lib/config/schema/alb-security';
import { CHECKS, runChecks, type PreflightContext } from '../../../tools/preflight/checks';
import { motoClient } from '../kpi-report/moto';
import { awsError, context, motoClients, stub } from './fixture';

const acm = motoClient(ACMClient);

async function check(ctx: PreflightContext) {
  const [r] = await runChecks(ctx, [CHECKS.find((c) => c.id === 'certificate')!]);
  return r;
}
const withCertificate = (arn: string, acmClient: PreflightContext['clients']['acm'] = acm) =>
  context({ envName: 'prod', configOverrides: { alb: { certificateArn: arn } }, clients: { ...motoClients(), acm: acmClient } });

describe('certificate (moto: ACM DescribeCertificate)', () => {
  test('blocked: the shipped example ARN, before any AWS call', async () => {
    const never = stub<PreflightContext['clients']['acm']>({ DescribeCertificateCommand: new Error('must not be called') });
    const r = await check(context({ envName: 'prod', configOverrides: { alb: { certificateArn: EXAMPLE_CERTIFICATE_ARN } }, clients: { ...motoClients(), acm: never } }));
    expect(r).toMatchObject({
      status: 'blocked',
      found: `alb.certificateArn is the shipped example ${EXAMPLE_CERTIFICATE_ARN}, which exists in no account; CloudFormation would fail creating the HTTPS listener.`,
      fix: expect.stringMatching(/^set alb\.certificateArn of prod in cdk\.json to your ACM certificate in us-east-1 \(`aws acm list-certificates --region us-east-1`/),
    });
  });

  test('skipped: no certificate outside production (plain HTTP, said plainly)', async () => {
    const r = await check(context({ envName: 'dev' }));
    expect(r).toMatchObject({ status: 'skipped', found: 'alb.certificateArn is "": dev serves the API over plain HTTP on port 80 (allowed outside production only).' });
  });

  test('blocked: a certificate that does not exist in the account', async () => {
    const arn = 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789';
    const r = await check(withCertificate(arn));
    expect(r).toMatchObject({ status: 'blocked', found: `alb.certificateArn ${arn} does not exist in account 123456789012 (ACM answers ResourceNotFoundException).` });
  });

  test('blocked: a requested certificate still pending DNS validation', async () => {
    const { CertificateArn } = await acm.send(new RequestCertificateCommand({ DomainName: 'pending.example.com', ValidationMethod: 'DNS' }));
    const r = await check(withCertificate(CertificateArn!));
    expect(r.status).toBe('blocked');
    expect(r.found).toBe('certificate pending.example.com (AMAZON_ISSUED) is PENDING_VALIDATION: the load balancer cannot use it until ACM issues it.');
    expect(r.fix).toMatch(/^add the DNS validation record ACM asks for/);
  });

  test('ok: an issued certificate, and warn when an imported one is about to expire', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-cert-'));
    // A self-signed certificate valid 10 days: ISSUED once imported, within the warning window, and ACM never renews it.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '10', '-subj', '/CN=api.example.com'], { stdio: 'ignore', timeout: 10_000 });
    const { CertificateArn } = await acm.send(new ImportCertificateCommand({ Certificate: fs.readFileSync(path.join(dir, 'cert.pem')), PrivateKey: fs.readFileSync(path.join(dir, 'key.pem')) }));
    const r = await check(withCertificate(CertificateArn!));
    expect(r.status).toBe('warn');
    expect(r.found).toMatch(/^certificate api\.example\.com \(IMPORTED\) is ISSUED but expires in (9|10) days, and ACM does not renew imported certificates\.$/);

    const farOff = new Date(Date.now() + 200 * 86_400_000);
    const issued = stub<PreflightContext['clients']['acm']>({ DescribeCertificateCommand: () => ({ Certificate: { Status: 'ISSUED', Type: 'AMAZON_ISSUED', DomainName: 'api.example.com', NotAfter: farOff } }) });
    expect(await check(withCertificate(CertificateArn!, issued))).toMatchObject({ status: 'ok', found: `certificate api.example.com (AMAZON_ISSUED) is ISSUED, valid until ${farOff.toISOString().slice(0, 10)}.` });
  });

  test('blocked: expired or revoked, by ACM\'s status', async () => {
    for (const status of ['EXPIRED', 'REVOKED', 'FAILED']) {
      const answer = stub<PreflightContext['clients']['acm']>({ DescribeCertificateCommand: () => ({ Certificate: { Status: status, Type: 'AMAZON_ISSUED', DomainName: 'api.example.com' } }) });
      const r = await check(withCertificate('arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789', answer));
      expect(r).toMatchObject({ status: 'blocked', found: expect.stringContaining(`is ${status}, not ISSUED`) });
    }
  });

  test('error with the IAM action to allow when ACM denies the call', async () => {
    const denied = stub<PreflightContext['clients']['acm']>({ DescribeCertificateCommand: awsError('AccessDeniedException', 'User is not authorized to perform: acm:DescribeCertificate') });
    const r = await check(withCertificate('arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789', denied));
    expect(r).toMatchObject({ status: 'error', fix: expect.stringMatching(/^allow acm:DescribeCertificate/) });
  });
});
