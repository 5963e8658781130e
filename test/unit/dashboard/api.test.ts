import { createHash } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Attr, shortCode } from '../../../aggregates/keys.js';
import { createDashboardApp } from '../../../processors/dashboard/api.js';
import { ReadModel } from '../../../processors/dashboard/read-model.js';
import { checkDashboardBinding, startDashboard } from '../../../processors/dashboard/server.js';
import { resourceNames } from '../../../shared/resources.js';

const names = resourceNames({ resourcePrefix: 'unit' });
const dynamo = mockClient(DynamoDBDocumentClient);
const s3 = mockClient(S3Client);

type Item = Record<string, unknown>;

/** A day item as the processors write it (aggregates/keys.ts layout). */
function dayItem(
  pk: string,
  date: string,
  figures: {
    orders: number;
    net: number;
    gross?: number;
    xo?: number;
    xn?: number;
    xg?: number;
    hour?: string;
    category?: string;
  },
): Item {
  const code = shortCode(figures.category ?? 'Burgers');
  const gross = figures.gross ?? figures.net;
  return {
    pk,
    sk: `D#${date}`,
    [Attr.orders]: figures.orders,
    [Attr.items]: figures.orders * 2,
    [Attr.netCents]: figures.net,
    [Attr.grossCents]: gross,
    [Attr.discountCents]: gross - figures.net,
    [Attr.discountedOrders]: figures.xo ?? 0,
    [Attr.discountedNetCents]: figures.xn ?? 0,
    [Attr.discountedGrossCents]: figures.xg ?? 0,
    [Attr.categoryOrders(code)]: figures.orders,
    [Attr.categoryItems(code)]: figures.orders * 2,
    [Attr.categoryNetCents(code)]: figures.net,
    [Attr.categoryLabel(code)]: figures.category ?? 'Burgers',
    [Attr.hourOrders(figures.hour ?? '12')]: figures.orders,
    [Attr.hourItems(figures.hour ?? '12')]: figures.orders * 2,
    [Attr.hourNetCents(figures.hour ?? '12')]: figures.net,
  };
}

const partitions: Record<string, Item[]> = {
  ALL: [
    dayItem('ALL', '2023-08-14', { orders: 3, net: 3000, gross: 3300, xo: 1, xn: 700, xg: 1000 }),
    dayItem('ALL', '2023-08-20', { orders: 2, net: 1001, hour: '08' }),
    dayItem('ALL', '2023-08-21', { orders: 1, net: 500, hour: '18', category: 'Drinks' }),
  ],
  'L#R1': [
    dayItem('L#R1', '2023-08-14', { orders: 2, net: 2500, gross: 2800, xo: 1, xn: 700, xg: 1000 }),
    dayItem('L#R1', '2023-08-21', { orders: 1, net: 500, hour: '18', category: 'Drinks' }),
  ],
  'L#R2': [
    dayItem('L#R2', '2023-08-14', { orders: 1, net: 500 }),
    dayItem('L#R2', '2023-08-20', { orders: 2, net: 1001, hour: '08' }),
  ],
  LOC: [
    { pk: 'LOC', sk: 'R1', [Attr.orders]: 3, [Attr.netCents]: 3000 },
    { pk: 'LOC', sk: 'R2', [Attr.orders]: 3, [Attr.netCents]: 1501 },
  ],
  'ref#locations': [
    {
      pk: 'ref#locations',
      sk: 'R1',
      location: { restaurantId: 'R1', name: 'Downtown', timeZone: 'America/New_York' },
    },
    {
      pk: 'ref#locations',
      sk: 'R2',
      location: { restaurantId: 'R2', name: 'Airport', timeZone: 'America/Chicago' },
    },
  ],
  'ref#calendar': [
    {
      pk: 'ref#calendar',
      sk: '2023-08-20',
      day: { date: '2023-08-20', isHoliday: true, holidayName: 'Founders Day' },
    },
  ],
  [`shard#${names.ordersStream}`]: [
    {
      pk: `shard#${names.ordersStream}`,
      sk: 'shardId-000000000000',
      checkpoint: '42',
      lagMs: 120,
      recordsPerSecond: 30,
      updatedAt: 1,
    },
  ],
  [`poison#${names.ordersStream}`]: [],
};

/** Answers a Query like DynamoDB: pk equality, optional sk BETWEEN or begins_with, order and Limit. */
function answerQuery(input: QueryCommandInput) {
  const values = input.ExpressionAttributeValues ?? {};
  let items = [...(partitions[String(values[':pk'])] ?? [])];
  if (values[':from'] !== undefined) {
    items = items.filter(
      (item) => String(item['sk']) >= String(values[':from']) && String(item['sk']) <= String(values[':to']),
    );
  }
  if (values[':day'] !== undefined)
    items = items.filter((item) => String(item['sk']).startsWith(String(values[':day'])));
  items.sort((a, b) => (String(a['sk']) < String(b['sk']) ? -1 : 1));
  if (input.ScanIndexForward === false) items.reverse();
  if (input.Limit !== undefined) items = items.slice(0, input.Limit);
  return input.Select === 'COUNT' ? { Count: items.length } : { Items: items, Count: items.length };
}

const CUSTOMER_CSV = [
  'customer_id,loyalty_member,first_order_date,last_order_date,orders,clv,clv_percentile,clv_tier,recency_days,frequency_180d,monetary_180d,r_score,f_score,m_score,rfm_segment,avg_gap_days,spend_recent_90d,spend_prior_90d,spend_change_pct,at_risk',
  'C1,true,2023-01-01,2023-08-20,5,120.50,1.000000,High,1,5,120.50,5,5,5,VIP,50.000000,100.00,20.50,387.80,false',
  'C2,false,2023-02-01,2023-05-01,2,30.00,0.500000,Medium,112,2,30.00,1,3,3,Lapsing,89.000000,0.00,30.00,-100.00,true',
  "'=C3,false,2023-03-01,2023-03-01,1,10.01,0.000000,Low,173,1,10.01,1,1,1,Churn Risk,,0.00,10.01,-100.00,true",
  '',
].join('\n');
const LOYALTY_CSV = [
  'group,customers,orders,revenue,avg_order_value,orders_per_customer,repeat_rate,avg_clv,median_clv',
  'guest,,4,40.00,10.00,,,,',
  'member,1,5,120.50,24.10,5.000000,1.000000,120.50,120.50',
  'non_member,2,3,40.01,13.34,1.500000,0.500000,20.01,20.01',
  '',
].join('\n');
const BEFORE_AFTER_CSV = [
  'location_id,first_discount_date,orders_per_day_before,orders_per_day_after,revenue_per_day_before,revenue_per_day_after',
  'R1,2023-08-14,1.000000,1.500000,10.00,12.50',
  'R2,,,,,',
  '',
].join('\n');

const objects = new Map<string, string>();

function snapshotObjects(asOf: string): void {
  const files = [
    ['customer_metrics', CUSTOMER_CSV],
    ['loyalty_impact', LOYALTY_CSV],
    ['discount_before_after', BEFORE_AFTER_CSV],
  ].map(([mart, text]) => {
    const key = `marts/${mart}/snapshot_date=${asOf}/run_id=r1/${mart}.csv`;
    objects.set(key, text!);
    return {
      mart,
      format: 'csv',
      key,
      bytes: text!.length,
      rows: 2,
      sha256: createHash('sha256').update(text!).digest('hex'),
    };
  });
  objects.set(
    `marts/_manifests/snapshot_date=${asOf}.json`,
    JSON.stringify({
      manifestVersion: 1,
      snapshotDate: asOf,
      runId: 'r1',
      codeVersion: 'test',
      checkpoints: [],
      rowCounts: { customer_metrics: 3 },
      files,
    }),
  );
  objects.set(
    'raw/source=folder/file=a.csv/sha256=x/a.csv.ingest-report.json',
    JSON.stringify({
      path: 'a.csv',
      status: 'ingested',
      arrivalSeq: 1,
      arrivedAt: '2023-08-21T00:00:00Z',
      rowsRead: 5,
      rowsAccepted: 3,
      rowsDuplicate: 0,
      rowsExcluded: 0,
      rowsQuarantined: 2,
      rowsPending: 0,
      quarantinedByReason: { bad_number: 2 },
    }),
  );
}

function body(text: string): GetObjectCommandOutput['Body'] {
  const bytes = new TextEncoder().encode(text);
  return {
    transformToByteArray: async () => bytes,
    transformToString: async () => text,
  } as unknown as GetObjectCommandOutput['Body'];
}

function app(token?: string) {
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
  return createDashboardApp({
    model: new ReadModel({ doc, s3: new S3Client({ region: 'us-east-1' }), names }),
    token,
  });
}

const PAGE_VIEWS = [
  '/api/meta',
  '/api/trends?from=2023-08-14&to=2023-08-21',
  '/api/trends?from=2023-08-14&to=2023-08-21&location=R1',
  '/api/locations?from=2023-08-14&to=2023-08-21',
  '/api/discounts?from=2023-08-14&to=2023-08-21',
  '/api/segments?to=2023-08-21',
  '/api/churn?to=2023-08-21&loyalty=member',
  '/api/churn/at-risk.csv?to=2023-08-21',
  '/api/loyalty?to=2023-08-21',
  '/api/ops',
];

describe('dashboard API over a mocked DynamoDB and S3', () => {
  beforeEach(() => {
    dynamo.reset();
    s3.reset();
    objects.clear();
    snapshotObjects('2023-08-21');
    dynamo.on(QueryCommand).callsFake(answerQuery);
    s3.on(ListObjectsV2Command).callsFake((input: { Prefix?: string }) => ({
      Contents: [...objects.keys()]
        .filter((key) => key.startsWith(input.Prefix ?? ''))
        .map((Key) => ({ Key, ETag: '"e"' })),
      IsTruncated: false,
    }));
    s3.on(GetObjectCommand).callsFake((input: { Key?: string }) => {
      const text = objects.get(input.Key ?? '');
      if (text === undefined) throw Object.assign(new Error('no such key'), { name: 'NoSuchKey' });
      return { Body: body(text) };
    });
  });
  afterEach(() => {
    dynamo.reset();
    s3.reset();
  });

  it('never scans: every page view reads DynamoDB with Query or GetItem only', async () => {
    // Act
    const statuses: number[] = [];
    for (const url of PAGE_VIEWS) statuses.push((await app().request(url)).status);

    // Assess
    expect(statuses).toEqual(PAGE_VIEWS.map(() => 200));
    expect(dynamo.commandCalls(ScanCommand)).toHaveLength(0);
    const sent = dynamo.calls().map((call) => call.args[0].constructor.name);
    expect(sent.length).toBeGreaterThan(PAGE_VIEWS.length);
    expect(sent.every((name) => name === QueryCommand.name || name === GetCommand.name)).toBe(true);
  });

  it('sums sales trends per day, ISO week and month, with categories, hours and holidays', async () => {
    // Act
    const response = await app().request('/api/trends?from=2023-08-14&to=2023-08-20');
    const view = await response.json();

    // Assess
    expect(view.totals).toMatchObject({ revenueCents: 4001, orders: 5, items: 10, avgOrderValueCents: 800 });
    expect(view.days).toHaveLength(7);
    expect(view.days[6]).toEqual({
      period: '2023-08-20',
      revenueCents: 1001,
      orders: 2,
      items: 4,
      holiday: 'Founders Day',
    });
    // W33 is whole (Mon 14 … Sun 20); August is the whole month, the 21st included.
    expect(view.weeks).toEqual([{ period: '2023-W33', revenueCents: 4001, orders: 5, items: 10 }]);
    expect(view.months).toEqual([{ period: '2023-08', revenueCents: 4501, orders: 6, items: 12 }]);
    expect(view.categories).toEqual([{ category: 'Burgers', revenueCents: 4001, orders: 5, items: 10 }]);
    expect(view.heatmap[0][12]).toBe(3);
    expect(view.heatmap[6][8]).toBe(2);
    expect(view.dayparts.find((part: { daypart: string }) => part.daypart === 'breakfast')).toEqual({
      daypart: 'breakfast',
      orders: 2,
      revenueCents: 1001,
    });
  });

  it('ranks locations by revenue with AOV and orders per day over the range', async () => {
    // Act
    const view = await (await app().request('/api/locations?from=2023-08-14&to=2023-08-21')).json();

    // Assess
    expect(view.locations.map((row: { locationId: string }) => row.locationId)).toEqual(['R1', 'R2']);
    expect(view.locations[0]).toMatchObject({
      rank: 1,
      name: 'Downtown',
      revenueCents: 3000,
      orders: 3,
      avgOrderValueCents: 1000,
      activeDays: 2,
      spanDays: 8,
      best: true,
      worst: false,
    });
    expect(view.locations[1]).toMatchObject({
      rank: 2,
      name: 'Airport',
      revenueCents: 1501,
      avgOrderValueCents: 500,
      worst: true,
    });
    expect(view.locations[0].ordersPerDay).toBeCloseTo(3 / 8, 12);
  });

  it('splits discounted and full-price orders, and reads before/after from the snapshot', async () => {
    // Act
    const view = await (await app().request('/api/discounts?from=2023-08-14&to=2023-08-21')).json();

    // Assess
    expect(view.totals.discounted).toEqual({
      orders: 1,
      grossCents: 1000,
      discountCents: 300,
      netCents: 700,
      avgOrderValueCents: 700,
    });
    expect(view.totals.fullPrice).toEqual({
      orders: 5,
      grossCents: 3801,
      discountCents: 0,
      netCents: 3801,
      avgOrderValueCents: 760,
    });
    expect(view.beforeAfter[0]).toMatchObject({
      locationId: 'R1',
      name: 'Downtown',
      revenuePerDayBeforeCents: 1000,
      revenuePerDayAfterCents: 1250,
    });
    expect(view.beforeAfter[1]).toMatchObject({
      locationId: 'R2',
      firstDiscountDate: null,
      ordersPerDayBefore: null,
    });
  });

  it('reads segments, churn, the at-risk CSV and loyalty from the newest snapshot', async () => {
    // Act
    const segments = await (await app().request('/api/segments?to=2023-08-21')).json();
    const members = await (await app().request('/api/segments?to=2023-08-21&loyalty=member')).json();
    const churn = await (await app().request('/api/churn?to=2023-08-21')).json();
    const csv = await (await app().request('/api/churn/at-risk.csv?to=2023-08-21')).text();
    const loyalty = await (await app().request('/api/loyalty?to=2023-08-21')).json();
    const before = await (await app().request('/api/segments?to=2023-08-20')).json();

    // Assess
    expect(segments).toMatchObject({ snapshotDate: '2023-08-21', customers: 3 });
    expect(segments.segments.find((row: { segment: string }) => row.segment === 'VIP')).toMatchObject({
      customers: 1,
      clvCents: 12050,
    });
    expect(segments.tiers.map((row: { customers: number }) => row.customers)).toEqual([1, 1, 1]);
    expect(members.customers).toBe(1);
    expect(churn).toMatchObject({ customers: 3, atRisk: 2, spendRecentCents: 10000, spendPriorCents: 6051 });
    expect(churn.atRiskTop.map((row: { customerId: string }) => row.customerId)).toEqual(['C2', '=C3']);
    expect(csv.split('\n')).toEqual([
      'customer_id,loyalty_member,last_order_date,days_since_last_order,orders,clv,avg_gap_days,spend_change_pct',
      'C2,false,2023-05-01,112,2,30.00,89.000000,-100.00',
      "'=C3,false,2023-03-01,173,1,10.01,,-100.00",
      '',
    ]);
    expect(loyalty.groups.find((row: { group: string }) => row.group === 'member')).toMatchObject({
      avgOrderValueCents: 2410,
      repeatRate: 1,
    });
    expect(loyalty.groups.find((row: { group: string }) => row.group === 'guest')).toMatchObject({
      customers: null,
      avgClvCents: null,
    });
    expect(before.snapshotDate).toBeNull();
  });

  it('shows shard lag, quarantine counts per file and the last snapshot for ops', async () => {
    // Act
    const view = await (await app().request('/api/ops')).json();

    // Assess
    expect(view.shards).toEqual([
      expect.objectContaining({ shardId: 'shardId-000000000000', checkpoint: '42', lagMs: 120 }),
    ]);
    expect(view.files).toEqual([
      expect.objectContaining({ path: 'a.csv', rowsQuarantined: 2, quarantinedByReason: { bad_number: 2 } }),
    ]);
    expect(view).toMatchObject({
      quarantinedRows: 2,
      poisonRecords: 0,
      snapshot: { snapshotDate: '2023-08-21', runId: 'r1' },
    });
  });

  it('answers 503 naming DynamoDB when it is unreachable, and 400 on a bad date', async () => {
    // Prepare
    dynamo
      .on(QueryCommand)
      .rejects(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { name: 'Error' }));

    // Act
    const failed = await app().request('/api/trends?from=2023-08-14&to=2023-08-21');
    const bad = await app().request('/api/trends?from=2023-8-1&to=2023-08-21');

    // Assess
    expect(failed.status).toBe(503);
    expect((await failed.json()).error).toMatch(/^DynamoDB could not be read \(Query ALL .*ECONNREFUSED/);
    expect(bad.status).toBe(400);
  });

  it('shows empty figures, not errors, before any order and any snapshot', async () => {
    // Prepare
    dynamo.on(QueryCommand).resolves({ Items: [], Count: 0 });
    objects.clear();

    // Act
    const trends = await (await app().request('/api/trends')).json();
    const segments = await (await app().request('/api/segments')).json();

    // Assess
    expect(trends).toMatchObject({
      empty: true,
      totals: { revenueCents: 0, orders: 0, avgOrderValueCents: null },
    });
    expect(segments).toEqual({ snapshotDate: null, loyalty: 'all' });
  });

  it('requires the bearer token, or the cookie that /?token= sets, when a token is configured', async () => {
    // Act
    const anonymous = await app('s3cret').request('/api/meta');
    const wrong = await app('s3cret').request('/api/meta', { headers: { Authorization: 'Bearer nope' } });
    const bearer = await app('s3cret').request('/api/meta', { headers: { Authorization: 'Bearer s3cret' } });
    const login = await app('s3cret').request('/?token=s3cret');
    const cookie = login.headers.get('set-cookie')?.split(';')[0] ?? '';
    const withCookie = await app('s3cret').request('/api/meta', { headers: { Cookie: cookie } });

    // Assess
    expect(anonymous.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(bearer.status).toBe(200);
    expect(login.status).toBe(303);
    expect(login.headers.get('set-cookie')).toContain('HttpOnly');
    expect(withCookie.status).toBe(200);
  });
});

describe('dashboard binding', () => {
  it('refuses a non-loopback interface without a token, and allows loopback without one', () => {
    // Act / Assess
    expect(() => checkDashboardBinding('0.0.0.0', 8787, undefined)).toThrow(/TILLSTREAM_DASHBOARD_TOKEN/);
    expect(() => checkDashboardBinding('192.168.1.5', 8787, '')).toThrow(/TILLSTREAM_DASHBOARD_TOKEN/);
    expect(() => checkDashboardBinding('127.0.0.1', 8787, undefined)).not.toThrow();
    expect(() => checkDashboardBinding('::1', 8787, undefined)).not.toThrow();
    expect(() => checkDashboardBinding('127.0.0.1', 70_000, undefined)).toThrow(/port/);
  });

  it('serves on all interfaces only with a token, and then requires it', async () => {
    // Prepare
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
    const clients = { doc, s3: new S3Client({ region: 'us-east-1' }) };
    dynamo.on(QueryCommand).resolves({ Items: [], Count: 0 });
    s3.on(ListObjectsV2Command).resolves({ Contents: [], IsTruncated: false });

    // Act
    const refused = await startDashboard({ clients, names, host: '0.0.0.0', port: 0 }).catch(
      (error: Error) => error,
    );
    const dashboard = await startDashboard({ clients, names, host: '0.0.0.0', port: 0, token: 't0ken' });
    try {
      const url = `http://127.0.0.1:${dashboard.port}/api/meta`;
      const anonymous = await fetch(url);
      const authorised = await fetch(url, { headers: { Authorization: 'Bearer t0ken' } });

      // Assess
      expect(refused).toBeInstanceOf(Error);
      expect((refused as Error).message).toMatch(/reachable from other machines/);
      expect(anonymous.status).toBe(401);
      expect(authorised.status).toBe(200);
    } finally {
      await dashboard.close();
    }
  });
});
