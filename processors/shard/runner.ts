/**
 * The local shard consumer: one consumer per shard (ListShards, GetShardIterator after the
 * checkpoint or from TRIM_HORIZON, a GetRecords loop), records grouped into micro-batches by
 * count and time with rxjs, each batch flushed with exactly-once effect. After a reshard a child
 * shard starts only when its parents are drained, so an order's records never interleave across
 * shards. On AWS the same flush runs in `lambda.ts` instead.
 */
import {
  type _Record,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
  type Shard,
} from '@aws-sdk/client-kinesis';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { lastValueFrom, Observable } from 'rxjs';
import type { BatchRecord } from '../../aggregates/batch.js';
import { PROGRESS_EVERY_MS } from '../../shared/progress.js';
import type { ResourceNames } from '../../shared/resources.js';
import { decodeOrderEvent, PoisonRecordError } from '../../shared/schemas/order-event.js';
import { sleep } from '../../shared/sleep.js';
import { flushWhenFree } from './batching.js';
import { CheckpointRegressionError, DynamoShardStore } from './dynamo-store.js';
import { type CrashHook, flushBatch, InjectedCrash } from './flush.js';
import { type RetryPolicy, retryThrottled } from './retry.js';

/**
 * The runner's defaults. The waits bound freshness (a record waits at most one idle poll to be read
 * and one batch window to be flushed); a busy stream fills batches by count long before the window
 * ends, so short waits cost write coalescing only on a quiet stream. 250 ms idle polls stay within
 * Kinesis's 5 GetRecords calls per second and shard.
 */
/**
 * A busy shard writes its status (lag, rates) at most this often, not after every batch: at 500
 * orders/s that was 4 writes a second per shard, for a figure ops read every few seconds.
 */
const STATUS_EVERY_MS = 1_000;

export const processorDefaults = {
  batchMaxRecords: 500,
  batchMaxWaitMs: 250,
  getRecordsLimit: 1000,
  idlePollMs: 250,
  flushConcurrency: 16,
} as const;

export interface ProcessorOptions {
  /** Records per micro-batch at most. @default 500 */
  readonly batchMaxRecords?: number;
  /**
   * With the flusher free, a micro-batch waits at most this long after its first record for more;
   * records that arrive while a flush runs form the next batch at once (processors/shard/batching.ts).
   * @default 250
   */
  readonly batchMaxWaitMs?: number;
  /** GetRecords limit. @default 1000 */
  readonly getRecordsLimit?: number;
  /** Wait between GetRecords calls that returned nothing. @default 250 */
  readonly idlePollMs?: number;
  /** Item updates (and ledger writes) in flight at once per shard. @default 16 */
  readonly flushConcurrency?: number;
  /** Stop when every shard is caught up (MillisBehindLatest 0, nothing pending). @default false */
  readonly untilCaughtUp?: boolean;
  /**
   * With `untilCaughtUp`: a producer still putting records, so a shard counts as caught up only
   * once this has settled (the records it put are then all readable). Lets `tillstream run`
   * process while its poll puts.
   */
  readonly producerDone?: Promise<unknown>;
  /**
   * Without `untilCaughtUp`: how long a shard whose consumer failed waits before it is consumed
   * again from its checkpoint, doubling with each failure in a row up to `restartMaxMs`.
   * @default 1000
   */
  readonly restartDelayMs?: number;
  /** @default 60000 */
  readonly restartMaxMs?: number;
  /** Fault-injection seam for tests; absent in production. */
  readonly crashAt?: CrashHook;
  readonly retry?: RetryPolicy;
  readonly signal?: AbortSignal;
  readonly log?: (message: string) => void;
  readonly now?: () => number;
}

export interface ShardSummary {
  readonly shardId: string;
  readonly records: number;
  readonly poisonRecords: number;
  readonly batches: number;
  readonly itemWrites: number;
  readonly ordersChanged: number;
}

export interface ProcessorSummary {
  readonly shards: ShardSummary[];
  readonly records: number;
  readonly itemWrites: number;
  readonly ordersChanged: number;
}

/** Every shard of the stream (ListShards, all pages), throttling retried. */
export async function listShards(
  kinesis: KinesisClient,
  streamName: string,
  retry?: RetryPolicy,
): Promise<Shard[]> {
  const shards: Shard[] = [];
  let nextToken: string | undefined;
  do {
    const response = await retryThrottled(
      () =>
        kinesis.send(
          new ListShardsCommand(
            nextToken === undefined ? { StreamName: streamName } : { NextToken: nextToken },
          ),
        ),
      retry,
    );
    shards.push(...(response.Shards ?? []));
    nextToken = response.NextToken;
  } while (nextToken !== undefined);
  return shards;
}

interface Pending {
  readonly records: _Record[];
  readonly millisBehindLatest: number;
}

/**
 * Consumes every shard of the orders stream into the aggregates.
 *
 * @example
 * const summary = await runShardProcessors(clients.kinesis, clients.doc, names, { untilCaughtUp: true });
 */
export async function runShardProcessors(
  kinesis: KinesisClient,
  doc: DynamoDBDocumentClient,
  names: ResourceNames,
  options: ProcessorOptions = {},
): Promise<ProcessorSummary> {
  const log = options.log ?? (() => {});
  const now = options.now ?? Date.now;
  const store = new DynamoShardStore(doc, names, {
    streamName: names.ordersStream,
    ...(options.retry ? { retry: options.retry } : {}),
    now,
  });
  const summaries = new Map<string, { -readonly [K in keyof ShardSummary]: ShardSummary[K] }>();
  const running = new Map<string, Promise<void>>();
  let failure: unknown;
  // Stops every consumer when the run must end on a failure (a consumer's own loop watches it).
  const stopAll = new AbortController();
  const signal =
    options.signal === undefined ? stopAll.signal : AbortSignal.any([options.signal, stopAll.signal]);
  /** Without `untilCaughtUp`: failures in a row per shard, and when it may be consumed again. */
  const restarts = new Map<string, { readonly failures: number; readonly at: number }>();
  const restartDelayMs = options.restartDelayMs ?? 1_000;
  const restartMaxMs = options.restartMaxMs ?? 60_000;
  let producing = options.producerDone !== undefined;
  options.producerDone?.then(
    () => (producing = false),
    () => (producing = false),
  );
  const batchMaxWaitMs = options.batchMaxWaitMs ?? processorDefaults.batchMaxWaitMs;
  const idlePollMs = options.idlePollMs ?? processorDefaults.idlePollMs;

  /** `closed`: the shard was split or merged, so only a null iterator, not a lag of 0, is its end. */
  const consume = async (shardId: string, closed: boolean): Promise<void> => {
    // A shard consumed again after a failure adds to its summary.
    const summary = summaries.get(shardId) ?? {
      shardId,
      records: 0,
      poisonRecords: 0,
      batches: 0,
      itemWrites: 0,
      ordersChanged: 0,
    };
    summaries.set(shardId, summary);
    const state = await store.readShardState(shardId);
    const iterator = await retryThrottled(
      () =>
        kinesis.send(
          new GetShardIteratorCommand({
            StreamName: names.ordersStream,
            ShardId: shardId,
            ...(state?.checkpoint
              ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: state.checkpoint }
              : { ShardIteratorType: 'TRIM_HORIZON' }),
          }),
        ),
      options.retry,
    );
    let shardClosed = false;
    let lagMs = 0;
    let iteratorAgeMs = 0;
    let lastStatusAt = now();
    /** Records and orders of the batches since the last status write. */
    let sinceStatus = { records: 0, orders: 0, startedAt: Number.POSITIVE_INFINITY };
    /** Records and orders per second of the batches since the last status write, over the time since. */
    const windowRates = (): { recordsPerSecond: number; ordersPerSecond: number } => {
      const seconds = Math.max(now() - Math.min(sinceStatus.startedAt, lastStatusAt), 1) / 1000;
      return {
        recordsPerSecond: Math.round(sinceStatus.records / seconds),
        ordersPerSecond: Math.round(sinceStatus.orders / seconds),
      };
    };
    const maxRecords = options.batchMaxRecords ?? processorDefaults.batchMaxRecords;
    let inFlight = 0;
    let wake: (() => void) | undefined;

    const source = new Observable<_Record>((subscriber) => {
      let nextIterator = iterator.ShardIterator;
      (async () => {
        while (!subscriber.closed && !signal.aborted) {
          if (nextIterator === undefined) {
            shardClosed = true;
            break;
          }
          // Backpressure: read on only while at most two batches wait for their flush.
          while (inFlight >= 2 * maxRecords && !subscriber.closed) await new Promise<void>((r) => (wake = r));
          // Read before the request: an empty answer proves the end only if the producer had
          // already finished when it was asked (a put landing after the request is not in it).
          const producerRunningWhenAsked = producing;
          const response: Pending & { next?: string } = await retryThrottled(
            () =>
              kinesis
                .send(
                  new GetRecordsCommand({
                    ShardIterator: nextIterator,
                    Limit: options.getRecordsLimit ?? processorDefaults.getRecordsLimit,
                  }),
                )
                .then((r) => ({
                  records: r.Records ?? [],
                  millisBehindLatest: r.MillisBehindLatest ?? 0,
                  ...(r.NextShardIterator ? { next: r.NextShardIterator } : {}),
                })),
            options.retry,
          );
          nextIterator = response.next;
          lagMs = response.millisBehindLatest;
          // The age of the newest record read: Kinesis's iterator age. An empty read is caught up.
          const newest = response.records[response.records.length - 1]?.ApproximateArrivalTimestamp;
          iteratorAgeMs = newest === undefined ? 0 : Math.max(0, now() - newest.getTime());
          for (const record of response.records) {
            inFlight++;
            subscriber.next(record);
          }
          if (response.records.length === 0) {
            // A closed parent can answer empty with a lag of 0 before its end: read it to its end,
            // or its children would never start.
            if (options.untilCaughtUp && lagMs === 0 && !closed && !producerRunningWhenAsked) break;
            if (now() - lastStatusAt > 5_000) {
              lastStatusAt = now();
              await store.saveShardStatus(shardId, {
                lagMs,
                iteratorAgeMs,
                recordsPerSecond: 0,
                ordersPerSecond: 0,
              });
            }
            await sleep(idlePollMs, signal);
          }
        }
        subscriber.complete();
      })().catch((error: unknown) => subscriber.error(error));
    });

    // The flush in progress: a failed read ends the pipeline at once, and the consumer must not
    // end (to be consumed again) while a flush of its shard still writes.
    let flushing: Promise<unknown> = Promise.resolve();
    const flush = async (records: _Record[]): Promise<void> => {
      const started = now();
      const batch: BatchRecord[] = [];
      for (const record of records) {
        const sequence = record.SequenceNumber ?? '';
        try {
          batch.push({
            sequence: BigInt(sequence),
            event: decodeOrderEvent(record.Data ?? new Uint8Array(), sequence),
          });
        } catch (error) {
          if (!(error instanceof PoisonRecordError)) throw error;
          summary.poisonRecords++;
          log(`shard ${shardId}: ${error.message}`);
          await store.reportPoison(shardId, sequence, record.Data ?? new Uint8Array(), error.message);
        }
      }
      let ordersChanged = 0;
      if (batch.length > 0) {
        const result = await flushBatch(store, shardId, batch, {
          concurrency: options.flushConcurrency ?? processorDefaults.flushConcurrency,
          ...(options.crashAt ? { crashAt: options.crashAt } : {}),
        });
        summary.itemWrites += result.itemWrites;
        ordersChanged = result.ordersChanged;
      } else {
        await store.saveCheckpoint(shardId, records[records.length - 1]?.SequenceNumber ?? '0');
      }
      summary.records += records.length;
      summary.ordersChanged += ordersChanged;
      summary.batches++;
      sinceStatus.records += records.length;
      sinceStatus.orders += ordersChanged;
      sinceStatus.startedAt = Math.min(sinceStatus.startedAt, started);
      // The first batch after a failure writes the status at once, clearing the error.
      const recovered = batch.length > 0 && restarts.delete(shardId);
      if (recovered || now() - lastStatusAt >= STATUS_EVERY_MS) {
        const rates = windowRates();
        lastStatusAt = now();
        await store.saveShardStatus(shardId, { lagMs, iteratorAgeMs, ...rates });
        sinceStatus = { records: 0, orders: 0, startedAt: Number.POSITIVE_INFINITY };
      }
      inFlight -= records.length;
      wake?.();
    };
    try {
      await lastValueFrom(
        source.pipe(
          flushWhenFree({ maxRecords, lingerMs: batchMaxWaitMs }, (records: _Record[]) => {
            const flushed = flush(records);
            flushing = flushed.catch(() => {});
            return flushed;
          }),
        ),
        { defaultValue: undefined },
      );
    } catch (error) {
      await flushing;
      throw error;
    }
    // The last status carries the rates of the batches since the one before (a run shorter than
    // STATUS_EVERY_MS wrote none); with no batch since, the rates last written stay.
    const rates = sinceStatus.records > 0 ? windowRates() : {};
    if (shardClosed)
      await store.saveShardStatus(shardId, { done: true, lagMs: 0, iteratorAgeMs: 0, ...rates });
    else await store.saveShardStatus(shardId, { lagMs, iteratorAgeMs, ...rates });
  };

  /** The shard's status item carries the error until a batch succeeds (best effort). */
  const saveError = (shardId: string, error: unknown): Promise<void> =>
    store
      .saveShardStatus(shardId, { error: String(error), errorAt: now() })
      .catch((statusError: unknown) => log(`shard ${shardId}: status not saved: ${String(statusError)}`));

  /**
   * A consumer failed. With `untilCaughtUp` (and for a crash or a second consumer on the shard,
   * always) the run ends with the error once the other consumers stop; a long-running processor
   * instead consumes the shard again from its checkpoint after a backoff, and its status item
   * carries the error until a batch succeeds (`tillstream lag` shows it).
   */
  const onFailure = async (shardId: string, error: unknown): Promise<void> => {
    const fatal =
      options.untilCaughtUp || error instanceof InjectedCrash || error instanceof CheckpointRegressionError;
    if (fatal) {
      failure ??= error;
      if (!(error instanceof InjectedCrash)) log(`shard ${shardId}: ${String(error)}`);
      if (!options.untilCaughtUp) stopAll.abort();
      return;
    }
    if (signal.aborted) {
      // The run is ending (stopped, or another shard crashed): nothing will consume the shard again.
      log(`shard ${shardId}: ${String(error)}; not consumed again, the run is stopping`);
      await saveError(shardId, error);
      return;
    }
    const failures = (restarts.get(shardId)?.failures ?? 0) + 1;
    const delayMs = Math.min(restartDelayMs * 2 ** (failures - 1), restartMaxMs);
    restarts.set(shardId, { failures, at: now() + delayMs });
    log(
      `shard ${shardId}: ${String(error)}; consuming it again from its checkpoint in ${delayMs} ms (failure ${failures} in a row)`,
    );
    await saveError(shardId, error);
  };

  // Every PROGRESS_EVERY_MS, how far the shards have got (a continuous run is otherwise silent).
  let reported = { records: 0, at: performance.now() };
  const progress = setInterval(() => {
    const records = [...summaries.values()].reduce((sum, shard) => sum + shard.records, 0);
    const orders = [...summaries.values()].reduce((sum, shard) => sum + shard.ordersChanged, 0);
    const seconds = (performance.now() - reported.at) / 1000;
    log(
      `process: ${records} record(s), ${orders} order change(s) on ${summaries.size} shard(s) so far; ` +
        `${Math.round((records - reported.records) / seconds)} records/s`,
    );
    reported = { records, at: performance.now() };
  }, PROGRESS_EVERY_MS);
  progress.unref();

  try {
    await consumeShards();
  } finally {
    clearInterval(progress);
  }

  async function consumeShards(): Promise<void> {
    for (;;) {
      if (failure !== undefined || signal.aborted) break;
      const shards = await listShards(kinesis, names.ordersStream, options.retry);
      const states = new Map((await store.listShardStates()).map((state) => [state.shardId, state]));
      const listed = new Set(shards.map((shard) => shard.ShardId));
      // A parent that is no longer listed has expired: nothing of it is left to apply.
      const drained = (shardId: string | undefined) =>
        shardId === undefined || !listed.has(shardId) || states.get(shardId)?.done === true;
      for (const shard of shards) {
        const shardId = shard.ShardId!;
        if (running.has(shardId) || states.get(shardId)?.done) continue;
        // With --until-caught-up an open shard is consumed once, up to its end of the moment.
        if (options.untilCaughtUp && summaries.has(shardId)) continue;
        if (!drained(shard.ParentShardId) || !drained(shard.AdjacentParentShardId)) continue;
        if ((restarts.get(shardId)?.at ?? 0) > now()) continue;
        log(`shard ${shardId}: consuming`);
        running.set(
          shardId,
          consume(shardId, shard.SequenceNumberRange?.EndingSequenceNumber !== undefined)
            .catch((error: unknown) => onFailure(shardId, error))
            .finally(() => running.delete(shardId)),
        );
      }
      if (options.untilCaughtUp) {
        if (running.size === 0) break;
        // When a parent finishes its children become startable: list again after any consumer ends.
        await Promise.race(running.values());
      } else {
        // List again every 10 s for new shards, at once when a consumer ends (a drained parent), and
        // when a failed shard's backoff is over.
        // A backoff that is over waits for nothing (its entry stays, to count failures in a row).
        const nextRestart = Math.min(
          ...[...restarts.values()].map((restart) => restart.at).filter((at) => at > now()),
        );
        const waitMs = Math.max(0, Math.min(10_000, nextRestart - now()));
        await Promise.race([sleep(waitMs, signal), ...running.values()]);
      }
    }
    await Promise.all(running.values());
  }
  if (failure !== undefined) throw failure;
  const shards = [...summaries.values()].sort((a, b) => (a.shardId < b.shardId ? -1 : 1));
  return {
    shards,
    records: shards.reduce((sum, shard) => sum + shard.records, 0),
    itemWrites: shards.reduce((sum, shard) => sum + shard.itemWrites, 0),
    ordersChanged: shards.reduce((sum, shard) => sum + shard.ordersChanged, 0),
  };
}
