/**
 * Writes the newest snapshot's per-customer figures back to DynamoDB as profile items, so the
 * dashboard can page customers by tier, segment and churn risk with a Query (GSIs of
 * shared/resources.ts) instead of reading a snapshot file.
 *
 * Cost: only profiles whose figures changed are written (the compaction's scan already read the
 * current ones), and each put is conditional on its `asOf` not being newer, so restating an older
 * snapshot never overwrites the profile of a newer one.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { customerProfileKey } from '../../aggregates/keys.js';
import { type CustomerMetricsRow, type Mart, roundCents } from '../../aggregates/marts/index.js';
import type { ResourceNames } from '../../shared/resources.js';
import { type CompactionHook, CompactionStep } from './snapshot.js';

/** Width of the CLV sort key: cents up to 10^15 − 1. */
const CLV_RANK_WIDTH = 15;
const CLV_RANK_MAX = 10 ** CLV_RANK_WIDTH - 1;

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

export interface WriteBackResult {
  readonly written: number;
  readonly unchanged: number;
  /** Profiles a newer snapshot already wrote. */
  readonly newer: number;
}

export interface WriteBackOptions {
  /** Puts in flight at once. @default 16 */
  readonly concurrency?: number;
  /** Fault-injection seam: called after each profile written. */
  readonly onStep?: CompactionHook;
}

/**
 * Writes the changed profiles of a snapshot.
 *
 * @param existing the profile items read by the compaction's scan, by customer id.
 */
export async function writeBackProfiles(
  doc: DynamoDBDocumentClient,
  names: ResourceNames,
  customerMetrics: Mart<CustomerMetricsRow>,
  asOf: string,
  existing: ReadonlyMap<string, Readonly<Record<string, unknown>>>,
  options: WriteBackOptions = {},
): Promise<WriteBackResult> {
  const concurrency = options.concurrency ?? 16;
  let written = 0;
  let unchanged = 0;
  let newer = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < customerMetrics.rowCount) {
      const row = customerMetrics.row(next++);
      const profile = profileOf(row, asOf);
      const current = existing.get(row.customerId);
      if (
        current !== undefined &&
        signature(current) === signature(profile) &&
        String(current['asOf']) >= asOf
      ) {
        unchanged++;
        continue;
      }
      try {
        await doc.send(
          new PutCommand({
            TableName: names.aggregatesTable,
            Item: {
              ...customerProfileKey(row.customerId),
              ...profile,
              customerId: row.customerId,
              clvRank: clvRank(profile.clvCents),
              tierKey: `TIER#${profile.tier}`,
              segmentKey: `SEG#${profile.segment}`,
              ...(profile.atRisk ? { riskKey: 'RISK' } : {}),
            },
            ConditionExpression: 'attribute_not_exists(asOf) OR asOf <= :asOf',
            ExpressionAttributeValues: { ':asOf': asOf },
          }),
        );
        written++;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        newer++;
        continue;
      }
      await options.onStep?.(CompactionStep.ProfileWritten, row.customerId);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  return { written, unchanged, newer };
}
