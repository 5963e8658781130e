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
  const poll = await timed(PipelineStage.Poll, () =>
    runPollCycle({ clients, names, settings, source, clock: options.clock ?? Date.now, log }),
  );
  const processed = await timed(PipelineStage.Process, () =>
    runShardProcessors(clients.kinesis, clients.doc, names, {
      untilCaughtUp: true,
      log,
      ...(options.signal ? { signal: options.signal } : {}),
    }),
  );
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
