import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays, toLocalTime } from '../../../aggregates/time.js';
import {
  DATE_DIM_HEADER,
  defaultProfile,
  type GeneratorSummary,
  generateChain,
  LOCATIONS_HEADER,
  MessyKind,
  ORDER_ITEM_OPTIONS_HEADER,
  ORDER_ITEMS_HEADER,
  wallClockToUtc,
} from '../../../ingest/generator/index.js';
import { hashTree, listFiles, readCsv } from './helpers.js';

const run = promisify(execFile);
const scratch: string[] = [];

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tillstream-gen-'));
  scratch.push(dir);
  return dir;
}

afterAll(async () => {
  await Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** What the files of a run contain, read back independently of the generator's own counters. */
interface ReadBack {
  /** Per export day: order_items and options records. */
  readonly days: { date: string; items: string[][]; options: string[][] }[];
  readonly zones: Map<string, string>;
}

async function readBack(dir: string, startDate: string, days: number): Promise<ReadBack> {
  const locations = await readCsv(join(dir, 'locations.csv'));
  const zones = new Map(locations.records.map(([id, , zone]) => [id ?? '', zone ?? '']));
  const result: ReadBack['days'] = [];
  for (let day = 0; day < days; day++) {
    const date = addDays(startDate, day);
    const items = await readCsv(join(dir, date, 'order_items.csv'));
    const options = await readCsv(join(dir, date, 'order_item_options.csv'));
    result.push({ date, items: items.records, options: options.records });
  }
  return { days: result, zones };
}

const MONEY = /^\d+\.\d{2}$/;
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;

function isMalformed(record: string[]): boolean {
  if (record.length !== 13) return true;
  const [, restaurantId, timestamp, orderId, , , , currency, lineItemId, , itemName, price, quantity] =
    record;
  return (
    !ISO_INSTANT.test(timestamp ?? '') ||
    Number.isNaN(Date.parse(timestamp ?? '')) ||
    !MONEY.test(price ?? '') ||
    !/^\d+$/.test(quantity ?? '') ||
    [restaurantId, orderId, currency, lineItemId, itemName].some(
      (field) => field === '' || field === undefined,
    )
  );
}

/** The messy kinds found in the files, counted by looking at the rows alone. */
function findMess(readBackData: ReadBack): Record<MessyKind, number> {
  const found = Object.fromEntries(Object.values(MessyKind).map((kind) => [kind, 0])) as Record<
    MessyKind,
    number
  >;
  const allLines = new Set<string>();
  for (const { items } of readBackData.days)
    for (const record of items) allLines.add(`${record[3]}|${record[8]}`);
  let previousItems = new Set<string>();
  let previousLines = new Set<string>();
  let previousOptions = new Set<string>();
  for (const { items, options } of readBackData.days) {
    const seenItems = new Set<string>();
    for (const record of items) {
      const text = record.join('\u0001');
      if (seenItems.has(text)) found[MessyKind.DuplicateSameFile]++;
      if (previousItems.has(text)) found[MessyKind.DuplicateNextDay]++;
      seenItems.add(text);
      if (/development/i.test(record[0] ?? '')) found[MessyKind.TestApp]++;
      if (isMalformed(record)) {
        found[MessyKind.MalformedRow]++;
        continue;
      }
      if (record[12] === '500' || record[11] === '5000.00') found[MessyKind.Outlier]++;
      if (/https?:\/\//.test(record[9] ?? '')) found[MessyKind.UrlCategory]++;
      if (/[",\n]/.test(record[10] ?? '')) found[MessyKind.TrickyName]++;
    }
    const linesToday = new Set(items.map((record) => `${record[3]}|${record[8]}`));
    const seenOptions = new Set<string>();
    for (const record of options) {
      const text = record.join('\u0001');
      const line = `${record[0]}|${record[1]}`;
      if (seenOptions.has(text)) found[MessyKind.DuplicateSameFile]++;
      if (previousOptions.has(text)) found[MessyKind.DuplicateNextDay]++;
      else if (previousLines.has(line) && !linesToday.has(line)) found[MessyKind.LateOption]++;
      seenOptions.add(text);
      if (!allLines.has(line)) found[MessyKind.OrphanOption]++;
    }
    previousItems = seenItems;
    previousOptions = seenOptions;
    previousLines = linesToday;
  }
  return found;
}

describe('generateChain: determinism and format', () => {
  const options = { locations: 3, days: 6, startDate: '2023-03-08', ordersPerLocationDay: 60 } as const;

  it('writes the same bytes for the same seed and different bytes for another seed', async () => {
    // Prepare
    const [first, second, other] = await Promise.all([freshDir(), freshDir(), freshDir()]);

    // Act
    await generateChain({ ...options, outDir: first, seed: 42, profile: 'messy' });
    await generateChain({ ...options, outDir: second, seed: 42, profile: 'messy' });
    await generateChain({ ...options, outDir: other, seed: 43, profile: 'messy' });

    // Assess
    const firstHash = await hashTree(first);
    expect(await hashTree(second)).toBe(firstHash);
    expect(await hashTree(other)).not.toBe(firstHash);
  });

  it('writes the export format: headers, ids, prices, timestamps, reference files', async () => {
    // Prepare
    const dir = await freshDir();

    // Act
    const summary = await generateChain({ ...options, outDir: dir, seed: 7, profile: 'clean' });

    // Assess
    const files = await listFiles(dir);
    expect(files).toEqual([...summary.files].sort());
    expect(files).toContain('date_dim.csv');
    expect(files).toContain('locations.csv');
    expect(files).toContain('2023-03-08/order_items.csv');
    expect(files).toContain('2023-03-13/order_item_options.csv');
    expect(files).toHaveLength(2 + 2 * options.days);
    const locations = await readCsv(join(dir, 'locations.csv'));
    expect(locations.header).toBe(LOCATIONS_HEADER);
    expect(locations.records).toHaveLength(3);
    for (const [id, name, zone] of locations.records) {
      expect(id).toMatch(/^[0-9a-f]{24}$/);
      expect(name).not.toBe('');
      expect(zone).toMatch(/^America\/(New_York|Chicago|Denver|Phoenix|Los_Angeles)$/);
    }
    const dateDim = await readFile(join(dir, 'date_dim.csv'), 'utf8');
    expect(
      dateDim.startsWith(`${DATE_DIM_HEADER}\n01-01-2023,2023,1,52,Sunday,TRUE,TRUE,New Year's Day\n`),
    ).toBe(true);
    const items = await readCsv(join(dir, '2023-03-08/order_items.csv'));
    expect(items.header).toBe(ORDER_ITEMS_HEADER);
    for (const record of items.records) {
      expect(record).toHaveLength(13);
      const [
        app,
        restaurantId,
        created,
        orderId,
        userId,
        card,
        loyalty,
        currency,
        lineItemId,
        ,
        name,
        price,
        qty,
      ] = record;
      expect(app).not.toBe('');
      expect(restaurantId).toMatch(/^[0-9a-f]{24}$/);
      expect(created).toMatch(ISO_INSTANT);
      expect(orderId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(userId).toMatch(/^([0-9a-f]{24})?$/);
      expect(loyalty).toMatch(/^(TRUE|FALSE)$/);
      expect(card).toMatch(loyalty === 'TRUE' ? /^\*{12}\d{4}$/ : /^$/);
      expect(currency).toBe('USD');
      expect(lineItemId).not.toBe('');
      expect(name).not.toBe('');
      expect(price).toMatch(MONEY);
      expect(qty).toMatch(/^[1-9]\d*$/);
    }
    const optionsFile = await readCsv(join(dir, '2023-03-08/order_item_options.csv'));
    expect(optionsFile.header).toBe(ORDER_ITEM_OPTIONS_HEADER);
    for (const record of optionsFile.records) {
      expect(record).toHaveLength(6);
      expect(record[4]).toMatch(/^-?\d+\.\d{2}$/);
      expect(record[5]).toMatch(/^[1-9]\d*$/);
    }
    const raw = await readFile(join(dir, '2023-03-08/order_items.csv'), 'utf8');
    expect(raw.includes('\r')).toBe(false);
    expect(raw.endsWith('\n')).toBe(true);
  });

  it('splits files per location-day or into single files with the same rows', async () => {
    // Prepare
    const [byDay, byLocationDay, single] = await Promise.all([freshDir(), freshDir(), freshDir()]);

    // Act
    const dayRun = await generateChain({ ...options, outDir: byDay, seed: 5, profile: 'clean' });
    const locationRun = await generateChain({
      ...options,
      outDir: byLocationDay,
      seed: 5,
      profile: 'clean',
      filesPer: 'location-day',
    });
    const singleRun = await generateChain({
      ...options,
      outDir: single,
      seed: 5,
      profile: 'clean',
      filesPer: 'single',
    });

    // Assess
    expect(locationRun.files).toHaveLength(2 + 2 * options.days * options.locations);
    expect(singleRun.files).toEqual([
      'locations.csv',
      'date_dim.csv',
      'order_items.csv',
      'order_item_options.csv',
    ]);
    expect(locationRun.rows).toEqual(dayRun.rows);
    expect(singleRun.rows).toEqual(dayRun.rows);
    const singleItems = await readCsv(join(single, 'order_items.csv'));
    expect(singleItems.records).toHaveLength(dayRun.rows.orderItems);
  });

  it('rejects a non-empty output folder and bad options', async () => {
    // Prepare
    const dir = await freshDir();
    await writeFile(join(dir, 'keep.txt'), 'mine');

    // Act / Assess
    await expect(generateChain({ ...options, outDir: dir, seed: 1 })).rejects.toThrow(/not empty/);
    await expect(generateChain({ ...options, outDir: await freshDir(), seed: 1, days: 0 })).rejects.toThrow(
      /days must be an integer/,
    );
    await expect(
      generateChain({ ...options, outDir: await freshDir(), seed: 1, startDate: '2023-02-30' }),
    ).rejects.toThrow(/startDate/);
  });
});

describe('generateChain: realism on a medium run', () => {
  const startDate = '2023-02-20';
  const days = 40;
  let cleanDir: string;
  let defaultDir: string;
  let cleanSummary: GeneratorSummary;
  let defaultSummary: GeneratorSummary;
  let clean: ReadBack;
  let messy: ReadBack;

  beforeAll(async () => {
    cleanDir = await freshDir();
    defaultDir = await freshDir();
    const common = { locations: 12, days, seed: 2023, startDate, ordersPerLocationDay: 80 } as const;
    cleanSummary = await generateChain({ ...common, outDir: cleanDir, profile: 'clean' });
    defaultSummary = await generateChain({ ...common, outDir: defaultDir });
    clean = await readBack(cleanDir, startDate, days);
    messy = await readBack(defaultDir, startDate, days);
  }, 120_000);

  it('has the real exports’ ratios: lines per order, guests, options per line, discounts', () => {
    // Prepare
    const orders = new Map<string, { guest: boolean }>();
    let lines = 0;
    let optionRows = 0;
    const discounted = new Set<string>();
    for (const { items, options } of clean.days) {
      for (const record of items) {
        lines++;
        orders.set(record[3] ?? '', { guest: record[4] === '' });
      }
      for (const record of options) {
        optionRows++;
        if ((record[4] ?? '').startsWith('-')) discounted.add(record[0] ?? '');
      }
    }

    // Act
    const linesPerOrder = lines / orders.size;
    const guestShare = [...orders.values()].filter((order) => order.guest).length / orders.size;
    const optionsPerLine = optionRows / lines;
    const discountedShare = discounted.size / orders.size;

    // Assess
    expect(orders.size).toBe(cleanSummary.orders);
    expect(linesPerOrder).toBeGreaterThan(1.5);
    expect(linesPerOrder).toBeLessThan(1.6);
    expect(guestShare).toBeGreaterThan(0.08);
    expect(guestShare).toBeLessThan(0.1);
    expect(optionsPerLine).toBeGreaterThan(0.9);
    expect(optionsPerLine).toBeLessThan(1.1);
    expect(discountedShare).toBeGreaterThan(0.01);
    expect(discountedShare).toBeLessThan(0.08);
  });

  it('has returning customers, a loyal core and one-time customers', () => {
    // Prepare
    const ordersByCustomer = new Map<string, Set<string>>();
    for (const { items } of clean.days) {
      for (const record of items) {
        const userId = record[4] ?? '';
        if (userId === '') continue;
        let orders = ordersByCustomer.get(userId);
        if (orders === undefined) {
          orders = new Set();
          ordersByCustomer.set(userId, orders);
        }
        orders.add(record[3] ?? '');
      }
    }

    // Act
    const counts = [...ordersByCustomer.values()].map((orders) => orders.size);
    const oneTime = counts.filter((count) => count === 1).length / counts.length;
    const weekly = counts.filter((count) => count >= 4).length / counts.length;

    // Assess
    expect(ordersByCustomer.size).toBe(cleanSummary.customers);
    expect(oneTime).toBeGreaterThan(0.5);
    expect(weekly).toBeGreaterThan(0.02);
    expect(Math.max(...counts)).toBeGreaterThanOrEqual(5);
  });

  it('places orders by daypart in each location’s own time zone, on the export day', () => {
    // Prepare
    const localHours = new Array<number>(24).fill(0);
    const utcHours = new Array<number>(24).fill(0);
    let orders = 0;
    let wrongDay = 0;
    for (const { date, items } of clean.days) {
      const seen = new Set<string>();
      for (const record of items) {
        if (seen.has(record[3] ?? '')) continue;
        seen.add(record[3] ?? '');
        const instant = Date.parse(record[2] ?? '');
        const local = toLocalTime(instant, clean.zones.get(record[1] ?? '') ?? 'UTC');
        localHours[local.hour] = (localHours[local.hour] ?? 0) + 1;
        const utcHour = new Date(instant).getUTCHours();
        utcHours[utcHour] = (utcHours[utcHour] ?? 0) + 1;
        if (local.localDate !== date) wrongDay++;
        orders++;
      }
    }

    // Act
    const total = defaultProfile.hourWeights.reduce((sum, weight) => sum + weight, 0);
    const expected = defaultProfile.hourWeights.map((weight) => weight / total);
    const localError = Math.max(
      ...localHours.map((count, hour) => Math.abs(count / orders - (expected[hour] ?? 0))),
    );
    const utcError = Math.max(
      ...utcHours.map((count, hour) => Math.abs(count / orders - (expected[hour] ?? 0))),
    );

    // Assess
    expect(wrongDay).toBe(0);
    expect(localError).toBeLessThan(0.006);
    expect(utcError).toBeGreaterThan(0.03);
    const lunch = [11, 12, 13, 14].reduce((sum, hour) => sum + (localHours[hour] ?? 0), 0) / orders;
    const dinner = [17, 18, 19, 20].reduce((sum, hour) => sum + (localHours[hour] ?? 0), 0) / orders;
    expect(lunch).toBeGreaterThan(0.25);
    expect(dinner).toBeGreaterThan(0.25);
  });

  it('busier on weekends than early in the week', () => {
    // Prepare
    const ordersByWeekday = new Array<number>(7).fill(0);
    const daysByWeekday = new Array<number>(7).fill(0);
    for (const { date, items } of clean.days) {
      const weekday = new Date(`${date}T00:00:00Z`).getUTCDay();
      ordersByWeekday[weekday] =
        (ordersByWeekday[weekday] ?? 0) + new Set(items.map((record) => record[3])).size;
      daysByWeekday[weekday] = (daysByWeekday[weekday] ?? 0) + 1;
    }

    // Act
    const perDay = ordersByWeekday.map((orders, weekday) => orders / (daysByWeekday[weekday] ?? 1));

    // Assess: Saturday (6) beats Monday (1) and Tuesday (2) by well over the day-to-day noise.
    expect(perDay[6]).toBeGreaterThan((perDay[1] ?? 0) * 1.25);
    expect(perDay[6]).toBeGreaterThan((perDay[2] ?? 0) * 1.25);
  });

  it('injects every messy kind in the default profile, at 1–2 % of rows, and none in clean', () => {
    // Act
    const foundInDefault = findMess(messy);
    const foundInClean = findMess(clean);
    const rows = defaultSummary.rows.orderItems + defaultSummary.rows.orderItemOptions;

    // Assess
    for (const kind of Object.values(MessyKind)) {
      expect(foundInDefault[kind], kind).toBeGreaterThan(0);
      expect(defaultSummary.messyRows[kind], kind).toBeGreaterThan(0);
      expect(foundInClean[kind], kind).toBe(0);
      expect(cleanSummary.messyRows[kind], kind).toBe(0);
    }
    expect(defaultSummary.messyRowTotal / rows).toBeGreaterThan(0.01);
    expect(defaultSummary.messyRowTotal / rows).toBeLessThan(0.02);
    // The read-back agrees with the generator's own count for the kinds it can see exactly.
    expect(foundInDefault[MessyKind.TestApp]).toBe(defaultSummary.messyRows[MessyKind.TestApp]);
    expect(foundInDefault[MessyKind.MalformedRow]).toBe(defaultSummary.messyRows[MessyKind.MalformedRow]);
    expect(foundInDefault[MessyKind.OrphanOption]).toBe(defaultSummary.messyRows[MessyKind.OrphanOption]);
  });

  it('keeps the clean run’s genuine rows identical in shape to the default run’s', () => {
    expect(defaultSummary.orders).toBe(cleanSummary.orders);
    expect(defaultSummary.lineItems).toBe(cleanSummary.lineItems);
  });
});

describe('profiles', () => {
  it('applies a JSON file of overrides and rejects unknown fields', async () => {
    // Prepare
    const dir = await freshDir();
    const profileFile = join(dir, 'profile.json');
    await writeFile(
      profileFile,
      JSON.stringify({ name: 'no-guests', guestOrderShare: 0, messy: { crlfFile: 1 } }),
    );
    const badFile = join(dir, 'bad.json');
    await writeFile(badFile, JSON.stringify({ guestShare: 0.5 }));
    const outDir = join(dir, 'out');

    // Act
    const summary = await generateChain({ outDir, locations: 2, days: 2, seed: 3, profile: profileFile });

    // Assess
    expect(summary.profile).toBe('no-guests');
    expect(summary.guestOrders).toBe(0);
    const raw = await readFile(join(outDir, summary.files[2] ?? ''), 'utf8');
    expect(raw.split('\r\n')[0]).toBe(ORDER_ITEMS_HEADER);
    await expect(
      generateChain({ outDir: join(dir, 'bad'), locations: 1, days: 1, seed: 3, profile: badFile }),
    ).rejects.toThrow(/unknown profile field profile\.guestShare/);
  });
});

describe('wallClockToUtc', () => {
  it('converts local wall time to UTC across daylight saving changes', () => {
    const wall = (iso: string): number => Date.parse(`${iso}Z`);
    expect(new Date(wallClockToUtc(wall('2023-03-11T12:00:00'), 'America/New_York')).toISOString()).toBe(
      '2023-03-11T17:00:00.000Z',
    );
    expect(new Date(wallClockToUtc(wall('2023-03-12T12:00:00'), 'America/New_York')).toISOString()).toBe(
      '2023-03-12T16:00:00.000Z',
    );
    expect(new Date(wallClockToUtc(wall('2023-07-01T12:00:00'), 'America/Phoenix')).toISOString()).toBe(
      '2023-07-01T19:00:00.000Z',
    );
  });
});

describe('tillstream generate', () => {
  it('writes the files and a summary', async () => {
    // Prepare
    const dir = await freshDir();

    // Act
    const { stdout } = await run(
      process.execPath,
      [
        'shared/cli/tillstream.mjs',
        'generate',
        '--out',
        dir,
        '--locations',
        '3',
        '--days',
        '5',
        '--seed',
        '1',
      ],
      { cwd: join(import.meta.dirname, '../../..') },
    );

    // Assess
    const files = await listFiles(dir);
    expect(files).toHaveLength(2 + 2 * 5);
    expect(files).toContain('2023-01-05/order_items.csv');
    expect(stdout).toMatch(/order_items\s+\d+ rows/);
    expect(stdout).toMatch(/messy rows\s+\d+/);
  }, 60_000);

  it('exits 2 on a bad option', async () => {
    const dir = await freshDir();
    const failure = await run(
      process.execPath,
      ['shared/cli/tillstream.mjs', 'generate', '--out', dir, '--files-per', 'week'],
      { cwd: join(import.meta.dirname, '../../..') },
    ).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 2 });
    expect((failure as { stderr: string }).stderr).toMatch(/--files-per must be one of/);
  }, 60_000);
});
