import { ENVIRONMENTS, synth } from '../helpers/synth';

// lib/constructs/trust-conditions.ts: ECS documents aws:SourceAccount/aws:SourceArn for task roles only.
describe.each(ENVIRONMENTS)('service role trust conditions (%s)', (env) => {
  const { compute: t } = synth(env);
  const definitions = Object.values(t.findResources('AWS::ECS::TaskDefinition')).map((d) => d.Properties);
  const roles = t.findResources('AWS::IAM::Role');
  const trustOf = (ref: { 'Fn::GetAtt': [string, string] }) => roles[ref['Fn::GetAtt'][0]].Properties.AssumeRolePolicyDocument.Statement;

  test('task roles: only ECS tasks of this account and region may assume them', () => {
    expect(definitions).toHaveLength(2);
    for (const def of definitions) {
      expect(trustOf(def.TaskRoleArn)).toEqual([{
        Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'ecs-tasks.amazonaws.com' },
        Condition: {
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ecs:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':*']] } },
        },
      }]);
    }
  });

  test('execution roles keep the plain trust ECS documents for them (a refused AssumeRole would stop every image pull)', () => {
    for (const def of definitions) expect(trustOf(def.ExecutionRoleArn)).toEqual([{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'ecs-tasks.amazonaws.com' } }]);
  });
});
