/**
 * The dashboard's HTTP app (Hono): the JSON API of the seven views, the re-engagement CSV, live
 * updates as server-sent events, and the bundled front-end. The same app runs on Node
 * (`server.ts`) and on Lambda (`lambda.ts`). Every read goes through `ReadModel` (Query, GetItem,
 * S3 Get/List: never a Scan).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { type Context, Hono } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { streamSSE } from 'hono/streaming';
import { addDays, dayNumber, isCalendarDate } from '../../aggregates/time.js';
import { FileStatus } from '../../ingest/report.js';
import type { ShardStateItem } from '../shard/dynamo-store.js';
import { BadRequestError, ReadModelError } from './errors.js';
import { discountSplit, locationRanking, trendsReadRange, trendsView } from './figures.js';
import {
  atRiskCsv,
  beforeAfterRows,
  churnView,
  customerRows,
  LoyaltyFilter,
  loyaltyRows,
  segmentationView,
} from './nightly.js';
import type { ReadModel } from './read-model.js';

/** The bundled front-end. */
export interface DashboardAssets {
  readonly html: string;
  readonly js: string;
  readonly css: string;
}

export interface DashboardAppOptions {
  readonly model: ReadModel;
  /** When set, every request needs `Authorization: Bearer <token>` or the cookie set by `/?token=`. */
  readonly token?: string | undefined;
  /** Live updates over server-sent events; without them the page polls. */
  readonly live?: LiveUpdates | undefined;
  /** The front-end; without it only the API is served (e.g. on Lambda). */
  readonly assets?: DashboardAssets | undefined;
  /** Aborted when the server closes: open event streams end. */
  readonly closing?: AbortSignal | undefined;
  /** Days a range covers when the request names none. @default 30 */
  readonly defaultRangeDays?: number;
}

const TOKEN_COOKIE = 'tillstream_dashboard_token';
/** A range longer than this is refused: a page view stays a bounded read. */
const MAX_RANGE_DAYS = 800;

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Constant-time comparison of a presented token with the configured one. */
export function tokenMatches(presented: string | undefined, token: string): boolean {
  if (presented === undefined) return false;
  return timingSafeEqual(digest(presented), digest(token));
}

function dateParameter(c: Context, name: string): string | undefined {
  const value = c.req.query(name);
  if (value === undefined || value === '') return undefined;
  if (!isCalendarDate(value)) {
    throw new BadRequestError(`${name} must be a date YYYY-MM-DD (given ${JSON.stringify(value)})`, name);
  }
  return value;
}

function loyaltyParameter(c: Context): LoyaltyFilter {
  const value = c.req.query('loyalty') ?? LoyaltyFilter.All;
  const allowed: readonly string[] = Object.values(LoyaltyFilter);
  if (!allowed.includes(value)) {
    throw new BadRequestError(
      `loyalty must be one of ${allowed.join(', ')} (given ${JSON.stringify(value)})`,
      'loyalty',
    );
  }
  return value as LoyaltyFilter;
}

/** Polls the shard checkpoints while anyone listens, and tells listeners when they moved. */
export class LiveUpdates {
  private readonly listeners = new Set<(signature: string) => void>();
  private timer: NodeJS.Timeout | undefined;
  private signature = '';
  private polling = false;

  constructor(
    private readonly readStates: () => Promise<readonly ShardStateItem[]>,
    /** Milliseconds between two reads of the shard checkpoints. @default 1000 */
    private readonly intervalMs = 1000,
  ) {}

  /** Calls `listener` after each change of any shard's checkpoint; returns the unsubscribe. */
  subscribe(listener: (signature: string) => void): () => void {
    this.listeners.add(listener);
    this.timer ??= setInterval(() => void this.poll(), this.intervalMs);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  /** Stops polling; listeners are dropped. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const states = await this.readStates();
      const signature = states.map((state) => `${state.shardId}=${state.checkpoint ?? ''}`).join(',');
      if (signature !== this.signature) {
        this.signature = signature;
        for (const listener of this.listeners) listener(signature);
      }
    } catch {
      // The views report read failures themselves; the watcher just tries again.
    } finally {
      this.polling = false;
    }
  }
}

/**
 * The dashboard app.
 *
 * @example
 * const app = createDashboardApp({ model: new ReadModel({ doc, s3, names }) });
 * const response = await app.request('/api/trends?from=2023-08-01&to=2023-08-31');
 */
export function createDashboardApp(options: DashboardAppOptions): Hono {
  const { model, token } = options;
  const rangeDays = options.defaultRangeDays ?? 30;
  const app = new Hono();

  app.onError((error, c) => {
    if (error instanceof BadRequestError) return c.json({ error: error.message }, 400);
    if (error instanceof ReadModelError) return c.json({ error: error.message, source: error.source }, 503);
    return c.json({ error: `${error.name}: ${error.message}` }, 500);
  });

  app.get('/healthz', (c) => c.text('ok'));

  if (token !== undefined) {
    app.use('*', async (c, next) => {
      const offered = c.req.query('token');
      if (
        offered !== undefined &&
        c.req.method === 'GET' &&
        c.req.path === '/' &&
        tokenMatches(offered, token)
      ) {
        setCookie(c, TOKEN_COOKIE, token, { httpOnly: true, sameSite: 'Strict', path: '/' });
        return c.redirect('/', 303);
      }
      const header = c.req.header('authorization');
      const bearer = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
      if (tokenMatches(bearer, token) || tokenMatches(getCookie(c, TOKEN_COOKIE), token)) return next();
      c.header('WWW-Authenticate', 'Bearer realm="tillstream"');
      return c.json(
        { error: 'a bearer token is required (Authorization: Bearer …, or open /?token=… once)' },
        401,
      );
    });
  }

  /** The requested range, or the last `rangeDays` days up to the newest day with orders. */
  const range = async (c: Context): Promise<{ from: string; to: string; empty: boolean }> => {
    const from = dateParameter(c, 'from');
    const to = dateParameter(c, 'to');
    if (from !== undefined && to !== undefined) {
      if (from > to) throw new BadRequestError(`from ${from} is after to ${to}`, 'from');
      if (dayNumber(to) - dayNumber(from) > MAX_RANGE_DAYS) {
        throw new BadRequestError(`a range may cover at most ${MAX_RANGE_DAYS} days`, 'from');
      }
      const last = await model.edgeDate(null, 'last');
      return { from, to, empty: last === null };
    }
    const last = await model.edgeDate(null, 'last');
    const end = to ?? last ?? new Date().toISOString().slice(0, 10);
    return { from: from ?? addDays(end, -(rangeDays - 1)), to: end, empty: last === null };
  };

  const locationParameter = (c: Context): string | null => {
    const value = c.req.query('location');
    return value === undefined || value === '' || value === 'ALL' ? null : value;
  };

  app.get('/api/meta', async (c) => {
    const [locations, firstDate, lastDate, snapshotDates] = await Promise.all([
      model.locations(),
      model.edgeDate(null, 'first'),
      model.edgeDate(null, 'last'),
      model.snapshotDates(),
    ]);
    return c.json({
      locations: locations
        .map(({ locationId, name }) => ({ locationId, name }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
      firstDate,
      lastDate,
      snapshotDates,
      live: options.live !== undefined,
    });
  });

  app.get('/api/trends', async (c) => {
    const { from, to, empty } = await range(c);
    const location = locationParameter(c);
    const read = trendsReadRange(from, to);
    const [days, holidays] = await Promise.all([
      model.days(location, read.from, read.to),
      model.holidays(read.from, read.to),
    ]);
    return c.json({ empty, location, ...trendsView(days, from, to, holidays) });
  });

  app.get('/api/locations', async (c) => {
    const { from, to, empty } = await range(c);
    const locations = await model.locations();
    const withDays = await Promise.all(
      locations.map(async (location) => ({
        locationId: location.locationId,
        name: location.name,
        firstDate: await model.edgeDate(location.locationId, 'first'),
        days: await model.days(location.locationId, from, to),
      })),
    );
    const ranking = locationRanking(withDays, from, to);
    const location = locationParameter(c);
    return c.json({
      empty,
      from,
      to,
      location,
      locations: location === null ? ranking : ranking.filter((row) => row.locationId === location),
      ranked: ranking.length,
    });
  });

  app.get('/api/discounts', async (c) => {
    const { from, to, empty } = await range(c);
    const location = locationParameter(c);
    const [locations, days, snapshot] = await Promise.all([
      model.locations(),
      model.days(location, from, to),
      model.snapshot(to),
    ]);
    const names = new Map(locations.map((entry) => [entry.locationId, entry.name]));
    const chosen = location === null ? locations : locations.filter((entry) => entry.locationId === location);
    const byLocation = await Promise.all(
      chosen.map(async (entry) => ({
        locationId: entry.locationId,
        name: entry.name,
        ...discountSplit(await model.days(entry.locationId, from, to)),
      })),
    );
    const beforeAfter =
      snapshot === null
        ? null
        : beforeAfterRows(snapshot.discountBeforeAfter)
            .filter((row) => location === null || row.locationId === location)
            .map((row) => ({ ...row, name: names.get(row.locationId) ?? row.locationId }));
    return c.json({
      empty,
      from,
      to,
      location,
      totals: discountSplit(days),
      days: days.map((day) => ({
        date: day.date,
        discountedOrders: day.discountedOrders,
        fullPriceOrders: day.orders - day.discountedOrders,
        grossCents: day.grossCents,
        netCents: day.netCents,
        discountCents: day.discountCents,
      })),
      byLocation: byLocation.filter((row) => row.discounted.orders + row.fullPrice.orders > 0),
      snapshotDate: snapshot?.manifest.snapshotDate ?? null,
      beforeAfter,
    });
  });

  const snapshotFor = async (c: Context) => model.snapshot(dateParameter(c, 'to') ?? null);

  /** A nightly view of the customers of the snapshot on or before `to`, by loyalty status. */
  const customerView = (view: typeof segmentationView | typeof churnView) => async (c: Context) => {
    const loyalty = loyaltyParameter(c);
    const snapshot = await snapshotFor(c);
    if (snapshot === null) return c.json({ snapshotDate: null, loyalty });
    return c.json({
      snapshotDate: snapshot.manifest.snapshotDate,
      loyalty,
      ...view(customerRows(snapshot.customerMetrics), loyalty),
    });
  };
  app.get('/api/segments', customerView(segmentationView));
  app.get('/api/churn', customerView(churnView));

  app.get('/api/churn/at-risk.csv', async (c) => {
    const loyalty = loyaltyParameter(c);
    const snapshot = await snapshotFor(c);
    if (snapshot === null) return c.json({ error: 'no nightly snapshot yet' }, 404);
    const rows = customerRows(snapshot.customerMetrics).filter(
      (row) => loyalty === LoyaltyFilter.All || row.loyaltyMember === (loyalty === LoyaltyFilter.Member),
    );
    c.header('Content-Type', 'text/csv; charset=utf-8');
    c.header(
      'Content-Disposition',
      `attachment; filename="at-risk-customers-${snapshot.manifest.snapshotDate}.csv"`,
    );
    return c.body(atRiskCsv(rows));
  });

  app.get('/api/loyalty', async (c) => {
    const snapshot = await snapshotFor(c);
    if (snapshot === null) return c.json({ snapshotDate: null });
    return c.json({
      snapshotDate: snapshot.manifest.snapshotDate,
      groups: loyaltyRows(snapshot.loyaltyImpact),
    });
  });

  app.get('/api/ops', async (c) => {
    const [shards, poisonRecords, reports, snapshotDates] = await Promise.all([
      model.shardStates(),
      model.poisonRecordCount(),
      model.ingestReports(),
      model.snapshotDates(),
    ]);
    const latest = snapshotDates.at(-1);
    const snapshot = latest === undefined ? null : await model.snapshot(latest);
    const files = reports.map((report) => ({
      path: report.path,
      status: report.status,
      arrivalSeq: report.arrivalSeq,
      arrivedAt: report.arrivedAt,
      rowsRead: report.rowsRead,
      rowsAccepted: report.rowsAccepted,
      rowsDuplicate: report.rowsDuplicate,
      rowsExcluded: report.rowsExcluded,
      rowsQuarantined: report.rowsQuarantined,
      rowsPending: report.rowsPending,
      quarantinedByReason: report.quarantinedByReason,
    }));
    return c.json({
      now: Date.now(),
      shards,
      poisonRecords,
      files,
      quarantinedRows: files.reduce((sum, file) => sum + file.rowsQuarantined, 0),
      filesSetAside: files.filter(
        (file) => file.status !== FileStatus.Ingested && file.status !== FileStatus.DuplicateContent,
      ).length,
      snapshot:
        snapshot === null
          ? null
          : {
              snapshotDate: snapshot.manifest.snapshotDate,
              runId: snapshot.manifest.runId,
              codeVersion: snapshot.manifest.codeVersion,
              rowCounts: snapshot.manifest.rowCounts,
            },
    });
  });

  const live = options.live;
  if (live !== undefined) {
    app.get('/api/events', (c) =>
      streamSSE(c, async (stream) => {
        let wake: () => void = () => {};
        const ended = new Promise<void>((resolve) => {
          wake = resolve;
        });
        stream.onAbort(wake);
        options.closing?.addEventListener('abort', wake);
        const unsubscribe = live.subscribe((signature) => {
          void stream.writeSSE({ event: 'update', data: signature });
        });
        const heartbeat = setInterval(() => void stream.writeSSE({ event: 'ping', data: '' }), 15_000);
        await stream.writeSSE({ event: 'ready', data: '' });
        await ended;
        clearInterval(heartbeat);
        unsubscribe();
        options.closing?.removeEventListener('abort', wake);
      }),
    );
  }

  const assets = options.assets;
  if (assets !== undefined) {
    app.get('/', (c) => c.html(assets.html));
    app.get('/assets/app.js', (c) => {
      c.header('Content-Type', 'text/javascript; charset=utf-8');
      return c.body(assets.js);
    });
    app.get('/assets/app.css', (c) => {
      c.header('Content-Type', 'text/css; charset=utf-8');
      return c.body(assets.css);
    });
  }
  return app;
}
