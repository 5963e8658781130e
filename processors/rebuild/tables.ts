/**
 * The resources of one rebuild: a generation's tables (the specs of `tableSpecs`, so indexes added
 * there reach every generation) and the rebuild's own stream, created and deleted through the SDK
 * clients the command already holds (the embedded emulators, or AWS with the operator's
 * credentials: these are the only resources created outside the CDK app).
 */
import {
  DeleteTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException as TableNotFound,
} from '@aws-sdk/client-dynamodb';
import {
  CreateStreamCommand,
  DeleteStreamCommand,
  DescribeStreamSummaryCommand,
  type KinesisClient,
  StartStreamEncryptionCommand,
  ResourceNotFoundException as StreamNotFound,
} from '@aws-sdk/client-kinesis';
import {
  type AwsTableOptions,
  createTableFromSpec,
  enablePointInTimeRecovery,
  waitUntilTableActive,
} from '../../shared/aws/bootstrap.js';
import type { ResourceNames, TableDefinition } from '../../shared/resources.js';
import { tableSpecs } from '../../shared/resources.js';
import { sleep } from '../../shared/sleep.js';
import { RebuildError } from './errors.js';

const ACTIVE_TIMEOUT_MS = 120_000;
/** The key the CDK app encrypts the live stream with (`StreamEncryption.MANAGED`). */
const AWS_MANAGED_KINESIS_KEY = 'alias/aws/kinesis';
const POLL_MS = 50;

async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ACTIVE_TIMEOUT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new RebuildError(`${what} not ready after ${ACTIVE_TIMEOUT_MS} ms`);
    await sleep(POLL_MS);
  }
}

async function tableExists(dynamo: DynamoDBClient, name: string): Promise<boolean> {
  try {
    await dynamo.send(new DescribeTableCommand({ TableName: name }));
    return true;
  } catch (error) {
    if (error instanceof TableNotFound) return false;
    throw error;
  }
}

async function createTable(
  dynamo: DynamoDBClient,
  spec: TableDefinition,
  aws: AwsTableOptions | undefined,
): Promise<void> {
  await createTableFromSpec(dynamo, spec, aws);
  await waitUntilTableActive(dynamo, spec.name);
  if (aws !== undefined) await enablePointInTimeRecovery(dynamo, spec.name);
}

/** Deletes tables (absent ones are ignored) and waits until they are gone. */
export async function deleteTables(dynamo: DynamoDBClient, tables: readonly string[]): Promise<void> {
  await Promise.all(
    tables.map(async (name) => {
      try {
        await dynamo.send(new DeleteTableCommand({ TableName: name }));
      } catch (error) {
        if (error instanceof TableNotFound) return;
        throw error;
      }
      await waitFor(`deletion of table ${name}`, async () => !(await tableExists(dynamo, name)));
    }),
  );
}

/**
 * Creates a generation's tables empty: tables left by an interrupted rebuild of the same
 * generation are deleted first, since their content is partial. On AWS (`aws` given) they are
 * encrypted with the AWS-managed key, tagged, and get point-in-time recovery, like the tables the
 * CDK app declares.
 */
export async function createGenerationTables(
  dynamo: DynamoDBClient,
  names: ResourceNames,
  aws?: AwsTableOptions,
): Promise<void> {
  const specs = tableSpecs(names);
  await deleteTables(
    dynamo,
    specs.map((spec) => spec.name),
  );
  await Promise.all(specs.map((spec) => createTable(dynamo, spec, aws)));
}

/** Deletes a stream (absent: ignored) and waits until it is gone. */
export async function deleteStream(kinesis: KinesisClient, streamName: string): Promise<void> {
  try {
    await kinesis.send(new DeleteStreamCommand({ StreamName: streamName }));
  } catch (error) {
    if (error instanceof StreamNotFound) return;
    throw error;
  }
  await waitFor(`deletion of stream ${streamName}`, async () => {
    try {
      await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
      return false;
    } catch (error) {
      if (error instanceof StreamNotFound) return true;
      throw error;
    }
  });
}

/** The capacity of a stream, which the rebuild stream copies from the live one. */
export interface StreamShape {
  readonly onDemand: boolean;
  readonly openShards: number;
}

/**
 * Creates the rebuild's stream empty (one left by an interrupted rebuild is deleted first), shaped
 * like the live stream; on AWS (`encrypt`) encrypted with the AWS-managed key like the live one.
 */
export async function createRebuildStream(
  kinesis: KinesisClient,
  streamName: string,
  shape: StreamShape,
  encrypt = false,
): Promise<void> {
  await deleteStream(kinesis, streamName);
  await kinesis.send(
    new CreateStreamCommand(
      shape.onDemand
        ? { StreamName: streamName, StreamModeDetails: { StreamMode: 'ON_DEMAND' } }
        : { StreamName: streamName, ShardCount: shape.openShards },
    ),
  );
  const active = async () => {
    const { StreamDescriptionSummary } = await kinesis.send(
      new DescribeStreamSummaryCommand({ StreamName: streamName }),
    );
    return StreamDescriptionSummary?.StreamStatus === 'ACTIVE';
  };
  await waitFor(`stream ${streamName}`, active);
  if (encrypt) {
    await kinesis.send(
      new StartStreamEncryptionCommand({
        StreamName: streamName,
        EncryptionType: 'KMS',
        KeyId: AWS_MANAGED_KINESIS_KEY,
      }),
    );
    await waitFor(`encryption of stream ${streamName}`, active);
  }
}

/** The live stream's capacity mode and open shards. */
export async function streamShape(kinesis: KinesisClient, streamName: string): Promise<StreamShape> {
  const { StreamDescriptionSummary } = await kinesis.send(
    new DescribeStreamSummaryCommand({ StreamName: streamName }),
  );
  return {
    onDemand: StreamDescriptionSummary?.StreamModeDetails?.StreamMode === 'ON_DEMAND',
    openShards: StreamDescriptionSummary?.OpenShardCount ?? 1,
  };
}
