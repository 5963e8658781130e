/**
 * Everything that holds data: the encrypted stream, the tables of `shared/resources.ts`, the raw,
 * quarantine and marts buckets, the bucket batches given up by the processor land in, the access-log bucket, and the
 * Drive key's secret.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { type ResourceNames, resourceNames, tableSpecs } from '../../shared/resources.js';
import { type ResolvedStackProps, StreamCapacity } from '../props.js';

/** What `generationNames` appends to a table name for generation N ≥ 1 (`-g1`, `-g2`, …), as an IAM pattern. */
export const GENERATION_SUFFIX_PATTERN = '-g*';

/** The S3 request-metrics filter id of the alarmed buckets (`PutRequests` feeds the alarms). */
export const BUCKET_METRICS_ID = 'EntireBucket';

/** The tables, by role. */
export interface PipelineTables {
  readonly aggregates: dynamodb.Table;
  readonly ledger: dynamodb.Table;
  readonly state: dynamodb.Table;
}

/**
 * The tables of every later generation, by role: `<name>-g*`, which `tillstream rebuild` creates
 * outside CloudFormation (shared/generation.ts). Each is an imported table whose ARN ends in a
 * wildcard, so the usual CDK grants on it reach every generation (and its indexes).
 */
export interface GenerationTables {
  readonly aggregates: dynamodb.ITable;
  readonly ledger: dynamodb.ITable;
  readonly state: dynamodb.ITable;
}

/** The stream, tables, buckets and secret of one environment. */
export class PipelineStorage extends Construct {
  /** Table and stream names (buckets get generated names: S3 names are global). */
  readonly names: ResourceNames;
  /** Customer-managed key of the alarm topic (CloudWatch cannot publish with the `aws/sns` key), rotated yearly. */
  readonly key: kms.Key;
  readonly ordersStream: kinesis.Stream;
  readonly tables: PipelineTables;
  /** Grant on these beside `tables`: the Lambdas follow the live generation a rebuild switches to. */
  readonly generationTables: GenerationTables;
  readonly rawBucket: s3.Bucket;
  readonly quarantineBucket: s3.Bucket;
  readonly martsBucket: s3.Bucket;
  /** Where the processor's event source mapping describes batches it gave up (shard, sequence range). */
  readonly failedBatchesBucket: s3.Bucket;
  /** Server access logs of every other bucket. */
  readonly accessLogsBucket: s3.Bucket;
  /** The Google service account's JSON key; its value is set by hand after the first deploy. */
  readonly driveKeySecret: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: ResolvedStackProps) {
    super(scope, id);
    this.names = resourceNames({ resourcePrefix: props.resourcePrefix });
    const dataRemovalPolicy = props.protectData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.key = new kms.Key(this, 'Key', {
      description: `tillstream ${props.environmentName}: alarm topic`,
      enableKeyRotation: true,
      removalPolicy: props.protectData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });

    this.ordersStream = new kinesis.Stream(this, 'OrdersStream', {
      streamName: this.names.ordersStream,
      // The AWS-managed `aws/kinesis` key: a customer key would add a KMS call per producer and
      // consumer every few minutes per shard and buys no control the chain needs (AwsSolutions-KDS3).
      encryption: kinesis.StreamEncryption.MANAGED,
      retentionPeriod: props.streamRetention,
      ...(props.streamCapacity === StreamCapacity.OnDemand
        ? { streamMode: kinesis.StreamMode.ON_DEMAND }
        : { streamMode: kinesis.StreamMode.PROVISIONED, shardCount: props.shardCount }),
      removalPolicy: dataRemovalPolicy,
    });

    const byName = new Map<string, dynamodb.Table>();
    for (const spec of tableSpecs(this.names)) {
      const table = new dynamodb.Table(this, tableConstructId(spec.name, props.resourcePrefix), {
        tableName: spec.name,
        partitionKey: { name: spec.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: spec.sortKey, type: dynamodb.AttributeType.STRING },
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: props.protectData,
        encryption: dynamodb.TableEncryption.AWS_MANAGED,
        removalPolicy: dataRemovalPolicy,
      });
      for (const index of spec.globalSecondaryIndexes) {
        table.addGlobalSecondaryIndex({
          indexName: index.indexName,
          partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
          ...(index.sortKey === undefined
            ? {}
            : { sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING } }),
          projectionType: dynamodb.ProjectionType.ALL,
        });
      }
      byName.set(spec.name, table);
    }
    const tableNamed = (name: string): dynamodb.Table => {
      const table = byName.get(name);
      if (table === undefined) throw new Error(`tableSpecs() declares no table ${name}`);
      return table;
    };
    this.tables = {
      aggregates: tableNamed(this.names.aggregatesTable),
      ledger: tableNamed(this.names.ledgerTable),
      state: tableNamed(this.names.stateTable),
    };
    const generations = (id: string, name: string): dynamodb.ITable =>
      dynamodb.Table.fromTableAttributes(this, id, {
        tableArn: Stack.of(this).formatArn({
          service: 'dynamodb',
          resource: 'table',
          resourceName: `${name}${GENERATION_SUFFIX_PATTERN}`,
        }),
        grantIndexPermissions: true,
      });
    this.generationTables = {
      aggregates: generations('AggregatesGenerations', this.names.aggregatesTable),
      ledger: generations('LedgerGenerations', this.names.ledgerTable),
      state: generations('StateGenerations', this.names.stateTable),
    };

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogsBucket', {
      // Server access log delivery supports only SSE-S3 on the target bucket.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      lifecycleRules: [{ expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(30) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Request metrics are billed like custom metrics, so only the buckets with an alarm publish them.
    const dataBucket = (id: string, lifecycleRules: s3.LifecycleRule[], requestMetrics = false): s3.Bucket =>
      new s3.Bucket(this, id, {
        encryption: s3.BucketEncryption.S3_MANAGED,
        enforceSSL: true,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        versioned: true,
        serverAccessLogsBucket: this.accessLogsBucket,
        serverAccessLogsPrefix: `${id}/`,
        ...(requestMetrics ? { metrics: [{ id: BUCKET_METRICS_ID }] } : {}),
        lifecycleRules,
        // The raw layer is the system of record and marts are published data: never deleted with the stack.
        removalPolicy: RemovalPolicy.RETAIN,
      });
    const noncurrentCleanup: s3.LifecycleRule = { noncurrentVersionExpiration: Duration.days(30) };
    this.rawBucket = dataBucket('RawBucket', [
      {
        id: 'raw-to-infrequent-access',
        transitions: [
          { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(30) },
        ],
      },
      noncurrentCleanup,
    ]);
    this.quarantineBucket = dataBucket('QuarantineBucket', [noncurrentCleanup], true);
    this.martsBucket = dataBucket('MartsBucket', [noncurrentCleanup]);
    this.failedBatchesBucket = dataBucket(
      'FailedBatchesBucket',
      [{ id: 'expire-replayed-batches', expiration: Duration.days(90) }, noncurrentCleanup],
      true,
    );

    this.driveKeySecret = new secretsmanager.Secret(this, 'DriveServiceAccountKey', {
      description: `tillstream ${props.environmentName}: Google service-account JSON key with read access to the Drive folders`,
      removalPolicy: props.protectData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
  }
}

/** `tillstream-dev-aggregates` → `AggregatesTable`: construct ids stay stable whatever the prefix. */
function tableConstructId(tableName: string, prefix: string): string {
  const role = tableName.startsWith(`${prefix}-`) ? tableName.slice(prefix.length + 1) : tableName;
  const pascal = role
    .split(/[^A-Za-z0-9]+/)
    .filter((part) => part !== '')
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
  return `${pascal}Table`;
}
