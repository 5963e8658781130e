import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BatchRecord } from '../../../aggregates/batch.js';
import { CrashWindow, flushBatch, InjectedCrash } from '../../../processors/shard/flush.js';
import type { OrderEvent } from '../../../shared/schemas/order-event.js';
import { deliveryArbitrary, eventsArbitrary, sampleEvents } from '../aggregates/generators.js';
import { normaliseTable, referenceItems } from '../aggregates/reference.js';
import { MemoryShardStore } from './memory-store.js';

const SHARDS = ['shardId-000000000000', 'shardId-000000000001'] as const;
const WINDOWS = Object.values(CrashWindow);
/** Kinesis-sized sequence numbers, far beyond 2^53, to exercise the BigInt path. */
const KINESIS_SEQUENCE = 49_590_338_271_490_256_608_559_692_538_361_571_095_921_575_989_136_588_898n;

/** Orders go to a shard by their id, like a partition key; sequence numbers grow per shard. */
function toShards(delivered: readonly OrderEvent[]): Map<string, BatchRecord[]> {
  const shards = new Map<string, BatchRecord[]>(SHARDS.map((shard) => [shard, []]));
  delivered.forEach((event, index) => {
    const shard = SHARDS[Number(event.orderId.replace(/\D/g, '')) % SHARDS.length]!;
    const sequence = KINESIS_SEQUENCE + BigInt(index * 1000);
    shards.get(shard)?.push({ sequence, event });
  });
  return shards;
}

interface Fault {
  readonly window: (typeof WINDOWS)[number] | null;
}

/**
 * Runs every shard to its end: batches of the given sizes from the checkpoint, a crash when the
 * next fault says so (then a restart from the checkpoint with the next batch size).
 */
async function runWithFaults(
  store: MemoryShardStore,
  shards: Map<string, BatchRecord[]>,
  batchSizes: readonly number[],
  faults: readonly Fault[],
): Promise<{ crashes: Set<string> }> {
  const crashes = new Set<string>();
  let step = 0;
  let pending = true;
  while (pending) {
    pending = false;
    for (const [shardId, records] of shards) {
      const checkpoint = store.checkpoints.get(shardId);
      const start =
        checkpoint === undefined ? 0 : records.findIndex((record) => record.sequence > BigInt(checkpoint));
      if (start < 0 || start >= records.length) continue;
      pending = true;
      const size = batchSizes[step % batchSizes.length]!;
      const fault = faults[step];
      step++;
      try {
        await flushBatch(store, shardId, records.slice(start, start + size), {
          concurrency: 3,
          crashAt: (window) => {
            if (fault?.window === window) throw new InjectedCrash(window);
          },
        });
      } catch (error) {
        if (!(error instanceof InjectedCrash)) throw error;
        crashes.add(error.window);
      }
    }
  }
  return { crashes };
}

/** Events, their delivery (duplicates, any order), batch sizes up to `maxBatch` and crash windows. */
const faultScenario = (maxBatch: number) =>
  eventsArbitrary(10).chain((events) =>
    fc.tuple(
      fc.constant(events),
      deliveryArbitrary(events),
      fc.array(fc.integer({ min: 1, max: maxBatch }), { minLength: 1, maxLength: 20 }),
      fc.array(fc.record({ window: fc.option(fc.constantFrom(...WINDOWS), { freq: 2 }) }), {
        maxLength: 30,
      }),
    ),
  );

describe('flushBatch with crashes (memory store)', () => {
  it('any crashes, replays with other batch boundaries and duplicates give the exact items', async () => {
    const scenario = faultScenario(7);
    await fc.assert(
      fc.asyncProperty(scenario, async ([events, delivered, batchSizes, faults]) => {
        // Prepare
        const store = new MemoryShardStore();
        // Act
        await runWithFaults(store, toShards(delivered), batchSizes, faults);
        // Assess
        expect(normaliseTable(store.table())).toEqual(referenceItems(events));
      }),
      { numRuns: 200 },
    );
  }, 60_000);

  it('writes an item whose batch delta exceeds one update in runs of records, exactly through crashes', async () => {
    // Prepare: updates of at most 30 counters and 4 labels (one record's fits; a batch's often not)
    const limits = { counters: 30, labels: 4 };
    const scenario = faultScenario(9);
    let splitRuns = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async ([events, delivered, batchSizes, faults]) => {
        // Prepare
        const store = new MemoryShardStore(limits);
        const unbounded = new MemoryShardStore();
        // Act
        await runWithFaults(store, toShards(delivered), batchSizes, faults);
        await runWithFaults(unbounded, toShards(delivered), batchSizes, []);
        // Assess
        expect(normaliseTable(store.table())).toEqual(referenceItems(events));
        if (faults.length === 0 && store.itemWrites > unbounded.itemWrites) splitRuns++;
      }),
      { numRuns: 200 },
    );
    // The bounds were reached: some runs needed more writes than one per item and batch.
    expect(splitRuns).toBeGreaterThan(0);
  }, 60_000);

  it('a crash after any write of a flush, not only in the named windows, is recovered exactly', async () => {
    // Between two shared items' conditional updates, say: the named windows fall before or after
    // all of them. One request at a time, so the k-th request is the same on every replay.
    let crashedAmidItems = 0;
    const scenario = eventsArbitrary(10).chain((events) =>
      fc.tuple(
        fc.constant(events),
        deliveryArbitrary(events),
        fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 10 }),
        fc.array(fc.option(fc.integer({ min: 1, max: 12 }), { freq: 2 }), { maxLength: 10 }),
      ),
    );
    await fc.assert(
      fc.asyncProperty(scenario, async ([events, delivered, batchSizes, crashAfter]) => {
        // Prepare: the store's writes counted per flush, the k-th one crashing once it has landed
        const store = new MemoryShardStore();
        let requests = 0;
        let crashAt: number | null = null;
        const crashingAfter =
          <A extends unknown[], R>(send: (...args: A) => Promise<R>) =>
          async (...args: A): Promise<R> => {
            const result = await send(...args);
            requests++;
            if (requests === crashAt) throw new InjectedCrash(CrashWindow.BetweenItems);
            return result;
          };
        store.writeItem = crashingAfter(store.writeItem.bind(store));
        store.putOwnedItems = crashingAfter(store.putOwnedItems.bind(store));
        store.saveStates = crashingAfter(store.saveStates.bind(store));
        store.saveCheckpoint = crashingAfter(store.saveCheckpoint.bind(store));
        const shards = toShards(delivered);

        // Act: every shard to its end, from its checkpoint after each crash
        let step = 0;
        for (let pending = true; pending; ) {
          pending = false;
          for (const [shardId, records] of shards) {
            const checkpoint = store.checkpoints.get(shardId);
            const start =
              checkpoint === undefined
                ? 0
                : records.findIndex((record) => record.sequence > BigInt(checkpoint));
            if (start < 0 || start >= records.length) continue;
            pending = true;
            requests = 0;
            crashAt = crashAfter[step] ?? null;
            const size = batchSizes[step % batchSizes.length]!;
            step++;
            const writesBefore = store.itemWrites;
            try {
              await flushBatch(store, shardId, records.slice(start, start + size), { concurrency: 1 });
            } catch (error) {
              if (!(error instanceof InjectedCrash)) throw error;
              if (store.itemWrites > writesBefore) crashedAmidItems++;
            }
          }
        }

        // Assess
        expect(normaliseTable(store.table())).toEqual(referenceItems(events));
      }),
      { numRuns: 300 },
    );
    // Some crashes came after some of a batch's item writes had landed.
    expect(crashedAmidItems).toBeGreaterThan(0);
  }, 120_000);

  describe.each(WINDOWS)('a crash at %s', (window) => {
    it('is recovered exactly on restart, with other batch boundaries', async () => {
      // Prepare: a fixed data set, a crash in this window on every shard's first two flushes
      const events = sampleEvents(12, 42);
      const delivered = fc.sample(deliveryArbitrary(events), { seed: 7, numRuns: 1 })[0]!;
      const store = new MemoryShardStore();
      // Act
      const { crashes } = await runWithFaults(
        store,
        toShards(delivered),
        [6, 3, 8, 5],
        [{ window }, { window }, { window }, { window }],
      );
      // Assess
      expect(crashes).toEqual(new Set([window]));
      expect(normaliseTable(store.table())).toEqual(referenceItems(events));
    });
  });

  it('writes each touched item once per batch', async () => {
    // Prepare
    const events = sampleEvents(12, 3);
    const store = new MemoryShardStore();
    const records = events.map((event, index) => ({ sequence: BigInt(index + 1), event }));
    // Act
    const result = await flushBatch(store, SHARDS[0], records);
    // Assess
    expect(result.itemWrites).toBe(store.items.size);
    expect(store.itemWrites).toBe(store.items.size);
  });

  it('fails only once the item updates in flight have landed, and starts none after the failure', async () => {
    // Prepare: the first update fails at once; the others in flight with it take a while.
    const events = sampleEvents(12, 3);
    const records = events.map((event, index) => ({ sequence: BigInt(index + 1), event }));
    const store = new MemoryShardStore();
    const write = store.writeItem.bind(store);
    let started = 0;
    let inFlight = 0;
    store.writeItem = async (item) => {
      started++;
      if (started === 1) throw new Error('no capacity');
      inFlight++;
      await new Promise((resolve) => setTimeout(resolve, 20));
      inFlight--;
      return write(item);
    };
    // Act
    const outcome = await flushBatch(store, SHARDS[0], records, { concurrency: 3 }).then(
      () => 'resolved',
      (error: Error) => error.message,
    );
    // Assess: the two updates started with the failed one landed; no fourth one started.
    expect(outcome).toBe('no capacity');
    expect(inFlight).toBe(0);
    expect(started).toBe(3);
  });
});
