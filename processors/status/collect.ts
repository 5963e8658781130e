/**
 * Reads the facts of `tillstream status`: the poller's state, the ingest reports (through the
 * dashboard's read model), shard checkpoints and lag, the newest snapshot's manifest, missing
 * uploads and table sizes.
 */

import {
  DescribeTableCommand,
  type DynamoDBClient,
  ScanCommand,
  type ScanCommandOutput,
} from '@aws-sdk/client-dynamodb';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { addDays, toLocalTime } from '../../aggregates/time.js';
import { PollerState } from '../../ingest/state.js';
import { localInstant } from '../../ingest/status/missing-uploads.js';
import { checkMissingUploads } from '../../ingest/status/uploads.js';
import { type Settings, Target } from '../../shared/config.js';
import { type ResourceNames, tableNames } from '../../shared/resources.js';
import { readManifest } from '../compaction/snapshot.js';
import { ReadModel } from '../dashboard/read-model.js';
import { DynamoShardStore } from '../shard/dynamo-store.js';
import { readShardLag, type ShardLag, shardLagMs } from '../shard/lag.js';
import {
  type RowFacts,
  type ShardFacts,
  type SnapshotFacts,
  type StatusReport,
  statusReport,
  TableCount,
  type TableFacts,
} from './report.js';

/** Items a local counted Scan reads per table at most: the status screen stays quick. */
export const LOCAL_COUNT_CAP = 200_000;

export interface StatusDependencies {
  readonly clients: {
    readonly dynamo: DynamoDBClient;
    readonly doc: DynamoDBDocumentClient;
    readonly s3: S3Client;
    /** When given, each shard's lag is its backlog read from the stream now (as `tillstream lag`). */
    readonly kinesis?: KinesisClient;
  };
  readonly names: ResourceNames;
  readonly settings: Settings;
  /** Epoch ms now. */
  readonly nowMs: number;
}

const iso = (ms: number | undefined | null): string | null =>
  ms === undefined || ms === null ? null : new Date(ms).toISOString();

/**
 * Collects every fact and derives the attention items.
 *
 * @example
 * const report = await collectStatus({ clients, names, settings, nowMs: Date.now() });
 * process.stdout.write(formatStatus(report));
 */
export async function collectStatus(deps: StatusDependencies): Promise<StatusReport> {
  const { clients, names, settings, nowMs } = deps;
  const state = new PollerState(clients.doc, names.stateTable);
  const readModel = new ReadModel({ doc: clients.doc, s3: clients.s3, names });
  const [lastPoll, unfinished, pending, reports, shards, poisonRecords, snapshotDates, uploads, tables] =
    await Promise.all([
      state.lastPoll(),
      state.unfinished(),
      state.pendingOptions(),
      readModel.ingestReports(),
      clients.kinesis === undefined
        ? readModel.shardStates()
        : readShardLag(
            clients.kinesis,
            new DynamoShardStore(clients.doc, names, { streamName: names.ordersStream }),
            names.ordersStream,
            nowMs,
          ),
      readModel.poisonRecordCount(),
      readModel.snapshotDates(),
      checkMissingUploads(clients.doc, names, settings, nowMs),
      tableSizes(clients.dynamo, names, settings),
    ]);

  const chainToday = toLocalTime(nowMs, settings.chainTimeZone).localDate;
  const quarantineSince = addDays(chainToday, -settings.statusLookbackDays);
  const sinceMs = localInstant(quarantineSince, 0, settings.chainTimeZone);
  const byReason: Record<string, number> = {};
  const quarantineFiles: { path: string; rows: number }[] = [];
  const filesSetAside: { path: string; status: string; message: string }[] = [];
  for (const report of reports) {
    // A retracted file's rows count nowhere, its quarantined ones included.
    if (String(report.status) === 'retracted' || Date.parse(report.arrivedAt) < sinceMs) continue;
    if (report.fileMessage !== null && report.status !== 'duplicate_content')
      filesSetAside.push({ path: report.path, status: report.status, message: report.fileMessage });
    if (report.rowsQuarantined === 0) continue;
    quarantineFiles.push({ path: report.path, rows: report.rowsQuarantined });
    for (const [reason, count] of Object.entries(report.quarantinedByReason)) {
      byReason[reason] = (byReason[reason] ?? 0) + (count ?? 0);
    }
  }
  const oldestPending = pending.reduce<number | null>(
    (oldest, option) => (oldest === null || option.arrivedAtMs < oldest ? option.arrivedAtMs : oldest),
    null,
  );
  const rows: RowFacts = {
    pendingOptions: pending.length,
    oldestPendingSince: iso(oldestPending),
    quarantineSince,
    quarantinedRows: quarantineFiles.reduce((sum, file) => sum + file.rows, 0),
    quarantinedByReason: byReason,
    quarantineFiles,
    filesSetAside,
  };

  const latestDate = snapshotDates.at(-1) ?? null;
  const manifest =
    latestDate === null
      ? null
      : await readManifest({ s3: clients.s3, bucket: names.martsBucket, asOf: latestDate });
  const snapshot: SnapshotFacts = {
    expectedDate: addDays(chainToday, -1),
    latestDate: manifest === null ? null : latestDate,
    runId: manifest?.runId ?? null,
    codeVersion: manifest?.codeVersion ?? null,
    files: manifest?.files.length ?? 0,
    rowCounts: Object.fromEntries(
      Object.entries(manifest?.rowCounts ?? {}).filter(
        (entry): entry is [string, number] => entry[1] !== undefined,
      ),
    ),
  };

  return statusReport({
    generatedAt: new Date(nowMs).toISOString(),
    target: settings.target,
    poll: {
      lastPollAt: iso(lastPoll?.endedAtMs),
      lastPollFiles: lastPoll?.files ?? null,
      lastPollErrors: lastPoll?.errors ?? [],
      filesWaiting: unfinished.map((version) => ({
        path: version.path,
        arrivedAt: new Date(version.arrivedAtMs).toISOString(),
      })),
    },
    rows,
    shards: shards.map(shardFacts),
    maxShardLagMs: settings.maxShardLagMs,
    poisonRecords,
    snapshot,
    uploads: {
      dueLocalTime: settings.uploadDueLocalTime,
      dueDaysAfter: settings.uploadDueDaysAfter,
      lookbackDays: settings.statusLookbackDays,
      locationsChecked: uploads.locations.length,
      missing: uploads.missing.map(({ dueAtMs, ...gap }) => ({
        ...gap,
        dueAt: new Date(dueAtMs).toISOString(),
      })),
      closures: uploads.closures,
    },
    tables,
  });
}

/** A shard's row of the report, from its status item (and its backlog, when read from the stream). */
export function shardFacts(shard: ShardLag): ShardFacts {
  return {
    shardId: shard.shardId,
    lagMs: shardLagMs(shard) ?? null,
    checkpoint: shard.checkpoint ?? null,
    checkpointAt: iso(shard.checkpointAt),
    updatedAt: iso(shard.updatedAt),
    done: shard.done ?? false,
    error: shard.error ?? null,
  };
}

/**
 * Item counts per table: DescribeTable on AWS; on the local stack a `Select: COUNT` Scan (the
 * emulator reports `ItemCount` 0), stopped after `LOCAL_COUNT_CAP` items.
 */
export async function tableSizes(
  dynamo: DynamoDBClient,
  names: ResourceNames,
  settings: Pick<Settings, 'target'>,
): Promise<TableFacts[]> {
  return Promise.all(
    tableNames(names).map(async (table): Promise<TableFacts> => {
      if (settings.target === Target.Aws) {
        const described = await dynamo.send(new DescribeTableCommand({ TableName: table }));
        return {
          table,
          items: described.Table?.ItemCount ?? 0,
          countedBy: TableCount.Describe,
          capped: false,
        };
      }
      let items = 0;
      let startKey: ScanCommandOutput['LastEvaluatedKey'];
      do {
        const page = await dynamo.send(
          new ScanCommand({
            TableName: table,
            Select: 'COUNT',
            ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
          }),
        );
        items += page.Count ?? 0;
        startKey = page.LastEvaluatedKey;
      } while (startKey !== undefined && items < LOCAL_COUNT_CAP);
      return { table, items, countedBy: TableCount.Scan, capped: startKey !== undefined };
    }),
  );
}
