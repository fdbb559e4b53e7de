/**
 * How Application Auto Scaling marks the Aurora readers it adds, shared by the reader-cleanup handler
 * (lambda/aurora-reader-cleanup, which selects what it deletes by it) and the handler's IAM policy
 * (lib/constructs/reader-cleanup.ts, which allows deleting only what carries it).
 *
 * Amazon Aurora User Guide, "Amazon Aurora Auto Scaling with Aurora Replicas", "DB instance IDs and tagging"
 * (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.Integrating.AutoScaling.html): the
 * instance id starts with `application-autoscaling-`, and the instance is tagged
 * `application-autoscaling:resourceId` = `cluster:<cluster id>`.
 */
export const AUTOSCALED_PREFIX = 'application-autoscaling-';

/** The tag key Application Auto Scaling puts on each reader it adds. */
export const AUTOSCALING_TAG = 'application-autoscaling:resourceId';

/** The tag's value on the readers of `clusterIdentifier`: the scalable target's resource id. */
export function autoscalingTagValue(clusterIdentifier: string): string {
  return `cluster:${clusterIdentifier}`;
}
