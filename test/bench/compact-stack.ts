/**
 * The whole compaction on the embedded stack (issue #9's `stack_customers`, `stack_seconds`):
 * a fresh stack is loaded with the aggregates items the shard processors would have written for a
 * synthetic chain (customer-month, location-day, location totals and chain-day items, built with
 * the product's own `contributionDeltas` and `applyDelta`, put with BatchWriteItem), then
 * `runCompaction` runs as `tillstream compact` does: parallel Scan, every mart, the CSV + Parquet
 * snapshot to S3 with its manifest, and the customer profiles written back.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CategoryFigures, OrderContribution } from '../../aggregates/contribution.js';
import { applyDelta, contributionDeltas, type PlainItem } from '../../aggregates/delta.js';
import { dateFromDayNumber, dayNumber } from '../../aggregates/time.js';

const LOCATIONS = 50;
/** Customers order over the 120 days ending on as_of: a few months of a chain, as the demo has. */
const DAYS = 120;
const AS_OF = '2024-06-30';
const CATEGORIES = ['Burgers', 'Sides', 'Drinks', 'Desserts', 'Salads', 'Kids'];
const BATCH_WRITE_ITEMS = 25;
const BATCH_WRITE_CONCURRENCY = 8;

/**
 * Every aggregates item of a deterministic chain of `customers` customers (1–4 orders each, about
 * one order in eleven from a guest on top), as the processors would have left them.
 */
export function syntheticAggregateItems(customers: number): { items: PlainItem[]; orders: number } {
  let state = 0x85ebca6b;
  const next = (bound: number): number => {
    state = (Math.imul(state ^ (state >>> 13), 0x5bd1e995) + 0x1b873593) >>> 0;
    return state % bound;
  };
  const firstDay = dayNumber(AS_OF) - DAYS + 1;
  const locationIds = Array.from(
    { length: LOCATIONS },
    (_, index) => `65a${(index * 104_729).toString(16).padStart(6, '0')}b1c2d3e4f5a6b7`,
  );
  const items = new Map<string, PlainItem>();
  let orders = 0;
  const addOrder = (customerId: string | null, restaurantId: string, isLoyalty: boolean): void => {
    const day = firstDay + next(DAYS);
    const hour = 7 + next(16);
    const byCategory = new Map<string, CategoryFigures>();
    let netCents = 0;
    let lineItems = 0;
    const categories = 1 + next(3);
    for (let index = 0; index < categories; index++) {
      const category = CATEGORIES[next(CATEGORIES.length)]!;
      const quantity = 1 + next(2);
      const cents = quantity * (199 + next(1200));
      const known = byCategory.get(category) ?? { category, items: 0, netCents: 0 };
      byCategory.set(category, { category, items: known.items + quantity, netCents: known.netCents + cents });
      netCents += cents;
      lineItems += quantity;
    }
    const discountCents = next(25) === 0 ? 100 + next(300) : 0;
    const contribution: OrderContribution = {
      orderId: `o${orders}`,
      restaurantId,
      customerId,
      instantMs: day * 86_400_000 + hour * 3_600_000,
      localDate: dateFromDayNumber(day),
      hour,
      isLoyalty,
      isDiscounted: discountCents > 0,
      items: lineItems,
      netCents: netCents - discountCents,
      grossCents: netCents,
      discountCents,
      categories: [...byCategory.values()],
    };
    orders++;
    for (const [id, delta] of contributionDeltas(null, contribution)) {
      items.set(id, applyDelta(items.get(id), delta));
    }
  };
  for (let customer = 0; customer < customers; customer++) {
    const home = locationIds[next(LOCATIONS)]!;
    const member = next(10) < 3;
    const orderCount = 1 + (next(3) === 0 ? 1 + next(3) : 0);
    for (let order = 0; order < orderCount; order++) {
      addOrder(
        `u${String(customer).padStart(8, '0')}`,
        next(6) === 0 ? locationIds[next(LOCATIONS)]! : home,
        member,
      );
      if (next(11) === 0) addOrder(null, home, false);
    }
  }
  return { items: [...items.values()], orders };
}

/** Puts every item with BatchWriteItem, retrying unprocessed items. */
async function putItems(
  doc: DynamoDBDocumentClient,
  table: string,
  items: readonly PlainItem[],
): Promise<void> {
  let nextBatch = 0;
  await Promise.all(
    Array.from({ length: BATCH_WRITE_CONCURRENCY }, async () => {
      while (nextBatch * BATCH_WRITE_ITEMS < items.length) {
        const start = nextBatch++ * BATCH_WRITE_ITEMS;
        let requests = items
          .slice(start, start + BATCH_WRITE_ITEMS)
          .map((item) => ({ PutRequest: { Item: item as Record<string, unknown> } }));
        for (let attempt = 1; requests.length > 0; attempt++) {
          if (attempt > 20)
            throw new Error(`bench compact: BatchWriteItem kept ${requests.length} items unprocessed`);
          const response = await doc.send(new BatchWriteCommand({ RequestItems: { [table]: requests } }));
          requests = (response.UnprocessedItems?.[table] ?? []) as typeof requests;
          if (requests.length > 0) await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
        }
      }
    }),
  );
}

/** What the stack compaction measured. */
export interface StackCompactionMeasure {
  readonly customers: number;
  readonly orders: number;
  readonly items: number;
  readonly loadSeconds: number;
  /** `runCompaction` end to end: scan, marts, snapshot, profiles written back. */
  readonly seconds: number;
  readonly scanSeconds: number;
  readonly computeSeconds: number;
  readonly snapshotSeconds: number;
  readonly profilesSeconds: number;
  readonly cpuSeconds: number;
}

/**
 * Loads a fresh embedded stack with the aggregates of `customers` customers and times one
 * compaction of it.
 */
export async function measureStackCompaction(customers: number): Promise<StackCompactionMeasure> {
  const [{ startLocalStack }, { bootstrapLocalResources }, { defaults }, { resourceNames }, clientsModule] =
    await Promise.all([
      import('../../shared/local/stack.js'),
      import('../../shared/aws/bootstrap.js'),
      import('../../shared/config.js'),
      import('../../shared/resources.js'),
      import('../../shared/aws/clients.js'),
    ]);
  const { runCompaction } = await import('../../processors/compaction/job.js');
  const stateDir = await mkdtemp(join(tmpdir(), 'tillstream-bench-compact-stack-'));
  const stack = await startLocalStack({ stateDir, fresh: true });
  const clients = clientsModule.createClients({ kind: 'local', endpoints: stack.endpoints });
  try {
    const names = resourceNames(defaults);
    await bootstrapLocalResources(stack.endpoints, names, { shardCount: defaults.shardCount });
    const { items, orders } = syntheticAggregateItems(customers);
    const loadStarted = performance.now();
    await putItems(clients.doc, names.aggregatesTable, items);
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    const cpu = process.cpuUsage();
    const started = performance.now();
    const result = await runCompaction(clients, names, { asOf: AS_OF, codeVersion: 'bench' });
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const { scan, compute, write } = result.timingsMs;
    if (result.customers !== customers) {
      throw new Error(
        `bench compact: the compaction saw ${result.customers} customers, ${customers} were loaded`,
      );
    }
    return {
      customers: result.customers,
      orders,
      items: items.length,
      loadSeconds,
      seconds,
      scanSeconds: scan / 1000,
      computeSeconds: compute / 1000,
      snapshotSeconds: write / 1000,
      profilesSeconds: seconds - (scan + compute + write) / 1000,
      cpuSeconds: (used.user + used.system) / 1e6,
    };
  } finally {
    clients.destroy();
    await stack.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
}
