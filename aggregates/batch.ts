/**
 * The pure core of a shard flush: fold a micro-batch of order events, in sequence order, onto the
 * orders' ledger states, and say what every aggregates item owes.
 *
 * Each item's change is kept per record (tagged with its sequence number), because an item may
 * already hold part of the batch: a crash after some item updates, replayed with other batch
 * boundaries, leaves an item whose high-water mark h lies inside the batch. What it still owes is
 * the sum of the steps after h, which by telescoping equals
 * contribution(final state) − contribution(state after the records with sequence ≤ h).
 */
import type { OrderEvent } from '../shared/schemas/order-event.js';
import { type OrderContribution, orderContribution } from './contribution.js';
import { type CompactDelta, compactContributionDeltas, type ItemDelta, sumCompactDeltas } from './delta.js';
import type { ItemKey } from './keys.js';
import { emptyOrderState, mergeOrderEvent, type OrderState } from './order-state.js';

/** A decoded stream record of one shard. */
export interface BatchRecord {
  /** The Kinesis sequence number. */
  readonly sequence: bigint;
  readonly event: OrderEvent;
}

/** One record's change of one item. */
export interface DeltaStep {
  readonly sequence: bigint;
  readonly delta: CompactDelta;
}

/** Everything one item receives from a batch. */
export interface ItemPlan {
  readonly key: ItemKey;
  /** In sequence order. */
  readonly steps: readonly DeltaStep[];
}

export interface BatchPlan {
  readonly firstSequence: bigint;
  readonly lastSequence: bigint;
  /**
   * Items to write, by `itemId`: every item that any single record changes, even when the
   * changes cancel out over the batch. Such an item may already hold the first part of the batch
   * from an attempt that crashed (and then owes the cancelling rest), and a ledger write cut off
   * between orders leaves some orders' states behind the items; writing every changed item (which
   * advances its high-water mark) keeps both cases exact.
   */
  readonly items: ReadonlyMap<string, ItemPlan>;
  /** The orders whose state the batch changed, with their new state. */
  readonly changedStates: ReadonlyMap<string, OrderState>;
  /** Records whose event added nothing (duplicates, replays). */
  readonly duplicateRecords: number;
}

/**
 * Folds `records` onto `initialStates` (the ledger's states; a missing order starts empty).
 * Records must be one shard's, in any order: they are applied by sequence number.
 *
 * @example
 * const plan = planBatch(statesFromLedger, records);
 * const owed = owedDelta(plan.items.get(id)!, hwmOfTheItem);
 */
export function planBatch(
  initialStates: ReadonlyMap<string, OrderState>,
  records: readonly BatchRecord[],
): BatchPlan {
  if (records.length === 0) throw new RangeError('planBatch needs at least one record');
  const sorted = [...records].sort((a, b) =>
    a.sequence < b.sequence ? -1 : a.sequence > b.sequence ? 1 : 0,
  );
  const states = new Map<string, OrderState>();
  // The contribution after one record of an order is the contribution before its next record.
  const contributions = new Map<string, OrderContribution | null>();
  const stepsByItem = new Map<string, { key: ItemKey; steps: DeltaStep[] }>();
  let duplicateRecords = 0;

  for (const record of sorted) {
    const orderId = record.event.orderId;
    const before = states.get(orderId) ?? initialStates.get(orderId) ?? emptyOrderState(orderId);
    const after = mergeOrderEvent(before, record.event);
    if (after === before) {
      duplicateRecords++;
      continue;
    }
    states.set(orderId, after);
    let beforeContribution = contributions.get(orderId);
    if (beforeContribution === undefined) beforeContribution = orderContribution(before);
    const afterContribution = orderContribution(after);
    contributions.set(orderId, afterContribution);
    for (const [id, delta] of compactContributionDeltas(beforeContribution, afterContribution)) {
      let item = stepsByItem.get(id);
      if (item === undefined) {
        item = { key: delta.key, steps: [] };
        stepsByItem.set(id, item);
      }
      item.steps.push({ sequence: record.sequence, delta });
    }
  }

  return {
    firstSequence: sorted[0]!.sequence,
    lastSequence: sorted[sorted.length - 1]!.sequence,
    items: stepsByItem,
    changedStates: states,
    duplicateRecords,
  };
}

/**
 * What an item still owes when it already holds every record with sequence ≤ `highWaterMark`
 * (`null`: it holds none of the batch). The counters may all be zero.
 */
export function owedDelta(plan: ItemPlan, highWaterMark: bigint | null): ItemDelta {
  const owed: CompactDelta[] = [];
  for (const step of plan.steps)
    if (highWaterMark === null || step.sequence > highWaterMark) owed.push(step.delta);
  return sumCompactDeltas(plan.key, owed);
}
