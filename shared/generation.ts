/**
 * Table generations (`tillstream rebuild`): the aggregates, ledger and state tables of generation
 * N are `<name>-gN` (generation 0 keeps today's names, so existing stacks keep working). A pointer
 * item in the generation-0 state table, the control table, names the live generation; every reader
 * and writer resolves it once when it opens (`resolveLiveNames`), so a rebuild fills generation N+1
 * out of sight and readers switch to it only when the pointer flips, never to a half-built table.
 * The control table also holds the poller lease that a rebuild or a backfill takes so that no other
 * poll cycle writes the ledger at the same time (the ledger's single-writer invariant). Leases are
 * generic (`acquireLease`): each is one control item, named by its key; the compaction's profile
 * write-back holds another one in the state table of the generation it writes.
 */
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ResourceNames } from './resources.js';
import { sleep as abortableSleep } from './sleep.js';

/** Keys of the control items in the generation-0 state table. */
export const ControlKey = {
  Generation: { pk: 'control#generation', sk: 'live' },
  PollerLease: { pk: 'control#lease', sk: 'poller' },
  /** Held by one profile write-back at a time (in the state table of the generation it writes). */
  ProfilesLease: { pk: 'control#lease', sk: 'profiles' },
  /** The newest `as_of` whose profiles a write-back started writing (processors/compaction/profiles.ts). */
  ProfilesMarker: { pk: 'control#profiles', sk: 'asOf' },
} as const;

/** The key of a control item. */
export interface ControlItemKey {
  readonly pk: string;
  readonly sk: string;
}

/** The pointer could not move: another rebuild flipped it first, or it names another generation. */
export class GenerationConflictError extends Error {
  override name = 'GenerationConflictError';
  constructor(
    readonly expected: number,
    readonly target: number,
    options?: ErrorOptions,
  ) {
    super(`the live generation is no longer ${expected}: generation ${target} was not made live`, options);
  }
}

/** Another process holds a lease (the poller lease unless `lease` says otherwise). */
export class LeaseHeldError extends Error {
  override name = 'LeaseHeldError';
  constructor(
    readonly holder: string,
    readonly expiresAtMs: number,
    options?: ErrorOptions,
    readonly lease: string = 'poller',
  ) {
    super(
      `the ${lease} lease is held by ${holder} until ${new Date(expiresAtMs).toISOString()}; wait for it or let it expire`,
      options,
    );
  }
}

/**
 * The names of generation `generation`: its aggregates, ledger and state tables carry the `-gN`
 * suffix; the stream and the buckets are shared by every generation.
 *
 * @example
 * generationNames(resourceNames(settings), 2).aggregatesTable; // 'tillstream-aggregates-g2'
 */
export function generationNames(base: ResourceNames, generation: number): ResourceNames {
  if (!Number.isInteger(generation) || generation < 0) {
    throw new RangeError(`a generation is a whole number ≥ 0 (given ${generation})`);
  }
  if (generation === 0) return base;
  const suffix = `-g${generation}`;
  return {
    ...base,
    aggregatesTable: `${base.aggregatesTable}${suffix}`,
    ledgerTable: `${base.ledgerTable}${suffix}`,
    stateTable: `${base.stateTable}${suffix}`,
  };
}

/** The live generation (0 when no rebuild ever flipped the pointer). */
export async function readLiveGeneration(doc: DynamoDBDocumentClient, base: ResourceNames): Promise<number> {
  const response = await doc.send(
    new GetCommand({ TableName: base.stateTable, Key: ControlKey.Generation, ConsistentRead: true }),
  );
  const live = response.Item?.['live'];
  return typeof live === 'number' ? live : 0;
}

/**
 * The names every command and handler should use: those of the live generation. One consistent
 * GetItem; call it when a context opens, not per request.
 *
 * @example
 * const names = await resolveLiveNames(clients.doc, resourceNames(settings, process.env));
 */
export async function resolveLiveNames(
  doc: DynamoDBDocumentClient,
  base: ResourceNames,
): Promise<ResourceNames> {
  return generationNames(base, await readLiveGeneration(doc, base));
}

/**
 * How long a warm reader (the dashboard Lambda) may keep using the generation it read before it
 * reads the pointer again. Writers never cache it: they resolve it per invocation.
 */
export const READER_GENERATION_TTL_MS = 30_000;

/** The live generation and its names, as one resolution found them. */
export interface LiveGeneration {
  readonly generation: number;
  readonly names: ResourceNames;
}

/**
 * A resolver of the live generation for a long-lived process (a warm Lambda container): one
 * consistent GetItem per call, or per `ttlMs` when a reader may lag the pointer that long.
 *
 * Writers (poller, shard processor, compaction) use `ttlMs` 0: a record put by a poll cycle that
 * wrote generation N+1's ledger is processed by an invocation that started after the flip, so
 * resolving at every invocation start never writes it into generation N.
 *
 * @example
 * const live = liveGenerationResolver(clients.doc, resourceNames(settings, process.env));
 * const { names } = await live(); // at the start of every invocation
 */
export function liveGenerationResolver(
  doc: DynamoDBDocumentClient,
  base: ResourceNames,
  ttlMs = 0,
  clock: () => number = Date.now,
): () => Promise<LiveGeneration> {
  let cached: { readonly live: LiveGeneration; readonly readAtMs: number } | undefined;
  return async () => {
    const now = clock();
    if (cached !== undefined && ttlMs > 0 && now - cached.readAtMs < ttlMs) return cached.live;
    const generation = await readLiveGeneration(doc, base);
    const live =
      cached?.live.generation === generation
        ? cached.live
        : { generation, names: generationNames(base, generation) };
    cached = { live, readAtMs: now };
    return live;
  };
}

/**
 * Makes `target` the live generation, atomically and only if `expected` is still live (a
 * conditional put: two rebuilds cannot both win).
 *
 * @throws GenerationConflictError when the pointer moved since `expected` was read.
 */
export async function flipLiveGeneration(
  doc: DynamoDBDocumentClient,
  base: ResourceNames,
  expected: number,
  target: number,
  nowMs: number,
): Promise<void> {
  try {
    await doc.send(
      new PutCommand({
        TableName: base.stateTable,
        Item: { ...ControlKey.Generation, live: target, previous: expected, flippedAt: nowMs },
        ConditionExpression:
          expected === 0 ? 'attribute_not_exists(pk) OR live = :expected' : 'live = :expected',
        ExpressionAttributeValues: { ':expected': expected },
      }),
    );
  } catch (error) {
    if ((error as Error).name === 'ConditionalCheckFailedException') {
      throw new GenerationConflictError(expected, target, { cause: error });
    }
    throw error;
  }
}

/** A held lease: renew it before it expires, release it when done. */
export interface PollerLease {
  readonly holder: string;
  /** @throws LeaseHeldError when another holder took the lease over after it expired. */
  renew(nowMs: number): Promise<void>;
  release(): Promise<void>;
}

/** A held lease of any kind (the same shape as the poller lease). */
export type Lease = PollerLease;

/** Which lease: its control item and the table that holds it. */
export interface LeaseItem {
  /** Named in `LeaseHeldError` messages, e.g. `poller`. */
  readonly lease: string;
  readonly tableName: string;
  readonly key: ControlItemKey;
}

/** The poller lease: in the control table (generation 0's state table). */
export function pollerLeaseItem(base: ResourceNames): LeaseItem {
  return { lease: 'poller', tableName: base.stateTable, key: ControlKey.PollerLease };
}

/**
 * Takes the lease `item` for `durationMs` (renewable), unless another holder's lease is still
 * running. An expired lease is taken over: a crashed holder never blocks the others for good.
 * Only the lease's own attributes are stored; the item holds nothing else.
 *
 * @throws LeaseHeldError when another holder's lease has not expired.
 * @example
 * const lease = await acquireLease(doc, pollerLeaseItem(base), 'rebuild@42', Date.now(), 60_000);
 */
export async function acquireLease(
  doc: DynamoDBDocumentClient,
  item: LeaseItem,
  holder: string,
  nowMs: number,
  durationMs: number,
): Promise<Lease> {
  const put = async (at: number): Promise<void> => {
    try {
      await doc.send(
        new PutCommand({
          TableName: item.tableName,
          Item: { ...item.key, holder, expiresAtMs: at + durationMs },
          ConditionExpression: 'attribute_not_exists(pk) OR holder = :holder OR expiresAtMs < :now',
          ExpressionAttributeValues: { ':holder': holder, ':now': at },
        }),
      );
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
      const current = await doc.send(
        new GetCommand({ TableName: item.tableName, Key: item.key, ConsistentRead: true }),
      );
      throw new LeaseHeldError(
        String(current.Item?.['holder'] ?? 'unknown'),
        Number(current.Item?.['expiresAtMs'] ?? at),
        { cause: error },
        item.lease,
      );
    }
  };
  await put(nowMs);
  return {
    holder,
    renew: put,
    async release() {
      await doc
        .send(
          new DeleteCommand({
            TableName: item.tableName,
            Key: item.key,
            ConditionExpression: 'holder = :holder',
            ExpressionAttributeValues: { ':holder': holder },
          }),
        )
        .catch((error: unknown) => {
          // Taken over after it expired: it is not ours to delete any more.
          if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
        });
    },
  };
}

/**
 * Takes the poller lease for `durationMs` (renewable), unless another holder's lease is still
 * running (`acquireLease` on `pollerLeaseItem(base)`).
 *
 * @throws LeaseHeldError when another holder's lease has not expired.
 */
export function acquirePollerLease(
  doc: DynamoDBDocumentClient,
  base: ResourceNames,
  holder: string,
  nowMs: number,
  durationMs: number,
): Promise<PollerLease> {
  return acquireLease(doc, pollerLeaseItem(base), holder, nowMs, durationMs);
}

/** How long one scheduled or CLI poll cycle may hold the lease (the Lambda's 15-minute ceiling). */
export const POLL_CYCLE_LEASE_MS = 15 * 60_000;

/** A held lease is asked for again this often while waiting for it. */
export const LEASE_RETRY_MS = 1_000;

/** How to wait for a held lease; the clock and the sleep are injected so that tests need no timers. */
export interface LeaseWaitOptions {
  /** Give up (throw the last `LeaseHeldError`) once this long has passed. @default 0: one attempt */
  readonly waitMs?: number;
  /** @default `LEASE_RETRY_MS` */
  readonly retryEveryMs?: number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Stops the wait: the last `LeaseHeldError` is thrown at once. */
  readonly signal?: AbortSignal;
}

/**
 * `acquireLease`, asked again every `retryEveryMs` while another holder has it, for up to `waitMs`
 * by `clock`.
 *
 * @throws LeaseHeldError when the lease is still held after `waitMs` (or when `signal` aborts).
 */
export async function acquireLeaseWaiting(
  doc: DynamoDBDocumentClient,
  item: LeaseItem,
  holder: string,
  clock: () => number,
  durationMs: number,
  options: LeaseWaitOptions = {},
): Promise<Lease> {
  const waitMs = options.waitMs ?? 0;
  const retryEveryMs = options.retryEveryMs ?? LEASE_RETRY_MS;
  const wait = options.sleep ?? abortableSleep;
  const deadline = clock() + waitMs;
  for (;;) {
    try {
      return await acquireLease(doc, item, holder, clock(), durationMs);
    } catch (error) {
      if (!(error instanceof LeaseHeldError)) throw error;
      const left = deadline - clock();
      if (left <= 0 || options.signal?.aborted) throw error;
      await wait(Math.min(retryEveryMs, left), options.signal);
    }
  }
}

/**
 * `acquirePollerLease`, asked again every `retryEveryMs` while another holder has it, for up to
 * `waitMs` by `clock`. A backfill gives the lease up between its turns, so a live poller that waits
 * a little longer than one turn always gets in.
 *
 * @throws LeaseHeldError when the lease is still held after `waitMs` (or when `signal` aborts).
 */
export function acquirePollerLeaseWaiting(
  doc: DynamoDBDocumentClient,
  base: ResourceNames,
  holder: string,
  clock: () => number,
  durationMs: number,
  options: LeaseWaitOptions = {},
): Promise<PollerLease> {
  return acquireLeaseWaiting(doc, pollerLeaseItem(base), holder, clock, durationMs, options);
}

/**
 * Runs one poll cycle under the poller lease. While a backfill or a rebuild holds the lease it
 * waits for it (`options.waitMs`, asking every second); still held after that, it returns
 * `{ heldBy }` without running the cycle (the live poller takes its next turn instead of writing the ledger
 * beside them).
 *
 * @example
 * const result = await withPollerLease(doc, names, 'poller-lambda', Date.now, () => runPollCycle(deps), {
 *   waitMs: settings.pollLeaseWaitSeconds * 1000,
 * });
 */
export async function withPollerLease<T>(
  doc: DynamoDBDocumentClient,
  base: ResourceNames,
  holder: string,
  clock: () => number,
  cycle: () => Promise<T>,
  options: LeaseWaitOptions = {},
): Promise<{ readonly result: T } | { readonly heldBy: LeaseHeldError }> {
  let lease: PollerLease;
  try {
    lease = await acquirePollerLeaseWaiting(doc, base, holder, clock, POLL_CYCLE_LEASE_MS, options);
  } catch (error) {
    if (error instanceof LeaseHeldError) return { heldBy: error };
    throw error;
  }
  try {
    return { result: await cycle() };
  } finally {
    await lease.release();
  }
}
