import { mkdir, mkdtemp, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PollStep } from '../../ingest/poll.js';
import type { IngestReport } from '../../ingest/report.js';
import { PollerState } from '../../ingest/state.js';
import type { Settings } from '../../shared/config.js';
import type { ResourceNames } from '../../shared/resources.js';
import {
  listKeys,
  readObject,
  readReports,
  readStream,
  streamRows,
  useIngestStack,
} from '../support/ingest-stack.js';

const ITEMS_HEADER =
  'APP_NAME,RESTAURANT_ID,CREATION_TIME_UTC,ORDER_ID,USER_ID,PRINTED_CARD_NUMBER,IS_LOYALTY,CURRENCY,LINEITEM_ID,ITEM_CATEGORY,ITEM_NAME,ITEM_PRICE,ITEM_QUANTITY';
const OPTIONS_HEADER = 'ORDER_ID,LINEITEM_ID,OPTION_GROUP_NAME,OPTION_NAME,OPTION_PRICE,OPTION_QUANTITY';
const DAY = 86_400_000;
const T0 = Date.parse('2023-08-20T12:00:00Z');

const item = (
  order: string,
  line: string,
  price: string,
  quantity = '1',
  app = 'ChainApp',
  time = '2023-08-14T17:03:12.345Z',
) => `${app},R1,${time},${order},U1,,TRUE,USD,${line},Burgers,Cheeseburger,${price},${quantity}`;

const ITEMS = [
  ITEMS_HEADER,
  item('O1', 'L1', '9.50'),
  item('O1', 'L2', '2.00', '2'),
  item('O2', 'L1', '4.25'),
  item('O1', 'L1', '9.5'), // row 4: the same values as row 1 (2.5 = 2.50): a duplicate
  item('O3', 'L1', '1.00', '1', 'Chain DEVELOPMENT build'), // test app: excluded
  item('O4', 'L1', 'abc'), // bad_number
  '',
].join('\n');

const OPTIONS = [
  OPTIONS_HEADER,
  'O1,L1,Size,Large,1.50,1',
  'O1,L2,Promo,Coupon,-0.50,1',
  'O9,L1,Size,Small,0.25,1', // its line has not arrived: pending
  '',
].join('\n');

const LOCATIONS = 'RESTAURANT_ID,NAME,TIMEZONE\nR1,Downtown,America/Chicago\n';

interface Folder {
  readonly dir: string;
  write(name: string, content: string | Buffer, modifiedMs?: number): Promise<void>;
}

async function folder(): Promise<Folder> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tillstream-input-'));
  let tick = T0 - 60_000;
  return {
    dir,
    async write(name, content, modifiedMs) {
      const file = path.join(dir, name);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, content);
      tick += 1000;
      const when = new Date(modifiedMs ?? tick);
      await utimes(file, when, when);
    },
  };
}

function reportOf(reports: readonly IngestReport[], pathName: string): IngestReport {
  const report = reports.find((candidate) => candidate.path === pathName);
  if (report === undefined)
    throw new Error(`no report for ${pathName}: ${reports.map((r) => r.path).join(', ')}`);
  return report;
}

describe('poll cycle over a local folder, on the emulated S3, Kinesis and DynamoDB', () => {
  const stack = useIngestStack();

  const poll = (
    names: ResourceNames,
    settings: Settings,
    dir: string,
    nowMs = T0,
    onStep?: (step: string, detail: string) => void,
  ) => stack.pollFolder(dir, { names, settings, nowMs, ...(onStep ? { onStep } : {}) });

  it('lands files byte for byte, settles duplicates, streams order events and reports every row', async () => {
    // Prepare
    const { names, settings } = await stack.resources();
    const input = await folder();
    await input.write('locations.csv', LOCATIONS);
    await input.write('items.csv', ITEMS);
    await input.write('sub/options.csv', OPTIONS);
    await input.write('notes.txt', 'not an export\n');

    // Act
    const result = await poll(names, settings, input.dir);

    // Assess
    const items = reportOf(result.reports, 'items.csv');
    expect(items).toMatchObject({
      status: 'ingested',
      kind: 'order_items',
      rowsRead: 6,
      rowsAccepted: 3,
      rowsDuplicate: 1,
      rowsExcluded: 1,
      rowsQuarantined: 1,
      rowsPending: 0,
      quarantinedByReason: { bad_number: 1 },
      recordsPut: 2,
    });
    const options = reportOf(result.reports, 'sub/options.csv');
    expect(options).toMatchObject({ rowsRead: 3, rowsAccepted: 2, rowsPending: 1, pendingRows: [3] });
    expect(reportOf(result.reports, 'notes.txt').status).toBe('unknown_kind');
    expect(reportOf(result.reports, 'locations.csv').rowsAccepted).toBe(1);

    const rawKeys = await listKeys(stack.clients, names.rawBucket, 'raw/');
    const itemsRaw = rawKeys.find(
      (key) => key.startsWith('raw/source=folder/file=items.csv/sha256=') && key.endsWith('/items.csv'),
    );
    expect(itemsRaw).toBeDefined();
    expect((await readObject(stack.clients, names.rawBucket, itemsRaw!)).toString()).toBe(ITEMS);
    expect(rawKeys).toContain(`${itemsRaw}.ingest-report.json`);

    const quarantine = await listKeys(stack.clients, names.quarantineBucket);
    expect(quarantine).toHaveLength(1);
    const [rejected] = (await readObject(stack.clients, names.quarantineBucket, quarantine[0]!))
      .toString()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(rejected).toMatchObject({ file: 'items.csv', row: 6, column: 'ITEM_PRICE', reason: 'bad_number' });
    expect(rejected.raw).toContain('abc');
    expect(rejected.header).toBe(ITEMS_HEADER);

    const events = await readStream(stack.clients, names.ordersStream);
    expect([...streamRows(events)].sort()).toEqual(
      [
        'line|O1|L1|950x1',
        'line|O1|L2|200x2',
        'line|O2|L1|425x1',
        'option|O1|L1|Size|Large|150x1',
        'option|O1|L2|Promo|Coupon|-50x1',
      ].sort(),
    );
    const o1Lines = events.find((event) => event.orderId === 'O1' && event.lines.length > 0)!;
    expect(o1Lines.lines.map((line) => line.timeZone)).toEqual(['America/Chicago', 'America/Chicago']);
    expect(o1Lines.lines[0]!.lineage).toMatchObject({ file: 'items.csv', row: 1 });
  });

  it('streams nothing new for an unchanged folder, a copy under another name, or a touched file', async () => {
    // Prepare
    const { names, settings } = await stack.resources();
    const input = await folder();
    await input.write('items.csv', ITEMS);
    await poll(names, settings, input.dir);
    const before = (await readStream(stack.clients, names.ordersStream)).length;

    // Act
    const idle = await poll(names, settings, input.dir);
    await input.write('copy of items.csv', ITEMS);
    await input.write('items.csv', ITEMS); // same bytes, new modified time
    const copied = await poll(names, settings, input.dir);

    // Assess
    expect(idle.reports).toEqual([]);
    expect(copied.reports).toHaveLength(1);
    expect(copied.reports[0]).toMatchObject({
      path: 'copy of items.csv',
      status: 'duplicate_content',
      duplicateOf: { fileId: 'items.csv' },
    });
    expect((await readStream(stack.clients, names.ordersStream)).length).toBe(before);
    expect(
      await listKeys(stack.clients, names.rawBucket, 'raw/source=folder/file=copy%20of%20items.csv/'),
    ).toHaveLength(2);
  });

  it('streams only the new rows of a changed file and quarantines a conflicting duplicate', async () => {
    // Prepare
    const { names, settings } = await stack.resources();
    const input = await folder();
    await input.write('items.csv', ITEMS);
    await poll(names, settings, input.dir);

    // Act
    await input.write('items.csv', `${ITEMS}${item('O5', 'L1', '3.00')}\n${item('O2', 'L1', '4.30')}\n`);
    const result = await poll(names, settings, input.dir);

    // Assess
    expect(result.reports[0]).toMatchObject({
      rowsRead: 8,
      rowsAccepted: 1,
      rowsDuplicate: 4,
      rowsExcluded: 1,
      rowsQuarantined: 2,
      quarantinedByReason: { bad_number: 1, conflicting_duplicate: 1 },
      recordsPut: 1,
    });
    const rows = streamRows(await readStream(stack.clients, names.ordersStream));
    expect(rows.has('line|O5|L1|300x1')).toBe(true);
    expect(rows.has('line|O2|L1|430x1')).toBe(false);
    const conflictKey = (await listKeys(stack.clients, names.quarantineBucket)).find((key) =>
      key.includes(result.reports[0]!.contentHash!),
    );
    const text = (await readObject(stack.clients, names.quarantineBucket, conflictKey!)).toString();
    expect(text).toContain('"reason":"conflicting_duplicate"');
    expect(text).toContain('4.30');
  });

  it('applies a pending option when its line arrives, and quarantines one whose line never does', async () => {
    // Prepare
    const { names, settings } = await stack.resources();
    const input = await folder();
    await input.write('options.csv', `${OPTIONS_HEADER}\nO7,L1,Size,Large,1.00,1\nO8,L1,Size,Large,1.00,1\n`);
    await poll(names, settings, input.dir);

    // Act
    await input.write('late-items.csv', `${ITEMS_HEADER}\n${item('O7', 'L1', '5.00')}\n`);
    const settled = await poll(names, settings, input.dir, T0 + DAY);
    const early = await poll(names, settings, input.dir, T0 + 6 * DAY);
    const orphaned = await poll(names, settings, input.dir, T0 + 8 * DAY);

    // Assess
    expect(settled.optionsSettled).toBe(1);
    expect(early.optionsOrphaned).toBe(0);
    expect(orphaned.optionsOrphaned).toBe(1);
    const reportKey = (await listKeys(stack.clients, names.rawBucket)).find(
      (key) => key.includes('file=options.csv') && key.endsWith('.ingest-report.json'),
    )!;
    const report = JSON.parse(
      (await readObject(stack.clients, names.rawBucket, reportKey)).toString(),
    ) as IngestReport;
    expect(report).toMatchObject({
      rowsRead: 2,
      rowsAccepted: 1,
      rowsPending: 0,
      rowsQuarantined: 1,
      quarantinedByReason: { orphan_option: 1 },
      recordsPut: 1,
    });
    const rows = streamRows(await readStream(stack.clients, names.ordersStream));
    expect(rows.has('option|O7|L1|Size|Large|100x1')).toBe(true);
    expect(rows.has('option|O8|L1|Size|Large|100x1')).toBe(false);
    const orphanKeys = (await listKeys(stack.clients, names.quarantineBucket)).filter((key) =>
      key.includes('orphan_option'),
    );
    expect(orphanKeys).toHaveLength(1);
    expect(await new PollerState(stack.clients.doc, names.stateTable).pendingOptions()).toEqual([]);
  });

  it('quarantines a file larger than max_file_bytes whole, still keeping its bytes', async () => {
    // Prepare
    const { names, settings } = await stack.resources({ maxFileBytes: 100 });
    const input = await folder();
    await input.write('items.csv', ITEMS);

    // Act
    const result = await poll(names, settings, input.dir);

    // Assess
    expect(result.reports[0]).toMatchObject({ status: 'file_too_large', rowsRead: 0 });
    const raw = (await listKeys(stack.clients, names.rawBucket)).find((key) => key.endsWith('/items.csv'))!;
    expect((await readObject(stack.clients, names.rawBucket, raw)).toString()).toBe(ITEMS);
    const [quarantineKey] = await listKeys(stack.clients, names.quarantineBucket);
    expect((await readObject(stack.clients, names.quarantineBucket, quarantineKey!)).toString()).toContain(
      'file_too_large',
    );
    expect(await readStream(stack.clients, names.ordersStream)).toEqual([]);
  });

  it('joins an option to a line that arrives later in the same poll, with no pending round-trip', async () => {
    // Prepare
    const { names, settings } = await stack.resources();
    const input = await folder();
    await input.write('2023-08-14/order_item_options.csv', OPTIONS);
    await input.write('2023-08-14/order_items.csv', ITEMS);

    // Act
    const result = await poll(names, settings, input.dir);

    // Assess
    const options = reportOf(result.reports, '2023-08-14/order_item_options.csv');
    expect(options).toMatchObject({ rowsRead: 3, rowsAccepted: 2, rowsPending: 1, pendingRows: [3] });
    expect(result.reports.map((report) => report.path)).toEqual([
      '2023-08-14/order_item_options.csv',
      '2023-08-14/order_items.csv',
    ]);
    expect(result.optionsSettled).toBe(0);
    const pending = await new PollerState(stack.clients.doc, names.stateTable).pendingOptions();
    expect(pending.map((entry) => entry.option.orderId)).toEqual(['O9']);
    const events = await readStream(stack.clients, names.ordersStream);
    expect([...streamRows(events)].sort()).toEqual(
      [
        'line|O1|L1|950x1',
        'line|O1|L2|200x2',
        'line|O2|L1|425x1',
        'option|O1|L1|Size|Large|150x1',
        'option|O1|L2|Promo|Coupon|-50x1',
      ].sort(),
    );
    // The options travel with their lines: one event per order, no separate settle event.
    expect(events.filter((event) => event.orderId === 'O1')).toHaveLength(1);
    const storedReportKey = (await listKeys(stack.clients, names.rawBucket)).find(
      (key) => key.includes('order_item_options.csv') && key.endsWith('.ingest-report.json'),
    )!;
    expect(
      JSON.parse((await readObject(stack.clients, names.rawBucket, storedReportKey)).toString()),
    ).toMatchObject({ rowsAccepted: 2, rowsPending: 1, recordsPut: 1 });
  });

  // Each step at its first occurrence; the report and finish steps also at their second, which in
  // this scenario is a file whose held options joined a later file's lines.
  const crashPoints: [PollStep, number][] = [
    ...Object.values(PollStep)
      .filter((step) => step !== PollStep.Committed)
      .map((step): [PollStep, number] => [step, 1]),
    [PollStep.Claimed, 2],
    [PollStep.Put, 2],
    [PollStep.Reported, 2],
    [PollStep.Finished, 2],
  ];

  it.each(crashPoints)(
    'loses no row and counts every row once after a crash at "%s" #%i',
    async (crashStep, nth) => {
      // Prepare: a first poll leaves a-options' rows pending (their lines are not there yet).
      const { names, settings } = await stack.resources();
      const input = await folder();
      await input.write('a-options.csv', OPTIONS);
      await poll(names, settings, input.dir, T0);
      // Then an option arrives just before its line, in the same poll as the lines a-options waits for.
      await input.write('b0-options.csv', `${OPTIONS_HEADER}\nO2,L1,Extra,Cheese,0.75,1\n`);
      await input.write('b-items.csv', ITEMS);
      await input.write(
        'c-items.csv',
        `${ITEMS_HEADER}\n${item('O9', 'L1', '7.00')}\n${item('O1', 'L2', '2.00', '2')}\n`,
      );
      let seen = 0;
      let crashed = false;
      const crashOnce = (step: string) => {
        if (!crashed && step === crashStep && ++seen === nth) {
          crashed = true;
          throw Object.assign(new Error(`crash at ${step}`), { name: 'InjectedCrash' });
        }
      };

      // Act
      await expect(poll(names, settings, input.dir, T0, crashOnce)).rejects.toThrow(`crash at ${crashStep}`);
      const restarted = await poll(names, settings, input.dir, T0);
      await poll(names, settings, input.dir, T0);

      // Assess
      expect(crashed).toBe(true);
      expect(restarted.errors).toEqual([]);
      expect([...streamRows(await readStream(stack.clients, names.ordersStream))].sort()).toEqual(
        [
          'line|O1|L1|950x1',
          'line|O1|L2|200x2',
          'line|O2|L1|425x1',
          'line|O9|L1|700x1',
          'option|O1|L1|Size|Large|150x1',
          'option|O1|L2|Promo|Coupon|-50x1',
          'option|O2|L1|Extra|Cheese|75x1',
          'option|O9|L1|Size|Small|25x1',
        ].sort(),
      );
      expect(await new PollerState(stack.clients.doc, names.stateTable).pendingOptions()).toEqual([]);
      const reports = await readReports(stack.clients, names.rawBucket);
      expect(reports.map((report) => report.path).sort()).toEqual([
        'a-options.csv',
        'b-items.csv',
        'b0-options.csv',
        'c-items.csv',
      ]);
      const total = (field: keyof IngestReport) =>
        reports.reduce((sum, report) => sum + (report[field] as number), 0);
      expect(total('rowsRead')).toBe(12);
      expect(total('rowsAccepted')).toBe(8);
      expect(total('rowsDuplicate')).toBe(2);
      expect(total('rowsExcluded')).toBe(1);
      expect(total('rowsQuarantined')).toBe(1);
      expect(total('rowsPending')).toBe(0);
    },
  );
});
