/**
 * Settings: one `defaults` object, overridden by `TILLSTREAM_*` environment variables and then by
 * CLI flags. Read once at the edge and passed in; pure code never reads the environment.
 */

export const Target = { Local: 'local', Aws: 'aws' } as const;
export type Target = (typeof Target)[keyof typeof Target];

export const DynamoEngine = { Dynalite: 'dynalite', LocalJar: 'local-jar' } as const;
export type DynamoEngine = (typeof DynamoEngine)[keyof typeof DynamoEngine];

export interface Settings {
  /** Where the pipeline runs: the embedded emulators or the deployed AWS resources. */
  readonly target: Target;
  /** Local state (emulator data) directory. @default `.tillstream` */
  readonly stateDir: string;
  /** Which DynamoDB emulator the local stack starts. @default `dynalite` */
  readonly dynamoEngine: DynamoEngine;
  /** Prefix of every table, stream and bucket name. @default `tillstream` */
  readonly resourcePrefix: string;
  /** Shards of the local stream when it is created. @default 2 */
  readonly shardCount: number;
  /** The chain's zone: `as_of` defaults to yesterday here. @default `America/New_York` */
  readonly chainTimeZone: string;
  /** Zone of a location the locations file does not name. @default `America/New_York` */
  readonly defaultTimeZone: string;
  /** The one currency the chain accepts. @default `USD` */
  readonly currency: string;
  /** APP_NAME rows containing this (case-insensitive) are test data and excluded. @default `DEVELOPMENT` */
  readonly testAppPattern: string;
  /** How long an option waits for its line item before it is an `orphan_option`. @default 7 days */
  readonly orphanGraceDays: number;
  /** A row more than this after its file arrived is a `future_timestamp`. @default 1 day */
  readonly futureToleranceMs: number;
  /** A file larger than this is quarantined whole as `file_too_large`. @default 256 MiB */
  readonly maxFileBytes: number;
  /**
   * The poller's heap may grow to (1 + this / 100) × what the last full GC kept before the next
   * one (V8's `--heap-growing-percent`; process-wide, so set by `tillstream poll` and the poller
   * Lambda only), instead of V8's up to 4×; 0 leaves V8's own choice (see ingest/heap.ts). @default 30
   */
  readonly pollHeapGrowingPercent: number;
  /**
   * Options a poll holds in memory while their line may still arrive in the same poll (about 2 KiB
   * each); past this, the oldest options files' waiting options become pending in the state table
   * and settle at the end of the poll. @default 20000
   */
  readonly pollMaxHeldOptions: number;
  /** AWS region for the SDK clients. @default `us-east-1` */
  readonly region: string;
  /** `tillstream backfill` puts at most this many orders per second on the stream. @default 200 */
  readonly backfillRatePerSecond: number;
  /** `tillstream backfill` gives the poller lease up at least this often (between files). @default 30 */
  readonly backfillTurnSeconds: number;
  /** The live poller waits this long for a held poller lease before it skips its cycle. @default 60 */
  readonly pollLeaseWaitSeconds: number;
  /** A location's upload for a local date is due at this local time (`HH:MM`)… @default `10:00` */
  readonly uploadDueLocalTime: string;
  /** …this many days after the date (0–6). @default 1 (the next morning) */
  readonly uploadDueDaysAfter: number;
  /** Missing uploads and quarantined rows are looked for over this many past days. @default 7 */
  readonly statusLookbackDays: number;
  /** `tillstream status` needs attention when a shard is further behind than this. @default 60000 ms */
  readonly maxShardLagMs: number;
}

export const defaults: Settings = {
  target: Target.Local,
  stateDir: '.tillstream',
  dynamoEngine: DynamoEngine.Dynalite,
  resourcePrefix: 'tillstream',
  shardCount: 2,
  chainTimeZone: 'America/New_York',
  defaultTimeZone: 'America/New_York',
  currency: 'USD',
  testAppPattern: 'DEVELOPMENT',
  orphanGraceDays: 7,
  futureToleranceMs: 86_400_000,
  maxFileBytes: 256 * 1024 * 1024,
  pollHeapGrowingPercent: 30,
  pollMaxHeldOptions: 20_000,
  region: 'us-east-1',
  backfillRatePerSecond: 200,
  backfillTurnSeconds: 30,
  pollLeaseWaitSeconds: 60,
  uploadDueLocalTime: '10:00',
  uploadDueDaysAfter: 1,
  statusLookbackDays: 7,
  maxShardLagMs: 60_000,
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function positiveInteger(name: string, value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) {
    throw new ConfigError(`${name} must be a positive integer (given ${JSON.stringify(value)})`);
  }
  return parsed;
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')} (given ${JSON.stringify(value)})`);
  }
  return value as T;
}

/** Settings from `defaults` and the `TILLSTREAM_*` variables of `env`, then `overrides`. */
export function loadSettings(
  env: Readonly<Record<string, string | undefined>> = process.env,
  overrides: Partial<Settings> = {},
): Settings {
  const fromEnv: { -readonly [K in keyof Settings]?: Settings[K] } = {};
  const read = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value === '' ? undefined : value;
  };
  const target = read('TILLSTREAM_TARGET');
  if (target) fromEnv.target = oneOf('TILLSTREAM_TARGET', target, Object.values(Target));
  const stateDir = read('TILLSTREAM_STATE_DIR');
  if (stateDir) fromEnv.stateDir = stateDir;
  const engine = read('TILLSTREAM_DYNAMODB');
  if (engine) fromEnv.dynamoEngine = oneOf('TILLSTREAM_DYNAMODB', engine, Object.values(DynamoEngine));
  const prefix = read('TILLSTREAM_PREFIX');
  if (prefix) fromEnv.resourcePrefix = prefix;
  const shards = read('TILLSTREAM_SHARDS');
  if (shards) fromEnv.shardCount = positiveInteger('TILLSTREAM_SHARDS', shards);
  const chainTz = read('TILLSTREAM_CHAIN_TZ');
  if (chainTz) fromEnv.chainTimeZone = chainTz;
  const defaultTz = read('TILLSTREAM_DEFAULT_TZ');
  if (defaultTz) fromEnv.defaultTimeZone = defaultTz;
  const currency = read('TILLSTREAM_CURRENCY');
  if (currency) fromEnv.currency = currency.toUpperCase();
  const pattern = read('TILLSTREAM_TEST_APP_PATTERN');
  if (pattern) fromEnv.testAppPattern = pattern;
  const grace = read('TILLSTREAM_ORPHAN_GRACE_DAYS');
  if (grace) fromEnv.orphanGraceDays = positiveInteger('TILLSTREAM_ORPHAN_GRACE_DAYS', grace);
  const maxBytes = read('TILLSTREAM_MAX_FILE_BYTES');
  if (maxBytes) fromEnv.maxFileBytes = positiveInteger('TILLSTREAM_MAX_FILE_BYTES', maxBytes);
  const heapGrowing = read('TILLSTREAM_POLL_HEAP_GROWING_PERCENT');
  if (heapGrowing !== undefined) {
    const percent = Number(heapGrowing);
    if (!Number.isInteger(percent) || percent < 0 || percent > 300) {
      throw new ConfigError(
        `TILLSTREAM_POLL_HEAP_GROWING_PERCENT must be an integer from 0 to 300 (given ${JSON.stringify(heapGrowing)})`,
      );
    }
    fromEnv.pollHeapGrowingPercent = percent;
  }
  const maxHeld = read('TILLSTREAM_POLL_MAX_HELD_OPTIONS');
  if (maxHeld) fromEnv.pollMaxHeldOptions = positiveInteger('TILLSTREAM_POLL_MAX_HELD_OPTIONS', maxHeld);
  const dueTime = read('TILLSTREAM_UPLOAD_DUE_TIME');
  if (dueTime) {
    if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(dueTime)) {
      throw new ConfigError(`TILLSTREAM_UPLOAD_DUE_TIME must be HH:MM (given ${JSON.stringify(dueTime)})`);
    }
    fromEnv.uploadDueLocalTime = dueTime;
  }
  const dueDays = read('TILLSTREAM_UPLOAD_DUE_DAYS_AFTER');
  if (dueDays) {
    const days = Number(dueDays);
    if (!Number.isInteger(days) || days < 0 || days > 6) {
      throw new ConfigError(
        `TILLSTREAM_UPLOAD_DUE_DAYS_AFTER must be an integer 0–6 (given ${JSON.stringify(dueDays)})`,
      );
    }
    fromEnv.uploadDueDaysAfter = days;
  }
  const lookback = read('TILLSTREAM_STATUS_LOOKBACK_DAYS');
  if (lookback) fromEnv.statusLookbackDays = positiveInteger('TILLSTREAM_STATUS_LOOKBACK_DAYS', lookback);
  const maxLag = read('TILLSTREAM_MAX_LAG_MS');
  if (maxLag) fromEnv.maxShardLagMs = positiveInteger('TILLSTREAM_MAX_LAG_MS', maxLag);
  const backfillRate = read('TILLSTREAM_BACKFILL_RATE');
  if (backfillRate) fromEnv.backfillRatePerSecond = positiveInteger('TILLSTREAM_BACKFILL_RATE', backfillRate);
  const turnSeconds = read('TILLSTREAM_BACKFILL_TURN_SECONDS');
  if (turnSeconds) {
    fromEnv.backfillTurnSeconds = positiveInteger('TILLSTREAM_BACKFILL_TURN_SECONDS', turnSeconds);
  }
  const leaseWait = read('TILLSTREAM_POLL_LEASE_WAIT_SECONDS');
  if (leaseWait)
    fromEnv.pollLeaseWaitSeconds = positiveInteger('TILLSTREAM_POLL_LEASE_WAIT_SECONDS', leaseWait);
  const region = read('AWS_REGION') ?? read('AWS_DEFAULT_REGION');
  if (region) fromEnv.region = region;
  return { ...defaults, ...fromEnv, ...overrides };
}
