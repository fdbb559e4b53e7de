import { DescribeManagedPrefixListsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { onEvent, type Ec2ClientLike } from '../../lambda/s3-prefix-list/lookup';

// The lookup behind network.taskEgress "vpcEndpoints" (lib/constructs/task-egress.ts), against moto's EC2,
// which serves the AWS-managed prefix lists (com.amazonaws.<region>.s3, owner "AWS") like EC2 does.
const endpoint = process.env.AWS_ENDPOINT_URL ?? `http://127.0.0.1:${process.env.SB_SQS_PORT ?? 54566}`;
const clientIn = (region: string) => new EC2Client({ endpoint, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });

describe('S3 prefix list lookup (moto)', () => {
  test.each(['us-east-1', 'eu-central-1'])('Create in %s: the id of com.amazonaws.<region>.s3, as physical id and PrefixListId', async (region) => {
    const result = await onEvent({ RequestType: 'Create', ResourceProperties: { Region: region } }, clientIn(region));
    expect(result.PhysicalResourceId).toMatch(/^pl-[0-9a-f]+$/);
    expect(result.Data).toEqual({ PrefixListId: result.PhysicalResourceId });
    // Not DynamoDB's list of the same region.
    const dynamo = await clientIn(region).send(new DescribeManagedPrefixListsCommand({ Filters: [{ Name: 'prefix-list-name', Values: [`com.amazonaws.${region}.dynamodb`] }] }));
    expect(dynamo.PrefixLists?.[0]?.PrefixListId).not.toBe(result.PhysicalResourceId);
  }, 15_000);

  test('Delete reads nothing', async () => {
    const sent: unknown[] = [];
    const ec2: Ec2ClientLike = { send: async (c) => { sent.push(c); return {}; } };
    expect(await onEvent({ RequestType: 'Delete', PhysicalResourceId: 'pl-63a5400a', ResourceProperties: { Region: 'us-east-1' } }, ec2)).toEqual({ PhysicalResourceId: 'pl-63a5400a' });
    expect(sent).toEqual([]);
  });

  test('a customer-managed list with the same name is not taken for AWS\'s', async () => {
    const ec2: Ec2ClientLike = { send: async () => ({ PrefixLists: [{ PrefixListId: 'pl-0123456789abcdef0', PrefixListName: 'com.amazonaws.us-east-1.s3', OwnerId: '123456789012' }] }) };
    await expect(onEvent({ RequestType: 'Update', ResourceProperties: { Region: 'us-east-1' } }, ec2)).rejects.toThrow(
      'expected one AWS-managed prefix list named com.amazonaws.us-east-1.s3, found 0; the tasks\' security groups (network.taskEgress "vpcEndpoints") need it to reach S3 through the gateway endpoint');
  });
});
