/**
 * Retracting the original of a byte-identical copy: the copy, landed in a later poll, is reported
 * `duplicate_content` and its rows are never streamed. Once the original is withdrawn, the copy
 * still in the folder must count, as a copy that differs by one byte (its rows `duplicate`) does.
 */
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportSnapshot } from '../../processors/compaction/snapshot.js';
import { runPipeline } from '../../processors/pipeline/run.js';
import { reconcile } from '../../processors/reconcile/reconcile.js';
import { retractFile } from '../../processors/retract/retract.js';
import { runShardProcessors } from '../../processors/shard/runner.js';
import { type PipelineStack, startPipelineStack } from '../support/pipeline-stack.js';

const HEADER =
  'APP_NAME,RESTAURANT_ID,CREATION_TIME_UTC,ORDER_ID,USER_ID,PRINTED_CARD_NUMBER,IS_LOYALTY,CURRENCY,LINEITEM_ID,ITEM_CATEGORY,ITEM_NAME,ITEM_PRICE,ITEM_QUANTITY';
const ROWS = `${HEADER}\nApp,loc-a,2023-08-14T16:00:00Z,O1,cust-1,,FALSE,USD,L1,Burgers,Burger,12.50,1\n`;
const BASE_MS = Date.parse('2024-01-10T09:00:00Z');

describe('retracting the original of a byte-identical copy', () => {
  let stack: PipelineStack;
  beforeAll(async () => {
    stack = await startPipelineStack('retract-identical-copy');
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('keeps the rows counted through the copy still in the folder', async () => {
    // Prepare: the export uploaded, then uploaded again under another name (a later poll).
    const input = path.join(stack.workDir, 'input');
    await mkdir(input, { recursive: true });
    const drop = async (name: string, minute: number) => {
      await writeFile(path.join(input, name), ROWS);
      const at = new Date(BASE_MS + minute * 60_000);
      await utimes(path.join(input, name), at, at);
    };
    const run = () =>
      runPipeline(stack.clients, stack.names, stack.settings, {
        input,
        asOf: '2023-08-20',
        codeVersion: 'test',
        clock: () => BASE_MS + 3_600_000,
      });
    await drop('2023-08-14.csv', 0);
    await run();
    await drop('2023-08-14 (1).csv', 1);
    const copied = await run();
    const reconcileNow = () =>
      reconcile({
        clients: stack.clients,
        names: stack.names,
        settings: stack.settings,
        asOf: '2023-08-20',
        workDir: path.join(stack.workDir, 'reconcile'),
      });
    const beforeRetraction = await reconcileNow();

    // Act: ops withdraw the first upload; the copy stays.
    await retractFile(
      {
        clients: stack.clients,
        names: stack.names,
        settings: stack.settings,
        clock: () => BASE_MS + 7_200_000,
        codeVersion: 'test',
        processUntilCaughtUp: async () => {
          await runShardProcessors(stack.clients.kinesis, stack.clients.doc, stack.names, {
            untilCaughtUp: true,
          });
        },
      },
      { file: '2023-08-14.csv' },
    );
    await run();

    const afterRetraction = await reconcileNow();

    // Assess: reconcile reads the copy only once it counts (the original withdrawn), and agrees
    expect(copied.poll.reports.map((report) => report.status)).toEqual(['duplicate_content']);
    expect([beforeRetraction.rawFiles, afterRetraction.rawFiles]).toEqual([1, 1]);
    expect([...beforeRetraction.differences, ...afterRetraction.differences]).toEqual([]);
    const dir = path.join(stack.workDir, 'after');
    await exportSnapshot({
      s3: stack.clients.s3,
      bucket: stack.names.martsBucket,
      asOf: '2023-08-20',
      toDir: dir,
    });
    const locations = await readFile(path.join(dir, 'location_performance.csv'), 'utf8');
    expect(locations).toMatch(/^loc-a,1,12\.50,1,/m);
  });
});
