/**
 * One environment of the pipeline: Drive poller → raw/quarantine buckets and the orders stream →
 * shard processor → DynamoDB aggregates → nightly compaction → marts bucket; alarms and a dashboard.
 */
import { Aws, CfnOutput, Duration, Stack, TimeZone } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type { Construct } from 'constructs';
import { metricsNamespace, PowertoolsEnv, ServiceName } from '../shared/aws/powertools.js';
import { assertEntriesExist, HandlerEntry } from './bundling.js';
import { PipelineMonitoring } from './constructs/monitoring.js';
import { PipelineFunction, type ResolvedCode } from './constructs/pipeline-function.js';
import { PipelineStorage } from './constructs/storage.js';
import { acknowledgeFindings } from './nag.js';
import { CodeMode, type ResolvedStackProps, resolveStackProps, type TillstreamStackProps } from './props.js';

/** Environment variables the handlers read (`shared/config.ts`, `shared/resources.ts`, `ingest/lambda.ts`). */
export const HandlerEnv = {
  Target: 'TILLSTREAM_TARGET',
  AggregatesTable: 'TILLSTREAM_AGGREGATES_TABLE',
  LedgerTable: 'TILLSTREAM_LEDGER_TABLE',
  StateTable: 'TILLSTREAM_STATE_TABLE',
  OrdersStream: 'TILLSTREAM_ORDERS_STREAM',
  RawBucket: 'TILLSTREAM_RAW_BUCKET',
  QuarantineBucket: 'TILLSTREAM_QUARANTINE_BUCKET',
  MartsBucket: 'TILLSTREAM_MARTS_BUCKET',
  ChainTimeZone: 'TILLSTREAM_CHAIN_TZ',
  /** The poller's input: `drive://ID[,ID…]`. */
  Input: 'TILLSTREAM_INPUT',
  /** The poller reads the Drive service-account JSON key from this secret. */
  DriveSecretArn: 'TILLSTREAM_DRIVE_SECRET_ARN',
} as const;

/** The role EventBridge Scheduler assumes to invoke one function. */
function schedulerRole(scope: Construct, id: string): iam.Role {
  return new iam.Role(scope, id, {
    assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
    }),
  });
}

/** The pipeline of one environment. */
export class TillstreamStack extends Stack {
  readonly settings: ResolvedStackProps;
  readonly storage: PipelineStorage;
  readonly poller: PipelineFunction;
  readonly processor: PipelineFunction;
  readonly compaction: PipelineFunction;
  /** Present when `dashboardApi` is given. */
  readonly dashboardApi: PipelineFunction | undefined;
  readonly dashboardApiUrl: lambda.FunctionUrl | undefined;
  readonly monitoring: PipelineMonitoring;

  /** @throws InfraConfigError when a prop is out of range (quoting it). */
  constructor(scope: Construct, id: string, props: TillstreamStackProps) {
    const settings = resolveStackProps(props);
    super(scope, id, props);
    this.settings = settings;
    const storage = new PipelineStorage(this, 'Storage', settings);
    this.storage = storage;

    if (settings.code.mode === CodeMode.Zip) {
      // Fail before the first bundle, naming every missing handler at once.
      assertEntriesExist([
        ...Object.values(HandlerEntry),
        ...(settings.dashboardApi === undefined ? [] : [settings.dashboardApi.entry]),
      ]);
    }
    const code: ResolvedCode =
      settings.code.mode === CodeMode.Zip
        ? { mode: CodeMode.Zip }
        : {
            mode: CodeMode.Ecr,
            repository: ecr.Repository.fromRepositoryName(
              this,
              'ImageRepository',
              settings.code.repositoryName,
            ),
            tagOrDigest: settings.code.tagOrDigest,
          };
    const resourceEnv: Record<string, string> = {
      [HandlerEnv.Target]: 'aws',
      [HandlerEnv.AggregatesTable]: storage.tables.aggregates.tableName,
      [HandlerEnv.LedgerTable]: storage.tables.ledger.tableName,
      [HandlerEnv.StateTable]: storage.tables.state.tableName,
      [HandlerEnv.OrdersStream]: storage.ordersStream.streamName,
      [HandlerEnv.RawBucket]: storage.rawBucket.bucketName,
      [HandlerEnv.QuarantineBucket]: storage.quarantineBucket.bucketName,
      [HandlerEnv.MartsBucket]: storage.martsBucket.bucketName,
      [HandlerEnv.ChainTimeZone]: settings.chainTimeZone,
      [PowertoolsEnv.MetricsNamespace]: metricsNamespace(settings.environmentName),
    };
    const functionDefaults = {
      code,
      logRetentionDays: settings.logRetentionDays,
      protectData: settings.protectData,
    };

    this.poller = new PipelineFunction(this, 'Poller', {
      ...functionDefaults,
      entry: HandlerEntry.Poller,
      description:
        'Polls the Drive folders: raw files to S3, rejected rows to quarantine, order events to Kinesis',
      memorySize: 1024,
      timeout: Duration.minutes(4),
      // One poll at a time, in every environment: a cycle advances the Drive changes token, and the
      // poller is the single writer of the dedupe ledger (ingest/ledger.ts).
      reservedConcurrentExecutions: 1,
      environment: {
        ...resourceEnv,
        [PowertoolsEnv.ServiceName]: ServiceName.Poller,
        [HandlerEnv.Input]:
          settings.driveFolderIds.length === 0 ? '' : `drive://${settings.driveFolderIds.join(',')}`,
        [HandlerEnv.DriveSecretArn]: storage.driveKeySecret.secretArn,
      },
    });
    // Read and put, never delete: the raw layer keeps every file byte for byte.
    storage.rawBucket.grantRead(this.poller.function);
    storage.rawBucket.grantPut(this.poller.function);
    storage.quarantineBucket.grantRead(this.poller.function);
    storage.quarantineBucket.grantPut(this.poller.function);
    // Generation 0's state table holds the poller lease and the generation pointer; the live
    // generation's ledger and state take the cycle's writes (every generation alike).
    for (const tables of [storage.tables, storage.generationTables]) {
      tables.ledger.grantReadWriteData(this.poller.function);
      tables.state.grantReadWriteData(this.poller.function);
    }
    storage.ordersStream.grantWrite(this.poller.function);
    storage.driveKeySecret.grantRead(this.poller.function);

    this.processor = new PipelineFunction(this, 'ShardProcessor', {
      ...functionDefaults,
      entry: HandlerEntry.ShardProcessor,
      description: 'Folds order events of one shard into the DynamoDB aggregates, exactly once',
      memorySize: settings.processor.memorySize,
      timeout: settings.processor.timeout,
      environment: { ...resourceEnv, [PowertoolsEnv.ServiceName]: ServiceName.ShardProcessor },
    });
    for (const tables of [storage.tables, storage.generationTables]) {
      tables.aggregates.grantReadWriteData(this.processor.function);
      tables.ledger.grantReadWriteData(this.processor.function);
      tables.state.grantReadWriteData(this.processor.function);
    }
    this.processor.function.addEventSource(
      new sources.KinesisEventSource(storage.ordersStream, {
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: settings.processor.batchSize,
        maxBatchingWindow: settings.processor.maxBatchingWindow,
        reportBatchItemFailures: true,
        bisectBatchOnError: true,
        // By default a failing batch is retried until it succeeds (the shard waits; the iterator-age
        // alarm fires) rather than given up: a batch given up cannot be replayed exactly, because
        // its items may already hold part of it and later batches move their high-water marks past
        // it. Records that fail validation never fail a batch: the flush keeps them as poison.
        retryAttempts: settings.processor.retryAttempts,
        ...(settings.processor.maxRecordAge === undefined
          ? {}
          : { maxRecordAge: settings.processor.maxRecordAge }),
        // Exactly one concurrent batch per shard: the exactly-once design keeps a high-water mark of
        // the stream position per shard and item, and relies on a shard's records being applied in
        // sequence order. With a factor above 1, Lambda splits a shard by partition key across
        // concurrent batches, so a later sequence number could pass the mark before an earlier one
        // of the same shard is applied, and the earlier one would be taken for a replay.
        parallelizationFactor: 1,
        // A batch given up (its records left the stream while it failed, or it ran out of a finite
        // `retryAttempts` / `maxRecordAge`) is described in an S3 object (shard, sequence range);
        // `tillstream rebuild` then makes the aggregates exact from the raw layer.
        onFailure: new sources.S3OnFailureDestination(storage.failedBatchesBucket),
      }),
    );
    if (settings.processor.maxRecordAge === undefined) {
      // −1 (no age limit) said outright rather than left out: a mapping deployed with a limit
      // might keep it when the property merely disappears from the template. CDK's Duration
      // cannot say −1.
      const mapping = this.processor.function.node
        .findAll()
        .find(
          (child): child is lambda.CfnEventSourceMapping => child instanceof lambda.CfnEventSourceMapping,
        );
      if (mapping === undefined) throw new Error('the shard processor has no event source mapping');
      mapping.maximumRecordAgeInSeconds = -1;
    }

    this.compaction = new PipelineFunction(this, 'Compaction', {
      ...functionDefaults,
      entry: HandlerEntry.Compaction,
      description: 'Nightly: percentile tiers and segments into the S3 mart snapshots',
      memorySize: 3008,
      timeout: Duration.minutes(15),
      // Two nights' runs must not switch the same manifest concurrently.
      reservedConcurrentExecutions: settings.protectData ? 1 : undefined,
      environment: { ...resourceEnv, [PowertoolsEnv.ServiceName]: ServiceName.Compaction },
    });
    for (const tables of [storage.tables, storage.generationTables]) {
      tables.aggregates.grantReadData(this.compaction.function);
      // The customers' tiers and segments are written back to their profile items: batch puts under
      // the profiles lease in the state table, conditional puts when restating an older snapshot.
      tables.aggregates.grant(this.compaction.function, 'dynamodb:PutItem', 'dynamodb:BatchWriteItem');
      tables.state.grantReadWriteData(this.compaction.function);
    }
    // A rerun switches the manifest by overwriting it; nothing is deleted.
    storage.martsBucket.grantRead(this.compaction.function);
    storage.martsBucket.grantPut(this.compaction.function);

    const pollScheduleRole = schedulerRole(this, 'PollScheduleRole');
    new scheduler.Schedule(this, 'PollSchedule', {
      description: 'Drive poll cycle',
      schedule: scheduler.ScheduleExpression.expression(settings.pollSchedule),
      // Without folders the poller has nothing to read: the schedule waits, disabled, instead of failing.
      enabled: settings.driveFolderIds.length > 0,
      target: new targets.LambdaInvoke(this.poller.function, {
        role: pollScheduleRole,
        // A missed poll is made up by the next one; retrying late only overlaps it.
        retryAttempts: 0,
        maxEventAge: Duration.minutes(5),
      }),
    });
    const compactionScheduleRole = schedulerRole(this, 'CompactionScheduleRole');
    new scheduler.Schedule(this, 'CompactionSchedule', {
      description: `Nightly compaction at ${settings.compactionSchedule} ${settings.chainTimeZone}`,
      // Evaluated in the chain's zone, so "yesterday" is complete there whatever the DST offset.
      schedule: scheduler.ScheduleExpression.expression(
        settings.compactionSchedule,
        TimeZone.of(settings.chainTimeZone),
      ),
      target: new targets.LambdaInvoke(this.compaction.function, {
        role: compactionScheduleRole,
        retryAttempts: 2,
        maxEventAge: Duration.hours(2),
      }),
    });

    if (settings.dashboardApi !== undefined) {
      const api = new PipelineFunction(this, 'DashboardApi', {
        ...functionDefaults,
        entry: settings.dashboardApi.entry,
        description: 'Dashboard API: reads the near-real-time aggregates',
        memorySize: 512,
        timeout: Duration.seconds(15),
        environment: { ...resourceEnv, [PowertoolsEnv.ServiceName]: ServiceName.DashboardApi },
      });
      for (const tables of [storage.tables, storage.generationTables]) {
        tables.aggregates.grantReadData(api.function);
        tables.state.grantReadData(api.function);
      }
      storage.martsBucket.grantRead(api.function);
      this.dashboardApi = api;
      // IAM auth: callers sign requests (SigV4) with a role allowed lambda:InvokeFunctionUrl; never public.
      this.dashboardApiUrl = api.function.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM });
      new CfnOutput(this, 'DashboardApiUrl', { value: this.dashboardApiUrl.url });
    } else {
      this.dashboardApi = undefined;
      this.dashboardApiUrl = undefined;
    }

    this.monitoring = new PipelineMonitoring(this, 'Monitoring', settings, storage, {
      poller: this.poller.function,
      processor: this.processor.function,
      compaction: this.compaction.function,
    });

    // `tillstream --aws` finds the resources through these variables.
    for (const [name, value] of Object.entries(resourceEnv)) {
      if (name.startsWith('TILLSTREAM_'))
        new CfnOutput(this, name.replaceAll('_', ''), { value, description: name });
    }
    new CfnOutput(this, 'DriveKeySecretArn', { value: storage.driveKeySecret.secretArn });
    new CfnOutput(this, 'FailedBatchesBucket', { value: storage.failedBatchesBucket.bucketName });

    const pipelineFunctions = [
      this.poller,
      this.processor,
      this.compaction,
      ...(this.dashboardApi ? [this.dashboardApi] : []),
    ];
    acknowledgeFindings({
      zipFunctions: settings.code.mode === CodeMode.Zip ? pipelineFunctions.map((fn) => fn.function) : [],
      functionRoles: pipelineFunctions.map((fn) => fn.role),
      processorRole: this.processor.role,
      schedulerRoles: [pollScheduleRole, compactionScheduleRole],
      driveKeySecret: storage.driveKeySecret,
      generationTableNames: [
        storage.names.aggregatesTable,
        storage.names.ledgerTable,
        storage.names.stateTable,
      ],
    });
  }
}
