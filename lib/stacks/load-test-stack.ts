import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';
import type { LoadTestConfig, StatefulConfig } from '../config/schema';
import { EncryptionKey } from '../constructs/encryption';
import { LoadGenerator } from '../constructs/load-generator';
import { STACK_OUTPUTS } from '../contracts/stacks';

export interface LoadTestStackProps extends StackProps {
  readonly vpc: ec2.IVpc;
  /** The Compute stack's load balancer DNS name: the only host the load generator will load. */
  readonly targetHost: string;
  readonly loadTest: LoadTestConfig;
  readonly logRetentionDays: number;
  readonly removalPolicy: StatefulConfig['removalPolicy'];
}

/** Opt-in (`loadTest.enabled`): the load-generator Lambda that `npm run loadtest` invokes. Never in the request path. */
export class LoadTestStack extends Stack {
  readonly generator: LoadGenerator;

  constructor(scope: Construct, id: string, props: LoadTestStackProps) {
    super(scope, id, props);
    const encryptionKey = new EncryptionKey(this, 'LogKey', {
      description: 'Encrypts the load generator logs',
      removalPolicy: props.removalPolicy,
      allowCloudWatchLogs: true,
    }).key;
    this.generator = new LoadGenerator(this, 'LoadGenerator', { ...props, encryptionKey });
    new CfnOutput(this, STACK_OUTPUTS.loadGeneratorFunctionName, {
      value: this.generator.function.functionName,
      description: 'The function npm run loadtest invokes (one invocation per worker per slice)',
    });
    new CfnOutput(this, STACK_OUTPUTS.loadGeneratorStopParameterName, {
      value: this.generator.stopBoard.parameterName,
      description: 'The stop flag npm run loadtest -- stop --run <id> writes; the load generator polls it',
    });
    new CfnOutput(this, 'LoadGeneratorInvokerRoleArn', {
      value: this.generator.invokerRole.roleArn,
      description: 'Assume this role (e.g. an AWS profile with role_arn) to run npm run loadtest through the load generator',
    });
  }
}
