/**
 * The resources of one rebuild: a generation's tables (the specs of `tableSpecs`, so indexes added
 * there reach every generation) and the rebuild's own stream, created and deleted through the SDK
 * clients the command already holds (the embedded emulators, or AWS when the caller may create
 * tables there).
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
  ResourceNotFoundException as StreamNotFound,
} from '@aws-sdk/client-kinesis';
import { createTableFromSpec, waitUntilTableActive } from '../../shared/aws/bootstrap.js';
import type { ResourceNames, TableDefinition } from '../../shared/resources.js';
import { tableSpecs } from '../../shared/resources.js';
import { sleep } from '../../shared/sleep.js';
import { RebuildError } from './errors.js';

const ACTIVE_TIMEOUT_MS = 120_000;
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

async function createTable(dynamo: DynamoDBClient, spec: TableDefinition): Promise<void> {
  await createTableFromSpec(dynamo, spec);
  await waitUntilTableActive(dynamo, spec.name);
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
 * generation are deleted first, since their content is partial.
 */
export async function createGenerationTables(dynamo: DynamoDBClient, names: ResourceNames): Promise<void> {
  const specs = tableSpecs(names);
  await deleteTables(
    dynamo,
    specs.map((spec) => spec.name),
  );
  await Promise.all(specs.map((spec) => createTable(dynamo, spec)));
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

/** Creates the rebuild's stream empty (one left by an interrupted rebuild is deleted first). */
export async function createRebuildStream(
  kinesis: KinesisClient,
  streamName: string,
  shardCount: number,
): Promise<void> {
  await deleteStream(kinesis, streamName);
  await kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: shardCount }));
  await waitFor(`stream ${streamName}`, async () => {
    const { StreamDescriptionSummary } = await kinesis.send(
      new DescribeStreamSummaryCommand({ StreamName: streamName }),
    );
    return StreamDescriptionSummary?.StreamStatus === 'ACTIVE';
  });
}

/** Open shards of a stream: the rebuild stream gets as many as the live one. */
export async function openShardCount(kinesis: KinesisClient, streamName: string): Promise<number> {
  const { StreamDescriptionSummary } = await kinesis.send(
    new DescribeStreamSummaryCommand({ StreamName: streamName }),
  );
  return StreamDescriptionSummary?.OpenShardCount ?? 1;
}
