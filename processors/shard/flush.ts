/**
 * One micro-batch flush with exactly-once effect on the aggregates, over a `ShardStore` (DynamoDB
 * in production, memory in property tests).
 *
 * Write order: (1) item updates, (2) order states in the ledger, (3) the shard checkpoint.
 *
 * Items shared by shards (location and chain days, location totals) are conditional `UpdateItem`s.
 * A customer-month item is kept in one part per shard (`customerPartKey`), which only that shard
 * writes: the flush reads its parts (consistent batch gets) and puts them back whole (batch puts),
 * the high-water-mark rule decided on the read (`nextOwnedItem`). A customer's orders are spread
 * over every shard, so one item per customer-month would need a conditional write per customer;
 * parts cost the same item writes and a batch request per 25 of them.
 *
 * Single writer per order: records are keyed by order id, so all of an order's records are on one
 * shard, and a shard has one consumer at a time (locally the state-directory lock, on AWS the event
 * source mapping's parallelization factor of 1; after a reshard parents are drained before
 * children). So the states a flush read cannot change before it writes them, and the ledger is
 * written with unconditional batch puts: 25 states per request instead of one conditional put each.
 *
 * Invariant (per item X, per shard): X = Σ over orders o of contribution_X(ledger_o ∪ records of o
 * with sequence ≤ hwm_X). It holds at every crash point:
 * - an item update is conditional on `hwm_X < first sequence of the batch` and sets
 *   `hwm_X = last sequence`; when the condition fails the item already holds the records up to
 *   hwm_X, and only the steps after it are added (conditional on hwm_X being unchanged);
 * - the ledger is written only after every item update, so a ledger state never holds a record
 *   that an item still lacks; an item whose contribution changed for any single order is written
 *   (even if the orders' changes cancel), so a ledger write cut off between orders stays exact;
 * - the checkpoint only moves the replay start; a replay with any batch boundaries reads states
 *   that already hold the replayed records (set union: no change) or not (the items' hwm says
 *   what they hold).
 */

import {
  type BatchPlan,
  type BatchRecord,
  type ItemPlan,
  nextOwnedItem,
  planBatch,
  WriteTooLargeError,
} from '../../aggregates/batch.js';
import { type ItemDelta, LabelCollisionError, type PlainItem } from '../../aggregates/delta.js';
import {
  Attr,
  customerPartKey,
  type ItemKey,
  ItemKind,
  itemId,
  itemKind,
  shardCode,
} from '../../aggregates/keys.js';
import type { OrderState } from '../../aggregates/order-state.js';
import { settleAll } from '../../shared/settle.js';

/** Points in a flush where the fault-injection seam may stop the process. */
export const CrashWindow = {
  BeforeItems: 'before-items',
  BetweenItems: 'between-items',
  BeforeLedger: 'before-ledger',
  BetweenLedger: 'between-ledger',
  BeforeCheckpoint: 'before-checkpoint',
  AfterCheckpoint: 'after-checkpoint',
} as const;
export type CrashWindow = (typeof CrashWindow)[keyof typeof CrashWindow];

/** Called at each window; a test throws `InjectedCrash` from it. Off (absent) in production. */
export type CrashHook = (window: CrashWindow) => void;

/** The error a crash hook throws: the runner treats it as the process dying. */
export class InjectedCrash extends Error {
  override name = 'InjectedCrash';
  constructor(readonly window: CrashWindow) {
    super(`injected crash at ${window}`);
  }
}

/** An order state with the ledger version it was read at (`null`: not in the ledger). */
export interface VersionedState {
  readonly state: OrderState;
  readonly version: number | null;
}

/** An order state to store, and the version it replaces (`null`: new to the ledger). */
export interface LedgerWrite {
  readonly state: OrderState;
  readonly replacesVersion: number | null;
}

/** How an item update is guarded by the shard's high-water mark. */
export type HighWaterCondition =
  /** The item holds none of the batch: hwm absent or below the batch's first sequence. */
  | { readonly kind: 'below'; readonly sequence: bigint }
  /** The item holds the batch up to exactly this sequence. */
  | { readonly kind: 'equals'; readonly sequence: bigint };

export interface ItemWrite {
  readonly key: ItemKey;
  readonly delta: ItemDelta;
  readonly shardId: string;
  readonly condition: HighWaterCondition;
  /** The hwm the item has after the write. */
  readonly highWaterMark: bigint;
}

/** The persistence a flush needs; every method is a single request or a retried sequence of them. */
export interface ShardStore {
  /** Consistent reads of the orders' ledger states. */
  loadStates(orderIds: readonly string[]): Promise<Map<string, VersionedState>>;
  /**
   * Adds the delta, sets the labels and the hwm if the condition holds (labels must be absent or
   * equal). Resolves `{ applied: true }`, or `{ applied: false, highWaterMark }` with the item's
   * current hwm for this shard (`null` if absent) when the condition failed.
   */
  writeItem(write: ItemWrite): Promise<{ applied: true } | { applied: false; highWaterMark: bigint | null }>;
  /**
   * Whether one `writeItem` can carry `delta` (DynamoDB bounds an update's expressions). An item
   * whose batch delta does not fit is written in several updates, each carrying a run of its
   * records. Absent: any delta fits.
   */
  fitsOneWrite?(delta: ItemDelta): boolean;
  /** Consistent reads of items that only this shard writes (its customer-month parts), by `itemId`. */
  readOwnedItems(keys: readonly ItemKey[]): Promise<Map<string, PlainItem>>;
  /** Puts items that only this shard writes, whole and unconditionally (the flush is their single writer). */
  putOwnedItems(items: readonly PlainItem[]): Promise<void>;
  /**
   * Puts order states (unconditionally: the flush is their single writer), each with the version
   * after the one it replaces.
   */
  saveStates(writes: readonly LedgerWrite[]): Promise<void>;
  /** Records that the shard is processed up to and including `sequence`. */
  saveCheckpoint(shardId: string, sequence: string): Promise<void>;
}

/** An item update failed for a reason other than a replay (a label collision, a concurrent writer). */
export class ItemConflictError extends Error {
  override name = 'ItemConflictError';
  constructor(
    readonly key: ItemKey,
    readonly shardId: string,
    detail: string,
  ) {
    super(`item ${key.pk}/${key.sk} (shard ${shardId}): ${detail}`);
  }
}

export interface FlushOptions {
  readonly crashAt?: CrashHook;
  /** Item updates in flight at once. @default 16 */
  readonly concurrency?: number;
  /** Skip the checkpoint (the Lambda event source mapping keeps it). @default false */
  readonly skipCheckpoint?: boolean;
}

export interface FlushResult {
  readonly records: number;
  readonly duplicateRecords: number;
  readonly ordersChanged: number;
  /** Item updates sent, owed-part retries included. */
  readonly itemWrites: number;
  /** Items that already held part of the batch (replays). */
  readonly replayedItems: number;
  readonly ledgerWrites: number;
  readonly lastSequence: string;
}

/**
 * Runs `work` on every value, `concurrency` at a time. After a failure no new work starts, and the
 * work in flight is awaited before the first error is thrown: the flush returns (and a Lambda
 * reports its batch failed) only once none of its writes can still land.
 */
async function mapConcurrent<T>(
  values: readonly T[],
  concurrency: number,
  work: (value: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const workers = Array.from({ length: Math.min(concurrency, values.length) }, async () => {
    while (next < values.length && !failed) {
      const index = next++;
      try {
        await work(values[index]!, index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  });
  await settleAll(workers);
}

/** The batch's items shared by shards (the ones the live dashboards read), and the customer months. */
function splitItems(items: Iterable<ItemPlan>): { shared: ItemPlan[]; customers: ItemPlan[] } {
  const shared: ItemPlan[] = [];
  const customers: ItemPlan[] = [];
  for (const item of items) (itemKind(item.key) === ItemKind.CustomerMonth ? customers : shared).push(item);
  return { shared, customers };
}

/** This shard's customer-month parts after the batch: read, then the owed part of the batch added. */
async function nextCustomerParts(
  store: ShardStore,
  shardId: string,
  plan: BatchPlan,
  customers: readonly ItemPlan[],
): Promise<{ puts: PlainItem[]; replayed: number }> {
  const code = shardCode(shardId);
  const hwmName = Attr.highWaterMark(code);
  const partKeys = customers.map((item) => customerPartKey(item.key, code));
  const stored = partKeys.length > 0 ? await store.readOwnedItems(partKeys) : new Map<string, PlainItem>();
  const puts: PlainItem[] = [];
  let replayed = 0;
  customers.forEach((item, index) => {
    const partKey = partKeys[index]!;
    let next: ReturnType<typeof nextOwnedItem>;
    try {
      next = nextOwnedItem(
        stored.get(itemId(partKey)),
        item,
        partKey,
        hwmName,
        plan.firstSequence,
        plan.lastSequence,
      );
    } catch (error) {
      if (error instanceof LabelCollisionError) throw new ItemConflictError(partKey, shardId, error.message);
      throw error;
    }
    if (next.replayed) replayed++;
    if (next.item !== null) puts.push(next.item);
  });
  return { puts, replayed };
}

const anyDeltaFits = (): boolean => true;

/**
 * Writes what a shared item owes of the batch: one conditional update (the common case), a second
 * after a replay found the item holding part of the batch, and more when the delta is larger than
 * one update can carry (each then carries a run of the item's records and moves its mark to the
 * run's last record).
 */
async function writeItemPlan(
  store: ShardStore,
  shardId: string,
  plan: BatchPlan,
  item: ItemPlan,
  crash: CrashHook,
): Promise<{ writes: number; replayed: boolean }> {
  const fits = store.fitsOneWrite?.bind(store) ?? anyDeltaFits;
  // What the item is known to hold of the batch (`null`: nothing known yet), and the guard.
  let held: bigint | null = null;
  let condition: HighWaterCondition = { kind: 'below', sequence: plan.firstSequence };
  let writes = 0;
  let replayed = false;
  for (;;) {
    let part: ReturnType<ItemPlan['owedPart']>;
    try {
      part = item.owedPart(held, fits);
    } catch (error) {
      if (error instanceof WriteTooLargeError) throw new ItemConflictError(item.key, shardId, error.reason);
      throw error;
    }
    const outcome = await store.writeItem({
      key: item.key,
      delta: part.delta,
      shardId,
      condition,
      highWaterMark: part.through ?? plan.lastSequence,
    });
    writes++;
    if (outcome.applied) {
      if (part.through === null) return { writes, replayed };
      held = part.through;
      condition = { kind: 'equals', sequence: held };
      crash(CrashWindow.BetweenItems);
      continue;
    }
    if (condition.kind === 'equals') {
      throw new ItemConflictError(
        item.key,
        shardId,
        `high-water mark moved from ${condition.sequence} during the flush`,
      );
    }
    const mark = outcome.highWaterMark;
    if (mark === null || mark < plan.firstSequence) {
      throw new ItemConflictError(item.key, shardId, 'condition failed without a replay (label collision?)');
    }
    replayed = true;
    if (mark >= plan.lastSequence) return { writes, replayed };
    held = mark;
    condition = { kind: 'equals', sequence: mark };
  }
}

/**
 * Applies one shard's micro-batch (records in any order, duplicates allowed) exactly once.
 *
 * @example
 * const result = await flushBatch(store, 'shardId-000000000000', records);
 */
export async function flushBatch(
  store: ShardStore,
  shardId: string,
  records: readonly BatchRecord[],
  options: FlushOptions = {},
): Promise<FlushResult> {
  const crash = options.crashAt ?? (() => {});
  const orderIds = [...new Set(records.map((record) => record.event.orderId))];
  const loaded = await store.loadStates(orderIds);
  const initial = new Map<string, OrderState>();
  for (const [orderId, versioned] of loaded) initial.set(orderId, versioned.state);
  const plan = planBatch(initial, records);

  crash(CrashWindow.BeforeItems);
  // The items the live dashboards read first: they are few and shared by many orders, so a record
  // shows on the dashboards once they are written, not after every customer of its batch. The
  // order of item writes within a flush does not matter for exactness (each item has its own
  // high-water mark).
  const { shared, customers } = splitItems(plan.items.values());
  let itemWrites = 0;
  let replayedItems = 0;
  await mapConcurrent(shared, options.concurrency ?? 16, async (item) => {
    const outcome = await writeItemPlan(store, shardId, plan, item, crash);
    itemWrites += outcome.writes;
    if (outcome.replayed) replayedItems++;
  });
  const parts = await nextCustomerParts(store, shardId, plan, customers);
  replayedItems += parts.replayed;
  itemWrites += parts.puts.length;
  // In two parts, so that a crash can fall between item writes.
  const half = Math.floor(parts.puts.length / 2);
  if (half > 0) await store.putOwnedItems(parts.puts.slice(0, half));
  if (plan.items.size > 0) crash(CrashWindow.BetweenItems);
  if (parts.puts.length > half) await store.putOwnedItems(parts.puts.slice(half));

  crash(CrashWindow.BeforeLedger);
  const states: LedgerWrite[] = [...plan.changedStates].map(([orderId, state]) => ({
    state,
    replacesVersion: loaded.get(orderId)?.version ?? null,
  }));
  // In two parts, so that a crash can fall between them.
  const firstPart = Math.ceil(states.length / 2);
  if (firstPart > 0) await store.saveStates(states.slice(0, firstPart));
  if (states.length > 1) crash(CrashWindow.BetweenLedger);
  if (states.length > firstPart) await store.saveStates(states.slice(firstPart));
  const ledgerWrites = states.length;

  const lastSequence = plan.lastSequence.toString();
  crash(CrashWindow.BeforeCheckpoint);
  if (!options.skipCheckpoint) await store.saveCheckpoint(shardId, lastSequence);
  crash(CrashWindow.AfterCheckpoint);

  return {
    records: records.length,
    duplicateRecords: plan.duplicateRecords,
    ordersChanged: plan.changedStates.size,
    itemWrites,
    replayedItems,
    ledgerWrites,
    lastSequence,
  };
}
