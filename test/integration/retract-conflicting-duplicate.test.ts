/**
 * Retracting the winner of a `conflicting_duplicate`: the later file is read again and its row is
 * accepted. Its report, `tillstream quarantine`, `status` and `requeue` must then agree that the
 * row is no longer quarantined: before the fix the stale quarantine record was still listed, and
 * `requeue` put a record for it, then failed on the report (`quarantined -1 ≠ Σ by reason 0`).
 * A row `requeue` had taken in before the retraction stays taken in when its file is read again.
 */
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listQuarantinedRows } from '../../ingest/quarantine.js';
import { getObjectBytes, getReport, quarantinePrefix, reportKey } from '../../ingest/raw-layer.js';
import type { IngestReport } from '../../ingest/report.js';
import { listQuarantineKeys, runRequeue } from '../../ingest/requeue.js';
import { PollerState } from '../../ingest/state.js';
import { exportSnapshot } from '../../processors/compaction/snapshot.js';
import { runPipeline } from '../../processors/pipeline/run.js';
import { retractFile } from '../../processors/retract/retract.js';
import { runShardProcessors } from '../../processors/shard/runner.js';
import { collectStatus } from '../../processors/status/collect.js';
import { readStream, streamRows } from '../support/ingest-stack.js';
import { type PipelineStack, startPipelineStack } from '../support/pipeline-stack.js';

const HEADER =
  'APP_NAME,RESTAURANT_ID,CREATION_TIME_UTC,ORDER_ID,USER_ID,PRINTED_CARD_NUMBER,IS_LOYALTY,CURRENCY,LINEITEM_ID,ITEM_CATEGORY,ITEM_NAME,ITEM_PRICE,ITEM_QUANTITY';
const AS_OF = '2023-08-20';
const BASE_MS = Date.parse('2024-01-10T09:00:00Z');
const RUN_MS = BASE_MS + 3_600_000;
const RETRACT_MS = BASE_MS + 7_200_000;

describe('retract: a conflicting duplicate of the withdrawn row, read again', () => {
  // One stack per test: the second must not see the first's files.
  let stack: PipelineStack;
  beforeEach(async () => {
    stack = await startPipelineStack('retract-conflict');
  });
  afterEach(async () => {
    await stack?.close();
  });

  const drop = async (input: string, name: string, rows: readonly string[], minute: number) => {
    await mkdir(input, { recursive: true });
    await writeFile(path.join(input, name), `${[HEADER, ...rows].join('\n')}\n`);
    const at = new Date(BASE_MS + minute * 60_000);
    await utimes(path.join(input, name), at, at);
  };
  const run = (input: string) =>
    runPipeline(stack.clients, stack.names, stack.settings, {
      input,
      asOf: AS_OF,
      codeVersion: 'test',
      clock: () => RUN_MS,
    });
  const retract = (file: string) =>
    retractFile(
      {
        clients: stack.clients,
        names: stack.names,
        settings: stack.settings,
        clock: () => RETRACT_MS,
        codeVersion: 'test',
        processUntilCaughtUp: async () => {
          await runShardProcessors(stack.clients.kinesis, stack.clients.doc, stack.names, {
            untilCaughtUp: true,
          });
        },
      },
      { file },
    );
  const requeue = () =>
    runRequeue({
      clients: stack.clients,
      names: stack.names,
      settings: stack.settings,
      clock: () => RETRACT_MS,
    });
  const listed = (file: string) => listQuarantinedRows(stack.clients.s3, stack.names, { file });
  const quarantinedInStatus = async (file: string) => {
    const status = await collectStatus({
      clients: stack.clients,
      names: stack.names,
      settings: stack.settings,
      nowMs: RETRACT_MS,
    });
    return status.rows.quarantineFiles.find((entry) => entry.path === file)?.rows ?? 0;
  };
  const reportOf = async (fileId: string): Promise<IngestReport> => {
    const items = await new PollerState(stack.clients.doc, stack.names.stateTable).queryAll(
      `ingest#file#folder:${fileId}`,
    );
    const version = items.find((item) => String(item['sk']).startsWith('v#'))?.['version'] as {
      rawKey: string;
    };
    return (await getReport(stack.clients.s3, stack.names.rawBucket, reportKey(version.rawKey)))!;
  };
  const recordCount = async () => (await readStream(stack.clients, stack.names.ordersStream)).length;

  it('is no longer quarantined: report, quarantine, status and requeue agree, and the marts count it', async () => {
    // Prepare: b.csv's row has a.csv's identity with another quantity, and arrives after it
    const input = path.join(stack.workDir, 'input-1');
    await drop(input, 'a.csv', ['App,locA,2023-08-12T16:00:00Z,o1,u1,,FALSE,USD,l1,Mains,Burger,6.00,1'], 0);
    await drop(input, 'b.csv', ['App,locA,2023-08-12T16:00:00Z,o1,u1,,FALSE,USD,l1,Mains,Burger,6.00,2'], 60);
    await run(input);
    const listedBefore = await listed('b.csv');
    const statusBefore = await quarantinedInStatus('b.csv');

    // Act
    const retraction = await retract('a.csv');
    const report = await reportOf('b.csv');
    const listedAfter = await listed('b.csv');
    const statusAfter = await quarantinedInStatus('b.csv');
    const recordsBefore = await recordCount();
    const requeued = await requeue();
    const recordsAfter = await recordCount();

    // Assess
    expect(listedBefore).toEqual([
      expect.objectContaining({ path: 'b.csv', row: 1, reason: 'conflicting_duplicate' }),
    ]);
    expect(statusBefore).toBe(1);
    expect(retraction.reingested).toEqual(['b.csv']);
    expect(report).toMatchObject({
      status: 'ingested',
      rowsRead: 1,
      rowsAccepted: 1,
      rowsDuplicate: 0,
      rowsQuarantined: 0,
      rowsPending: 0,
      quarantinedByReason: {},
      quarantineKeys: [],
    });
    expect(report.requeuedRows ?? []).toEqual([]);
    expect(listedAfter).toEqual([]);
    expect(statusAfter).toBe(0);
    expect(requeued).toEqual({
      examined: 0,
      accepted: 0,
      duplicate: 0,
      excluded: 0,
      pending: 0,
      stillRejected: {},
      recordsPut: 0,
    });
    expect(recordsAfter).toBe(recordsBefore);
    const exported = path.join(stack.workDir, 'export-1');
    await exportSnapshot({
      s3: stack.clients.s3,
      bucket: stack.names.martsBucket,
      asOf: AS_OF,
      toDir: exported,
    });
    const locations = await readFile(path.join(exported, 'location_performance.csv'), 'utf8');
    expect(locations).toMatch(/^locA,1,12\.00,1,/m);
  });

  it('keeps a row requeue took in before the retraction taken in, with the record it was taken from', async () => {
    // Prepare: d.csv conflicts with c.csv on row 1; its row 2 has a bad price, fixed and requeued
    const input = path.join(stack.workDir, 'input-2');
    await drop(input, 'c.csv', ['App,locB,2023-08-13T16:00:00Z,o2,u2,,FALSE,USD,l1,Mains,Pizza,5.00,1'], 120);
    await drop(
      input,
      'd.csv',
      [
        'App,locB,2023-08-13T16:00:00Z,o2,u2,,FALSE,USD,l1,Mains,Pizza,5.00,3',
        'App,locB,2023-08-13T17:00:00Z,o3,u3,,FALSE,USD,l1,Sides,Fries,abc,1',
      ],
      180,
    );
    await run(input);
    const prefix = quarantinePrefix('folder', 'd.csv', (await reportOf('d.csv')).contentHash!);
    const [rowsKey] = (await listQuarantineKeys(stack.clients.s3, stack.names.quarantineBucket)).filter(
      (key) => key.startsWith(prefix),
    );
    const original = (
      await getObjectBytes(stack.clients.s3, stack.names.quarantineBucket, rowsKey!)
    ).toString();
    const fixed = original.replace(',abc,', ',4.00,');
    await stack.clients.s3.send(
      new PutObjectCommand({ Bucket: stack.names.quarantineBucket, Key: rowsKey, Body: fixed }),
    );
    const requeuedBefore = await requeue();

    // Act
    const retraction = await retract('c.csv');
    const report = await reportOf('d.csv');
    const listedAfter = await listed('d.csv');
    const statusAfter = await quarantinedInStatus('d.csv');
    const recordsBefore = await recordCount();
    const requeuedAfter = await requeue();
    const recordsAfter = await recordCount();
    const records = (await getObjectBytes(stack.clients.s3, stack.names.quarantineBucket, rowsKey!))
      .toString()
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as { row: number; reason: string; raw: string });

    // Assess
    expect(requeuedBefore).toMatchObject({
      examined: 2,
      accepted: 1,
      stillRejected: { conflicting_duplicate: 1 },
    });
    expect(retraction.reingested).toEqual(['d.csv']);
    expect(report).toMatchObject({
      rowsRead: 2,
      rowsAccepted: 2,
      rowsQuarantined: 0,
      quarantinedByReason: {},
      requeuedRows: [2],
    });
    // The record requeue took (price fixed) stays; the conflict settled by the re-read is gone.
    expect(records).toEqual([
      expect.objectContaining({ row: 2, reason: 'bad_number', raw: expect.stringContaining(',4.00,') }),
    ]);
    expect(listedAfter).toEqual([]);
    expect(statusAfter).toBe(0);
    expect(requeuedAfter).toMatchObject({ examined: 0, recordsPut: 0 });
    expect(recordsAfter).toBe(recordsBefore);
    const rows = streamRows(await readStream(stack.clients, stack.names.ordersStream));
    expect([rows.has('line|o2|l1|500x3'), rows.has('line|o3|l1|400x1')]).toEqual([true, true]);
  });
});
