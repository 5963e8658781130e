/**
 * Ops monitoring: the alarms (shard lag, processor error rate, batches given up, quarantine growth,
 * a missed nightly snapshot, poller failures, missing uploads), their SNS topic, and one CloudWatch dashboard.
 */
import { Aws, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { MetricDimension, MetricName, metricsNamespace, ServiceName } from '../../shared/aws/powertools.js';
import type { ResolvedStackProps } from '../props.js';
import { BUCKET_METRICS_ID, type PipelineStorage } from './storage.js';

/** The functions the monitoring watches. */
export interface MonitoredFunctions {
  readonly poller: lambda.IFunction;
  readonly processor: lambda.IFunction;
  readonly compaction: lambda.IFunction;
}

/** Alarms by concern, for tests and for wiring more actions. */
export interface PipelineAlarms {
  readonly iteratorAge: cloudwatch.Alarm;
  readonly processorErrorRate: cloudwatch.Alarm;
  readonly failedBatches: cloudwatch.Alarm;
  readonly quarantineGrowth: cloudwatch.Alarm;
  readonly missedSnapshot: cloudwatch.Alarm;
  readonly pollerErrors: cloudwatch.Alarm;
  readonly missingUploads: cloudwatch.Alarm;
}

/** `PutRequests` of a bucket's request-metrics filter: one per object written. */
function objectsWritten(bucket: s3.IBucket, period: Duration): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/S3',
    metricName: 'PutRequests',
    dimensionsMap: { BucketName: bucket.bucketName, FilterId: BUCKET_METRICS_ID },
    statistic: cloudwatch.Stats.SUM,
    period,
  });
}

/** Alarms, their topic and the ops dashboard. */
export class PipelineMonitoring extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: PipelineAlarms;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(
    scope: Construct,
    id: string,
    props: ResolvedStackProps,
    storage: PipelineStorage,
    functions: MonitoredFunctions,
  ) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `tillstream ${props.environmentName} alarms`,
      masterKey: storage.key,
      enforceSSL: true,
    });
    // CloudWatch publishes to the encrypted topic with this key.
    storage.key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        // In a key policy `*` is the key itself.
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    );
    if (props.alarmEmail !== undefined) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }

    const streamIteratorAge = storage.ordersStream.metricGetRecordsIteratorAgeMilliseconds({
      statistic: cloudwatch.Stats.MAXIMUM,
      period: Duration.minutes(1),
    });
    const processorIteratorAge = functions.processor.metric('IteratorAge', {
      statistic: cloudwatch.Stats.MAXIMUM,
      period: Duration.minutes(1),
    });
    // The larger of the stream's and the processor's: while a failing batch is retried (without
    // bound), the mapping invokes the function again with the same records, whose age Lambda's
    // IteratorAge shows growing, and may read nothing from the stream meanwhile.
    const iteratorAgeMetric = new cloudwatch.MathExpression({
      expression: 'MAX([FILL(streamAge, 0), FILL(processorAge, 0)])',
      usingMetrics: { streamAge: streamIteratorAge, processorAge: processorIteratorAge },
      label: 'Shard lag (ms)',
      period: Duration.minutes(1),
    });
    const invocations = functions.processor.metricInvocations({ period: Duration.minutes(5) });
    const errors = functions.processor.metricErrors({ period: Duration.minutes(5) });
    // A failing batch does not fail the invocation: the handler reports it in its response
    // (partial batch failure), so Lambda's Errors misses it and the handler's BatchesFailed counts it.
    /** One of the functions' own metrics (Powertools, dimension `service`). */
    const pipelineMetric = (
      service: ServiceName,
      metricName: MetricName,
      statistic: string,
      period: Duration,
    ) =>
      new cloudwatch.Metric({
        namespace: metricsNamespace(props.environmentName),
        metricName,
        dimensionsMap: { service },
        statistic,
        period,
      });
    const batchesFailed = pipelineMetric(
      ServiceName.ShardProcessor,
      MetricName.BatchesFailed,
      cloudwatch.Stats.SUM,
      Duration.minutes(5),
    );
    const errorRate = new cloudwatch.MathExpression({
      expression: 'IF(invocations > 0, 100 * (errors + FILL(batchesFailed, 0)) / invocations, 0)',
      usingMetrics: { invocations, errors, batchesFailed },
      label: 'Processor error rate (%)',
      period: Duration.minutes(5),
    });
    const failedBatchObjects = objectsWritten(storage.failedBatchesBucket, Duration.minutes(5));
    const quarantineObjects = objectsWritten(storage.quarantineBucket, Duration.hours(1));
    const missingUploads = pipelineMetric(
      ServiceName.Poller,
      MetricName.MissingUploads,
      cloudwatch.Stats.MAXIMUM,
      Duration.hours(1),
    );
    // Per shard, from the shard processor's EMF metrics: one line per shard id the search finds
    // (shards change with resharding, so they are not listed here), labelled with it.
    const byShard = (metricName: MetricName, statistic: string, label: string) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${metricsNamespace(props.environmentName)},service,${MetricDimension.Shard}} MetricName="${metricName}" service="${ServiceName.ShardProcessor}"', '${statistic}', 60)`,
        usingMetrics: {},
        label: `${label} \${PROP('Dim.${MetricDimension.Shard}')}`,
        period: Duration.minutes(1),
      });
    const snapshotsWritten = pipelineMetric(
      ServiceName.Compaction,
      MetricName.SnapshotsWritten,
      cloudwatch.Stats.SUM,
      Duration.days(1),
    );

    this.alarms = {
      iteratorAge: iteratorAgeMetric.createAlarm(this, 'IteratorAgeAlarm', {
        alarmDescription: `Shard lag: the oldest unprocessed record on ${storage.names.ordersStream} is older than ${props.alarms.iteratorAgeMs} ms for 5 minutes.`,
        threshold: props.alarms.iteratorAgeMs,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 5,
        datapointsToAlarm: 5,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      processorErrorRate: errorRate.createAlarm(this, 'ProcessorErrorRateAlarm', {
        alarmDescription: `More than ${props.alarms.processorErrorRatePercent}% of shard-processor invocations failed in 5 minutes.`,
        threshold: props.alarms.processorErrorRatePercent,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      failedBatches: failedBatchObjects.createAlarm(this, 'FailedBatchesAlarm', {
        alarmDescription:
          'The shard processor gave up a batch (on-failure bucket): the aggregates miss it until `tillstream rebuild` (README, "When the processor fails on AWS").',
        threshold: props.alarms.failedBatchObjects,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      quarantineGrowth: quarantineObjects.createAlarm(this, 'QuarantineGrowthAlarm', {
        alarmDescription: `At least ${props.alarms.quarantineObjectsPerHour} quarantine objects written in one hour: an export is malformed.`,
        threshold: props.alarms.quarantineObjectsPerHour,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      // No datapoint in a day means compaction never ran or died before its manifest: that is the alarm.
      missedSnapshot: snapshotsWritten.createAlarm(this, 'MissedSnapshotAlarm', {
        alarmDescription: 'No nightly mart snapshot was written in the last 24 hours.',
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
      pollerErrors: functions.poller
        .metricErrors({ period: Duration.minutes(15) })
        .createAlarm(this, 'PollerErrorsAlarm', {
          alarmDescription: 'The Drive poller failed in two consecutive 15-minute periods.',
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 2,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      // Each poll publishes the overdue count; no datapoint means no poll, which pollerErrors watches.
      missingUploads: missingUploads.createAlarm(this, 'MissingUploadsAlarm', {
        alarmDescription:
          "A location's export for a local date has not arrived by its due time (`tillstream --aws status` lists them; `tillstream --aws closure add` marks a closed day).",
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    };
    const notify = new actions.SnsAction(this.topic);
    for (const alarm of Object.values(this.alarms)) {
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${props.resourcePrefix}-ops`,
      defaultInterval: Duration.hours(24),
    });
    const tableWrites = Object.values(storage.tables).map((table) =>
      table.metricConsumedWriteCapacityUnits({
        statistic: cloudwatch.Stats.SUM,
        period: Duration.minutes(5),
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(this.alarms), width: 24 }),
      new cloudwatch.GraphWidget({
        title: 'Shard lag (ms)',
        left: [streamIteratorAge, processorIteratorAge],
        leftAnnotations: [{ value: props.alarms.iteratorAgeMs, label: 'alarm' }],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Iterator age by shard (ms) and records per second by shard',
        left: [byShard(MetricName.IteratorAge, 'Maximum', 'iterator age')],
        right: [byShard(MetricName.RecordsPerSecond, 'Average', 'records/s')],
        leftAnnotations: [{ value: props.alarms.iteratorAgeMs, label: 'alarm' }],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Stream records in / out',
        left: [
          storage.ordersStream.metricIncomingRecords({
            statistic: cloudwatch.Stats.SUM,
            period: Duration.minutes(5),
          }),
          storage.ordersStream.metricGetRecords({
            statistic: cloudwatch.Stats.SUM,
            period: Duration.minutes(5),
          }),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Shard processor',
        left: [invocations, errors],
        right: [errorRate],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'DynamoDB write units (5 min)',
        left: tableWrites,
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Batches given up and quarantine objects',
        left: [failedBatchObjects],
        right: [quarantineObjects],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Poller and compaction',
        left: [
          functions.poller.metricDuration({ statistic: cloudwatch.Stats.MAXIMUM }),
          functions.compaction.metricDuration({ statistic: cloudwatch.Stats.MAXIMUM }),
        ],
        right: [
          snapshotsWritten,
          missingUploads,
          functions.poller.metricErrors(),
          functions.compaction.metricErrors(),
        ],
        width: 12,
      }),
    );
  }
}
