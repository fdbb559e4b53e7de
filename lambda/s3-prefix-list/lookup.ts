import { DescribeManagedPrefixListsCommand } from '@aws-sdk/client-ec2';

/**
 * The id of the AWS-managed prefix list of Amazon S3 in a region (`com.amazonaws.<region>.s3`), for the
 * tasks' security groups. It differs by region and CloudFormation has no attribute that gives it (the S3
 * gateway endpoint's AWS::EC2::VPCEndpoint returns no prefix list id), so the stack reads it at deploy time.
 * AWS-managed prefix lists: https://docs.aws.amazon.com/vpc/latest/userguide/working-with-aws-managed-prefix-lists.html
 * DescribeManagedPrefixLists and its `prefix-list-name` filter: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeManagedPrefixLists.html
 */
export interface Ec2ClientLike {
  send(command: DescribeManagedPrefixListsCommand): Promise<{ PrefixLists?: Array<{ PrefixListId?: string; PrefixListName?: string; OwnerId?: string }> }>;
}

export interface LookupEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: { readonly Region: string };
}

export interface LookupResult {
  readonly PhysicalResourceId: string;
  readonly Data?: { readonly PrefixListId: string };
}

export const s3PrefixListName = (region: string) => `com.amazonaws.${region}.s3`;

/** Create and Update: the id, as the physical id and as `PrefixListId`; Delete: nothing to undo (a read). */
export async function onEvent(event: LookupEvent, ec2: Ec2ClientLike): Promise<LookupResult> {
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId ?? 'none' };
  const name = s3PrefixListName(event.ResourceProperties.Region);
  const answer = await ec2.send(new DescribeManagedPrefixListsCommand({ Filters: [{ Name: 'prefix-list-name', Values: [name] }] }));
  // Only AWS's own list: a customer-managed list may carry the same name and would let anything through.
  const lists = (answer.PrefixLists ?? []).filter((l) => l.PrefixListName === name && l.OwnerId === 'AWS' && l.PrefixListId);
  if (lists.length !== 1) {
    throw new Error(`expected one AWS-managed prefix list named ${name}, found ${lists.length}; the tasks' security groups (network.taskEgress "vpcEndpoints") need it to reach S3 through the gateway endpoint`);
  }
  const id = lists[0].PrefixListId!;
  return { PhysicalResourceId: id, Data: { PrefixListId: id } };
}
