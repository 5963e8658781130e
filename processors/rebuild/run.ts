/**
 * `tillstream rebuild`: the aggregates rebuilt from the raw layer into a new table generation,
 * through the same validation and stream path as live data, and made live in one atomic flip.
 *
 * 1. Take the poller lease (no other poll cycle writes while the raw layer is read and replayed).
 * 2. Create generation N+1's tables and a rebuild stream of its own (the live processors never see
 *    rebuild records).
 * 3. Replay every raw file version through `runPollCycle` in its original arrival order, with its
 *    original file id, arrival sequence and arrival time, into N+1's ledger and state and the
 *    rebuild stream; reference files (locations, calendar) first, as in every poll, so a corrected
 *    time zone applies to all history.
 * 4. Process the rebuild stream until caught up into N+1's aggregates.
 * 5. Clear N+1's high-water marks (they are positions in the rebuild stream, meaningless for the
 *    live stream; the order states in the ledger keep live replays exact) and carry over the state
 *    the replay cannot rebuild: live-stream checkpoints, Drive change tokens, closures, poll history.
 * 6. Flip the pointer N → N+1 (conditional), then recompute the snapshots whose dates change, and
 *    delete the rebuild stream. Generation N's tables stay until `--drop-old`.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { HIGH_WATER_MARK_ATTR } from '../../aggregates/keys.js';
import type { MartSettings } from '../../aggregates/marts/index.js';
import { type PollResult, PollStep, runPollCycle } from '../../ingest/poll.js';
import { StateKey } from '../../ingest/state.js';
import type { AwsClients } from '../../shared/aws/clients.js';
import { type Settings, Target } from '../../shared/config.js';
import {
  acquirePollerLease,
  flipLiveGeneration,
  generationNames,
  READER_GENERATION_TTL_MS,
  readLiveGeneration,
} from '../../shared/generation.js';
import { type ResourceNames, tableSpecs } from '../../shared/resources.js';
import { sleep } from '../../shared/sleep.js';
import { runCompaction } from '../compaction/job.js';
import { runShardProcessors } from '../shard/runner.js';
import { RebuildError } from './errors.js';
import { createRawReplaySource, readReplayPlan } from './raw-replay.js';
import {
  createGenerationTables,
  createRebuildStream,
  deleteStream,
  deleteTables,
  streamShape,
} from './tables.js';

/** The points of a rebuild, told to `onStage` (progress, and the seam tests observe readers at). */
export const RebuildStage = {
  /** Generation N+1's tables and the rebuild stream exist, empty. */
  Prepared: 'prepared',
  /** Every raw file version is replayed onto the rebuild stream. */
  Replayed: 'replayed',
  /** N+1's aggregates are caught up with the rebuild stream; generation N is still live. */
  Processed: 'processed',
  /** N+1 is live. */
  Live: 'live',
  /** The snapshots are recomputed from N+1. */
  Snapshots: 'snapshots',
} as const;
export type RebuildStage = (typeof RebuildStage)[keyof typeof RebuildStage];

/** What a rebuild needs. */
export interface RebuildOptions {
  /** Recompute only the snapshots dated on or after this `YYYY-MM-DD`. @default every snapshot */
  readonly since?: string;
  /** Delete the previous generation's tables once the new one is live. @default false */
  readonly dropOld?: boolean;
  readonly codeVersion: string;
  readonly martSettings?: MartSettings;
  /** Epoch ms now (claims, lease, orphan grace at the end of the replay). */
  readonly clock?: () => number;
  /** Who holds the poller lease, in its record. @default `rebuild@<pid>` */
  readonly holder?: string;
  readonly onStage?: (stage: RebuildStage, generation: number) => void | Promise<void>;
  /** Files replayed so far out of the total, for a progress bar. */
  readonly onReplayProgress?: (filesDone: number, filesTotal: number) => void;
  readonly log?: (message: string) => void;
  readonly signal?: AbortSignal;
  /** Waits (the pause before `--drop-old` on AWS); injected so that tests need no timers. */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface RebuildResult {
  readonly previousGeneration: number;
  readonly generation: number;
  readonly names: ResourceNames;
  readonly filesReplayed: number;
  readonly filesSkipped: { readonly retracted: number; readonly duplicateContent: number };
  readonly polls: readonly PollResult[];
  readonly recordsProcessed: number;
  readonly snapshotsRecomputed: readonly string[];
  readonly droppedTables: readonly string[];
}

/** A rebuild holds the lease this long and renews it at every replayed file and stage. */
const LEASE_MS = 15 * 60_000;
/** State items a replay rebuilds itself; everything else in the live state table is carried over. */
const REPLAYED_STATE = [
  /^ingest#sequence$/,
  /^ingest#file#/,
  /^ingest#content#/,
  /^ingest#unfinished$/,
  /^ingest#pending$/,
  /^ref#/,
  /^control#/,
];
const MANIFEST_KEY = /^marts\/_manifests\/snapshot_date=(\d{4}-\d{2}-\d{2})\.json$/;

/** The rebuild stream of generation `generation`: never the live stream. */
export function rebuildStreamName(base: ResourceNames, generation: number): string {
  return `${base.ordersStream}-rebuild-g${generation}`;
}

/**
 * Rebuilds the aggregates from the raw layer into generation N+1 and makes it live.
 *
 * @example
 * const result = await runRebuild(context.clients, context.baseNames, context.settings, { codeVersion: codeVersion() });
 * console.log(`generation ${result.generation} is live`);
 */
export async function runRebuild(
  clients: AwsClients,
  base: ResourceNames,
  settings: Settings,
  options: RebuildOptions,
): Promise<RebuildResult> {
  const clock = options.clock ?? Date.now;
  const log = options.log ?? (() => {});
  const onAws = settings.target === Target.Aws;
  const previousGeneration = await readLiveGeneration(clients.doc, base);
  const generation = previousGeneration + 1;
  const live = generationNames(base, previousGeneration);
  const target: ResourceNames = {
    ...generationNames(base, generation),
    ordersStream: rebuildStreamName(base, generation),
  };
  const aborted = () => {
    if (options.signal?.aborted) throw new RebuildError('rebuild interrupted', generation);
  };
  const lease = await acquirePollerLease(
    clients.doc,
    base,
    options.holder ?? `rebuild@${process.pid}`,
    clock(),
    LEASE_MS,
  );
  try {
    const shape = await streamShape(clients.kinesis, base.ordersStream);
    await createGenerationTables(
      clients.dynamo,
      target,
      onAws
        ? {
            tags: {
              'tillstream:generation': String(generation),
              'tillstream:created-by': 'tillstream rebuild',
            },
          }
        : undefined,
    );
    await createRebuildStream(clients.kinesis, target.ordersStream, shape, onAws);
    await options.onStage?.(RebuildStage.Prepared, generation);
    log(`generation ${generation}: tables and stream ${target.ordersStream} created`);

    const plan = await readReplayPlan(clients.s3, base.rawBucket);
    log(
      `replaying ${plan.files.length} raw file version(s)` +
        (plan.retracted.length > 0 ? `; ${plan.retracted.length} retracted left out` : '') +
        (plan.duplicateContent.length > 0
          ? `; ${plan.duplicateContent.length} duplicate-content copies left out`
          : ''),
    );
    // Versions without a recorded arrival take sequence numbers after every recorded one.
    const lastArrival = Math.max(0, ...plan.files.map((file) => file.arrival?.arrivalSeq ?? 0));
    await clients.doc.send(
      new PutCommand({ TableName: target.stateTable, Item: { ...StateKey.Sequence, next: lastArrival } }),
    );
    const polls: PollResult[] = [];
    let filesDone = 0;
    options.onReplayProgress?.(0, plan.files.length);
    for (const sourceName of ['folder', 'drive'] as const) {
      const source = createRawReplaySource(clients.s3, base.rawBucket, sourceName, plan.files);
      if ((await source.listFiles()).length === 0) continue;
      polls.push(
        await runPollCycle({
          clients,
          names: target,
          settings,
          source,
          clock,
          log,
          arrivalOf: (file) => source.arrivalOf(file),
          onStep: async (step) => {
            aborted();
            if (step === PollStep.Finished) {
              filesDone++;
              options.onReplayProgress?.(filesDone, plan.files.length);
              await lease.renew(clock());
            }
          },
        }),
      );
    }
    await options.onStage?.(RebuildStage.Replayed, generation);

    aborted();
    const processed = await runShardProcessors(clients.kinesis, clients.doc, target, {
      untilCaughtUp: true,
      log,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    aborted();
    await clearHighWaterMarks(clients.doc, target.aggregatesTable);
    await carryOverState(clients.doc, live.stateTable, target.stateTable);
    await lease.renew(clock());
    await options.onStage?.(RebuildStage.Processed, generation);

    const liveNames = generationNames(base, generation);
    await flipLiveGeneration(clients.doc, base, previousGeneration, generation, clock());
    log(`generation ${generation} is live (was ${previousGeneration})`);
    await options.onStage?.(RebuildStage.Live, generation);

    const dates = (await snapshotDates(clients.s3, base.martsBucket)).filter(
      (date) => options.since === undefined || date >= options.since,
    );
    for (const asOf of dates) {
      await runCompaction(clients, liveNames, {
        asOf,
        codeVersion: options.codeVersion,
        log,
        ...(options.martSettings ? { martSettings: options.martSettings } : {}),
      });
      await lease.renew(clock());
    }
    await options.onStage?.(RebuildStage.Snapshots, generation);
    await deleteStream(clients.kinesis, target.ordersStream);

    const droppedTables: string[] = [];
    if (options.dropOld) {
      // Generation 0's state table is the control table (the pointer and the lease): it stays. On
      // AWS, generation 0's tables belong to the CloudFormation stack: deleting them behind its
      // back would leave the stack drifted and its next update failing, so they stay too.
      const old =
        onAws && previousGeneration === 0
          ? []
          : tableSpecs(live)
              .map((spec) => spec.name)
              .filter((name) => name !== base.stateTable);
      if (onAws && previousGeneration === 0) {
        log('--drop-old: generation 0 belongs to the CloudFormation stack and is kept');
      }
      if (old.length > 0 && onAws) {
        // Warm dashboard containers read the generation they last resolved for up to this long.
        log(
          `--drop-old: waiting ${READER_GENERATION_TTL_MS / 1000} s until no reader holds generation ${previousGeneration}`,
        );
        await (options.sleep ?? sleep)(READER_GENERATION_TTL_MS);
      }
      await deleteTables(clients.dynamo, old);
      droppedTables.push(...old);
    }
    return {
      previousGeneration,
      generation,
      names: liveNames,
      filesReplayed: filesDone,
      filesSkipped: { retracted: plan.retracted.length, duplicateContent: plan.duplicateContent.length },
      polls,
      recordsProcessed: processed.records,
      snapshotsRecomputed: dates,
      droppedTables,
    };
  } finally {
    await lease.release();
  }
}

/** Removes every high-water-mark attribute from a table's items (one UpdateItem per item that has any). */
async function clearHighWaterMarks(doc: DynamoDBDocumentClient, tableName: string): Promise<void> {
  for await (const item of scanAll(doc, tableName)) {
    const marks = Object.keys(item).filter((name) => HIGH_WATER_MARK_ATTR.test(name));
    if (marks.length === 0) continue;
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk: item['pk'], sk: item['sk'] },
        UpdateExpression: `REMOVE ${marks.map((_, index) => `#w${index}`).join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(marks.map((name, index) => [`#w${index}`, name])),
      }),
    );
  }
}

/** Copies the live state items a replay does not rebuild, without overwriting what it did. */
async function carryOverState(doc: DynamoDBDocumentClient, from: string, to: string): Promise<void> {
  for await (const item of scanAll(doc, from)) {
    const pk = String(item['pk']);
    if (REPLAYED_STATE.some((pattern) => pattern.test(pk))) continue;
    await doc
      .send(new PutCommand({ TableName: to, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }))
      .catch((error: unknown) => {
        if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
      });
  }
}

async function* scanAll(
  doc: DynamoDBDocumentClient,
  tableName: string,
): AsyncGenerator<Record<string, unknown>> {
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({
        TableName: tableName,
        ConsistentRead: true,
        ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
      }),
    );
    yield* page.Items ?? [];
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
}

/** The dates of every published snapshot (those with a manifest). */
export async function snapshotDates(s3: S3Client, bucket: string): Promise<string[]> {
  const dates: string[] = [];
  let continuationToken: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: 'marts/_manifests/',
        ...(continuationToken === undefined ? {} : { ContinuationToken: continuationToken }),
      }),
    );
    for (const object of page.Contents ?? []) {
      const match = MANIFEST_KEY.exec(object.Key ?? '');
      if (match) dates.push(match[1]!);
    }
    continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (continuationToken !== undefined);
  return dates.sort();
}
