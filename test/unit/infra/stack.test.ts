import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import {
  assertEntriesExist,
  HandlerEntry,
  LOCAL_ONLY_PACKAGES,
  MissingHandlerError,
  REPO_ROOT,
} from '../../../infra/bundling.js';
import { addTillstreamStack } from '../../../infra/environments.js';
import { InfraConfigError, resolveStackProps } from '../../../infra/props.js';
import { HandlerEnv, TillstreamStack } from '../../../infra/stack.js';
import { MetricName, metricsNamespace, ServiceName } from '../../../shared/aws/powertools.js';
import { resourceNames, tableSpecs } from '../../../shared/resources.js';

type Resources = Record<
  string,
  { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string }
>;

const ECR = { code: 'ecr', imageTag: 'test-0123abc' } as const;

/** The feature flags of `cdk.json`, which the CLI passes to the app and a bare `new App()` would miss. */
const cdkJsonContext = (
  JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }
).context;

/** Every app synthesizes (bundles included) under this folder, removed after the file's tests. */
const outRoot = mkdtempSync(join(tmpdir(), 'tillstream-infra-test-'));
afterAll(() => rmSync(outRoot, { recursive: true, force: true }));

/** An app with the CLI's context plus `context`. */
function newApp(context: Record<string, string> = {}): App {
  return new App({
    outdir: mkdtempSync(join(outRoot, 'cdk.out-')),
    context: { ...cdkJsonContext, ...context },
  });
}

/** Synthesizes the app the way `cdk synth` does, from context only: no credentials, no Docker. */
function synth(context: Record<string, string>): { app: App; stack: TillstreamStack; template: Template } {
  const app = newApp(context);
  const stack = addTillstreamStack(app);
  return { app, stack, template: Template.fromStack(stack) };
}

function resourcesOfType(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

function logicalIdOf(template: Template, type: string, pathFragment: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(pathFragment));
  expect(ids, `${type} starting with ${pathFragment}`).toHaveLength(1);
  return ids[0]!;
}

/** Every statement of every IAM policy in the template. */
function policyStatements(template: Template): { policy: string; Action: unknown; Resource: unknown }[] {
  const statements: { policy: string; Action: unknown; Resource: unknown }[] = [];
  for (const [id, policy] of Object.entries(resourcesOfType(template, 'AWS::IAM::Policy'))) {
    const document = policy.Properties['PolicyDocument'] as {
      Statement: { Action: unknown; Resource: unknown }[];
    };
    for (const statement of document.Statement) statements.push({ policy: id, ...statement });
  }
  return statements;
}

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

/** The actions a role's policies allow, flattened. */
function actionsOf(template: Template, rolePrefix: string): string[] {
  const roleId = logicalIdOf(template, 'AWS::IAM::Role', rolePrefix);
  return Object.values(resourcesOfType(template, 'AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify(policy.Properties['Roles']).includes(`"${roleId}"`))
    .flatMap((policy) =>
      (policy.Properties['PolicyDocument'] as { Statement: { Action: unknown }[] }).Statement.flatMap(
        (statement) => asList(statement.Action).map(String),
      ),
    );
}

/** The actions a role's policies allow on the resources whose CloudFormation form `matches`. */
function actionsOn(template: Template, rolePrefix: string, matches: (resource: string) => boolean): string[] {
  const roleId = logicalIdOf(template, 'AWS::IAM::Role', rolePrefix);
  const actions = new Set<string>();
  for (const policy of Object.values(resourcesOfType(template, 'AWS::IAM::Policy'))) {
    if (!JSON.stringify(policy.Properties['Roles']).includes(`"${roleId}"`)) continue;
    const document = policy.Properties['PolicyDocument'] as {
      Statement: { Action: unknown; Resource: unknown }[];
    };
    for (const statement of document.Statement) {
      if (!asList(statement.Resource).some((resource) => matches(JSON.stringify(resource)))) continue;
      for (const action of asList(statement.Action)) actions.add(String(action));
    }
  }
  return [...actions].sort();
}

describe.each([
  { environment: 'dev', protectData: false },
  { environment: 'prod', protectData: true },
])('the $environment stack (ecr code)', ({ environment, protectData }) => {
  // Prepare
  const { stack, template } = synth({ env: environment, ...ECR });
  const names = resourceNames({ resourcePrefix: `tillstream-${environment}` });

  it('declares exactly the tables of shared/resources.ts: on demand, pk/sk strings, PITR', () => {
    // Assess
    const specs = tableSpecs(names);
    template.resourceCountIs('AWS::DynamoDB::Table', specs.length);
    for (const spec of specs) {
      template.hasResource('AWS::DynamoDB::Table', {
        Properties: {
          TableName: spec.name,
          BillingMode: 'PAY_PER_REQUEST',
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          AttributeDefinitions: Match.arrayWith([{ AttributeName: 'pk', AttributeType: 'S' }]),
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          SSESpecification: { SSEEnabled: true },
          DeletionProtectionEnabled: protectData,
        },
        DeletionPolicy: protectData ? 'Retain' : 'Delete',
      });
    }
  });

  it('encrypts the orders stream and sizes it from the environment', () => {
    // Assess
    template.hasResourceProperties('AWS::Kinesis::Stream', {
      Name: names.ordersStream,
      StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
      ShardCount: protectData ? 2 : 1,
      RetentionPeriodHours: protectData ? 168 : 24,
    });
  });

  it('locks every bucket down: encryption, TLS only, no public access, versioned, access logs', () => {
    // Prepare
    const buckets = resourcesOfType(template, 'AWS::S3::Bucket');
    const accessLogsId = logicalIdOf(template, 'AWS::S3::Bucket', 'StorageAccessLogsBucket');

    // Assess
    expect(Object.keys(buckets)).toHaveLength(5);
    for (const [id, bucket] of Object.entries(buckets)) {
      expect(bucket.DeletionPolicy, id).toBe('Retain');
      expect(bucket.Properties, id).toMatchObject({
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        VersioningConfiguration: { Status: 'Enabled' },
      });
      if (id !== accessLogsId) {
        expect(bucket.Properties['LoggingConfiguration'], id).toEqual({
          DestinationBucketName: { Ref: accessLogsId },
          LogFilePrefix: expect.any(String),
        });
      }
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: id },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });

  it('moves raw files to infrequent access after 30 days', () => {
    // Prepare
    const raw = resourcesOfType(template, 'AWS::S3::Bucket')[
      logicalIdOf(template, 'AWS::S3::Bucket', 'StorageRawBucket')
    ]!;

    // Assess
    expect(raw.Properties['LifecycleConfiguration']).toEqual({
      Rules: expect.arrayContaining([
        expect.objectContaining({
          Status: 'Enabled',
          Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 30 }],
        }),
      ]),
    });
  });

  it('keeps the Drive key in a Secrets Manager secret that only the poller reads', () => {
    // Assess
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    expect(actionsOf(template, 'PollerRole')).toContain('secretsmanager:GetSecretValue');
    expect(actionsOf(template, 'ShardProcessorRole')).not.toContain('secretsmanager:GetSecretValue');
    expect(actionsOf(template, 'CompactionRole')).not.toContain('secretsmanager:GetSecretValue');
  });

  it('runs four ARM64 functions from the ECR image, each with its handler and the resource variables', () => {
    // Prepare
    const functions = resourcesOfType(template, 'AWS::Lambda::Function');
    const expectedEnv = [
      ...Object.values(HandlerEnv).filter(
        (name) => name !== HandlerEnv.Input && name !== HandlerEnv.DriveSecretArn,
      ),
      'POWERTOOLS_SERVICE_NAME',
      'POWERTOOLS_METRICS_NAMESPACE',
      'NODE_OPTIONS',
    ].sort();

    // Assess
    expect(Object.keys(functions)).toHaveLength(4);
    const commands = Object.values(functions).map((fn) => {
      expect(fn.Properties).toMatchObject({ PackageType: 'Image', Architectures: ['arm64'] });
      return (fn.Properties['ImageConfig'] as { Command: string[] }).Command;
    });
    expect(commands.sort()).toEqual([
      ['ingest/lambda.handler'],
      ['processors/compaction/lambda.handler'],
      ['processors/dashboard/lambda.handler'],
      ['processors/shard/lambda.handler'],
    ]);
    const variables = (prefix: string): Record<string, unknown> => {
      const fn = functions[logicalIdOf(template, 'AWS::Lambda::Function', prefix)]!;
      return (fn.Properties['Environment'] as { Variables: Record<string, unknown> }).Variables;
    };
    expect(Object.keys(variables('ShardProcessorFunction')).sort()).toEqual(expectedEnv);
    expect(Object.keys(variables('CompactionFunction')).sort()).toEqual(expectedEnv);
    expect(Object.keys(variables('PollerFunction')).sort()).toEqual(
      [...expectedEnv, HandlerEnv.Input, HandlerEnv.DriveSecretArn].sort(),
    );
    expect(variables('ShardProcessorFunction')).toMatchObject({
      TILLSTREAM_TARGET: 'aws',
      TILLSTREAM_AGGREGATES_TABLE: {
        Ref: logicalIdOf(template, 'AWS::DynamoDB::Table', 'StorageAggregatesTable'),
      },
      TILLSTREAM_ORDERS_STREAM: { Ref: logicalIdOf(template, 'AWS::Kinesis::Stream', 'StorageOrdersStream') },
      TILLSTREAM_MARTS_BUCKET: { Ref: logicalIdOf(template, 'AWS::S3::Bucket', 'StorageMartsBucket') },
      TILLSTREAM_CHAIN_TZ: 'America/New_York',
      POWERTOOLS_SERVICE_NAME: ServiceName.ShardProcessor,
      POWERTOOLS_METRICS_NAMESPACE: metricsNamespace(environment),
    });
  });

  it('maps the stream to the processor: partial failures, bisect, retries until success, one batch per shard, S3 on failure', () => {
    // Assess
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: {
        'Fn::GetAtt': [logicalIdOf(template, 'AWS::Kinesis::Stream', 'StorageOrdersStream'), 'Arn'],
      },
      FunctionName: { Ref: logicalIdOf(template, 'AWS::Lambda::Function', 'ShardProcessorFunction') },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 500,
      MaximumBatchingWindowInSeconds: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      // −1: a failing batch is retried until it succeeds or its records leave the stream.
      MaximumRetryAttempts: -1,
      // −1: no record age at which a batch is given up (said outright, so a deployed limit is reset).
      MaximumRecordAgeInSeconds: -1,
      ParallelizationFactor: 1,
      DestinationConfig: {
        OnFailure: {
          Destination: {
            'Fn::GetAtt': [logicalIdOf(template, 'AWS::S3::Bucket', 'StorageFailedBatchesBucket'), 'Arn'],
          },
        },
      },
    });
  });

  it('polls on a rate and compacts nightly in the chain time zone', () => {
    // Assess
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(5 minutes)',
      // No -c driveFolderIds: nothing to poll yet.
      State: 'DISABLED',
      Target: {
        Arn: { 'Fn::GetAtt': [logicalIdOf(template, 'AWS::Lambda::Function', 'PollerFunction'), 'Arn'] },
      },
    });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(30 3 * * ? *)',
      ScheduleExpressionTimezone: 'America/New_York',
      Target: {
        Arn: { 'Fn::GetAtt': [logicalIdOf(template, 'AWS::Lambda::Function', 'CompactionFunction'), 'Arn'] },
      },
    });
  });

  it('alarms on shard lag, processor error rate, batches given up, quarantine growth, a missed snapshot, missing uploads', () => {
    // Assess
    template.resourceCountIs('AWS::CloudWatch::Alarm', 7);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: metricsNamespace(environment),
      MetricName: MetricName.MissingUploads,
      Dimensions: [{ Name: 'service', Value: ServiceName.Poller }],
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
    });
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    // Shard lag: the larger of the stream's iterator age and the processor's (which grows while a
    // failing batch is retried).
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'MAX([FILL(streamAge, 0), FILL(processorAge, 0)])' }),
        Match.objectLike({
          Id: 'streamAge',
          MetricStat: Match.objectLike({
            Metric: {
              Namespace: 'AWS/Kinesis',
              MetricName: 'GetRecords.IteratorAgeMilliseconds',
              Dimensions: [
                {
                  Name: 'StreamName',
                  Value: { Ref: logicalIdOf(template, 'AWS::Kinesis::Stream', 'StorageOrdersStream') },
                },
              ],
            },
            Stat: 'Maximum',
          }),
        }),
        Match.objectLike({
          Id: 'processorAge',
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({ Namespace: 'AWS/Lambda', MetricName: 'IteratorAge' }),
            Stat: 'Maximum',
          }),
        }),
      ]),
      Threshold: 300_000,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        Match.objectLike({
          Expression: 'IF(invocations > 0, 100 * (errors + FILL(batchesFailed, 0)) / invocations, 0)',
        }),
        Match.objectLike({
          Id: 'errors',
          MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'Errors' }) }),
        }),
      ]),
      Threshold: 5,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/S3',
      MetricName: 'PutRequests',
      Dimensions: Match.arrayWith([
        {
          Name: 'BucketName',
          Value: { Ref: logicalIdOf(template, 'AWS::S3::Bucket', 'StorageFailedBatchesBucket') },
        },
        { Name: 'FilterId', Value: 'EntireBucket' },
      ]),
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/S3',
      MetricName: 'PutRequests',
      Dimensions: Match.arrayWith([
        {
          Name: 'BucketName',
          Value: { Ref: logicalIdOf(template, 'AWS::S3::Bucket', 'StorageQuarantineBucket') },
        },
      ]),
      Period: 3600,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: metricsNamespace(environment),
      MetricName: MetricName.SnapshotsWritten,
      Dimensions: [{ Name: 'service', Value: ServiceName.Compaction }],
      Period: 86_400,
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
    });
    // S3 request metrics feed the two bucket alarms, and only those buckets pay for them.
    const withMetrics = Object.entries(resourcesOfType(template, 'AWS::S3::Bucket'))
      .filter(
        ([, bucket]) =>
          JSON.stringify(bucket.Properties['MetricsConfigurations']) === '[{"Id":"EntireBucket"}]',
      )
      .map(([id]) => id.replace(/[0-9A-F]{8}$/, ''));
    expect(withMetrics.sort()).toEqual(['StorageFailedBatchesBucket', 'StorageQuarantineBucket']);
    for (const alarm of Object.values(resourcesOfType(template, 'AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties['AlarmActions']).toEqual([
        { Ref: logicalIdOf(template, 'AWS::SNS::Topic', 'MonitoringAlarmTopic') },
      ]);
    }
  });

  it('counts a batch the handler reports failed (a partial batch response, not a function error) in the error rate', () => {
    // Assess: the handler catches every flush error and returns batchItemFailures, so Lambda's
    // Errors stays 0 for a failing batch; only its BatchesFailed metric counts it.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: Match.stringLikeRegexp('shard-processor invocations failed'),
      Metrics: Match.arrayWith([
        Match.objectLike({
          MetricStat: Match.objectLike({
            Metric: {
              Namespace: metricsNamespace(environment),
              MetricName: MetricName.BatchesFailed,
              Dimensions: [{ Name: 'service', Value: ServiceName.ShardProcessor }],
            },
            Stat: 'Sum',
          }),
        }),
      ]),
    });
  });

  it("graphs the shard processor's iterator age and records per second by shard on the dashboard", () => {
    // Prepare: the dashboard body, its tokens (stream and function names) replaced by a placeholder
    const [dashboard] = Object.values(resourcesOfType(template, 'AWS::CloudWatch::Dashboard'));
    const parts = (dashboard!.Properties['DashboardBody'] as { 'Fn::Join': [string, unknown[]] })[
      'Fn::Join'
    ][1];
    const body = JSON.parse(parts.map((part) => (typeof part === 'string' ? part : 'TOKEN')).join('')) as {
      widgets: { properties: { title?: string; metrics?: unknown[][] } }[];
    };
    // Act
    const widget = body.widgets.find((candidate) =>
      candidate.properties.title?.startsWith('Iterator age by shard'),
    );
    // Assess: one search per metric, over the shard dimension of the processor's metrics
    const search = (metricName: string, statistic: string) =>
      `SEARCH('{${metricsNamespace(environment)},service,shard} MetricName="${metricName}" service="${ServiceName.ShardProcessor}"', '${statistic}', 60)`;
    expect(widget?.properties.metrics).toEqual([
      [
        expect.objectContaining({
          expression: search(MetricName.IteratorAge, 'Maximum'),
          // CloudWatch's dynamic label: the shard id of each line.
          label: `iterator age \${PROP('Dim.shard')}`,
        }),
      ],
      [
        expect.objectContaining({
          expression: search(MetricName.RecordsPerSecond, 'Average'),
          yAxis: 'right',
        }),
      ],
    ]);
  });

  it('grants least privilege: no `*` action or resource, no delete on the raw layer, no managed policies', () => {
    // Prepare
    const statements = policyStatements(template);

    // Assess
    expect(statements.length).toBeGreaterThan(10);
    for (const statement of statements) {
      expect(asList(statement.Action), statement.policy).not.toContain('*');
      expect(asList(statement.Resource), statement.policy).not.toContain('*');
      for (const action of asList(statement.Action))
        expect(String(action), statement.policy).not.toMatch(/^[a-z0-9]+:\*$/);
    }
    for (const role of Object.values(resourcesOfType(template, 'AWS::IAM::Role'))) {
      expect(role.Properties['ManagedPolicyArns']).toBeUndefined();
    }
    const poller = actionsOf(template, 'PollerRole');
    expect(poller).toEqual(
      expect.arrayContaining(['s3:PutObject', 'kinesis:PutRecords', 'dynamodb:ConditionCheckItem']),
    );
    expect(poller.filter((action) => action.startsWith('s3:Delete'))).toEqual([]);
    const processor = actionsOf(template, 'ShardProcessorRole');
    expect(processor).toEqual(
      expect.arrayContaining(['kinesis:GetRecords', 'dynamodb:UpdateItem', 's3:PutObject']),
    );
    expect(processor.filter((action) => action.startsWith('kinesis:Put'))).toEqual([]);
    const compaction = actionsOf(template, 'CompactionRole');
    expect(compaction).toEqual(expect.arrayContaining(['dynamodb:Scan', 's3:PutObject']));
    expect(
      compaction.filter((action) => action.startsWith('kinesis:') || action.startsWith('s3:Delete')),
    ).toEqual([]);
  });

  it('grants every function the same actions on the later table generations (`-g*`) as on generation 0', () => {
    // Prepare
    const roles = ['PollerRole', 'ShardProcessorRole', 'CompactionRole', 'DashboardApiRole'];
    const tables = [
      { logicalPrefix: 'StorageAggregatesTable', name: names.aggregatesTable },
      { logicalPrefix: 'StorageLedgerTable', name: names.ledgerTable },
      { logicalPrefix: 'StorageStateTable', name: names.stateTable },
    ];

    // Assess
    let granted = 0;
    for (const role of roles) {
      for (const table of tables) {
        const tableId = logicalIdOf(template, 'AWS::DynamoDB::Table', table.logicalPrefix);
        const onGenerationZero = actionsOn(template, role, (resource) => resource.includes(`"${tableId}"`));
        const onLaterGenerations = actionsOn(template, role, (resource) =>
          resource.includes(`:table/${table.name}-g*`),
        );
        expect(onLaterGenerations, `${role} on ${table.name}-g*`).toEqual(onGenerationZero);
        granted += onGenerationZero.length;
      }
    }
    expect(granted).toBeGreaterThan(20);
    // The compaction writes the customers' tiers back with batch and conditional puts, and nothing else.
    const aggregatesId = logicalIdOf(template, 'AWS::DynamoDB::Table', 'StorageAggregatesTable');
    const compactionOnAggregates = actionsOn(template, 'CompactionRole', (resource) =>
      resource.includes(`"${aggregatesId}"`),
    );
    expect(compactionOnAggregates).toContain('dynamodb:PutItem');
    expect(compactionOnAggregates).toContain('dynamodb:BatchWriteItem');
    expect(compactionOnAggregates.filter((action) => /Delete|Update/.test(action))).toEqual([]);
    // The profiles lease and its marker: control items of the state table.
    const stateId = logicalIdOf(template, 'AWS::DynamoDB::Table', 'StorageStateTable');
    const compactionOnState = actionsOn(template, 'CompactionRole', (resource) =>
      resource.includes(`"${stateId}"`),
    );
    expect(compactionOnState).toEqual(
      expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem']),
    );
  });

  it('passes cdk-nag AwsSolutions with no unsuppressed error or warning', () => {
    // Prepare
    const annotations = Annotations.fromStack(stack);

    // Assess
    expect(annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual([]);
    expect(annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual([]);
  });

  it('deploys the dashboard API by default, and none with -c dashboardApi=false', () => {
    // Prepare
    const without = synth({ env: environment, code: 'ecr', imageTag: 'abc123', dashboardApi: 'false' });
    // Assess
    template.resourceCountIs('AWS::Lambda::Url', 1);
    without.template.resourceCountIs('AWS::Lambda::Url', 0);
  });
});

describe('the dashboard API', () => {
  it('sits behind an IAM-authenticated function URL and only reads', () => {
    // Prepare
    const stack = new TillstreamStack(newApp(), 'WithDashboard', {
      environmentName: 'dev',
      code: { mode: 'ecr', repositoryName: 'tillstream', tagOrDigest: 'test-0123abc' },
      dashboardApi: { entry: 'dashboard/lambda.ts' },
    });

    // Act
    const template = Template.fromStack(stack);

    // Assess
    template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'AWS_IAM' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      ImageConfig: { Command: ['dashboard/lambda.handler'] },
    });
    const actions = actionsOf(template, 'DashboardApiRole');
    expect(actions).toContain('dynamodb:Query');
    const dataActions = actions.filter((action) => !action.startsWith('logs:'));
    expect(dataActions.filter((action) => /Put|Update|Delete|Write|Abort/.test(action))).toEqual([]);
  });
});

describe('the Drive folders', () => {
  it('reach the poller as a drive:// input and enable its schedule', () => {
    // Prepare
    const folders = '1AbCdEfGhIjKlMnOp,2ZyXwVuTsRqPoNmLk';

    // Act
    const { template } = synth({ env: 'dev', ...ECR, driveFolderIds: folders });

    // Assess
    template.hasResourceProperties('AWS::Lambda::Function', {
      ImageConfig: { Command: ['ingest/lambda.handler'] },
      Environment: { Variables: Match.objectLike({ TILLSTREAM_INPUT: `drive://${folders}` }) },
    });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
    });
  });
});

describe('stack props', () => {
  it.each([
    [{ processor: { batchSize: 0 } }, 'processor.batchSize must be an integer from 1 to 10000 (given 0)'],
    [
      { processor: { retryAttempts: -2 } },
      'processor.retryAttempts must be an integer from -1 to 10000 (given -2)',
    ],
    [{ shardCount: 2.5 }, 'shardCount must be an integer from 1 to 500 (given 2.5)'],
    [
      { streamCapacity: 'on-demand', shardCount: 4 },
      'shardCount applies only to a provisioned stream (given 4)',
    ],
    [
      { processor: { maxRecordAge: Duration.days(3) } },
      'processor.maxRecordAge must not exceed the stream retention of 1 day (given "3 days")',
    ],
    [{ chainTimeZone: 'Mars/Olympus' }, 'chainTimeZone must be an IANA time zone (given "Mars/Olympus")'],
    [{ pollSchedule: 'every 5 minutes' }, '(given "every 5 minutes")'],
    [{ pollSchedule: 'rate(1 minutes)' }, 'must use a singular unit for 1'],
    [
      { compactionSchedule: 'rate(1 day)' },
      'compactionSchedule must be a six-field `cron(...)` (given "rate(1 day)")',
    ],
    [{ driveFolderIds: ['../etc'] }, 'driveFolderIds must hold Drive folder ids'],
    [
      { code: { mode: 'ecr', repositoryName: 'tillstream', tagOrDigest: 'latest' } },
      'code.tagOrDigest must be an immutable image tag or a sha256 digest, not `latest` (given "latest")',
    ],
    [{ logRetentionDays: 31 }, 'logRetentionDays must be one of'],
    [
      { alarms: { processorErrorRatePercent: 150 } },
      'alarms.processorErrorRatePercent must be a number from 0 to 100 (given 150)',
    ],
  ] as const)('rejects %o', (override, message) => {
    // Act
    const resolve = () => resolveStackProps({ environmentName: 'dev', ...override } as never);

    // Assess
    expect(resolve).toThrow(InfraConfigError);
    expect(resolve).toThrow(message);
  });

  it('defaults to a protected stack in prod only', () => {
    // Act
    const dev = resolveStackProps({ environmentName: 'dev' });
    const prod = resolveStackProps({ environmentName: 'prod' });

    // Assess
    expect([dev.protectData, prod.protectData]).toEqual([false, true]);
    expect([dev.logRetentionDays, prod.logRetentionDays]).toEqual([30, 90]);
    expect(dev.code).toEqual({ mode: 'zip' });
  });

  it.each([
    [{ env: 'staging' }, 'context env must be one of dev, prod (given "staging")'],
    [{ code: 'ecr' }, 'context imageTag is required with -c code=ecr (given null)'],
    [{ code: 'docker' }, 'context code must be one of zip, ecr (given "docker")'],
  ])('rejects the context %o', (context, message) => {
    // Assess
    expect(() => addTillstreamStack(newApp(context))).toThrow(message);
  });

  it('gives a failing batch up only when finite retries or a record age are asked for', () => {
    // Prepare
    const stack = new TillstreamStack(newApp(), 'BoundedRetries', {
      environmentName: 'dev',
      code: { mode: 'ecr', repositoryName: 'tillstream', tagOrDigest: 'test-0123abc' },
      processor: { retryAttempts: 3, maxRecordAge: Duration.hours(6) },
    });

    // Assess
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      MaximumRetryAttempts: 3,
      MaximumRecordAgeInSeconds: 21_600,
    });
  });

  it('builds an on-demand stream when asked', () => {
    // Prepare
    const stack = new TillstreamStack(newApp(), 'OnDemand', {
      environmentName: 'dev',
      code: { mode: 'ecr', repositoryName: 'tillstream', tagOrDigest: 'test-0123abc' },
      streamCapacity: 'on-demand',
    });

    // Assess
    Template.fromStack(stack).hasResourceProperties('AWS::Kinesis::Stream', {
      StreamModeDetails: { StreamMode: 'ON_DEMAND' },
      ShardCount: Match.absent(),
    });
  });
});

describe('zip code (local esbuild, real handlers)', () => {
  it('refuses missing handler files by name, before bundling anything', () => {
    // Act
    const check = () => assertEntriesExist([HandlerEntry.Poller, 'no-such-dir/lambda.ts', 'nor/this.ts']);

    // Assess
    expect(check).toThrow(MissingHandlerError);
    expect(check).toThrow('Lambda entry no-such-dir/lambda.ts, nor/this.ts does not exist');
  });

  it('refuses a missing dashboard handler in zip mode', () => {
    // Act
    const build = () =>
      new TillstreamStack(newApp(), 'MissingEntry', {
        environmentName: 'dev',
        dashboardApi: { entry: 'no-such-dir/lambda.ts' },
      });

    // Assess
    expect(build).toThrow(MissingHandlerError);
    expect(build).toThrow(/Lambda entry (.+, )?no-such-dir\/lambda\.ts does not exist/);
  });

  it('bundles every handler as ESM for nodejs22.x on ARM64, without any emulator', () => {
    // Prepare
    for (const entry of Object.values(HandlerEntry)) {
      expect(existsSync(join(REPO_ROOT, entry)), `${entry} exists`).toBe(true);
    }
    const { app, stack, template } = synth({ env: 'dev' });

    // Act
    const assembly = app.synth();

    // Assess
    const functions = resourcesOfType(template, 'AWS::Lambda::Function');
    expect(Object.keys(functions)).toHaveLength(4);
    for (const fn of Object.values(functions)) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
      });
      const key = (fn.Properties['Code'] as { S3Key: string }).S3Key;
      const bundle = readFileSync(
        join(assembly.directory, `asset.${key.replace(/\.zip$/, '')}`, 'index.mjs'),
        'utf8',
      );
      expect(bundle).toContain('createRequire');
      for (const emulator of LOCAL_ONLY_PACKAGES) {
        expect(bundle, emulator).not.toMatch(
          new RegExp(
            `from\\s*["']${emulator}["']|import\\(\\s*["']${emulator}["']|require\\(["']${emulator}["']\\)`,
          ),
        );
      }
    }
    expect(Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual(
      [],
    );
  }, 120_000);
});
