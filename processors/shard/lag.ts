/**
 * Per-shard lag as `tillstream lag` reports it: what the consumers last recorded of each shard
 * (state table), and how old the oldest record not yet applied is, read from the stream at the
 * moment of asking. The second is what makes a stopped or stuck processor show as behind: the
 * status item stays as its consumer last wrote it, and kinesalite's MillisBehindLatest is 0 on
 * any open shard.
 */
import { GetRecordsCommand, GetShardIteratorCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { DynamoShardStore, ShardStateItem } from './dynamo-store.js';
import { retryThrottled } from './retry.js';
import { listShards } from './runner.js';

/** A shard's recorded state and its backlog as read now. */
export interface ShardLag extends ShardStateItem {
  /**
   * Age of the oldest record after the shard's checkpoint (from its start when it has none), or
   * the read's MillisBehindLatest when larger (AWS can answer a read with no record yet); 0 when
   * nothing is waiting.
   */
  readonly pendingMs?: number;
}

/**
 * Every listed shard's recorded state (a shard nobody has consumed yet has only its id) with its
 * backlog; shards closed and drained are left as recorded.
 *
 * @example
 * const shards = await readShardLag(clients.kinesis, store, names.ordersStream, Date.now());
 */
export async function readShardLag(
  kinesis: KinesisClient,
  store: DynamoShardStore,
  streamName: string,
  now: number,
): Promise<ShardLag[]> {
  const states = new Map((await store.listShardStates()).map((state) => [state.shardId, state]));
  const shards = await listShards(kinesis, streamName);
  const rows = await Promise.all(
    shards.map(async (shard): Promise<ShardLag> => {
      const shardId = shard.ShardId ?? '';
      const state = states.get(shardId) ?? { shardId };
      if (state.done) return state;
      // Throttling retried: the shard's consumer reads it too, within Kinesis's 5 reads a second.
      const { ShardIterator } = await retryThrottled(() =>
        kinesis.send(
          new GetShardIteratorCommand({
            StreamName: streamName,
            ShardId: shardId,
            ...(state.checkpoint === undefined
              ? { ShardIteratorType: 'TRIM_HORIZON' }
              : { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: state.checkpoint }),
          }),
        ),
      );
      if (ShardIterator === undefined) return { ...state, pendingMs: 0 };
      const read = await retryThrottled(() =>
        kinesis.send(new GetRecordsCommand({ ShardIterator, Limit: 1 })),
      );
      const oldest = read.Records?.[0]?.ApproximateArrivalTimestamp;
      const age = oldest === undefined ? 0 : Math.max(0, now - oldest.getTime());
      return { ...state, pendingMs: Math.max(age, read.MillisBehindLatest ?? 0) };
    }),
  );
  return rows.sort((a, b) => (a.shardId < b.shardId ? -1 : a.shardId > b.shardId ? 1 : 0));
}

/**
 * A shard's lag: its backlog when read, else the larger of the figures its consumer last recorded
 * (`undefined` when there is neither).
 */
export function shardLagMs(shard: ShardLag): number | undefined {
  if (shard.pendingMs !== undefined) return shard.pendingMs;
  if (shard.lagMs === undefined && shard.iteratorAgeMs === undefined) return undefined;
  return Math.max(shard.lagMs ?? 0, shard.iteratorAgeMs ?? 0);
}
