/**
 * Measures the shard processor on the local stack: records/s and writes per order.
 * Usage: node --openssl-legacy-provider --import tsx test/integration/processor-measure.ts [dynalite|local-jar] [orders]
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { putRecords } from '../../ingest/producer.js';
import { runShardProcessors } from '../../processors/shard/runner.js';
import { bootstrapLocalResources } from '../../shared/aws/bootstrap.js';
import { createClients } from '../../shared/aws/clients.js';
import { startLocalStack } from '../../shared/local/stack.js';
import { resourceNames } from '../../shared/resources.js';
import { encodeOrderEvent } from '../../shared/schemas/order-event.js';
import { sampleEvents } from '../unit/aggregates/generators.js';

const engine = (process.argv[2] ?? 'dynalite') as 'dynalite' | 'local-jar';
const orders = Number(process.argv[3] ?? 3000);
const names = resourceNames({ resourcePrefix: 'bench' });
const stack = await startLocalStack({
  stateDir: await mkdtemp(join(tmpdir(), 'procbench-')),
  fresh: true,
  dynamoEngine: engine,
});
await bootstrapLocalResources(stack.endpoints, names, { shardCount: 2 });
const clients = createClients({ kind: 'local', endpoints: stack.endpoints });
const events = sampleEvents(orders, 99);
await putRecords(
  clients.kinesis,
  names.ordersStream,
  events.map((e) => ({ partitionKey: e.orderId, data: encodeOrderEvent(e) })),
);
const started = performance.now();
const summary = await runShardProcessors(clients.kinesis, clients.doc, names, { untilCaughtUp: true });
const seconds = (performance.now() - started) / 1000;
console.log(
  JSON.stringify({
    engine,
    orders,
    records: summary.records,
    seconds: Number(seconds.toFixed(2)),
    recordsPerSecond: Math.round(summary.records / seconds),
    itemWrites: summary.itemWrites,
    ledgerWrites: summary.ordersChanged,
    itemWritesPerOrder: Number((summary.itemWrites / orders).toFixed(3)),
    batches: summary.shards.map((s) => s.batches),
  }),
);
clients.destroy();
await stack.stop();
