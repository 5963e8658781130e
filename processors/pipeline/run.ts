/**
 * The whole pipeline once over an input (CONTRACT.md §4 `tillstream run`): land, validate and
 * stream every new file, process until every shard is caught up, compact the snapshot of `as_of`
 * and export it. Incremental: a second run over the same or a grown input ingests only what is new.
 */

import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { MartSettings } from '../../aggregates/marts/index.js';
import { type PollResult, runPollCycle } from '../../ingest/poll.js';
import { sourceFor } from '../../ingest/sources.js';
import { PollerState } from '../../ingest/state.js';
import type { Settings } from '../../shared/config.js';
import type { ResourceNames } from '../../shared/resources.js';
import { type CompactionResult, runCompaction } from '../compaction/job.js';
import { exportSnapshot } from '../compaction/snapshot.js';
import { type ProcessorSummary, runShardProcessors } from '../shard/runner.js';

/**
 * The batch window while the poll puts: nobody waits on freshness here, and a longer window lets
 * batches fill (500 records) when the poll puts slower than the processors read, so busy items
 * (location-day, chain-day) are written once per full batch. The last batch is flushed as soon as
 * the shard is caught up, never after a window.
 */
const CATCH_UP_BATCH_WAIT_MS = 1_000;
/**
 * Records per batch while catching up (the live default is 500, for freshness): a customer's orders
 * that fall in one batch are one write. On the 50,000-order demo chain, 10,000-record batches wrote
 * 19% fewer aggregate items (43,341 instead of 53,243) with 14% less CPU; nobody waits on a batch
 * here, and a batch is still folded exactly as any other split of the stream.
 */
const CATCH_UP_BATCH_RECORDS = 10_000;

export interface PipelineClients {
  readonly doc: DynamoDBDocumentClient;
  readonly kinesis: KinesisClient;
  readonly s3: S3Client;
}

export interface PipelineOptions {
  /** A local folder, or `drive://FOLDER_ID[,ID…]`. */
  readonly input: string;
  readonly asOf: string;
  /** Copy the snapshot's marts here (`<dir>/<mart>.csv|.parquet`, `manifest.json`). */
  readonly exportDir?: string;
  readonly codeVersion: string;
  readonly martSettings?: MartSettings;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly clock?: () => number;
  readonly log?: (message: string) => void;
  /** Told when a stage starts, so a CLI can show progress. */
  readonly onStage?: (stage: PipelineStage) => void;
  readonly signal?: AbortSignal;
}

export const PipelineStage = {
  Poll: 'poll',
  Process: 'process',
  Compact: 'compact',
  Export: 'export',
} as const;
export type PipelineStage = (typeof PipelineStage)[keyof typeof PipelineStage];

export interface PipelineResult {
  readonly poll: PollResult;
  readonly process: ProcessorSummary;
  readonly compaction: CompactionResult;
  readonly timingsMs: Readonly<Record<PipelineStage, number>>;
}

/**
 * Runs every stage once, in order.
 *
 * @example
 * const result = await runPipeline(context.clients, context.names, context.settings, {
 *   input: './exports', asOf: '2023-08-31', exportDir: './out', codeVersion: '0.1.0' });
 */
export async function runPipeline(
  clients: PipelineClients,
  names: ResourceNames,
  settings: Settings,
  options: PipelineOptions,
): Promise<PipelineResult> {
  const log = options.log ?? (() => {});
  const timings: Record<PipelineStage, number> = { poll: 0, process: 0, compact: 0, export: 0 };
  const timed = async <T>(stage: PipelineStage, work: () => Promise<T>): Promise<T> => {
    options.onStage?.(stage);
    const started = performance.now();
    try {
      return await work();
    } finally {
      timings[stage] = performance.now() - started;
    }
  };

  const state = new PollerState(clients.doc, names.stateTable);
  const source = sourceFor(options.input, state, options.env ?? process.env);
  // The processors consume while the poll puts (the same code path as `tillstream up`: exact for
  // any interleaving), and stop once every shard is caught up after the poll has ended.
  const stopProcessing = new AbortController();
  const polling = timed(PipelineStage.Poll, () =>
    runPollCycle({ clients, names, settings, source, clock: options.clock ?? Date.now, log }),
  );
  const processing = runShardProcessors(clients.kinesis, clients.doc, names, {
    untilCaughtUp: true,
    batchMaxRecords: CATCH_UP_BATCH_RECORDS,
    batchMaxWaitMs: CATCH_UP_BATCH_WAIT_MS,
    producerDone: polling,
    log,
    signal: options.signal ? AbortSignal.any([options.signal, stopProcessing.signal]) : stopProcessing.signal,
  });
  // Its failure is rethrown below, once the poll has ended; not an unhandled rejection meanwhile.
  processing.catch(() => {});
  const poll = await polling.catch(async (error: unknown) => {
    stopProcessing.abort();
    await processing.catch(() => {});
    throw error;
  });
  options.onStage?.(PipelineStage.Process);
  const pollEnded = performance.now();
  const processed = await processing;
  // The process stage is the time the processors needed after the poll ended: the stages add up.
  timings.process = performance.now() - pollEnded;
  const compaction = await timed(PipelineStage.Compact, () =>
    runCompaction(clients, names, {
      asOf: options.asOf,
      codeVersion: options.codeVersion,
      log,
      ...(options.martSettings ? { martSettings: options.martSettings } : {}),
    }),
  );
  if (options.exportDir !== undefined) {
    const toDir = options.exportDir;
    await timed(PipelineStage.Export, () =>
      exportSnapshot({ s3: clients.s3, bucket: names.martsBucket, asOf: options.asOf, toDir }),
    );
  }
  return { poll, process: processed, compaction, timingsMs: timings };
}
