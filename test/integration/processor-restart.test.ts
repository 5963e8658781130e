/**
 * The long-running processor (`tillstream up`, `process` without `--until-caught-up`) after a
 * consumer fails: the shard is consumed again from its checkpoint after a backoff, its status item
 * carries the error meanwhile, and the other shards run on; a crash ends the whole run.
 */
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { putRecords } from '../../ingest/producer.js';
import { lagReport } from '../../processors/shard/cli.js';
import { DynamoShardStore, type ShardStateItem } from '../../processors/shard/dynamo-store.js';
import { CrashWindow, InjectedCrash } from '../../processors/shard/flush.js';
import { readShardLag } from '../../processors/shard/lag.js';
import { runShardProcessors } from '../../processors/shard/runner.js';
import { useEmbeddedStack } from '../support/embedded-stack.js';
import { lastSequences, orderRecords, storedTable } from '../support/processor-fixtures.js';
import { sampleEvents } from '../unit/aggregates/generators.js';
import { referenceItems } from '../unit/aggregates/reference.js';

const FAST = { idlePollMs: 30, batchMaxWaitMs: 20, batchMaxRecords: 7 } as const;

/** Polls `read` until `done` holds of its value (or fails after `ms`). */
async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > until) throw new Error(`not reached in ${ms} ms: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the long-running shard processor after a failure', () => {
  const embedded = useEmbeddedStack('restart');
  const freshStream = () => embedded.freshResources(2);

  it('consumes a failing shard again from its checkpoint, showing the error until it recovers', async () => {
    // Prepare: every update of shard 0's items is throttled (past a budget of one attempt) while
    // `failing` holds.
    const names = await freshStream();
    const events = sampleEvents(40, 11);
    await putRecords(embedded.clients.kinesis, names.ordersStream, orderRecords(events));
    const last = await lastSequences(embedded.clients.kinesis, names.ordersStream);
    let failing = true;
    const send = embedded.clients.doc.send.bind(embedded.clients.doc);
    const doc = {
      send: (command: UpdateCommand) => {
        if (
          failing &&
          command instanceof UpdateCommand &&
          command.input.ExpressionAttributeNames?.['#w'] === 'w0'
        ) {
          const error = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
          return Promise.reject(error);
        }
        return send(command);
      },
    } as unknown as DynamoDBDocumentClient;
    const store = new DynamoShardStore(embedded.clients.doc, names, { streamName: names.ordersStream });
    const logged: string[] = [];
    const stop = new AbortController();

    // Act
    const run = runShardProcessors(embedded.clients.kinesis, doc, names, {
      ...FAST,
      retry: { maxAttempts: 1 },
      restartDelayMs: 100,
      restartMaxMs: 400,
      signal: stop.signal,
      log: (line) => logged.push(line),
    });
    const failed = await waitFor(
      () => store.listShardStates(),
      (states) =>
        states.some((state) => state.error !== undefined) &&
        states.some((state) => state.checkpoint === last.get(state.shardId)?.toString()),
    );
    failing = false;
    const caughtUp = (states: ShardStateItem[]) =>
      states.length === 2 &&
      states.every(
        (state) => state.checkpoint === last.get(state.shardId)?.toString() && state.error === undefined,
      );
    const recovered = await waitFor(() => store.listShardStates(), caughtUp);
    stop.abort();
    const summary = await run;

    // Assess: the failing shard showed its error while the other caught up; then it caught up too,
    // every record applied once.
    const failedShard = failed.find((state) => state.error !== undefined)!;
    expect(failedShard.error).toMatch(/ThrottlingException/);
    expect(lagReport(failed, 60_000, Date.now()).failing).toBe(true);
    expect(lagReport(recovered, 60_000, Date.now()).failing).toBe(false);
    expect(logged.some((line) => /consuming it again from its checkpoint in \d+ ms/.test(line))).toBe(true);
    expect(summary.shards).toHaveLength(2);
    expect(await storedTable(embedded.clients, names.aggregatesTable)).toEqual(referenceItems(events));
  }, 60_000);

  it('ends the whole run on a crash, stopping the other shards', async () => {
    // Prepare
    const names = await freshStream();
    await putRecords(embedded.clients.kinesis, names.ordersStream, orderRecords(sampleEvents(40, 12)));
    let crashes = 0;

    // Act: no signal is ever aborted; only the crash can end the run.
    const outcome = await runShardProcessors(embedded.clients.kinesis, embedded.clients.doc, names, {
      ...FAST,
      crashAt: (window) => {
        if (window === CrashWindow.BeforeLedger && crashes++ === 0) throw new InjectedCrash(window);
      },
    }).then(
      () => 'resolved',
      (error: unknown) => (error instanceof InjectedCrash ? error.window : String(error)),
    );

    // Assess
    expect(outcome).toBe(CrashWindow.BeforeLedger);
  }, 30_000);

  it('does not promise to consume again a shard that fails while a crash ends the run', async () => {
    // Prepare: shard 1's item updates are held; once one is held, the next flush to start (shard
    // 0's second) crashes, and the held updates then fail.
    const names = await freshStream();
    await putRecords(embedded.clients.kinesis, names.ordersStream, orderRecords(sampleEvents(40, 14)));
    // Shard 0's updates wait until one of shard 1's is held, so its next flush starts after that.
    const held: Array<(error: Error) => void> = [];
    let firstHeld: () => void = () => {};
    const shard1Held = new Promise<void>((resolve) => (firstHeld = resolve));
    let crashed = false;
    const send = embedded.clients.doc.send.bind(embedded.clients.doc);
    const doc = {
      send: async (command: UpdateCommand) => {
        const shard =
          command instanceof UpdateCommand ? command.input.ExpressionAttributeNames?.['#w'] : undefined;
        if (shard === 'w1') {
          if (crashed) throw new Error('held update failed');
          firstHeld();
          return new Promise((_, reject) => held.push(reject));
        }
        if (shard === 'w0') await shard1Held;
        return send(command);
      },
    } as unknown as DynamoDBDocumentClient;
    const logged: string[] = [];

    // Act
    const outcome = await runShardProcessors(embedded.clients.kinesis, doc, names, {
      ...FAST,
      log: (line) => logged.push(line),
      crashAt: (window) => {
        if (window !== CrashWindow.BeforeItems || held.length === 0 || crashed) return;
        crashed = true;
        setTimeout(() => {
          for (const reject of held) reject(new Error('held update failed'));
        }, 100);
        throw new InjectedCrash(window);
      },
    }).then(
      () => 'resolved',
      (error: unknown) => (error instanceof InjectedCrash ? error.window : String(error)),
    );

    // Assess: the run ends on the crash; shard 1's failure is logged as final, not as a restart
    expect(outcome).toBe(CrashWindow.BeforeItems);
    expect(logged.filter((line) => /consuming it again/.test(line))).toEqual([]);
    expect(logged).toContainEqual(
      expect.stringMatching(
        /^shard shardId-000000000001: .*held update failed.*not consumed again, the run is stopping$/,
      ),
    );
  }, 30_000);

  it("lag reads each shard's backlog from the stream, whether or not a processor runs", async () => {
    // Prepare: records put, nothing processed yet
    const names = await freshStream();
    await putRecords(embedded.clients.kinesis, names.ordersStream, orderRecords(sampleEvents(20, 13)));
    const store = new DynamoShardStore(embedded.clients.doc, names, { streamName: names.ordersStream });
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Act
    const before = await readShardLag(embedded.clients.kinesis, store, names.ordersStream, Date.now());
    await runShardProcessors(embedded.clients.kinesis, embedded.clients.doc, names, {
      ...FAST,
      untilCaughtUp: true,
    });
    const after = await readShardLag(embedded.clients.kinesis, store, names.ordersStream, Date.now());
    // Assess: before, every shard's oldest record had waited at least 300 ms (kinesalite's
    // MillisBehindLatest says 0); after, nothing waits
    expect(before.map((shard) => shard.shardId)).toEqual(['shardId-000000000000', 'shardId-000000000001']);
    for (const shard of before) {
      expect(shard.checkpoint).toBeUndefined();
      expect(shard.pendingMs).toBeGreaterThanOrEqual(300);
    }
    expect(lagReport(before, 250, Date.now()).behind).toBe(true);
    for (const shard of after) {
      expect(shard.checkpoint).toBeDefined();
      expect(shard.pendingMs).toBe(0);
    }
    expect(lagReport(after, 250, Date.now()).behind).toBe(false);
  }, 30_000);

  it('leaves the rates of a short run in the status items, so lag shows them', async () => {
    // Prepare: a run shorter than the one second between a busy shard's status writes, whatever
    // the machine's speed: the processor's clock runs a hundred times slower than the wall's
    const names = await freshStream();
    await putRecords(embedded.clients.kinesis, names.ordersStream, orderRecords(sampleEvents(20, 15)));
    const store = new DynamoShardStore(embedded.clients.doc, names, { streamName: names.ordersStream });
    const startedAt = Date.now();
    // Act
    const summary = await runShardProcessors(embedded.clients.kinesis, embedded.clients.doc, names, {
      ...FAST,
      untilCaughtUp: true,
      now: () => startedAt + (Date.now() - startedAt) / 100,
    });
    const after = await readShardLag(embedded.clients.kinesis, store, names.ordersStream, Date.now());
    // Assess: every shard that had records has non-zero rates, and the lag table prints them
    const report = lagReport(after, 60_000, Date.now());
    for (const shard of summary.shards) {
      expect(shard.records).toBeGreaterThan(0);
      const state = after.find((candidate) => candidate.shardId === shard.shardId)!;
      expect(state.recordsPerSecond).toBeGreaterThan(0);
      expect(state.ordersPerSecond).toBeGreaterThan(0);
      expect(state.ordersPerSecond).toBeLessThanOrEqual(state.recordsPerSecond!);
      const line = report.lines.find((candidate) => candidate.startsWith(shard.shardId))!;
      // shard, lag ms, iterator age ms, behind latest ms, records/s, orders/s, checkpoint…
      expect(line.split(/\s+/).slice(4, 6)).toEqual([
        String(state.recordsPerSecond),
        String(state.ordersPerSecond),
      ]);
    }
  }, 30_000);
});
