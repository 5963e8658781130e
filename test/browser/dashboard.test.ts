/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) over the embedded
 * stack: a generated chain is ingested by the poller and applied by the shard processors, a nightly
 * snapshot is written, and each view must show the figures computed independently from the CSV
 * files. A record put on the stream while the page is open must appear within seconds.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { itemsToMartInput } from '../../aggregates/mart-input.js';
import { computeMarts } from '../../aggregates/marts/index.js';
import { createFolderSource } from '../../ingest/folder/source.js';
import { generateChain } from '../../ingest/generator/index.js';
import { runPollCycle } from '../../ingest/poll.js';
import { putRecords } from '../../ingest/producer.js';
import { PollerState } from '../../ingest/state.js';
import { readSnapshotFile, writeSnapshot } from '../../processors/compaction/snapshot.js';
import { type RunningDashboard, startDashboard } from '../../processors/dashboard/server.js';
import { runShardProcessors } from '../../processors/shard/runner.js';
import { bootstrapLocalResources } from '../../shared/aws/bootstrap.js';
import { type AwsClients, createClients } from '../../shared/aws/clients.js';
import { defaults, type Settings } from '../../shared/config.js';
import { type LocalStack, startLocalStack } from '../../shared/local/stack.js';
import { type ResourceNames, resourceNames } from '../../shared/resources.js';
import { encodeOrderEvent } from '../../shared/schemas/order-event.js';
import {
  average,
  dollars,
  type ExpectedChain,
  type ExpectedOrder,
  expectedChain,
  totals,
} from './expected.js';

const CHROMIUM = process.env['TILLSTREAM_CHROMIUM'] ?? '/usr/bin/chromium';
const ARTIFACTS = path.resolve('test/artifacts');
const START = '2023-08-01';
const AS_OF = '2023-11-28';
const FROM = '2023-10-30';
const ITEMS_HEADER =
  'APP_NAME,RESTAURANT_ID,CREATION_TIME_UTC,ORDER_ID,USER_ID,PRINTED_CARD_NUMBER,IS_LOYALTY,CURRENCY,LINEITEM_ID,ITEM_CATEGORY,ITEM_NAME,ITEM_PRICE,ITEM_QUANTITY';

let workDir: string;
let stack: LocalStack;
let clients: AwsClients;
let names: ResourceNames;
let settings: Settings;
let chain: ExpectedChain;
let browser: BrowserContext;
let dashboard: RunningDashboard;
const processing = new AbortController();
let processor: Promise<unknown>;

async function scanAll(table: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await clients.doc.send(new ScanCommand({ TableName: table, ExclusiveStartKey: startKey }));
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return items;
}

async function openView(page: Page, view: string, query: Record<string, string> = {}): Promise<void> {
  const search = new URLSearchParams({ from: FROM, to: AS_OF, ...query });
  await page.goto(`${dashboard.url}#/${view}?${search.toString()}`);
  await page.waitForFunction(
    (name) =>
      document.body.dataset['view'] === name &&
      document.getElementById('status')?.dataset['state'] === 'ready',
    view,
  );
}

/** The text a user reads in an element (its text content; the dashboard hides no text). */
const textOf = async (locator: Locator) => ((await locator.textContent()) ?? '').trim();
const kpi = (page: Page, name: string) => textOf(page.locator(`[data-kpi="${name}"] .value`));
const cell = (page: Page, tableName: string, row: string, column: string) =>
  textOf(page.locator(`[data-table="${tableName}"] tr[data-row="${row}"] td[data-col="${column}"]`));

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `dashboard-${name}.png`), fullPage: true });
}

const inRange = (order: ExpectedOrder) => order.localDate >= FROM && order.localDate <= AS_OF;

describe('dashboard in Chromium over the embedded stack', () => {
  let page: Page;

  beforeAll(async () => {
    // Prepare: a chain of 3 locations over 120 days, plus a file with one rejected row
    workDir = await mkdtemp(path.join(tmpdir(), 'tillstream-dashboard-'));
    const input = path.join(workDir, 'input');
    await generateChain({
      outDir: input,
      locations: 3,
      days: 120,
      seed: 11,
      ordersPerLocationDay: 6,
      profile: 'clean',
      startDate: START,
    });
    await mkdir(path.join(input, 'extra'), { recursive: true });
    const firstLocation = [...(await expectedChain(input)).locations.keys()][0]!;
    await writeFile(
      path.join(input, 'extra', 'broken_items.csv'),
      `${ITEMS_HEADER}\nChainApp,${firstLocation},2023-11-01T12:00:00Z,BROKEN-1,U1,,FALSE,USD,L1,Burgers,Burger,abc,1\n`,
    );
    chain = await expectedChain(input);

    stack = await startLocalStack({ stateDir: path.join(workDir, 'state'), fresh: true });
    settings = { ...defaults, resourcePrefix: 'dash', shardCount: 2 };
    names = resourceNames(settings);
    await bootstrapLocalResources(stack.endpoints, names, { shardCount: 2 });
    clients = createClients({ kind: 'local', endpoints: stack.endpoints });

    // Act: ingest, process until caught up, write the nightly snapshot as compaction would
    const started = performance.now();
    await runPollCycle({ clients, names, settings, source: createFolderSource(input), clock: Date.now });
    await runShardProcessors(clients.kinesis, clients.doc, names, {
      untilCaughtUp: true,
      batchMaxWaitMs: 100,
      idlePollMs: 20,
    });
    console.log(
      `pipeline: ingested and processed ${chain.orders.length} orders in ${Math.round(performance.now() - started)} ms`,
    );
    const martInput = itemsToMartInput(
      (await scanAll(names.aggregatesTable)) as { pk: string; sk: string }[],
    );
    const calendar = await new PollerState(clients.doc, names.stateTable).calendar();
    await writeSnapshot({
      s3: clients.s3,
      bucket: names.martsBucket,
      asOf: AS_OF,
      runId: 'browser-test-1',
      marts: computeMarts({
        asOf: AS_OF,
        customers: martInput.customers,
        locationDays: martInput.locationDays,
        holidays: calendar
          .filter((day) => day.isHoliday)
          .map((day) => ({ date: day.date, name: day.holidayName })),
      }),
      checkpoints: [],
      codeVersion: 'browser-test',
    });

    // The processors keep running, as in `tillstream up`, so new records reach the page.
    processor = runShardProcessors(clients.kinesis, clients.doc, names, {
      batchMaxWaitMs: 200,
      idlePollMs: 100,
      signal: processing.signal,
    });
    dashboard = await startDashboard({ clients, names, settings, port: 0, refreshMs: 250 });
    await mkdir(ARTIFACTS, { recursive: true });
    // A fresh profile per run: nothing cached from an earlier run can satisfy a request.
    browser = await chromium.launchPersistentContext(path.join(workDir, 'chromium-profile'), {
      executablePath: CHROMIUM,
      viewport: { width: 1280, height: 900 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-quic',
        '--no-first-run',
        '--disable-sync',
      ],
    });
    page = browser.pages()[0] ?? (await browser.newPage());
  });

  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    processing.abort();
    await processor?.catch(() => {});
    clients?.destroy();
    await stack?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('shows sales trends: totals of the range, a location filter and the holidays', async () => {
    // Prepare
    const expected = totals(chain.orders.filter(inRange));
    const [locationId, place] = [...chain.locations.entries()][1]!;
    const atLocation = totals(
      chain.orders.filter((order) => inRange(order) && order.locationId === locationId),
    );
    const holidays = [...chain.holidays.entries()].filter(([date]) => date >= FROM && date <= AS_OF);

    // Act
    await openView(page, 'trends');

    // Assess
    expect(await kpi(page, 'revenue')).toBe(dollars(expected.netCents));
    expect(await kpi(page, 'orders')).toBe(expected.orders.toLocaleString('en-US'));
    expect(await kpi(page, 'items')).toBe(expected.items.toLocaleString('en-US'));
    expect(await kpi(page, 'aov')).toBe(dollars(average(expected.netCents, expected.orders)));
    expect(holidays.length).toBeGreaterThan(0);
    for (const [date, name] of holidays) {
      expect(await textOf(page.locator(`[data-list="holidays"] li[data-date="${date}"]`))).toContain(name);
    }
    expect(await page.locator('#trend-chart').count()).toBe(1);
    expect(await page.locator('[data-table="heatmap"] tbody tr').count()).toBe(7);
    await screenshot(page, '1-trends');

    // Act: filter one location
    await page.selectOption('select[name="location"]', locationId);
    await page.waitForFunction(
      (id) =>
        window.location.hash.includes(`location=${id}`) &&
        document.getElementById('status')?.dataset['state'] === 'ready',
      locationId,
    );
    await expect.poll(() => kpi(page, 'revenue')).toBe(dollars(atLocation.netCents));
    expect(await textOf(page.locator('select[name="location"] option:checked'))).toBe(place.name);
    expect(await kpi(page, 'orders')).toBe(atLocation.orders.toLocaleString('en-US'));
  });

  it('ranks locations by revenue with average order value, best and worst', async () => {
    // Prepare
    const rows = [...chain.locations.keys()]
      .map((locationId) => ({
        locationId,
        ...totals(chain.orders.filter((o) => inRange(o) && o.locationId === locationId)),
      }))
      .sort((a, b) => b.netCents - a.netCents);

    // Act
    await openView(page, 'locations');

    // Assess
    for (const [index, row] of rows.entries()) {
      expect(await cell(page, 'locations', row.locationId, 'rank')).toContain(String(index + 1));
      expect(await cell(page, 'locations', row.locationId, 'name')).toBe(
        chain.locations.get(row.locationId)!.name,
      );
      expect(await cell(page, 'locations', row.locationId, 'revenue')).toBe(dollars(row.netCents));
      expect(await cell(page, 'locations', row.locationId, 'orders')).toBe(
        row.orders.toLocaleString('en-US'),
      );
      expect(await cell(page, 'locations', row.locationId, 'aov')).toBe(
        dollars(average(row.netCents, row.orders)),
      );
      expect(await cell(page, 'locations', row.locationId, 'perDay')).toBe((row.orders / 30).toFixed(2));
    }
    expect(await page.locator(`tr.best[data-row="${rows[0]!.locationId}"]`).count()).toBe(1);
    expect(await page.locator(`tr.worst[data-row="${rows.at(-1)!.locationId}"]`).count()).toBe(1);
    await screenshot(page, '2-locations');
  });

  it('shows RFM segments and CLV tiers of the nightly snapshot, filtered by loyalty', async () => {
    // Prepare: the snapshot's own rows, counted here, and the customers counted from the CSV input
    const location = { s3: clients.s3, bucket: names.martsBucket, asOf: AS_OF };
    const csv = Buffer.from(await readSnapshotFile(location, 'customer_metrics', 'csv')).toString('utf8');
    const [header, ...lines] = csv.trim().split('\n');
    const columns = header!.split(',');
    const rows = lines.map((line) =>
      Object.fromEntries(line.split(',').map((value, i) => [columns[i], value])),
    );
    const customers = new Set(chain.orders.filter((o) => o.customerId !== null).map((o) => o.customerId));
    const members = new Set(
      chain.orders.filter((o) => o.customerId !== null && o.loyalty).map((o) => o.customerId),
    );
    const bySegment = new Map<string, number>();
    for (const row of rows.filter((r) => r['loyalty_member'] === 'true')) {
      bySegment.set(row['rfm_segment']!, (bySegment.get(row['rfm_segment']!) ?? 0) + 1);
    }
    const highTier = rows.filter((row) => row['clv_tier'] === 'High').length;

    // Act
    await openView(page, 'segments');

    // Assess
    expect(rows).toHaveLength(customers.size);
    expect(await kpi(page, 'customers')).toBe(customers.size.toLocaleString('en-US'));
    expect(await kpi(page, 'high')).toBe(highTier.toLocaleString('en-US'));
    expect(await page.locator(`[data-snapshot="${AS_OF}"]`).count()).toBe(1);
    await screenshot(page, '3-segments');

    // Act: members only
    await openView(page, 'segments', { loyalty: 'member' });

    // Assess
    expect(await kpi(page, 'customers')).toBe(members.size.toLocaleString('en-US'));
    for (const [segment, count] of bySegment) {
      expect(await cell(page, 'segments', segment, 'customers')).toBe(count.toLocaleString('en-US'));
    }
  });

  it('lists at-risk customers (> 45 days) with a downloadable re-engagement CSV', async () => {
    // Prepare: last local date per customer, from the CSV input
    const lastDate = new Map<string, string>();
    for (const order of chain.orders) {
      if (order.customerId === null || order.localDate > AS_OF) continue;
      const known = lastDate.get(order.customerId);
      if (known === undefined || order.localDate > known) lastDate.set(order.customerId, order.localDate);
    }
    const cutoff = new Date(Date.parse(`${AS_OF}T00:00:00Z`) - 45 * 86_400_000).toISOString().slice(0, 10);
    const atRisk = [...lastDate.values()].filter((date) => date < cutoff).length;

    // Act
    await openView(page, 'churn');
    const download = await page.evaluate(async () => {
      const link = document.querySelector<HTMLAnchorElement>('[data-download="at-risk"]');
      return link === null ? '' : (await fetch(link.href)).text();
    });

    // Assess
    expect(atRisk).toBeGreaterThan(0);
    expect(await kpi(page, 'atRisk')).toBe(atRisk.toLocaleString('en-US'));
    expect(await kpi(page, 'customers')).toBe(lastDate.size.toLocaleString('en-US'));
    expect(download.trim().split('\n')).toHaveLength(atRisk + 1);
    expect(await page.locator('[data-table="at-risk"] tbody tr').count()).toBe(Math.min(50, atRisk));
    await screenshot(page, '4-churn');
  });

  it('compares members, non-members and guests', async () => {
    // Prepare
    const members = new Set(
      chain.orders.filter((o) => o.customerId !== null && o.loyalty).map((o) => o.customerId),
    );
    const group = (name: string) =>
      totals(
        chain.orders.filter((order) =>
          name === 'guest'
            ? order.customerId === null
            : order.customerId !== null && members.has(order.customerId) === (name === 'member'),
        ),
      );

    // Act
    await openView(page, 'loyalty');

    // Assess
    for (const name of ['member', 'non_member', 'guest']) {
      const expected = group(name);
      expect(await cell(page, 'loyalty', name, 'orders')).toBe(expected.orders.toLocaleString('en-US'));
      expect(await cell(page, 'loyalty', name, 'revenue')).toBe(dollars(expected.netCents));
      expect(await cell(page, 'loyalty', name, 'aov')).toBe(
        dollars(average(expected.netCents, expected.orders)),
      );
    }
    expect(await cell(page, 'loyalty', 'guest', 'customers')).toBe('—');
    await screenshot(page, '5-loyalty');
  });

  it('splits discounted and full-price orders with gross, discount and net revenue', async () => {
    // Prepare
    const orders = chain.orders.filter(inRange);
    const discounted = totals(orders.filter((order) => order.discounted));
    const fullPrice = totals(orders.filter((order) => !order.discounted));

    // Act
    await openView(page, 'discounts');

    // Assess
    expect(discounted.orders).toBeGreaterThan(0);
    expect(await kpi(page, 'discountedOrders')).toBe(discounted.orders.toLocaleString('en-US'));
    expect(await kpi(page, 'discount')).toBe(dollars(discounted.discountCents));
    expect(await kpi(page, 'gross')).toBe(dollars(discounted.grossCents + fullPrice.grossCents));
    expect(await kpi(page, 'net')).toBe(dollars(discounted.netCents + fullPrice.netCents));
    expect(await cell(page, 'discount-split', 'discounted', 'net')).toBe(dollars(discounted.netCents));
    expect(await cell(page, 'discount-split', 'full_price', 'orders')).toBe(
      fullPrice.orders.toLocaleString('en-US'),
    );
    expect(await cell(page, 'discount-split', 'full_price', 'aov')).toBe(
      dollars(average(fullPrice.netCents, fullPrice.orders)),
    );
    expect(await page.locator('[data-table="before-after"] tbody tr').count()).toBe(chain.locations.size);
    await screenshot(page, '6-discounts');
  });

  it('shows shard lag, quarantine counts per file and the last snapshot', async () => {
    // Act
    await openView(page, 'ops');

    // Assess
    expect(await page.locator('[data-table="shards"] tbody tr').count()).toBe(2);
    expect(await cell(page, 'files', 'extra/broken_items.csv', 'quarantined')).toBe('1');
    expect(await cell(page, 'files', 'extra/broken_items.csv', 'reasons')).toBe('bad_number 1');
    expect(await kpi(page, 'quarantined')).toBe('1');
    expect(await kpi(page, 'snapshot')).toBe(AS_OF);
    await screenshot(page, '7-ops');
  });

  it('shows a record put on the stream within a few seconds', async () => {
    // Prepare
    await openView(page, 'trends');
    const before = totals(chain.orders.filter(inRange));
    const [locationId, location] = [...chain.locations.entries()][0]!;
    const noonLocal = Date.parse(`${AS_OF}T17:00:00Z`);
    const event = {
      eventId: 'browser-live-1',
      orderId: 'BROWSER-LIVE-1',
      lines: [
        {
          lineItemId: 'L1',
          restaurantId: locationId,
          timeZone: location.timeZone,
          createdAtMs: noonLocal,
          userId: null,
          isLoyalty: false,
          category: 'Burgers',
          unitPriceCents: 1234,
          quantity: 2,
          lineage: { file: 'browser-live', contentHash: 'live', row: 1, arrival: 1_000_000 },
        },
      ],
      options: [],
    };

    // Act
    const putAt = Date.now();
    await putRecords(clients.kinesis, names.ordersStream, [
      { partitionKey: event.orderId, data: encodeOrderEvent(event) },
    ]);

    // Assess
    await expect
      .poll(() => kpi(page, 'revenue'), { timeout: 10_000, interval: 100 })
      .toBe(dollars(before.netCents + 2468));
    const seenAfterMs = Date.now() - putAt;
    expect(await kpi(page, 'orders')).toBe((before.orders + 1).toLocaleString('en-US'));
    expect(seenAfterMs).toBeLessThan(10_000);
    console.log(`live update: the order appeared on the page ${seenAfterMs} ms after PutRecords`);
    await screenshot(page, '8-live-update');
  });

  it('shows an empty state before any order, and an error when DynamoDB is unreachable', async () => {
    // Prepare: resources with no data, and clients pointed at a closed port
    const emptyNames = resourceNames({ resourcePrefix: 'empty' });
    await bootstrapLocalResources(stack.endpoints, emptyNames, { shardCount: 1 });
    const emptyDashboard = await startDashboard({ clients, names: emptyNames, port: 0 });
    const deadClients = createClients({
      kind: 'local',
      // Only DynamoDB is down: with S3 down too, whichever failed first would be reported.
      endpoints: { ...stack.endpoints, dynamodb: 'http://127.0.0.1:9' },
    });
    const deadDashboard = await startDashboard({ clients: deadClients, names, port: 0 });
    try {
      // Act
      await page.goto(`${emptyDashboard.url}#/trends`);
      await page.waitForFunction(() => document.getElementById('status')?.dataset['state'] === 'ready');

      // Assess
      expect(await textOf(page.locator('[data-empty]'))).toContain('No orders yet');
      await screenshot(page, '9-empty');

      // Act
      await page.goto(`${deadDashboard.url}#/trends`);
      await page.waitForFunction(
        () => document.getElementById('status')?.dataset['state'] === 'error',
        null,
        {
          timeout: 30_000,
        },
      );

      // Assess
      expect(await textOf(page.locator('#status'))).toContain('DynamoDB could not be read');
      await screenshot(page, '10-error');
    } finally {
      await emptyDashboard.close();
      await deadDashboard.close();
      deadClients.destroy();
    }
  });
});
