/**
 * The whole-pipeline chaos suite's machinery (issue #7): a seeded plan of deliveries (out-of-order
 * days, options before or after their lines, re-uploads, a changed version, a touched file) and of
 * faults (a crash armed in every named window of every stage, extra random crashes, throttling, a
 * reshard), an in-memory file source that delivers the plan cycle by cycle, and the tally of every
 * fault injected. Every decision draws from one seeded stream (pure-rand, through the generator's
 * `Random`), so a seed replays the same plan.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { DescribeStreamSummaryCommand, type KinesisClient, SplitShardCommand } from '@aws-sdk/client-kinesis';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import Papa from 'papaparse';
import { SourceError } from '../../ingest/errors.js';
import { Random } from '../../ingest/generator/random.js';
import { PollStep } from '../../ingest/poll.js';
import type { IngestReport } from '../../ingest/report.js';
import { ContentKind, type FileSource, type SourceFile } from '../../ingest/source.js';
import { CompactionStep } from '../../processors/compaction/snapshot.js';
import { CrashWindow } from '../../processors/shard/flush.js';
import { bootstrapLocalResources } from '../../shared/aws/bootstrap.js';
import { type AwsClients, createClients, type LocalEndpoints } from '../../shared/aws/clients.js';
import { loadSettings, type Settings } from '../../shared/config.js';
import { startLocalStack } from '../../shared/local/stack.js';
import { type ResourceNames, resourceNames } from '../../shared/resources.js';
import { mergeParts } from '../unit/aggregates/reference.js';
import { listAllShards } from './processor-fixtures.js';

/** A local stack with the default names and 2 shards, whose endpoints other clients can reach. */
export interface ChaosStack {
  readonly endpoints: LocalEndpoints;
  readonly settings: Settings;
  readonly names: ResourceNames;
  readonly clients: AwsClients;
  /** Stops the stack (its state folder is the caller's). */
  close(): Promise<void>;
}

export async function startChaosStack(stateDir: string): Promise<ChaosStack> {
  const settings = loadSettings({});
  const names = resourceNames(settings);
  const stack = await startLocalStack({ stateDir, fresh: true });
  await bootstrapLocalResources(stack.endpoints, names, { shardCount: 2 });
  const clients = createClients({ kind: 'local', endpoints: stack.endpoints });
  return {
    endpoints: stack.endpoints,
    settings,
    names,
    clients,
    async close() {
      clients.destroy();
      await stack.stop();
    },
  };
}

/** The seed when `TILLSTREAM_CHAOS_SEED` is not set. */
export const DEFAULT_CHAOS_SEED = 20_240_607;

/** The suite's seed: `TILLSTREAM_CHAOS_SEED` (any safe integer), else the fixed default. */
export function chaosSeed(env: Readonly<Record<string, string | undefined>>): number {
  const raw = env['TILLSTREAM_CHAOS_SEED']?.trim();
  if (raw === undefined || raw === '') return DEFAULT_CHAOS_SEED;
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`TILLSTREAM_CHAOS_SEED must be a safe integer (given ${JSON.stringify(raw)})`);
  }
  return seed;
}

/** The parts of the pipeline a fault is injected into. */
export const ChaosStage = {
  Source: 'source',
  Poller: 'poller',
  Stream: 'stream',
  Processor: 'processor',
  Compaction: 'compaction',
} as const;
export type ChaosStage = (typeof ChaosStage)[keyof typeof ChaosStage];

export const FaultKind = {
  /** A delivery the pipeline must settle: a re-upload, a changed version, a day out of order… */
  Delivery: 'delivery',
  /** A planned crash: the first crash armed in a window. */
  Crash: 'crash',
  /** An extra crash drawn at random at any window. */
  RandomCrash: 'random-crash',
  Throttle: 'throttle',
  Reshard: 'reshard',
} as const;
export type FaultKind = (typeof FaultKind)[keyof typeof FaultKind];

/** Faults injected, per stage, kind and window. */
export class FaultTally {
  private readonly counts = new Map<string, number>();

  record(stage: ChaosStage, kind: FaultKind, window: string, count = 1): void {
    if (count <= 0) return;
    const key = `${stage}\u0000${kind}\u0000${window}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + count);
  }

  /** Every (stage, kind, window) with its count, sorted. */
  rows(): { stage: ChaosStage; kind: FaultKind; window: string; count: number }[] {
    return [...this.counts]
      .map(([key, count]) => {
        const [stage, kind, window] = key.split('\u0000') as [ChaosStage, FaultKind, string];
        return { stage, kind, window, count };
      })
      .sort((a, b) =>
        a.stage !== b.stage
          ? a.stage < b.stage
            ? -1
            : 1
          : a.kind !== b.kind
            ? a.kind < b.kind
              ? -1
              : 1
            : a.window < b.window
              ? -1
              : 1,
      );
  }

  /** The windows of a stage where a fault of one of `kinds` was injected. */
  windows(stage: ChaosStage, kinds: readonly FaultKind[]): Set<string> {
    return new Set(
      this.rows()
        .filter((row) => row.stage === stage && kinds.includes(row.kind))
        .map((row) => row.window),
    );
  }

  /** A fixed-width table for the test log. */
  format(): string {
    const rows = this.rows();
    const header = ['stage', 'kind', 'window', 'count'];
    const cells = rows.map((row) => [row.stage, row.kind, row.window, String(row.count)]);
    const widths = header.map((title, column) =>
      Math.max(title.length, ...cells.map((line) => line[column]!.length)),
    );
    const line = (values: readonly string[]) =>
      values
        .map((value, column) =>
          column === 3 ? value.padStart(widths[column]!) : value.padEnd(widths[column]!),
        )
        .join('  ');
    const total = rows.reduce((sum, row) => sum + row.count, 0);
    return [
      line(header),
      line(widths.map((width) => '-'.repeat(width))),
      ...cells.map(line),
      `total faults: ${total}`,
    ].join('\n');
  }
}

/** The error a fault hook throws to stop a stage's "process" (the poller or a compaction). */
export class InjectedFault extends Error {
  override name = 'InjectedFault';
  constructor(
    readonly stage: ChaosStage,
    readonly window: string,
    readonly detail: string,
  ) {
    super(`injected crash of the ${stage} at ${window}${detail === '' ? '' : ` (${detail})`}`);
  }
}

/**
 * Crashes of one stage: a crash armed in a window fires at its n-th occurrence from the arming on
 * (so one that does not occur in its cycle fires in a later one), and, while the cycle's budget
 * lasts, any window crashes with a small extra chance.
 */
export class CrashSchedule<Window extends string> {
  private readonly armed = new Map<Window, number>();
  private extraBudget = 0;
  /** Planned crashes that fired, per window. */
  readonly fired = new Map<Window, number>();

  constructor(
    private readonly random: Random,
    readonly windows: readonly Window[],
    private readonly extraChance: number,
  ) {}

  /** Arms a crash at the `occurrence`-th occurrence of `window` from now on. */
  arm(window: Window, occurrence: number): void {
    this.armed.set(window, occurrence);
  }

  /** Allows up to `crashes` extra random crashes (one cycle's worth). */
  allowExtra(crashes: number): void {
    this.extraBudget = crashes;
  }

  /** Whether a crash is still armed and not fired. */
  get pending(): Window[] {
    return [...this.armed.keys()];
  }

  /**
   * Called at each occurrence of a window in a live process: the fault kind when the process
   * crashes here, or null.
   */
  decide(window: Window): FaultKind | null {
    const remaining = this.armed.get(window);
    if (remaining !== undefined) {
      if (remaining <= 1) {
        this.armed.delete(window);
        this.fired.set(window, (this.fired.get(window) ?? 0) + 1);
        return FaultKind.Crash;
      }
      this.armed.set(window, remaining - 1);
    }
    if (this.extraBudget > 0 && this.random.chance(this.extraChance)) {
      this.extraBudget--;
      return FaultKind.RandomCrash;
    }
    return null;
  }
}

/** What a delivered file is, for the tally and the checks. */
export const DeliveryKind = {
  Reference: 'reference',
  Items: 'items',
  Options: 'options',
  /** The same bytes as an earlier file, under another name. */
  ReUpload: 're-upload',
  /** A new version of a file already delivered: new orders and a conflicting row appended. */
  ChangedVersion: 'changed-version',
  /** A file saved again unchanged: a new modified time, the same bytes. */
  Touch: 'touch',
} as const;
export type DeliveryKind = (typeof DeliveryKind)[keyof typeof DeliveryKind];

export interface Delivery {
  /** The file id (its path in the shared folder). */
  readonly id: string;
  readonly bytes: Buffer;
  readonly kind: DeliveryKind;
  /** Modified time: strictly increasing in delivery order, whole seconds. */
  readonly modifiedMs: number;
}

/** The generated chain's files: reference files and each day's two exports. */
export interface GeneratedChain {
  readonly reference: readonly { readonly id: string; readonly bytes: Buffer }[];
  readonly days: readonly {
    readonly date: string;
    readonly items: { readonly id: string; readonly bytes: Buffer };
    readonly options: { readonly id: string; readonly bytes: Buffer };
  }[];
}

/** Reads what `generateChain` wrote: reference files at the top, one folder per day. */
export async function readGeneratedChain(dir: string): Promise<GeneratedChain> {
  const entries = await readdir(dir, { withFileTypes: true });
  const reference = await Promise.all(
    entries
      .filter((entry) => entry.isFile())
      .map((entry) => entry.name)
      .sort()
      .map(async (name) => ({ id: name, bytes: await readFile(path.join(dir, name)) })),
  );
  const dates = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  const days = await Promise.all(
    dates.map(async (date) => ({
      date,
      items: {
        id: `${date}/order_items.csv`,
        bytes: await readFile(path.join(dir, date, 'order_items.csv')),
      },
      options: {
        id: `${date}/order_item_options.csv`,
        bytes: await readFile(path.join(dir, date, 'order_item_options.csv')),
      },
    })),
  );
  return { reference, days };
}

/** The plan of one chaos run: what arrives in each poll cycle, and where each stage crashes. */
export interface ChaosPlan {
  readonly seed: number;
  /** Deliveries per poll cycle; the last cycle delivers nothing and runs with the clock past the orphan grace. */
  readonly cycles: readonly (readonly Delivery[])[];
  /** The poller clock of each cycle, epoch ms. */
  readonly cycleClockMs: readonly number[];
  /** After this cycle's poll, one open shard is split before the processors read it. */
  readonly reshardAfterCycle: number;
  /** Per cycle, the poller windows armed at its start, with the occurrence that fires. */
  readonly pollerCrashes: ReadonlyMap<number, readonly { window: PollStep; occurrence: number }[]>;
  readonly processorCrashes: ReadonlyMap<number, readonly { window: CrashWindow; occurrence: number }[]>;
  /** Crashed compaction attempts after a cycle's processing: one per compaction step. */
  readonly compactionCrashes: ReadonlyMap<number, readonly { step: CompactionStep; occurrence: number }[]>;
  /** Delivery faults, by name, for the tally. */
  readonly deliveryFaults: ReadonlyMap<string, number>;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

/** A seeded shuffle (Fisher–Yates). */
function shuffle<T>(random: Random, values: readonly T[]): T[] {
  const result = [...values];
  for (let index = result.length - 1; index > 0; index--) {
    const other = random.int(0, index);
    [result[index], result[other]] = [result[other]!, result[index]!];
  }
  return result;
}

/**
 * A new version of an order_items export: its bytes, then a copy of one accepted-looking line as a
 * new order (accepted) and the same line with another price (a `conflicting_duplicate`).
 */
export function changedItemsVersion(bytes: Buffer, random: Random): Buffer {
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  const parsed = Papa.parse<string[]>(text, { skipEmptyLines: true });
  const [header, ...rows] = parsed.data;
  if (header === undefined) throw new Error('changedItemsVersion: an empty file');
  const column = (name: string) => header.findIndex((cell) => cell.trim().toUpperCase() === name);
  const [app, order, line, price] = ['APP_NAME', 'ORDER_ID', 'LINEITEM_ID', 'ITEM_PRICE'].map(column);
  const candidates = rows.filter(
    (row) =>
      row.length === header.length &&
      !/development/i.test(row[app!] ?? '') &&
      /^\d+\.\d\d$/.test(row[price!] ?? ''),
  );
  const base = random.pick(candidates);
  const newOrder = [...base];
  newOrder[order!] = `${base[order!]}-v2`;
  newOrder[line!] = `${base[line!]}-v2`;
  const conflicting = [...base];
  const cents = Math.round(Number(base[price!]) * 100) + 100;
  conflicting[price!] = (cents / 100).toFixed(2);
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const appended = Papa.unparse([newOrder, conflicting], { newline: eol });
  const separator = bytes.at(-1) === 0x0a ? '' : eol;
  return Buffer.concat([bytes, Buffer.from(`${separator}${appended}${eol}`, 'utf8')]);
}

export interface PlanOptions {
  /** The first cycle's clock (whole seconds). */
  readonly startMs: number;
  /** Orphan grace of the settings: the last cycle runs past it. */
  readonly orphanGraceDays: number;
}

/**
 * Plans a run: reference files in cycle 0; every day's items in cycles 1–4, days shuffled; some
 * days' options one cycle before their items (pending, settled later), some one or two after, the
 * rest with them; in cycle 5 re-uploads, a changed version and a touched file; cycle 6 delivers
 * nothing and runs past the orphan grace. Crashes: every window of every stage armed once at a
 * seeded cycle and occurrence.
 */
export function planChaos(chain: GeneratedChain, seed: number, options: PlanOptions): ChaosPlan {
  const random = Random.fromSeed(seed);
  const itemCycles = 4;
  const extrasCycle = itemCycles + 1;
  const cycleCount = extrasCycle + 2;
  const byCycle = new Map<number, { id: string; bytes: Buffer; kind: DeliveryKind }[]>();
  const deliveryFaults = new Map<string, number>();
  const fault = (name: string) => deliveryFaults.set(name, (deliveryFaults.get(name) ?? 0) + 1);

  for (const file of chain.reference) pushTo(byCycle, 0, { ...file, kind: DeliveryKind.Reference });
  const order = shuffle(random, chain.days);
  const itemsCycle = new Map<string, number>();
  order.forEach((day, position) => {
    itemsCycle.set(day.date, 1 + Math.floor((position * itemCycles) / order.length));
    if (position > 0 && day.date < order[position - 1]!.date) fault('out-of-order-day');
  });
  // Options before their lines need items in cycle ≥ 2 (cycle 0 holds the reference files only).
  const early = new Set(
    shuffle(
      random,
      order.filter((day) => itemsCycle.get(day.date)! >= 2),
    )
      .slice(0, 2)
      .map((day) => day.date),
  );
  const late = new Set(
    shuffle(
      random,
      order.filter((day) => !early.has(day.date)),
    )
      .slice(0, 2)
      .map((day) => day.date),
  );
  for (const day of order) {
    const cycle = itemsCycle.get(day.date)!;
    pushTo(byCycle, cycle, { ...day.items, kind: DeliveryKind.Items });
    let optionsCycle = cycle;
    if (early.has(day.date)) {
      optionsCycle = cycle - 1;
      fault('options-before-items');
    } else if (late.has(day.date)) {
      optionsCycle = Math.min(cycle + random.int(1, 2), extrasCycle);
      fault('options-after-items');
    }
    pushTo(byCycle, optionsCycle, { ...day.options, kind: DeliveryKind.Options });
  }
  // Extras: a re-upload of an items and an options file, a changed items file, a touched file.
  const reUploaded = random.pick(chain.days);
  pushTo(byCycle, extrasCycle, {
    id: `re-uploads/${reUploaded.date} order_items (1).csv`,
    bytes: reUploaded.items.bytes,
    kind: DeliveryKind.ReUpload,
  });
  const reUploadedOptions = random.pick(chain.days);
  pushTo(byCycle, extrasCycle, {
    id: `re-uploads/${reUploadedOptions.date} order_item_options (1).csv`,
    bytes: reUploadedOptions.options.bytes,
    kind: DeliveryKind.ReUpload,
  });
  fault('re-upload');
  fault('re-upload');
  const changed = random.pick(chain.days);
  pushTo(byCycle, extrasCycle, {
    id: changed.items.id,
    bytes: changedItemsVersion(changed.items.bytes, random),
    kind: DeliveryKind.ChangedVersion,
  });
  fault('changed-version');
  const touched = random.pick(chain.days.filter((day) => day !== changed));
  pushTo(byCycle, extrasCycle, { ...touched.items, kind: DeliveryKind.Touch });
  fault('touch');

  const cycleClockMs: number[] = [];
  const cycles: Delivery[][] = [];
  for (let cycle = 0; cycle < cycleCount; cycle++) {
    // The last cycle runs past the orphan grace, so every option still waiting settles.
    const clock =
      cycle === cycleCount - 1
        ? options.startMs + cycle * HOUR_MS + (options.orphanGraceDays + 1) * DAY_MS
        : options.startMs + cycle * HOUR_MS;
    cycleClockMs.push(clock);
    // A shuffle within the cycle: arrival order inside a poll is by modified time.
    const files = shuffle(random, byCycle.get(cycle) ?? []);
    cycles.push(files.map((file, index) => ({ ...file, modifiedMs: clock - HOUR_MS / 2 + index * 1000 })));
  }

  const armAcross = <Window extends string>(
    windows: readonly Window[],
    firstCycle: number,
    lastCycle: number,
    maxOccurrence: (window: Window) => number,
  ): Map<number, { window: Window; occurrence: number }[]> => {
    const armed = new Map<number, { window: Window; occurrence: number }[]>();
    for (const window of windows) {
      pushTo(armed, random.int(firstCycle, lastCycle), {
        window,
        occurrence: random.int(1, maxOccurrence(window)),
      });
    }
    return armed;
  };
  // Settling steps happen only in cycles that settle options: armed early, they fire at the first.
  const settling: readonly PollStep[] = [PollStep.SettlePut, PollStep.SettleReported];
  const perFile: readonly PollStep[] = [
    PollStep.Landed,
    PollStep.Registered,
    PollStep.Claimed,
    PollStep.Put,
    PollStep.Reported,
    PollStep.Finished,
  ];
  const pollerCrashes = armAcross(
    Object.values(PollStep).filter((window) => !settling.includes(window)),
    0,
    extrasCycle - 1,
    (window) => (perFile.includes(window) ? 3 : 1),
  );
  for (const window of settling) pushTo(pollerCrashes, random.int(0, 1), { window, occurrence: 1 });
  const processorCrashes = armAcross(Object.values(CrashWindow), 0, extrasCycle - 1, () => 4);
  const compactionCrashes = new Map<number, { step: CompactionStep; occurrence: number }[]>();
  const occurrences: Record<CompactionStep, number> = {
    [CompactionStep.CsvWritten]: 6,
    [CompactionStep.ParquetWritten]: 6,
    [CompactionStep.BeforeManifest]: 1,
    [CompactionStep.ManifestWritten]: 1,
    [CompactionStep.ProfileWritten]: 4,
  };
  for (const step of Object.values(CompactionStep)) {
    pushTo(compactionCrashes, random.int(1, extrasCycle), {
      step,
      occurrence: random.int(1, occurrences[step]),
    });
  }
  return {
    seed,
    cycles,
    cycleClockMs,
    reshardAfterCycle: random.int(2, 3),
    pollerCrashes,
    processorCrashes,
    compactionCrashes,
    deliveryFaults,
  };
}

/**
 * The shared folder as the chaos plan fills it: files delivered so far, each at its latest
 * version. `commit` exists, so the poller's `committed` step happens.
 */
export class ChaosSource implements FileSource {
  readonly sourceName = 'folder' as const;
  private readonly files = new Map<string, { file: SourceFile; bytes: Buffer }>();

  constructor(readonly location: string) {}

  deliver(delivery: Delivery): void {
    this.files.set(delivery.id, {
      file: {
        id: delivery.id,
        path: delivery.id,
        name: path.posix.basename(delivery.id),
        modifiedMs: delivery.modifiedMs,
        sizeBytes: delivery.bytes.length,
        contentKind: ContentKind.Bytes,
        versionTag: `${delivery.modifiedMs}:${delivery.bytes.length}`,
      },
      bytes: delivery.bytes,
    });
  }

  async listFiles(): Promise<SourceFile[]> {
    return [...this.files.values()].map((entry) => entry.file);
  }

  async open(file: SourceFile): Promise<Readable> {
    const entry = this.files.get(file.id);
    if (entry === undefined) throw new SourceError(`${file.id} is not delivered`, this.location);
    return Readable.from([entry.bytes]);
  }

  async commit(): Promise<void> {}
}

/**
 * Writes every version the raw layer holds as its own file, with its modified time, so a folder
 * reader that takes files in modified-time order (the DuckDB recomputation) sees the poller's
 * arrival order. Touched files add no version and are left out.
 */
export async function writeArrivalFolder(
  dir: string,
  cycles: readonly (readonly Delivery[])[],
): Promise<void> {
  const seen = new Set<string>();
  for (const delivery of cycles.flat()) {
    const version = `${delivery.id}\u0000${sha256(delivery.bytes)}`;
    if (seen.has(version)) continue;
    seen.add(version);
    const file = path.join(dir, `${delivery.modifiedMs}-${delivery.id.replaceAll('/', '_')}`);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, delivery.bytes);
    const seconds = delivery.modifiedMs / 1000;
    await utimes(file, seconds, seconds);
  }
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** CSV records after the header (the contract's row numbering), blank lines not counted. */
export function countCsvRecords(bytes: Buffer): number {
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  const parsed = Papa.parse<string[]>(text, { skipEmptyLines: true });
  return Math.max(0, parsed.data.length - 1);
}

/** Every ingest report in the raw bucket. */
export async function listIngestReports(s3: S3Client, bucket: string): Promise<IngestReport[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: 'raw/', ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) {
      if (object.Key?.endsWith('.ingest-report.json')) keys.push(object.Key);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return Promise.all(
    keys.map(async (key) => {
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return JSON.parse(await object.Body!.transformToString('utf8')) as IngestReport;
    }),
  );
}

/**
 * Splits the open shard with the lowest id at the midpoint of its hash key range; returns the
 * parent's id.
 */
export async function splitOneShard(kinesis: KinesisClient, streamName: string): Promise<string> {
  const parent = (await listAllShards(kinesis, streamName))
    .filter((shard) => shard.SequenceNumberRange?.EndingSequenceNumber === undefined)
    .sort((a, b) => ((a.ShardId ?? '') < (b.ShardId ?? '') ? -1 : 1))[0];
  if (parent === undefined) throw new Error(`stream ${streamName} has no open shard`);
  const start = BigInt(parent.HashKeyRange?.StartingHashKey ?? '0');
  const end = BigInt(parent.HashKeyRange?.EndingHashKey ?? '0');
  await kinesis.send(
    new SplitShardCommand({
      StreamName: streamName,
      ShardToSplit: parent.ShardId,
      NewStartingHashKey: ((start + end + 1n) / 2n).toString(),
    }),
  );
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { StreamDescriptionSummary } = await kinesis.send(
      new DescribeStreamSummaryCommand({ StreamName: streamName }),
    );
    if (StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return parent.ShardId ?? '';
    if (Date.now() > deadline) throw new Error(`stream ${streamName} not ACTIVE after the split`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Makes `share` of the Kinesis PutRecords requests (a seeded draw each) fail whole with the
 * service's throttling error, ahead of the SDK's retry, so the producer's own retry handles them.
 */
export function throttlePutRecords(
  kinesis: KinesisClient,
  share: number,
  random: Random,
  onThrottle: () => void,
): void {
  kinesis.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'PutRecordsCommand' && random.chance(share)) {
        onThrottle();
        throw Object.assign(new Error('injected throttle of Kinesis.PutRecords'), {
          name: 'ProvisionedThroughputExceededException',
          $retryable: { throttling: true },
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
        });
      }
      return next(args);
    },
    { step: 'initialize', name: 'chaosThrottlePutRecords' },
  );
}

/**
 * The aggregates table as comparable values: `pk|sk` → attributes, without the per-shard
 * high-water marks (`w…`, bookkeeping that names shards) and without zero counters (an item
 * written with a delta that cancelled holds a 0 where another run holds nothing).
 */
export function comparableAggregates(
  items: readonly Record<string, unknown>[],
): Map<string, Record<string, unknown>> {
  const table = new Map<string, Record<string, unknown>>();
  // A customer month's parts (one per shard that wrote it) are compared as the month they add up to.
  const merged = mergeParts(items.map((item) => [`${String(item['pk'])}|${String(item['sk'])}`, item]));
  for (const [id, item] of merged) {
    const kept: Record<string, unknown> = {};
    for (const name of Object.keys(item).sort()) {
      const value = item[name];
      if (name === 'pk' || name === 'sk' || /^w/.test(name) || value === 0) continue;
      kept[name] = value;
    }
    table.set(id, kept);
  }
  return new Map([...table].sort(([a], [b]) => (a < b ? -1 : 1)));
}
