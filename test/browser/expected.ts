/**
 * The figures the dashboard must show, computed straight from the generated CSV files with
 * papaparse and `Intl` (CONTRACT.md §2), sharing no code with the pipeline or the dashboard. The
 * generator's `clean` profile has no duplicates, test-app rows or late options, so every row counts.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import Papa from 'papaparse';

export interface ExpectedOrder {
  readonly orderId: string;
  readonly locationId: string;
  readonly customerId: string | null;
  readonly localDate: string;
  readonly loyalty: boolean;
  readonly items: number;
  readonly netCents: number;
  readonly grossCents: number;
  readonly discountCents: number;
  readonly discounted: boolean;
}

export interface ExpectedChain {
  readonly locations: ReadonlyMap<string, { name: string; timeZone: string }>;
  readonly holidays: ReadonlyMap<string, string>;
  readonly orders: readonly ExpectedOrder[];
}

function cents(text: string): number {
  const match = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (match === null) throw new Error(`not a price: ${text}`);
  const value = Number(match[2]) * 100 + Number((match[3] ?? '').padEnd(2, '0'));
  return match[1] === '-' ? -value : value;
}

function localDate(instantMs: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date(instantMs));
}

async function csv(file: string): Promise<Record<string, string>[]> {
  const text = await readFile(file, 'utf8');
  return Papa.parse<Record<string, string>>(text, { header: true, skipEmptyLines: true }).data;
}

/** Reads a generated chain folder and derives every order's figures. */
export async function expectedChain(dir: string): Promise<ExpectedChain> {
  const locations = new Map(
    (await csv(path.join(dir, 'locations.csv'))).map((row) => [
      row['RESTAURANT_ID']!,
      { name: row['NAME']!, timeZone: row['TIMEZONE']! },
    ]),
  );
  const holidays = new Map<string, string>();
  for (const row of await csv(path.join(dir, 'date_dim.csv'))) {
    if (row['is_holiday']?.toUpperCase() !== 'TRUE') continue;
    const [day, month, year] = row['date_key']!.split('-');
    holidays.set(`${year}-${month}-${day}`, row['holiday_name']!);
  }
  const files = (await readdir(dir, { recursive: true })).map((entry) => entry.split(path.sep).join('/'));
  const lines = new Map<
    string,
    {
      time: number;
      locationId: string;
      userId: string;
      loyalty: boolean;
      lineId: string;
      priceCents: number;
      quantity: number;
    }[]
  >();
  const options: { orderId: string; lineId: string; priceCents: number; quantity: number }[] = [];
  for (const file of files.sort()) {
    if (file.endsWith('order_items.csv')) {
      for (const row of await csv(path.join(dir, file))) {
        const orderId = row['ORDER_ID']!;
        const list = lines.get(orderId) ?? [];
        list.push({
          time: Date.parse(row['CREATION_TIME_UTC']!),
          locationId: row['RESTAURANT_ID']!,
          userId: row['USER_ID'] ?? '',
          loyalty: row['IS_LOYALTY']?.toUpperCase() === 'TRUE',
          lineId: row['LINEITEM_ID']!,
          priceCents: cents(row['ITEM_PRICE']!),
          quantity: Number(row['ITEM_QUANTITY']),
        });
        lines.set(orderId, list);
      }
    } else if (file.endsWith('order_item_options.csv')) {
      for (const row of await csv(path.join(dir, file))) {
        options.push({
          orderId: row['ORDER_ID']!,
          lineId: row['LINEITEM_ID']!,
          priceCents: cents(row['OPTION_PRICE']!),
          quantity: Number(row['OPTION_QUANTITY']),
        });
      }
    }
  }
  const optionsByOrder = new Map<string, typeof options>();
  for (const option of options) {
    const list = optionsByOrder.get(option.orderId) ?? [];
    list.push(option);
    optionsByOrder.set(option.orderId, list);
  }
  const orders: ExpectedOrder[] = [];
  for (const [orderId, orderLines] of lines) {
    const first = [...orderLines].sort((a, b) => a.time - b.time)[0]!;
    const location = locations.get(first.locationId);
    if (location === undefined) throw new Error(`unknown location ${first.locationId}`);
    let net = 0;
    let negative = 0;
    for (const line of orderLines) net += line.priceCents * line.quantity;
    const lineIds = new Set(orderLines.map((line) => line.lineId));
    for (const option of optionsByOrder.get(orderId) ?? []) {
      if (!lineIds.has(option.lineId)) continue;
      net += option.priceCents * option.quantity;
      if (option.priceCents < 0) negative += option.priceCents * option.quantity;
    }
    orders.push({
      orderId,
      locationId: first.locationId,
      customerId: first.userId === '' ? null : first.userId,
      localDate: localDate(first.time, location.timeZone),
      loyalty: orderLines.some((line) => line.loyalty),
      items: orderLines.reduce((sum, line) => sum + line.quantity, 0),
      netCents: net,
      grossCents: net - negative,
      discountCents: -negative,
      discounted: negative < 0,
    });
  }
  return { locations, holidays, orders };
}

/** Sums of a set of orders. */
export function totals(orders: readonly ExpectedOrder[]) {
  return {
    orders: orders.length,
    items: orders.reduce((sum, order) => sum + order.items, 0),
    netCents: orders.reduce((sum, order) => sum + order.netCents, 0),
    grossCents: orders.reduce((sum, order) => sum + order.grossCents, 0),
    discountCents: orders.reduce((sum, order) => sum + order.discountCents, 0),
  };
}

/** `$1,234.56`, written independently of the dashboard's formatter. */
export function dollars(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  const whole = Math.floor(abs / 100).toLocaleString('en-US');
  return `${sign}$${whole}.${String(abs % 100).padStart(2, '0')}`;
}

/** Cents / count rounded half away from zero (amounts are non-negative here). */
export function average(cents: number, count: number): number {
  return Math.round(cents / count);
}
