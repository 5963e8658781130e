/**
 * Creates the local stack's tables, stream and buckets. `bootstrapLocalResources` is local only, by
 * construction: it takes the emulators' endpoints and builds its own clients from them, so it
 * cannot reach AWS, where the CDK app owns every resource. The table routines below it are shared
 * with `tillstream rebuild`, whose generation tables are the one thing created on AWS outside the
 * CDK app (README, "Rebuilding from the raw layer").
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  type KeySchemaElement,
  ResourceNotFoundException as TableNotFound,
  UpdateContinuousBackupsCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  type KinesisClient,
  ResourceNotFoundException as StreamNotFound,
} from '@aws-sdk/client-kinesis';
import { CreateBucketCommand, HeadBucketCommand, NotFound, type S3Client } from '@aws-sdk/client-s3';
import { bucketNames, type ResourceNames, type TableDefinition, tableSpecs } from '../resources.js';
import { createClients, type LocalEndpoints } from './clients.js';

/** What a bootstrap run did: names it created, and names that already existed. */
export interface BootstrapReport {
  readonly created: readonly string[];
  readonly existing: readonly string[];
}

/** A resource exists with a shape the code does not expect (e.g. state from an older version). */
export class BootstrapError extends Error {
  override name = 'BootstrapError';
  constructor(
    message: string,
    readonly resource: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const ACTIVE_TIMEOUT_MS = 30_000;
const POLL_MS = 25;

async function pollUntil(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ACTIVE_TIMEOUT_MS;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new BootstrapError(`${what} not ACTIVE after ${ACTIVE_TIMEOUT_MS} ms`, what);
    await new Promise((wake) => setTimeout(wake, POLL_MS));
  }
}

function keySchemaOf(spec: TableDefinition): KeySchemaElement[] {
  return [
    { AttributeName: spec.partitionKey, KeyType: 'HASH' },
    { AttributeName: spec.sortKey, KeyType: 'RANGE' },
  ];
}

async function ensureTable(dynamo: DynamoDBClient, spec: TableDefinition): Promise<boolean> {
  let created = false;
  try {
    const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: spec.name }));
    const actual = JSON.stringify(Table?.KeySchema ?? []);
    if (actual !== JSON.stringify(keySchemaOf(spec))) {
      throw new BootstrapError(
        `table ${spec.name} exists with key schema ${actual}; start over with --fresh`,
        spec.name,
      );
    }
  } catch (error) {
    if (!(error instanceof TableNotFound)) throw error;
    await createTableFromSpec(dynamo, spec);
    created = true;
  }
  await waitUntilTableActive(dynamo, spec.name);
  return created;
}

/**
 * What a table created on AWS outside CloudFormation (a rebuild's generation) gets so that it
 * matches the tables the CDK app declares: encryption with the AWS-managed key, and tags.
 * Point-in-time recovery is switched on by `enablePointInTimeRecovery` once the table is active.
 */
export interface AwsTableOptions {
  readonly tags: Readonly<Record<string, string>>;
}

/** Sends the CreateTable of a table as `tableSpecs` defines it (on demand, string keys, indexes projecting all). */
export async function createTableFromSpec(
  dynamo: DynamoDBClient,
  spec: TableDefinition,
  aws?: AwsTableOptions,
): Promise<void> {
  const keyAttributes = new Set<string>([spec.partitionKey, spec.sortKey]);
  for (const index of spec.globalSecondaryIndexes) {
    keyAttributes.add(index.partitionKey);
    if (index.sortKey) keyAttributes.add(index.sortKey);
  }
  await dynamo.send(
    new CreateTableCommand({
      TableName: spec.name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [...keyAttributes].map((name) => ({ AttributeName: name, AttributeType: 'S' })),
      KeySchema: keySchemaOf(spec),
      ...(spec.globalSecondaryIndexes.length > 0
        ? {
            GlobalSecondaryIndexes: spec.globalSecondaryIndexes.map((index) => ({
              IndexName: index.indexName,
              KeySchema: [
                { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
                ...(index.sortKey ? [{ AttributeName: index.sortKey, KeyType: 'RANGE' as const }] : []),
              ],
              Projection: { ProjectionType: 'ALL' as const },
            })),
          }
        : {}),
      ...(aws === undefined
        ? {}
        : {
            SSESpecification: { Enabled: true, SSEType: 'KMS' as const },
            Tags: Object.entries(aws.tags).map(([Key, Value]) => ({ Key, Value })),
          }),
    }),
  );
}

/** Switches on point-in-time recovery of an active table (AWS only: the emulators lack the API). */
export async function enablePointInTimeRecovery(dynamo: DynamoDBClient, tableName: string): Promise<void> {
  await dynamo.send(
    new UpdateContinuousBackupsCommand({
      TableName: tableName,
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    }),
  );
}

/** Waits until a table and every one of its indexes are active. */
export async function waitUntilTableActive(dynamo: DynamoDBClient, tableName: string): Promise<void> {
  await pollUntil(`table ${tableName}`, async () => {
    const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: tableName }));
    return (
      Table?.TableStatus === 'ACTIVE' &&
      (Table.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === 'ACTIVE')
    );
  });
}

async function ensureStream(
  kinesis: KinesisClient,
  streamName: string,
  shardCount: number,
  log: (message: string) => void,
): Promise<boolean> {
  let created = false;
  try {
    const { StreamDescriptionSummary } = await kinesis.send(
      new DescribeStreamSummaryCommand({ StreamName: streamName }),
    );
    const openShards = StreamDescriptionSummary?.OpenShardCount;
    if (openShards !== undefined && openShards !== shardCount) {
      // Resharding is an operation of its own, never a side effect of starting up.
      log(`stream ${streamName} has ${openShards} open shards (configured ${shardCount}); left as it is`);
    }
  } catch (error) {
    if (!(error instanceof StreamNotFound)) throw error;
    await kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: shardCount }));
    created = true;
  }
  await pollUntil(`stream ${streamName}`, async () => {
    const { StreamDescriptionSummary } = await kinesis.send(
      new DescribeStreamSummaryCommand({ StreamName: streamName }),
    );
    return StreamDescriptionSummary?.StreamStatus === 'ACTIVE';
  });
  return created;
}

async function ensureBucket(s3: S3Client, bucket: string): Promise<boolean> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return false;
  } catch (error) {
    if (!(error instanceof NotFound)) throw error;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    return true;
  }
}

/**
 * Makes sure every table of `tableSpecs`, the orders stream (with `shardCount` shards when it is
 * created, ACTIVE on return) and the three buckets exist on the local emulators. A second run
 * creates nothing.
 *
 * @example
 * ```ts
 * const report = await bootstrapLocalResources(stack.endpoints, resourceNames(settings), { shardCount: 2 });
 * ```
 */
export async function bootstrapLocalResources(
  endpoints: LocalEndpoints,
  names: ResourceNames,
  options: { readonly shardCount: number; readonly log?: (message: string) => void },
): Promise<BootstrapReport> {
  const log = options.log ?? (() => {});
  const clients = createClients({ kind: 'local', endpoints });
  const created: string[] = [];
  const existing: string[] = [];
  const record = (name: string) => (wasCreated: boolean) => {
    (wasCreated ? created : existing).push(name);
  };
  try {
    await Promise.all([
      ...tableSpecs(names).map((spec) => ensureTable(clients.dynamo, spec).then(record(spec.name))),
      ensureStream(clients.kinesis, names.ordersStream, options.shardCount, log).then(
        record(names.ordersStream),
      ),
      ...bucketNames(names).map((bucket) => ensureBucket(clients.s3, bucket).then(record(bucket))),
    ]);
  } finally {
    clients.destroy();
  }
  if (created.length > 0) log(`created ${created.join(', ')}`);
  return { created: created.sort(), existing: existing.sort() };
}
