import { mkdir, mkdtemp, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFolderSource } from '../../ingest/folder/source.js';
import { PollStep, runPollCycle } from '../../ingest/poll.js';
import { assertCountsAddUp, type IngestReport } from '../../ingest/report.js';
import { PollerState } from '../../ingest/state.js';
import {
  type IngestTestStack,
  listKeys,
  readObject,
  readStream,
  startIngestStack,
  streamRows,
} from '../support/ingest-stack.js';

const ITEMS_HEADER =
  'APP_NAME,RESTAURANT_ID,CREATION_TIME_UTC,ORDER_ID,USER_ID,PRINTED_CARD_NUMBER,IS_LOYALTY,CURRENCY,LINEITEM_ID,ITEM_CATEGORY,ITEM_NAME,ITEM_PRICE,ITEM_QUANTITY';
const OPTIONS_HEADER = 'ORDER_ID,LINEITEM_ID,OPTION_GROUP_NAME,OPTION_NAME,OPTION_PRICE,OPTION_QUANTITY';
const T0 = Date.parse('2023-08-20T12:00:00Z');
/** Fewer days than `MAX_DEFERRED_FILES` (8): only the held-options bound can flush a file. */
const DAYS = 6;
/** The `pollMaxHeldOptions` of this test. */
const MAX_HELD = 3;

const item = (order: string) =>
  `ChainApp,R1,2023-08-14T17:03:12.345Z,${order},U1,,TRUE,USD,L1,Burgers,Cheeseburger,5.00,1`;
const option = (order: string) => `${order},L1,Size,Large,0.25,1`;

/**
 * Each day an options file with the day's option and one whose line only the last file brings,
 * then the day's lines file: every options file stays deferred with one waiting option.
 */
async function exportFolder(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tillstream-held-'));
  let tick = T0 - 3_600_000;
  const write = async (name: string, content: string) => {
    const file = path.join(dir, name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
    tick += 1000;
    await utimes(file, new Date(tick), new Date(tick));
  };
  for (let day = 1; day <= DAYS; day++) {
    const name = `day${day}`;
    await write(
      `${name}/order_item_options.csv`,
      `${OPTIONS_HEADER}\n${option(`D${day}`)}\n${option(`LATE${day}`)}\n`,
    );
    await write(`${name}/order_items.csv`, `${ITEMS_HEADER}\n${item(`D${day}`)}\n`);
  }
  const late = Array.from({ length: DAYS }, (_, index) => item(`LATE${index + 1}`));
  await write('zz-late/order_items.csv', `${ITEMS_HEADER}\n${late.join('\n')}\n`);
  return dir;
}

describe('poll cycle holding more options than pollMaxHeldOptions', () => {
  let stack: IngestTestStack;

  beforeAll(async () => {
    stack = await startIngestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('flushes the oldest options files to pending and still puts every row once', async () => {
    // Prepare
    const { names, settings } = await stack.resources({ pollMaxHeldOptions: MAX_HELD });
    const dir = await exportFolder();
    const flushed: string[] = [];

    // Act
    const result = await runPollCycle({
      clients: stack.clients,
      names,
      settings,
      source: createFolderSource(dir),
      clock: () => T0,
      backoff: { sleep: async () => {}, random: () => 0 },
      onStep: (step, detail) => {
        if (step === PollStep.Claimed && detail.startsWith('held options of ')) flushed.push(detail);
      },
    });

    // Assess: each day leaves one option waiting for the late lines, and an options file brings two
    // more; from day 3 on that is 4 > 3, so the oldest file is flushed each day (days 1-4), its late
    // option settling through the pending path; days 5 and 6 join the late lines in memory.
    expect(result.errors).toEqual([]);
    expect(flushed).toEqual(
      ['day1', 'day2', 'day3', 'day4'].map((day) => `held options of ${day}/order_item_options.csv`),
    );
    expect(result.optionsSettled).toBe(4);
    const expected: string[] = [];
    for (let day = 1; day <= DAYS; day++) {
      expected.push(`line|D${day}|L1|500x1`, `option|D${day}|L1|Size|Large|25x1`);
      expected.push(`line|LATE${day}|L1|500x1`, `option|LATE${day}|L1|Size|Large|25x1`);
    }
    expect([...streamRows(await readStream(stack.clients, names.ordersStream))].sort()).toEqual(
      expected.sort(),
    );
    expect(await new PollerState(stack.clients.doc, names.stateTable).pendingOptions()).toEqual([]);
    const reportKeys = (await listKeys(stack.clients, names.rawBucket)).filter((key) =>
      key.endsWith('.ingest-report.json'),
    );
    const reports = await Promise.all(
      reportKeys.map(
        async (key) =>
          JSON.parse((await readObject(stack.clients, names.rawBucket, key)).toString()) as IngestReport,
      ),
    );
    expect(reports).toHaveLength(2 * DAYS + 1);
    for (const report of reports) assertCountsAddUp(report);
    expect(reports.reduce((sum, report) => sum + report.rowsAccepted, 0)).toBe(4 * DAYS);
  });
});
