/**
 * An in-memory `ShardStore` with DynamoDB's semantics for what the flush relies on: conditional
 * updates that either apply whole or not at all, ADD on missing counters, ledger puts that check the
 * flush's single-writer invariant.
 */
import { applyDelta, type ItemDelta, type PlainItem } from '../../../aggregates/delta.js';
import {
  Attr,
  type ItemKey,
  itemId,
  sequenceFromSortKey,
  sequenceSortKey,
  shardCode,
} from '../../../aggregates/keys.js';
import { decodeOrderState, encodeOrderState } from '../../../aggregates/order-state.js';
import type { ItemWrite, LedgerWrite, ShardStore, VersionedState } from '../../../processors/shard/flush.js';

/** Bounds on one item update, as DynamoDB's on expressions, small enough for tests to reach. */
export interface WriteLimits {
  readonly counters: number;
  readonly labels: number;
}

export class MemoryShardStore implements ShardStore {
  readonly items = new Map<string, PlainItem>();
  readonly ledger = new Map<string, { text: string; version: number }>();
  readonly checkpoints = new Map<string, string>();
  itemWrites = 0;

  /** Without `limits` any delta fits in one write. */
  constructor(readonly limits?: WriteLimits) {}

  fitsOneWrite(delta: ItemDelta): boolean {
    if (this.limits === undefined) return true;
    const counters = delta.values.filter((value) => value !== 0).length;
    return counters <= this.limits.counters && Object.keys(delta.labels).length <= this.limits.labels;
  }

  async loadStates(orderIds: readonly string[]): Promise<Map<string, VersionedState>> {
    const result = new Map<string, VersionedState>();
    for (const orderId of orderIds) {
      const entry = this.ledger.get(orderId);
      if (entry) result.set(orderId, { state: decodeOrderState(entry.text), version: entry.version });
    }
    return result;
  }

  async writeItem(
    write: ItemWrite,
  ): Promise<{ applied: true } | { applied: false; highWaterMark: bigint | null }> {
    // DynamoDB refuses an update beyond its bounds whatever the item holds.
    if (!this.fitsOneWrite(write.delta))
      throw new Error(`ValidationException: update of ${itemId(write.key)} too large`);
    this.itemWrites++;
    const id = itemId(write.key);
    const item = this.items.get(id);
    const hwmName = Attr.highWaterMark(shardCode(write.shardId));
    const stored = item?.[hwmName];
    const held = typeof stored === 'string' ? sequenceFromSortKey(stored) : null;
    const hwmHolds =
      write.condition.kind === 'below'
        ? held === null || held < write.condition.sequence
        : held === write.condition.sequence;
    const labelsHold = Object.entries(write.delta.labels).every(
      ([name, value]) => item?.[name] === undefined || item[name] === value,
    );
    if (!hwmHolds || !labelsHold) return { applied: false, highWaterMark: held };
    const updated = applyDelta(item, write.delta);
    updated[hwmName] = sequenceSortKey(write.highWaterMark);
    this.items.set(id, updated);
    return { applied: true };
  }

  async readOwnedItems(keys: readonly ItemKey[]): Promise<Map<string, PlainItem>> {
    const result = new Map<string, PlainItem>();
    for (const key of keys) {
      const item = this.items.get(itemId(key));
      if (item !== undefined) result.set(itemId(key), { ...item });
    }
    return result;
  }

  async putOwnedItems(items: readonly PlainItem[]): Promise<void> {
    for (const item of items) {
      this.itemWrites++;
      this.items.set(itemId(item), { ...item });
    }
  }

  /** Also checks the flush's single-writer invariant: each state replaces the version it was read at. */
  async saveStates(writes: readonly LedgerWrite[]): Promise<void> {
    for (const { state, replacesVersion } of writes) {
      const current = this.ledger.get(state.orderId);
      if ((current?.version ?? null) !== replacesVersion) {
        throw new Error(
          `order ${state.orderId} changed in the ledger since version ${replacesVersion ?? 'none'}`,
        );
      }
      this.ledger.set(state.orderId, { text: encodeOrderState(state), version: (replacesVersion ?? 0) + 1 });
    }
  }

  async saveCheckpoint(shardId: string, sequence: string): Promise<void> {
    this.checkpoints.set(shardId, sequence);
  }

  /** Items as `pk|sk` → attributes, for `normaliseTable`. */
  table(): [string, Record<string, unknown>][] {
    return [...this.items.values()].map((item) => [`${item.pk}|${item.sk}`, item]);
  }
}
