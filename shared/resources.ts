/**
 * The names and key schemas of every AWS resource, in one place: the local bootstrap creates them,
 * the CDK app declares them, and every adapter finds them here.
 */
import type { Settings } from './config.js';

export interface TableSpec {
  readonly name: string;
  /** Partition key `pk` and sort key `sk`, both strings, on every table. */
  readonly purpose: string;
}

export interface ResourceNames {
  /** Customer, location, location-day and chain-day aggregates (the dashboard's table). */
  readonly aggregatesTable: string;
  /** The dedupe ledger: business identities of accepted orders, lines and options. */
  readonly ledgerTable: string;
  /** Pipeline state: shard checkpoints and status, poller watermarks, per-file status. */
  readonly stateTable: string;
  /** The transformed layer: one record per order event. */
  readonly ordersStream: string;
  /** The raw layer: every file byte for byte, plus its ingest report. */
  readonly rawBucket: string;
  /** Rejected rows as JSON Lines, with reasons. */
  readonly quarantineBucket: string;
  /** Nightly mart snapshots and their manifests. */
  readonly martsBucket: string;
}

/** Names from the settings' prefix, each overridable by an environment variable set by the CDK app. */
export function resourceNames(
  settings: Pick<Settings, 'resourcePrefix'>,
  env: Readonly<Record<string, string | undefined>> = {},
): ResourceNames {
  const prefix = settings.resourcePrefix;
  return {
    aggregatesTable: env['TILLSTREAM_AGGREGATES_TABLE'] ?? `${prefix}-aggregates`,
    ledgerTable: env['TILLSTREAM_LEDGER_TABLE'] ?? `${prefix}-ledger`,
    stateTable: env['TILLSTREAM_STATE_TABLE'] ?? `${prefix}-state`,
    ordersStream: env['TILLSTREAM_ORDERS_STREAM'] ?? `${prefix}-orders`,
    rawBucket: env['TILLSTREAM_RAW_BUCKET'] ?? `${prefix}-raw`,
    quarantineBucket: env['TILLSTREAM_QUARANTINE_BUCKET'] ?? `${prefix}-quarantine`,
    martsBucket: env['TILLSTREAM_MARTS_BUCKET'] ?? `${prefix}-marts`,
  };
}

export function tableNames(names: ResourceNames): readonly string[] {
  return tableSpecs(names).map((table) => table.name);
}

/** A global secondary index: string keys, all attributes projected. */
export interface IndexSpec {
  readonly indexName: string;
  readonly partitionKey: string;
  readonly sortKey?: string;
}

/** Everything needed to create a table; every table is keyed by `pk` (S) and `sk` (S), on demand. */
export interface TableDefinition extends TableSpec {
  readonly partitionKey: 'pk';
  readonly sortKey: 'sk';
  /** Global secondary indexes, the one place a later issue adds them. @default none */
  readonly globalSecondaryIndexes: readonly IndexSpec[];
}

/**
 * Every table, data-driven: the local bootstrap creates exactly these and the CDK app declares
 * exactly these, so an index added here reaches both.
 */
export function tableSpecs(names: ResourceNames): readonly TableDefinition[] {
  const table = (name: string, purpose: string, globalSecondaryIndexes: readonly IndexSpec[] = []) =>
    ({ name, purpose, partitionKey: 'pk', sortKey: 'sk', globalSecondaryIndexes }) as const;
  return [
    table(names.aggregatesTable, 'customer, location, location-day and chain-day aggregates', [
      // Customer profiles written back by compaction, each index sorted by CLV, highest first.
      { indexName: 'byTier', partitionKey: 'tierKey', sortKey: 'clvRank' },
      { indexName: 'bySegment', partitionKey: 'segmentKey', sortKey: 'clvRank' },
      { indexName: 'atRisk', partitionKey: 'riskKey', sortKey: 'clvRank' },
    ]),
    table(names.ledgerTable, 'dedupe ledger of business identities'),
    table(names.stateTable, 'shard checkpoints, poller watermarks, file status'),
  ];
}

export function bucketNames(names: ResourceNames): readonly string[] {
  return [names.rawBucket, names.quarantineBucket, names.martsBucket];
}
