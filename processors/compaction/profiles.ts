/**
 * Writes the newest snapshot's per-customer figures back to DynamoDB as profile items, so the
 * dashboard can page customers by tier, segment and churn risk with a Query (GSIs of
 * shared/resources.ts) instead of reading a snapshot file.
 *
 * Cost: only profiles whose figures changed are written (the compaction's scan already read the
 * current ones), with unconditional `BatchWriteItem` (25 puts a request) whenever that is exact.
 *
 * Exactness: restating an older snapshot must never overwrite the profile of a newer one. One
 * write-back at a time holds the profiles lease (a control item in the state table of the
 * generation it writes), and a marker beside it records the newest `as_of` whose profiles any
 * write-back started writing; the marker is raised before the first profile is written and never
 * lowered. So every profile's `asOf` is at most the marker, and:
 * - `as_of` ≥ marker: no stored profile is newer, and the batch puts cannot overwrite one;
 * - `as_of` < marker: a newer profile may exist, so each put is conditional on `asOf` not being
 *   newer (one PutItem a profile, as before the marker existed).
 * A crash leaves the marker raised and the lease expiring; the rerun is exact by the same rule.
 */
import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { customerProfileKey } from '../../aggregates/keys.js';
import { type CustomerMetricsRow, type Mart, roundCents } from '../../aggregates/marts/index.js';
import {
  acquireLeaseWaiting,
  ControlKey,
  type Lease,
  type LeaseItem,
  type LeaseWaitOptions,
} from '../../shared/generation.js';
import type { ResourceNames } from '../../shared/resources.js';
import {
  BATCH_WRITE_LIMIT,
  putBatch,
  type RetryPolicy,
  retryThrottled,
  THROTTLING_BACKOFF,
} from '../shard/retry.js';
import { type CompactionHook, CompactionStep } from './snapshot.js';

/** Width of the CLV sort key: cents up to 10^15 − 1. */
const CLV_RANK_WIDTH = 15;
const CLV_RANK_MAX = 10 ** CLV_RANK_WIDTH - 1;

/**
 * How long the profiles lease lasts between renewals. Short, so that a crashed holder's lease is
 * taken over well within one `PROFILES_LEASE_WAIT_MS`; renewed every third of it while writing.
 */
export const PROFILES_LEASE_MS = 30_000;

/** How long a write-back waits for another one's lease before it fails. */
export const PROFILES_LEASE_WAIT_MS = 60_000;

/** A profile's attributes (besides its key). */
export interface CustomerProfile {
  readonly asOf: string;
  readonly tier: string;
  readonly segment: string;
  readonly atRisk: boolean;
  readonly clvCents: number;
  readonly orders: number;
  readonly loyaltyMember: boolean;
  readonly lastOrderDate: string;
  readonly recencyDays: number;
  readonly rfm: string;
  readonly spendChangePct: number | null;
}

/** The GSI sort key: a fixed-width complement of the CLV, so ascending order is highest CLV first. */
export function clvRank(clvCents: number): string {
  const clamped = Math.min(Math.max(clvCents, 0), CLV_RANK_MAX);
  return String(CLV_RANK_MAX - clamped).padStart(CLV_RANK_WIDTH, '0');
}

/** The profile of one `customer_metrics` row. */
export function profileOf(row: CustomerMetricsRow, asOf: string): CustomerProfile {
  return {
    asOf,
    tier: row.clvTier,
    segment: row.rfmSegment,
    atRisk: row.atRisk,
    clvCents: row.clvCents,
    orders: row.orders,
    loyaltyMember: row.loyaltyMember,
    lastOrderDate: row.lastOrderDate,
    recencyDays: row.recencyDays,
    rfm: `${row.rScore ?? '-'}${row.fScore ?? '-'}${row.mScore ?? '-'}`,
    spendChangePct:
      row.spendChangePct === null
        ? null
        : roundCents({ num: row.spendChangePct.num * 100, den: row.spendChangePct.den }) / 100,
  };
}

/** Everything but the date: a profile whose figures did not change is not written again. */
function signature(profile: CustomerProfile | Readonly<Record<string, unknown>>): string {
  const { asOf: _asOf, ...figures } = profile as CustomerProfile;
  return JSON.stringify([
    figures.tier,
    figures.segment,
    figures.atRisk,
    figures.clvCents,
    figures.orders,
    figures.loyaltyMember,
    figures.lastOrderDate,
    figures.recencyDays,
    figures.rfm,
    figures.spendChangePct,
  ]);
}

/** How the changed profiles were written. */
export const WriteBackMode = {
  /** Nothing changed: no lease taken, nothing written. */
  None: 'none',
  /** No newer profile can exist: unconditional `BatchWriteItem`. */
  Batch: 'batch',
  /** A newer snapshot's profiles may exist: one conditional `PutItem` per profile. */
  Conditional: 'conditional',
} as const;
export type WriteBackMode = (typeof WriteBackMode)[keyof typeof WriteBackMode];

export interface WriteBackResult {
  readonly written: number;
  readonly unchanged: number;
  /** Profiles a newer snapshot already wrote. */
  readonly newer: number;
  readonly mode: WriteBackMode;
}

/** The profiles lease: its duration, and how long and how often to ask for it while it is held. */
export interface ProfilesLeaseOptions extends Omit<LeaseWaitOptions, 'signal'> {
  /** @default `PROFILES_LEASE_MS` */
  readonly durationMs?: number;
  /** @default `PROFILES_LEASE_WAIT_MS` */
  readonly waitMs?: number;
  /** @default a unique id of this write-back */
  readonly holder?: string;
  /** @default Date.now */
  readonly clock?: () => number;
}

export interface WriteBackOptions {
  /** Conditional puts in flight at once. @default 16 */
  readonly concurrency?: number;
  /** `BatchWriteItem` requests in flight at once. @default 4 */
  readonly batchConcurrency?: number;
  readonly lease?: ProfilesLeaseOptions;
  /** Throttling and unprocessed items: attempts and backoff. @default `THROTTLING_BACKOFF` */
  readonly retry?: RetryPolicy;
  /** Fault-injection seam: called after each profile written (after its whole batch). */
  readonly onStep?: CompactionHook;
}

/** The profiles lease of the generation whose tables `names` are. */
export function profilesLeaseItem(names: ResourceNames): LeaseItem {
  return { lease: 'profiles write-back', tableName: names.stateTable, key: ControlKey.ProfilesLease };
}

/** The newest `as_of` whose profiles a write-back started writing, or null before the first. */
export async function readProfilesMarker(
  doc: DynamoDBDocumentClient,
  names: ResourceNames,
): Promise<string | null> {
  const response = await doc.send(
    new GetCommand({ TableName: names.stateTable, Key: ControlKey.ProfilesMarker, ConsistentRead: true }),
  );
  const asOf = response.Item?.['asOf'];
  return typeof asOf === 'string' ? asOf : null;
}

/**
 * Raises the marker to `asOf`, never lowers it (false when a newer `as_of` is there: only possible
 * when this holder's lease was taken over).
 */
async function raiseProfilesMarker(
  doc: DynamoDBDocumentClient,
  names: ResourceNames,
  asOf: string,
  holder: string,
  nowMs: number,
): Promise<boolean> {
  try {
    await doc.send(
      new PutCommand({
        TableName: names.stateTable,
        Item: { ...ControlKey.ProfilesMarker, asOf, holder, raisedAtMs: nowMs },
        // A comparison with a missing attribute is false: this is "absent or <= :asOf".
        ConditionExpression: 'NOT asOf > :asOf',
        ExpressionAttributeValues: { ':asOf': asOf },
      }),
    );
    return true;
  } catch (error) {
    if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    return false;
  }
}

type ProfileItem = Record<string, unknown> & { readonly customerId: string };

function profileItem(customerId: string, profile: CustomerProfile): ProfileItem {
  return {
    ...customerProfileKey(customerId),
    ...profile,
    customerId,
    clvRank: clvRank(profile.clvCents),
    tierKey: `TIER#${profile.tier}`,
    segmentKey: `SEG#${profile.segment}`,
    ...(profile.atRisk ? { riskKey: 'RISK' } : {}),
  };
}

/**
 * Runs `task` for every index below `count`, `limit` at a time. After the first failure no new
 * task starts; the tasks in flight finish before the failure is thrown, so nothing writes after
 * the caller releases its lease.
 */
async function forEachLimited(
  count: number,
  limit: number,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < count) {
      try {
        await task(next++);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const outcomes = await Promise.allSettled(
    Array.from({ length: Math.max(1, Math.min(limit, count)) }, worker),
  );
  const rejected = outcomes.find((outcome) => outcome.status === 'rejected');
  if (rejected !== undefined) throw rejected.reason;
}

/**
 * Writes the changed profiles of a snapshot, under the profiles lease (see the module comment):
 * batch puts when no newer profile can exist, conditional puts otherwise.
 *
 * @param existing the profile items read by the compaction's scan, by customer id.
 * @throws LeaseHeldError when another write-back holds the lease past `options.lease.waitMs`, or
 *   takes it over (after it expired) while this one writes.
 * @example
 * const { written, newer } = await writeBackProfiles(doc, names, marts.customer_metrics, '2023-08-15', profiles);
 */
export async function writeBackProfiles(
  doc: DynamoDBDocumentClient,
  names: ResourceNames,
  customerMetrics: Mart<CustomerMetricsRow>,
  asOf: string,
  existing: ReadonlyMap<string, Readonly<Record<string, unknown>>>,
  options: WriteBackOptions = {},
): Promise<WriteBackResult> {
  let unchanged = 0;
  let newer = 0;
  const changed: ProfileItem[] = [];
  for (let index = 0; index < customerMetrics.rowCount; index++) {
    const row = customerMetrics.row(index);
    const profile = profileOf(row, asOf);
    const current = existing.get(row.customerId);
    const currentAsOf = current === undefined ? undefined : String(current['asOf']);
    if (current !== undefined && signature(current) === signature(profile) && String(currentAsOf) >= asOf) {
      unchanged++;
    } else if (currentAsOf !== undefined && currentAsOf > asOf) {
      // Profiles only ever move forward, so a put would fail its condition (or, in the batch
      // branch, which cannot see one, overwrite a profile written before the marker existed).
      newer++;
    } else {
      changed.push(profileItem(row.customerId, profile));
    }
  }
  if (changed.length === 0) return { written: 0, unchanged, newer, mode: WriteBackMode.None };

  const leaseOptions = options.lease ?? {};
  const clock = leaseOptions.clock ?? Date.now;
  const durationMs = leaseOptions.durationMs ?? PROFILES_LEASE_MS;
  const holder = leaseOptions.holder ?? `profiles@${asOf}/${randomUUID()}`;
  const lease = await acquireLeaseWaiting(doc, profilesLeaseItem(names), holder, clock, durationMs, {
    waitMs: leaseOptions.waitMs ?? PROFILES_LEASE_WAIT_MS,
    ...(leaseOptions.retryEveryMs === undefined ? {} : { retryEveryMs: leaseOptions.retryEveryMs }),
    ...(leaseOptions.sleep === undefined ? {} : { sleep: leaseOptions.sleep }),
  });
  const keeper = leaseKeeper(lease, clock, durationMs);
  try {
    const marker = await readProfilesMarker(doc, names);
    const batch =
      (marker === null || marker <= asOf) && (await raiseProfilesMarker(doc, names, asOf, holder, clock()));
    const writer = batch ? writeInBatches : writeConditionally;
    const outcome = await writer(doc, names, asOf, changed, keeper, options);
    return {
      written: outcome.written,
      unchanged,
      newer: newer + outcome.newer,
      mode: batch ? WriteBackMode.Batch : WriteBackMode.Conditional,
    };
  } finally {
    // Best effort: a lease left behind expires within `durationMs`.
    await lease.release().catch(() => {});
  }
}

/** Renews the lease whenever a third of it has passed; callers in flight share one renewal. */
function leaseKeeper(lease: Lease, clock: () => number, durationMs: number): () => Promise<void> {
  let renewedAtMs = clock();
  let renewing: Promise<void> | undefined;
  return async () => {
    if (renewing !== undefined) return renewing;
    const now = clock();
    if (now - renewedAtMs < durationMs / 3) return;
    // A failed renewal stays the pending one: once the lease is taken over, every later write stops.
    renewing = lease.renew(now).then(() => {
      renewedAtMs = now;
      renewing = undefined;
    });
    return renewing;
  };
}

interface WriterOutcome {
  readonly written: number;
  readonly newer: number;
}

type Writer = (
  doc: DynamoDBDocumentClient,
  names: ResourceNames,
  asOf: string,
  changed: readonly ProfileItem[],
  keepLease: () => Promise<void>,
  options: WriteBackOptions,
) => Promise<WriterOutcome>;

/** Unconditional `BatchWriteItem`s, unprocessed items retried with backoff. */
const writeInBatches: Writer = async (doc, names, _asOf, changed, keepLease, options) => {
  let written = 0;
  const batches = Math.ceil(changed.length / BATCH_WRITE_LIMIT);
  await forEachLimited(batches, options.batchConcurrency ?? 4, async (batchIndex) => {
    const profiles = changed.slice(batchIndex * BATCH_WRITE_LIMIT, (batchIndex + 1) * BATCH_WRITE_LIMIT);
    await putBatch(doc, names.aggregatesTable, profiles, options.retry, keepLease);
    written += profiles.length;
    for (const item of profiles) await options.onStep?.(CompactionStep.ProfileWritten, item.customerId);
  });
  return { written, newer: 0 };
};

/** One `PutItem` per profile, each kept from overwriting a newer `asOf`. */
const writeConditionally: Writer = async (doc, names, asOf, changed, keepLease, options) => {
  let written = 0;
  let newer = 0;
  await forEachLimited(changed.length, options.concurrency ?? 16, async (index) => {
    const item = changed[index] as ProfileItem;
    await keepLease();
    try {
      await retryThrottled(
        () =>
          doc.send(
            new PutCommand({
              TableName: names.aggregatesTable,
              Item: item,
              // Without parentheses (dynalite parses this far faster); a comparison with a missing
              // attribute is false, so this is "absent or <= :asOf".
              ConditionExpression: 'NOT asOf > :asOf',
              ExpressionAttributeValues: { ':asOf': asOf },
            }),
          ),
        { ...THROTTLING_BACKOFF, ...options.retry },
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      newer++;
      return;
    }
    written++;
    await options.onStep?.(CompactionStep.ProfileWritten, item.customerId);
  });
  return { written, newer };
};
