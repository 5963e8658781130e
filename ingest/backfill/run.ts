/**
 * `tillstream backfill`: years of history through the ordinary poll cycle (same validation, dedupe,
 * raw layer and reports), with the producer held to a bounded rate so that the live stream keeps
 * its shard capacity and the processors keep up with live orders.
 *
 * Why a rate limiter and not separate partition keys: the partition key is the ORDER_ID, and an
 * order's records must always land on the same shard (its lines, options and re-deliveries are
 * folded by one consumer); history under other keys would split orders across shards. A limiter
 * leaves the keys alone and bounds what history takes from each shard's write capacity.
 *
 * Turns: the backfill holds the poller lease (the ledger has one writer) for a turn of at most
 * `turnSeconds` (default 30 s), made of poll cycles over chunks of its listing (./turns.ts); then it
 * gives the lease up for `YIELD_MS` so that a live poller waiting for it (it waits up to
 * `pollLeaseWaitSeconds`, default 60 s, longer than a turn) runs its cycle, and takes it again.
 *
 * Resumable: the cycle is the poller's, so an interrupted backfill leaves its landed files
 * "unfinished" in the state table; a rerun lands only what was not landed and resumes the rest from
 * the raw layer. A file interrupted mid-way re-claims its own rows (claims name their row) and
 * re-puts the same event ids, which the processors fold once.
 */
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import type { AwsClients } from '../../shared/aws/clients.js';
import type { Settings } from '../../shared/config.js';
import { acquirePollerLeaseWaiting, POLL_CYCLE_LEASE_MS, type PollerLease } from '../../shared/generation.js';
import type { ResourceNames } from '../../shared/resources.js';
import { sleep as abortableSleep } from '../../shared/sleep.js';
import { type PollResult, PollStep, runPollCycle } from '../poll.js';
import { getObjectBytes } from '../raw-layer.js';
import type { FileSource, SourceFile } from '../source.js';
import { PollerState } from '../state.js';
import { createRateLimiter } from './rate-limiter.js';
import { backfillQueue, ChunkPlanner, chunkSource } from './turns.js';

/** Where a backfill stands: rows of the files taken in this run, and records put so far. */
export interface BackfillProgress {
  /** Rows (CSV records after the header) of the files this run ingests; grows while files land. */
  readonly rowsTotal: number;
  /** Rows of the files whose report is written. */
  readonly rowsDone: number;
  readonly filesTotal: number;
  readonly filesDone: number;
  /** Orders (stream records) put so far by this run. */
  readonly recordsPut: number;
}

export interface BackfillOptions {
  readonly clients: Pick<AwsClients, 'doc' | 'kinesis' | 's3'>;
  /** The live generation's names (`CliContext.names`). */
  readonly names: ResourceNames;
  /** Generation 0's names: where the poller lease is (`CliContext.baseNames`). */
  readonly controlNames: ResourceNames;
  readonly settings: Settings;
  readonly source: FileSource;
  /** Orders per second at most. @default `settings.backfillRatePerSecond` */
  readonly ratePerSecond?: number;
  /** Orders the rate limiter lets through at once. @default `max(rate, 500)` */
  readonly burstRecords?: number;
  /** The lease is given up at least this often, between files. @default `settings.backfillTurnSeconds` */
  readonly turnSeconds?: number;
  /** How long the lease stays free between turns. @default `YIELD_MS` */
  readonly yieldMs?: number;
  readonly clock?: () => number;
  /** Waits between turns and for the lease. @default an abortable `setTimeout` */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Told when a turn starts and ends (the lease is taken and given up). */
  readonly onTurn?: (event: { readonly turn: number; readonly holding: boolean }) => void;
  /** Stops the backfill at the next step or rate wait; a rerun resumes. */
  readonly signal?: AbortSignal;
  /** Fault-injection seam, as in `runPollCycle` (a throw is a crash at that step). */
  readonly onStep?: (step: PollStep, detail: string) => void | Promise<void>;
  readonly onProgress?: (progress: BackfillProgress) => void;
  readonly holder?: string;
  readonly log?: (message: string) => void;
}

/** The backfill was interrupted by its abort signal; rerun it to resume. */
export class BackfillInterruptedError extends Error {
  override name = 'BackfillInterruptedError';
  constructor(
    readonly progress: BackfillProgress,
    options?: ErrorOptions,
  ) {
    super(
      `backfill interrupted after ${progress.filesDone}/${progress.filesTotal} file(s), ${progress.recordsPut} order(s) put; run it again to resume`,
      options,
    );
  }
}

/** A lease is renewed at every file; it must outlast the slowest file at the configured rate. */
const LEASE_MS = 30 * 60_000;

/**
 * How long the lease stays free between two turns: twice the live poller's retry interval
 * (`LEASE_RETRY_MS`, 1 s), so a poller waiting for the lease asks at least once in the window.
 */
export const YIELD_MS = 2_000;

/** CSV records after the header, counted from line breaks (a quoted line break counts one too many). */
export function approximateRows(bytes: Buffer): number {
  if (bytes.length === 0) return 0;
  let lines = 0;
  for (let index = bytes.indexOf(0x0a); index !== -1; index = bytes.indexOf(0x0a, index + 1)) lines++;
  if (bytes[bytes.length - 1] !== 0x0a) lines++;
  return Math.max(0, lines - 1);
}

function countingStream(stream: Readable, onBytes: (chunk: Buffer) => void): Readable {
  return stream.pipe(
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        onBytes(chunk);
        done(null, chunk);
      },
    }),
  );
}

function mergeResults(total: PollResult | null, next: PollResult): PollResult {
  if (total === null) return next;
  return {
    reports: [...total.reports, ...next.reports],
    errors: [...total.errors, ...next.errors],
    recordsPut: total.recordsPut + next.recordsPut,
    optionsSettled: total.optionsSettled + next.optionsSettled,
    optionsOrphaned: total.optionsOrphaned + next.optionsOrphaned,
  };
}

/**
 * Loads `source` through rate-limited poll cycles, in turns under the poller lease (see the file
 * comment); returns what all its cycles did.
 *
 * @throws BackfillInterruptedError when `signal` aborts (a rerun resumes).
 * @throws LeaseHeldError when another holder keeps the lease past the wait.
 * @example
 * const result = await runBackfill({ clients, names, controlNames, settings, source: createFolderSource('./history') });
 */
export async function runBackfill(options: BackfillOptions): Promise<PollResult> {
  const { clients, names, settings, source } = options;
  const clock = options.clock ?? Date.now;
  const wait = options.sleep ?? abortableSleep;
  const rate = options.ratePerSecond ?? settings.backfillRatePerSecond;
  const turnMs = (options.turnSeconds ?? settings.backfillTurnSeconds) * 1000;
  const yieldMs = options.yieldMs ?? YIELD_MS;
  const holder = options.holder ?? `backfill@${process.pid}`;
  const state = new PollerState(clients.doc, names.stateTable);

  // Rows per path: counted as files land (the bytes pass once), or from the raw copy of a file
  // a previous run left unfinished.
  const rowsByPath = new Map<string, number>();
  const lineBreaks = new Map<string, { breaks: number; lastByte: number; bytes: number }>();
  let rowsTotal = 0;
  let rowsDone = 0;
  let filesTotal = 0;
  let filesDone = 0;
  let recordsPut = 0;
  const progress = (): BackfillProgress => ({ rowsTotal, rowsDone, filesTotal, filesDone, recordsPut });
  const report = () => options.onProgress?.(progress());
  const interrupted = () => new BackfillInterruptedError(progress());

  for (const version of await state.unfinished()) {
    const rows = approximateRows(await getObjectBytes(clients.s3, names.rawBucket, version.rawKey));
    rowsByPath.set(version.path, rows);
    rowsTotal += rows;
    filesTotal++;
  }
  const counted: FileSource = {
    sourceName: source.sourceName,
    location: source.location,
    listFiles: () => source.listFiles(),
    async open(file: SourceFile) {
      const tally = { breaks: 0, lastByte: 0x0a, bytes: 0 };
      lineBreaks.set(file.path, tally);
      return countingStream(await source.open(file), (chunk) => {
        for (let index = chunk.indexOf(0x0a); index !== -1; index = chunk.indexOf(0x0a, index + 1)) {
          tally.breaks++;
        }
        if (chunk.length > 0) tally.lastByte = chunk[chunk.length - 1]!;
        tally.bytes += chunk.length;
      });
    },
    ...(source.commit ? { commit: () => source.commit!() } : {}),
  };

  const rateLimiter = createRateLimiter({
    ratePerSecond: rate,
    ...(options.burstRecords === undefined ? {} : { burstRecords: options.burstRecords }),
    ...(options.signal ? { signal: options.signal } : {}),
    onAcquired: (records) => {
      recordsPut += records;
      report();
    },
  });
  const takeLease = (waitMs: number) =>
    acquirePollerLeaseWaiting(clients.doc, options.controlNames, holder, clock, LEASE_MS, {
      waitMs,
      sleep: wait,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  // At the start a live cycle may be running: wait as long as the live poller would.
  let lease: PollerLease | null = await takeLease(settings.pollLeaseWaitSeconds * 1000);
  let total: PollResult | null = null;
  try {
    report();
    const queue = await backfillQueue(source, await source.listFiles(), async (file) => {
      const head = await state.fileHead(`${source.sourceName}:${file.id}`);
      return head?.versionTag === file.versionTag;
    });
    const planner = new ChunkPlanner();
    let landFailed = false;
    let turn = 0;
    do {
      if (lease === null) {
        // A live cycle holds the lease for at most POLL_CYCLE_LEASE_MS.
        lease = await takeLease(POLL_CYCLE_LEASE_MS);
      }
      options.onTurn?.({ turn, holding: true });
      const turnStart = clock();
      do {
        const budgetMs = turnMs - (clock() - turnStart);
        const chunk = queue.splice(
          0,
          planner.take(
            queue.map((file) => file.sizeBytes),
            budgetMs,
          ),
        );
        const last = queue.length === 0;
        const cycleStart = clock();
        const result = await runPollCycle({
          clients,
          names,
          settings,
          source: chunkSource(counted, chunk, () => last && !landFailed),
          clock,
          rateLimiter,
          ...(options.log ? { log: options.log } : {}),
          onStep: async (step, detail) => {
            if (options.signal?.aborted) throw interrupted();
            await options.onStep?.(step, detail);
            if (step === PollStep.Registered) {
              const tally = lineBreaks.get(detail);
              if (tally !== undefined && tally.bytes > 0) {
                const rows = Math.max(0, tally.breaks + (tally.lastByte === 0x0a ? 0 : 1) - 1);
                rowsByPath.set(detail, rows);
                rowsTotal += rows;
              }
              filesTotal++;
              report();
            } else if (step === PollStep.Reported) {
              rowsDone += rowsByPath.get(detail) ?? 0;
              filesDone++;
              report();
              await lease?.renew(clock());
            }
          },
        });
        if (result.errors.length > 0) landFailed = true;
        planner.observe(
          chunk.length,
          chunk.reduce((sum, file) => sum + (file.sizeBytes ?? 0), 0),
          clock() - cycleStart,
        );
        total = mergeResults(total, result);
      } while (queue.length > 0 && clock() - turnStart < turnMs);
      if (queue.length > 0) {
        // Between files: nothing this backfill landed is unfinished, so the live poller may write.
        await lease.release();
        lease = null;
        options.onTurn?.({ turn, holding: false });
        await wait(yieldMs, options.signal);
        if (options.signal?.aborted) throw interrupted();
      }
      turn++;
    } while (queue.length > 0);
    return total!;
  } catch (error) {
    if (options.signal?.aborted && !(error instanceof BackfillInterruptedError)) {
      throw new BackfillInterruptedError(progress(), { cause: error });
    }
    throw error;
  } finally {
    await lease?.release();
  }
}
