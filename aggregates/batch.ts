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
import { BinaryOrderEvent } from '../shared/schemas/order-event-binary.js';
import { orderContribution, summaryContribution } from './contribution.js';
import {
  applyDelta,
  type CompactDelta,
  ContributionPart,
  compactContributionDeltas,
  type FoldStep,
  type ItemDelta,
  type KeyedItem,
  LabelCollisionError,
  type PlainItem,
  type ResolvedContribution,
  resolveContribution,
  sumFoldSteps,
} from './delta.js';
import { type ItemKey, sequenceFromSortKey, sequenceSortKey } from './keys.js';
import { emptyOrderState, mergeOrderEvent, type OrderState, stateOfEvent } from './order-state.js';

/** A decoded stream record of one shard. */
export interface BatchRecord {
  /** The Kinesis sequence number. */
  readonly sequence: bigint;
  readonly event: OrderEvent;
}

/**
 * Everything one item receives from a batch: one step per record that changes it, in sequence
 * order. A step is the record's order contribution added or removed whole (an order new to the
 * item, the common case) or a compact delta; `owedDelta` sums them.
 */
export class ItemPlan {
  private readonly steps: FoldStep[];

  /** An item's plan starts with its first step: most items (customer months) get only one. */
  constructor(
    readonly key: ItemKey,
    /** `itemId(key)`. */
    readonly id: string,
    private readonly part: ContributionPart,
    step: FoldStep,
  ) {
    // A literal of one element: a list grown by its first push would reserve seventeen.
    this.steps = [step];
  }

  /** Records that change the item (the writes it would cost without coalescing). */
  get stepCount(): number {
    return this.steps.length;
  }

  /** Appends a step; steps come in sequence order. */
  push(step: FoldStep): void {
    this.steps.push(step);
  }

  /** The sum of the steps after `highWaterMark` (`null`: all of them). */
  owed(highWaterMark: bigint | null): ItemDelta {
    return sumFoldSteps(this.key, this.part, this.steps, this.startAfter(highWaterMark));
  }

  /**
   * What one write can carry of what the item owes after `highWaterMark`: the sum of the longest
   * run of the following steps that `fits`, and the sequence of the run's last step (`null` when
   * the run takes every step left, the common case). An item holds exactly the records up to its
   * high-water mark, so a write that carries a run and moves the mark to its last step keeps the
   * flush's invariant, and the next write goes on from there.
   * Throws `WriteTooLargeError` when not even the first step fits.
   *
   * @example
   * const { delta, through } = item.owedPart(held, (delta) => delta.names.length <= 250);
   */
  owedPart(
    highWaterMark: bigint | null,
    fits: (delta: ItemDelta) => boolean,
  ): { readonly delta: ItemDelta; readonly through: bigint | null } {
    const { key, part, steps } = this;
    const start = this.startAfter(highWaterMark);
    const whole = sumFoldSteps(key, part, steps, start);
    if (fits(whole)) return { delta: whole, through: null };
    // The longest fitting run by bisection: `fits` holds of steps[start…low) and not of
    // steps[start…high).
    let low = start + 1;
    let delta = sumFoldSteps(key, part, steps, start, low);
    if (!fits(delta)) throw new WriteTooLargeError(key, steps[start]!.sequence, delta);
    let high = steps.length;
    while (high - low > 1) {
      const middle = (low + high) >>> 1;
      const candidate = sumFoldSteps(key, part, steps, start, middle);
      if (fits(candidate)) {
        low = middle;
        delta = candidate;
      } else high = middle;
    }
    return { delta, through: steps[low - 1]!.sequence };
  }

  /** The index of the first step after `highWaterMark`. */
  private startAfter(highWaterMark: bigint | null): number {
    let start = 0;
    if (highWaterMark !== null)
      while (start < this.steps.length && this.steps[start]!.sequence <= highWaterMark) start++;
    return start;
  }
}

/** One record alone changes more of an item than one write can carry. */
export class WriteTooLargeError extends Error {
  override name = 'WriteTooLargeError';
  /** The message without the item. */
  readonly reason: string;
  constructor(
    readonly key: ItemKey,
    readonly sequence: bigint,
    delta: ItemDelta,
  ) {
    const reason = `the record at sequence ${sequence} alone changes ${delta.names.length} counters and ${Object.keys(delta.labels).length} labels, more than one update can carry`;
    super(`item ${key.pk}/${key.sk}: ${reason}`);
    this.reason = reason;
  }
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

const bySequence = (a: BatchRecord, b: BatchRecord): number =>
  a.sequence < b.sequence ? -1 : a.sequence > b.sequence ? 1 : 0;

/** The records by sequence number; a shard's records usually arrive sorted, which is checked first. */
function inSequenceOrder(records: readonly BatchRecord[]): readonly BatchRecord[] {
  for (let index = 1; index < records.length; index++) {
    if (records[index - 1]!.sequence > records[index]!.sequence) return [...records].sort(bySequence);
  }
  return records;
}

/** The batch's items being planned, by `itemId`. */
class ItemPlans {
  readonly byId = new Map<string, ItemPlan>();

  /** Adds a record's step to an item. */
  push(target: KeyedItem, part: ContributionPart, step: FoldStep): void {
    const item = this.byId.get(target.id);
    if (item === undefined) this.byId.set(target.id, new ItemPlan(target.key, target.id, part, step));
    else item.push(step);
  }

  /** Adds or removes a contribution whole: every one of its items, in `compactContributionDeltas`' order. */
  pushContribution(contribution: ResolvedContribution, sequence: bigint, sign: number): void {
    const { names } = contribution;
    const step: FoldStep = { sequence, contribution, sign, delta: null };
    this.push(names.locationDay, ContributionPart.Day, step);
    this.push(names.chainDay, ContributionPart.Day, step);
    this.push(names.totals, ContributionPart.Totals, step);
    if (contribution.customerMonth !== null)
      this.push(contribution.customerMonth, ContributionPart.Customer, step);
  }

  /** Adds a record's compact deltas (an order whose contribution changes in part). */
  pushDeltas(deltas: ReadonlyMap<string, CompactDelta>, parts: ContributionParts, sequence: bigint): void {
    for (const [id, delta] of deltas)
      this.push({ key: delta.key, id }, parts.of(id), { sequence, contribution: null, sign: 0, delta });
  }
}

/** The part each item of two contributions holds, by `itemId`. */
class ContributionParts {
  private readonly parts = new Map<string, ContributionPart>();

  constructor(...contributions: readonly ResolvedContribution[]) {
    for (const { names, customerMonth } of contributions) {
      this.parts.set(names.locationDay.id, ContributionPart.Day);
      this.parts.set(names.chainDay.id, ContributionPart.Day);
      this.parts.set(names.totals.id, ContributionPart.Totals);
      if (customerMonth !== null) this.parts.set(customerMonth.id, ContributionPart.Customer);
    }
  }

  of(id: string): ContributionPart {
    const part = this.parts.get(id);
    if (part === undefined) throw new RangeError(`item ${id} belongs to neither contribution`);
    return part;
  }
}

const resolved = (state: OrderState): ResolvedContribution | null => {
  const contribution = orderContribution(state);
  return contribution === null ? null : resolveContribution(contribution);
};

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
  const sorted = inSequenceOrder(records);
  const states = new Map<string, OrderState>();
  // The contribution after one record of an order is the contribution before its next record.
  const contributions = new Map<string, ResolvedContribution | null>();
  const items = new ItemPlans();
  let duplicateRecords = 0;

  for (const record of sorted) {
    const event = record.event;
    const orderId = event.orderId;
    const known = states.get(orderId) ?? initialStates.get(orderId);
    // A new order whose first event alone is its state (the common case): the contribution comes
    // from the event's summary, and no row is built.
    if (known === undefined && event instanceof BinaryOrderEvent && event.summary !== null) {
      // Not kept in `contributions`: a later record of the order in the batch (rare) resolves the
      // state's contribution again, equal to this one.
      const contribution = resolveContribution(summaryContribution(orderId, event.summary));
      states.set(orderId, stateOfEvent(event)!);
      items.pushContribution(contribution, record.sequence, 1);
      continue;
    }
    const before = known ?? emptyOrderState(orderId);
    const after = mergeOrderEvent(before, event);
    if (after === before) {
      duplicateRecords++;
      continue;
    }
    states.set(orderId, after);
    // After first, then before: the order in which compactContributionDeltas meets a label collision.
    const afterContribution = resolved(after);
    let beforeContribution = contributions.get(orderId);
    if (beforeContribution === undefined) beforeContribution = resolved(before);
    contributions.set(orderId, afterContribution);
    if (beforeContribution === null) {
      if (afterContribution !== null) items.pushContribution(afterContribution, record.sequence, 1);
    } else if (afterContribution === null) {
      items.pushContribution(beforeContribution, record.sequence, -1);
    } else {
      items.pushDeltas(
        compactContributionDeltas(beforeContribution.order, afterContribution.order),
        new ContributionParts(beforeContribution, afterContribution),
        record.sequence,
      );
    }
  }

  return {
    firstSequence: sorted[0]!.sequence,
    lastSequence: sorted[sorted.length - 1]!.sequence,
    items: items.byId,
    changedStates: states,
    duplicateRecords,
  };
}

/**
 * What an item still owes when it already holds every record with sequence ≤ `highWaterMark`
 * (`null`: it holds none of the batch). The counters may all be zero.
 */
export function owedDelta(plan: ItemPlan, highWaterMark: bigint | null): ItemDelta {
  return plan.owed(highWaterMark);
}

/** What a shard puts for an item only it writes (a customer-month part), from the part as read. */
export type OwnedItemOutcome =
  /** The part already holds the whole batch (a replay): nothing to write. */
  | { readonly item: null; readonly replayed: true }
  /** The part after the batch; `replayed` when it held the first part of the batch already. */
  | { readonly item: PlainItem; readonly replayed: boolean };

/**
 * The next state of an item that one shard alone writes, read whole before the write: the stored
 * part plus what it still owes of the batch (the steps after its high-water mark `hwmName`), with
 * the mark moved to the batch's last sequence. The same invariant as a conditional update, decided
 * on the read instead of by a condition: the single writer makes the read current at the put.
 * Throws `LabelCollisionError` when the part names a code differently.
 *
 * @example
 * const next = nextOwnedItem(storedPart, plan.items.get(id)!, partKey, 'w0', plan.firstSequence, plan.lastSequence);
 * if (next.item !== null) puts.push(next.item);
 */
export function nextOwnedItem(
  stored: PlainItem | undefined,
  plan: ItemPlan,
  partKey: ItemKey,
  hwmName: string,
  firstSequence: bigint,
  lastSequence: bigint,
): OwnedItemOutcome {
  const mark = stored?.[hwmName];
  const held = typeof mark === 'string' ? sequenceFromSortKey(mark) : null;
  if (held !== null && held >= lastSequence) return { item: null, replayed: true };
  const replayed = held !== null && held >= firstSequence;
  const owed = plan.owed(replayed ? held : null);
  for (const [name, value] of Object.entries(owed.labels)) {
    const current = stored?.[name];
    if (current !== undefined && current !== value) {
      throw new LabelCollisionError(partKey, name, [String(current), value]);
    }
  }
  const item = applyDelta(stored, { ...owed, key: partKey });
  item[hwmName] = sequenceSortKey(lastSequence);
  return { item, replayed };
}
