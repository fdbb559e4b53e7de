import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';

export interface Identity {
  readonly account: string;
  readonly arn: string;
}

/** Why the credentials cannot be used, as the one line preflight prints before it gives up. */
export class CredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialsError';
  }
}

const HOW = 'set AWS_PROFILE (after `aws configure` or `aws sso login`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY';

/**
 * Who the credentials are (sts:GetCallerIdentity, which needs no permission): the first call, so that a
 * missing, expired or rejected credential is one clear line rather than an error from every check.
 */
export async function callerIdentity(sts: Pick<STSClient, 'send'>, region: string): Promise<Identity> {
  try {
    const r = await sts.send(new GetCallerIdentityCommand({}));
    return { account: r.Account ?? 'unknown', arn: r.Arn ?? 'unknown' };
  } catch (e) {
    throw new CredentialsError(describe(e as Error & { code?: string }, region));
  }
}

function describe(e: Error & { code?: string }, region: string): string {
  const text = `${e.name} ${e.code ?? ''} ${e.message}`;
  if (e.name === 'CredentialsProviderError' || /Could not load credentials/i.test(e.message)) {
    // The SDK's reason matters when a profile was named ("Profile x could not be found"), not for the plain case.
    const reason = /Could not load credentials from any providers/i.test(e.message) ? '' : ` (${e.message.split('\n')[0]})`;
    return `no AWS credentials${reason}: ${HOW}.`;
  }
  if (/Expired/i.test(text)) return `the AWS credentials have expired (${e.name}): refresh them (aws sso login, or new keys), or ${HOW}.`;
  if (/InvalidClientTokenId|SignatureDoesNotMatch|UnrecognizedClient|InvalidAccessKeyId/i.test(text)) {
    return `AWS rejected the credentials (${e.name}): ${HOW} with valid ones.`;
  }
  if (/ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|socket|network/i.test(text)) {
    return `AWS STS in ${region} is unreachable (${e.name}: ${e.message.split('\n')[0]}): check the network, a proxy, or AWS_ENDPOINT_URL.`;
  }
  return `cannot use the AWS credentials (${e.name}: ${e.message.split('\n')[0]}): ${HOW}.`;
}
