/** moto_server as the CloudWatch and CloudFormation endpoint (scripts/services.sh starts it for jest). */
export const MOTO_ENDPOINT = process.env.AWS_ENDPOINT_URL ?? `http://127.0.0.1:${process.env.SB_SQS_PORT ?? 54566}`;

/** Environment for child processes and SDK clients: moto's endpoint with fake credentials. */
export const MOTO_ENV = {
  AWS_ENDPOINT_URL: MOTO_ENDPOINT,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
};

export function motoClient<T>(Client: new (config: { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } }) => T): T {
  return new Client({ endpoint: MOTO_ENDPOINT, region: MOTO_ENV.AWS_REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
}

/** moto is shared by parallel test files: every test writes under its own ids. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
