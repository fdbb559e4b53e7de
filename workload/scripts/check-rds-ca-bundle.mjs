// Checks the RDS CA bundle the image build downloads, before the image may use it (workload/Dockerfile).
// Usage: node check-rds-ca-bundle.mjs <bundle.pem> [expected sha256 hex]
//
// Why not a pinned checksum alone: AWS updates global-bundle.pem in place (new Regions, new CAs) and
// publishes no checksum of it, so a pin in this repository would break every build on AWS's next update
// and could only come from a copy that is itself unverified. The download is over HTTPS from AWS's
// truststore host; this check then refuses what that cannot rule out: an error page or a truncated file,
// and any certificate that is not an Amazon RDS CA (a bundle that would make the app trust a CA of anyone
// else). A team that wants a pin passes --build-arg RDS_CA_BUNDLE_SHA256=<hex> (docs/security.md says how
// to get it and when to update it), and then nothing else is accepted.
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

const RDS_ORG = 'O=Amazon Web Services, Inc.';
const RDS_UNIT = 'OU=Amazon RDS';

export function checkBundle(pem, expectedSha256) {
  const problems = [];
  const sha256 = createHash('sha256').update(pem).digest('hex');
  if (expectedSha256 && sha256 !== expectedSha256.toLowerCase()) {
    problems.push(`sha256 is ${sha256}, the build expects ${expectedSha256} (RDS_CA_BUNDLE_SHA256)`);
  }
  const blocks = pem.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) problems.push('no PEM certificate in the file');
  const certs = [];
  blocks.forEach((block, i) => {
    try {
      certs.push(new X509Certificate(block));
    } catch (e) {
      problems.push(`certificate ${i + 1} does not parse: ${e.message}`);
    }
  });
  // Node escapes a comma inside a value (`O=Amazon Web Services\, Inc.`).
  const parts = (dn) => dn.replace(/\\,/g, ',').split('\n');
  const isRds = (dn) => parts(dn).includes(RDS_ORG) && parts(dn).includes(RDS_UNIT);
  for (const cert of certs) {
    const name = cert.subject.split('\n').find((p) => p.startsWith('CN=')) ?? cert.subject;
    if (!cert.ca) problems.push(`${name} is not a CA certificate`);
    // Subject and issuer: an Amazon RDS CA, issued by one (roots by themselves, the 2019 regional CAs by the 2019 root).
    if (!isRds(cert.subject) || !isRds(cert.issuer)) problems.push(`${name} is not an Amazon RDS CA (subject ${parts(cert.subject).join(', ')}; issuer ${parts(cert.issuer).join(', ')})`);
    if (cert.subject === cert.issuer && !cert.verify(cert.publicKey)) problems.push(`${name} claims to sign itself but its signature does not verify`);
  }
  const root = certs.find((c) => /Root CA RSA2048 G1/.test(c.subject) && c.subject === c.issuer);
  if (certs.length > 0 && !root) {
    problems.push('no self-signed "Root CA RSA2048 G1": the cluster presents a rds-ca-rsa2048-g1 certificate (lib/constructs/aurora-database.ts)');
  }
  return { sha256, certificates: certs.length, problems };
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const [file, expected] = process.argv.slice(2);
  const result = checkBundle(readFileSync(file), expected || undefined);
  if (result.problems.length > 0) {
    console.error(`RDS CA bundle ${file} refused:\n- ${result.problems.join('\n- ')}`);
    process.exit(1);
  }
  console.log(`RDS CA bundle ${file}: ${result.certificates} Amazon RDS CA certificates, sha256 ${result.sha256}`);
}
