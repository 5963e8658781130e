import { mkdir, mkdtemp, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { optionKey } from '../../ingest/identity.js';
import { PollStep } from '../../ingest/poll.js';
import { assertCountsAddUp } from '../../ingest/report.js';
import { type PendingOption, PollerState } from '../../ingest/state.js';
import type { Settings } from '../../shared/config.js';
import type { ResourceNames } from '../../shared/resources.js';
import { readReports, readStream, streamRows, useIngestStack } from '../support/ingest-stack.js';

const ITEMS_HEADER =
  'APP_NAME,RESTAURANT_ID,CREATION_TIME_UTC,ORDER_ID,USER_ID,PRINTED_CARD_NUMBER,IS_LOYALTY,CURRENCY,LINEITEM_ID,ITEM_CATEGORY,ITEM_NAME,ITEM_PRICE,ITEM_QUANTITY';
const OPTIONS_HEADER = 'ORDER_ID,LINEITEM_ID,OPTION_GROUP_NAME,OPTION_NAME,OPTION_PRICE,OPTION_QUANTITY';
const T0 = Date.parse('2023-08-20T12:00:00Z');
/** More days than the poller keeps deferred files in memory, so the oldest are flushed mid-poll. */
const DAYS = 12;
/** `MAX_DEFERRED_FILES` in ingest/poll.ts. */
const KEPT_DEFERRED_FILES = 8;
/** Fewer days than that: only a `pollMaxHeldOptions` of `MAX_HELD` flushes a file. */
const FEW_DAYS = 6;
const MAX_HELD = 3;

const item = (order: string, price: string) =>
  `ChainApp,R1,2023-08-14T17:03:12.345Z,${order},U1,,TRUE,USD,L1,Burgers,Cheeseburger,${price},1`;
const option = (order: string, name: string) => `${order},L1,Size,${name},0.25,1`;

/**
 * Each day: an options file arriving before its lines file, with one option for the day's line
 * and one for a line that only the last file brings (so every options file stays deferred), then
 * the lines file; finally one file with every late line.
 */
async function exportFolder(days = DAYS): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tillstream-deferred-'));
  let tick = T0 - 3_600_000;
  const write = async (name: string, content: string) => {
    const file = path.join(dir, name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
    tick += 1000;
    await utimes(file, new Date(tick), new Date(tick));
  };
  for (let day = 1; day <= days; day++) {
    const name = `day${String(day).padStart(2, '0')}`;
    await write(
      `${name}/order_item_options.csv`,
      `${OPTIONS_HEADER}\n${option(`D${day}`, 'Large')}\n${option(`LATE${day}`, 'Small')}\n`,
    );
    await write(`${name}/order_items.csv`, `${ITEMS_HEADER}\n${item(`D${day}`, '5.00')}\n`);
  }
  const lateLines = Array.from({ length: days }, (_, index) => item(`LATE${index + 1}`, '3.00'));
  await write('zz-late/order_items.csv', `${ITEMS_HEADER}\n${lateLines.join('\n')}\n`);
  return dir;
}

function expectedRows(days: number): string[] {
  const rows: string[] = [];
  for (let day = 1; day <= days; day++) {
    rows.push(`line|D${day}|L1|500x1`, `option|D${day}|L1|Size|Large|25x1`);
    rows.push(`line|LATE${day}|L1|300x1`, `option|LATE${day}|L1|Size|Small|25x1`);
  }
  return rows.sort();
}

describe('poll cycle with more deferred options files than it keeps in memory', () => {
  const stack = useIngestStack();

  const poll = (
    names: ResourceNames,
    settings: Settings,
    dir: string,
    onStep?: (step: string, detail: string) => void,
  ) => stack.pollFolder(dir, { names, settings, nowMs: T0, ...(onStep ? { onStep } : {}) });

  async function expectEveryRowOnceAndSettled(names: ResourceNames, days = DAYS): Promise<void> {
    expect([...streamRows(await readStream(stack.clients, names.ordersStream))].sort()).toEqual(
      expectedRows(days),
    );
    expect(await new PollerState(stack.clients.doc, names.stateTable).pendingOptions()).toEqual([]);
    const reports = await readReports(stack.clients, names.rawBucket);
    expect(reports).toHaveLength(2 * days + 1);
    for (const report of reports) assertCountsAddUp(report);
    const total = (field: 'rowsRead' | 'rowsAccepted' | 'rowsPending') =>
      reports.reduce((sum, report) => sum + report[field], 0);
    expect(total('rowsRead')).toBe(4 * days);
    expect(total('rowsAccepted')).toBe(4 * days);
    expect(total('rowsPending')).toBe(0);
  }

  it('flushes the oldest deferred files to pending and settles their options when the lines arrive', async () => {
    // Prepare
    const { names, settings } = await stack.resources();
    const dir = await exportFolder();
    const flushed: string[] = [];

    // Act
    const result = await poll(names, settings, dir, (step, detail) => {
      if (step === PollStep.Claimed && detail.startsWith('held options of ')) flushed.push(detail);
    });

    // Assess: the oldest options files were flushed before the late lines arrived, and their late
    // options settled through the pending path; the others joined the late lines in memory.
    expect(result.errors).toEqual([]);
    expect(flushed).toEqual(
      Array.from(
        { length: DAYS - KEPT_DEFERRED_FILES },
        (_, index) => `held options of day${String(index + 1).padStart(2, '0')}/order_item_options.csv`,
      ),
    );
    expect(result.optionsSettled).toBe(DAYS - KEPT_DEFERRED_FILES);
    expect(result.reports).toHaveLength(2 * DAYS + 1);
    await expectEveryRowOnceAndSettled(names);
  });

  it('flushes the oldest options files once more than pollMaxHeldOptions options wait', async () => {
    // Prepare
    const { names, settings } = await stack.resources({ pollMaxHeldOptions: MAX_HELD });
    const dir = await exportFolder(FEW_DAYS);
    const flushed: string[] = [];

    // Act
    const result = await poll(names, settings, dir, (step, detail) => {
      if (step === PollStep.Claimed && detail.startsWith('held options of ')) flushed.push(detail);
    });

    // Assess: each day leaves one option waiting for the late lines and an options file brings
    // two more; from day 3 on that is 4 > 3, so the oldest file is flushed each day (days 1-4),
    // its late option settling through the pending path; days 5 and 6 join the late lines in memory.
    expect(result.errors).toEqual([]);
    expect(flushed).toEqual([1, 2, 3, 4].map((day) => `held options of day0${day}/order_item_options.csv`));
    expect(result.optionsSettled).toBe(4);
    await expectEveryRowOnceAndSettled(names, FEW_DAYS);
  });

  it.each([
    [PollStep.Claimed, 'held options of day01/'],
    [PollStep.Reported, 'day01/order_item_options.csv'],
    [PollStep.Finished, 'day01/order_item_options.csv'],
    [PollStep.SettlePut, ''],
  ])('loses no row and counts every row once after a crash at "%s" (%s)', async (crashStep, detailStart) => {
    // Prepare
    const { names, settings } = await stack.resources();
    const dir = await exportFolder();
    let crashed = false;
    const crashOnce = (step: string, detail: string) => {
      if (!crashed && step === crashStep && detail.startsWith(detailStart)) {
        crashed = true;
        throw Object.assign(new Error(`crash at ${step}`), { name: 'InjectedCrash' });
      }
    };

    // Act
    await expect(poll(names, settings, dir, crashOnce)).rejects.toThrow(`crash at ${crashStep}`);
    const restarted = await poll(names, settings, dir);
    await poll(names, settings, dir);

    // Assess
    expect(crashed).toBe(true);
    expect(restarted.errors).toEqual([]);
    await expectEveryRowOnceAndSettled(names);
  });

  it('pages the waiting options, resuming after a page whose entries were deleted', async () => {
    // Prepare
    const { names } = await stack.resources();
    const state = new PollerState(stack.clients.doc, names.stateTable);
    const waiting: PendingOption[] = Array.from({ length: 5 }, (_, index) => {
      const option = {
        orderId: `O${index}`,
        lineItemId: 'L1',
        groupName: 'Size',
        optionName: 'Large',
        priceCents: 25,
        quantity: 1,
      };
      return {
        key: optionKey(option),
        option,
        claimant: { fileKey: 'folder:options.csv', contentHash: 'c'.repeat(64), row: index + 1 },
        file: 'options.csv',
        path: 'options.csv',
        arrivalSeq: 1,
        arrivedAtMs: T0,
        reportKey: 'raw/options.csv.ingest-report.json',
        quarantinePrefix: 'quarantine/options/',
        headerLine: OPTIONS_HEADER,
        raw: option.orderId,
      };
    });
    await state.putPendingMany(waiting);

    // Act: every other page is settled (deleted) before the next is asked for.
    const pages: string[][] = [];
    for await (const page of state.pendingOptionPages(2)) {
      pages.push(page.map((entry) => entry.option.orderId));
      if (pages.length % 2 === 1) await state.deletePendingMany(page.map((entry) => entry.key));
    }

    // Assess
    expect(pages).toEqual([['O0', 'O1'], ['O2', 'O3'], ['O4']]);
    expect((await state.pendingOptions()).map((entry) => entry.option.orderId)).toEqual(['O2', 'O3']);
  });
});
