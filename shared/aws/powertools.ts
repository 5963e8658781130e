/**
 * Powertools Logger and Metrics for the Lambda handlers, and the metric names the CDK app alarms on.
 * The names live here so that a handler emitting a metric and the alarm watching it cannot drift apart.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

export { MetricUnit };

/** The `service` dimension (and log field) of each deployed function. */
export const ServiceName = {
  Poller: 'poller',
  ShardProcessor: 'shard-processor',
  Compaction: 'compaction',
  DashboardApi: 'dashboard-api',
} as const;
export type ServiceName = (typeof ServiceName)[keyof typeof ServiceName];

/** Custom metrics the handlers emit; the CDK app alarms on the ones it names. */
export const MetricName = {
  /** Compaction: 1 per snapshot date whose manifest was switched. Missing for a night = a missed snapshot. */
  SnapshotsWritten: 'SnapshotsWritten',
  /** Poller: rows sent to quarantine in one cycle. */
  RowsQuarantined: 'RowsQuarantined',
  /** Poller: order events put on the stream in one cycle. */
  RecordsPut: 'RecordsPut',
  /** Shard processor: records of one invocation; per invocation (`service`) and per shard (`service`, `shard`). */
  RecordsProcessed: 'RecordsProcessed',
  /**
   * Shard processor: 1 when an invocation reported a batch item failure (to be retried), else 0.
   * Per invocation (`service`) and per shard (`service`, `shard`).
   */
  BatchesFailed: 'BatchesFailed',
  /**
   * Shard processor, per shard: the age in ms of the invocation's newest record when the
   * invocation finished (from the records' arrival times), as the shard's status item records it.
   */
  IteratorAge: 'IteratorAge',
  /** Shard processor, per shard: the invocation's records over its processing time (applied batches only). */
  RecordsPerSecond: 'RecordsPerSecond',
  /** Shard processor, per shard: orders changed by the invocation over its processing time (applied batches only). */
  OrdersPerSecond: 'OrdersPerSecond',
  /** Poller: location × local date uploads overdue after the cycle (closed days excluded); the alarm fires at ≥ 1. */
  MissingUploads: 'MissingUploads',
} as const;
export type MetricName = (typeof MetricName)[keyof typeof MetricName];

/** Dimensions a handler adds to some of its metrics, besides `service` (which Powertools adds to all). */
export const MetricDimension = {
  /** Shard processor: the Kinesis shard id of the records (`shardId-000000000000`). */
  Shard: 'shard',
} as const;
export type MetricDimension = (typeof MetricDimension)[keyof typeof MetricDimension];

/** The CloudWatch namespace of an environment's metrics, so `dev` and `prod` in one account never mix. */
export function metricsNamespace(environmentName: string): string {
  return `Tillstream/${environmentName}`;
}

/** Environment variables the CDK app sets and Powertools reads. */
export const PowertoolsEnv = {
  ServiceName: 'POWERTOOLS_SERVICE_NAME',
  MetricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
} as const;

/** A handler's logger and metrics. */
export interface Observability {
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/**
 * Logger and metrics for one service. Outside Lambda (the local runner, tests) the namespace falls
 * back to `Tillstream/local`, so emitting a metric never fails for want of configuration.
 *
 * @example
 * ```ts
 * const { logger, metrics } = createObservability(ServiceName.Compaction);
 * metrics.addMetric(MetricName.SnapshotsWritten, MetricUnit.Count, 1);
 * metrics.publishStoredMetrics();
 * ```
 */
export function createObservability(
  service: ServiceName,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Observability {
  const namespace = env[PowertoolsEnv.MetricsNamespace] || metricsNamespace('local');
  return {
    logger: new Logger({ serviceName: service }),
    metrics: new Metrics({ namespace, serviceName: service }),
  };
}
