/**
 * One poll cycle (CONTRACT.md §1, issue #3): list the source, land every new or changed file byte
 * for byte in the raw layer, then read each landed file from its raw copy in arrival order, settle
 * row duplicates against the identity ledger, put one order event per order on the stream, write
 * quarantine and the ingest report, and finally settle options that were waiting for their line.
 *
 * Crash safety: a landed version stays "unfinished" in the state table until its report is
 * written; the next cycle resumes it from the raw layer. Ledger claims name the row that made them,
 * so the resumed file accepts its own claims again and re-puts their records (the processors
 * dedupe stream replays). Options whose line is unknown wait in the state table with their arrival.
 */

import { createHash } from 'node:crypto';
import { pipeline, Readable, Transform } from 'node:stream';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Settings } from '../shared/config.js';
import { exportKindOfFirstLine } from '../shared/input/header.js';
import { type ExportParse, parseExport } from '../shared/input/parse.js';
import {
  EntryKind,
  type LineItemEntry,
  type OptionEntry,
  validationSettings,
} from '../shared/input/types.js';
import { progressLog } from '../shared/progress.js';
import type { ResourceNames } from '../shared/resources.js';
import { type CalendarDay, FileKind, type LocationConfig } from '../shared/schemas/input.js';
import type { EventLine, EventOption, Lineage } from '../shared/schemas/order-event.js';
import { encodeBinaryOrderEvent } from '../shared/schemas/order-event-binary.js';
import { ReasonCode, type Rejection } from '../shared/schemas/reasons.js';
import { ExportTooLargeError, ReportInvariantError, SourceError } from './errors.js';
import {
  type Candidate,
  ClaimStatus,
  Decision,
  decideInOrder,
  type IdentityKey,
  keyString,
  type LedgerClaim,
  lineKey,
  lineValueHash,
  optionKey,
  optionValueHash,
  type RowClaimant,
  RowKind,
} from './identity.js';
import { ClaimLedger, ensureLedgerLayout } from './ledger.js';
import { putRecords, type RecordRateLimiter, type StreamRecord } from './producer.js';
import {
  getObjectBytes,
  getQuarantine,
  getReport,
  listObjectKeys,
  putQuarantine,
  putRaw,
  putReport,
  type QuarantineRecord,
  quarantinePrefix,
  rawKey,
  reportKey,
} from './raw-layer.js';
import {
  assertCountsAddUp,
  FileStatus,
  type IngestReport,
  type Settlement,
  settlePending,
} from './report.js';
import { type EarlierRead, planReread, type RereadPlan } from './reread.js';
import type { BackoffOptions } from './retry.js';
import { lineRow, optionRow } from './rows.js';
import { arrivalOrder, ContentKind, type FileSource, readAll, type SourceFile } from './source.js';
import { type LandedVersion, type PendingOption, PollerState } from './state.js';
import { arrivalsOfLines } from './status/missing-uploads.js';

const MS_PER_DAY = 86_400_000;

/** The points between the steps of a cycle, where the fault hook may simulate a crash. */
export const PollStep = {
  Listed: 'listed',
  /** A file's raw copy is written; it is not registered yet. */
  Landed: 'landed',
  /** A landed version is registered as unfinished. */
  Registered: 'registered',
  /** A file's ledger claims (and pending options) are written; nothing is on the stream yet. */
  Claimed: 'claimed',
  /** A file's records are on the stream; no quarantine or report yet. */
  Put: 'put',
  /** Quarantine and report are written; the version is not marked finished. */
  Reported: 'reported',
  Finished: 'finished',
  /** The source's watermark is committed. */
  Committed: 'committed',
  /** Settled options are on the stream; claims, reports and pending entries not updated. */
  SettlePut: 'settle_put',
  /** Reports updated; pending entries not deleted yet. */
  SettleReported: 'settle_reported',
} as const;
export type PollStep = (typeof PollStep)[keyof typeof PollStep];

/** An option whose line is not known yet, held in memory while the poll may still bring its line. */
interface HeldOption {
  /** Its claim, status pending; written as accepted when it joins its line, as pending at the end. */
  readonly claim: LedgerClaim;
  /** `keyString` of its line. */
  readonly lineKey: string;
  readonly orderId: string;
  readonly event: EventOption;
  /** What waits in the state table if the poll ends without its line. */
  readonly pending: PendingOption;
  file: DeferredFile | undefined;
}

/** A file version whose report waits for its held options. */
interface DeferredFile {
  readonly version: LandedVersion;
  /** The report with every held option pending. */
  readonly report: IngestReport;
  /** Its options still waiting for their line. */
  readonly waiting: Set<HeldOption>;
  /** Joined rows, with the order each joined. */
  readonly joined: Map<number, string>;
  /** Rows pending in its report that were not held by this poll (requeued options of a version read again). */
  readonly otherPending: number;
}

/** A landed version read from its raw copy and parsed, before any ledger or stream work. */
interface ReadVersion {
  readonly parse: ExportParse;
  readonly lines: LineItemEntry[];
  readonly options: OptionEntry[];
  /** Parse rejections; conflicting duplicates are added while deciding. */
  readonly rejections: Rejection[];
  readonly locations: LocationConfig[];
  readonly calendar: CalendarDay[];
  readonly startedMs: number;
  readonly readMs: number;
  parsedMs: number;
}

/**
 * Deferred files kept in memory at most: an options file usually waits only for the lines file
 * that follows it, and keeping every file with an orphan until the end of the poll grew memory
 * with the size of the poll. Older ones are flushed: their waiting options become pending, and a
 * line arriving later in the poll settles them through the pending path. The held options over
 * every deferred file are bounded too, by the `pollMaxHeldOptions` setting: one held option (claim,
 * event, pending entry, raw row) measured about 1.9 KiB of heap, so the former 50,000 was ~90 MiB.
 */
const MAX_DEFERRED_FILES = 8;
/** Waiting options settled per page at the end of a poll. */
const PENDING_PAGE_SIZE = 1_000;

/** What a cycle needs: clients and names, settings, the source, a clock. */
export interface PollDependencies {
  readonly clients: {
    readonly doc: DynamoDBDocumentClient;
    readonly kinesis: KinesisClient;
    readonly s3: S3Client;
  };
  readonly names: ResourceNames;
  readonly settings: Settings;
  readonly source: FileSource;
  /** Epoch ms now. */
  readonly clock: () => number;
  readonly backoff?: BackoffOptions;
  /** Called after each step; a throw there is a crash at that point (fault-injection tests). */
  readonly onStep?: (step: PollStep, detail: string) => void | Promise<void>;
  readonly log?: (message: string) => void;
  /**
   * A replay of the raw layer (`tillstream rebuild`): each file's original arrival. When set, the
   * files keep the order the source lists them in (their original arrival order).
   */
  readonly arrivalOf?: (file: SourceFile) => OriginalArrival | undefined;
  /** Bounds the records put per second (`tillstream backfill`). @default unbounded */
  readonly rateLimiter?: RecordRateLimiter;
}

/** Where a file stood in the arrival order when it first arrived. */
export interface OriginalArrival {
  readonly arrivalSeq: number;
  readonly arrivedAtMs: number;
}

/** What one cycle did. */
export interface PollResult {
  /** Reports of the files handled in this cycle, in arrival order. */
  readonly reports: IngestReport[];
  /** Files that could not be read this time (retried next cycle). */
  readonly errors: { readonly path: string; readonly message: string }[];
  readonly recordsPut: number;
  readonly optionsSettled: number;
  readonly optionsOrphaned: number;
}

/**
 * Runs one poll cycle.
 *
 * @example
 * const result = await runPollCycle({ clients, names, settings, source: createFolderSource('./exports'), clock: Date.now });
 * console.log(formatReportTable(result.reports));
 */
export async function runPollCycle(deps: PollDependencies): Promise<PollResult> {
  return new PollCycle(deps).run();
}

class PollCycle {
  private readonly state: PollerState;
  private readonly ledger: ClaimLedger;
  private readonly reports: IngestReport[] = [];
  private readonly errors: { path: string; message: string }[] = [];
  private locations = new Map<string, LocationConfig>();
  private recordsPut = 0;
  private optionsSettled = 0;
  private optionsOrphaned = 0;
  /** Option claims decided in this poll, held in memory until their line arrives or the poll ends. */
  private readonly heldClaims = new Map<string, LedgerClaim>();
  /** Held options by the `keyString` of their line. */
  private readonly heldByLine = new Map<string, HeldOption[]>();
  /** Files with held options, in arrival order: reported and finished once those settle. */
  private readonly deferred: DeferredFile[] = [];
  /** Options in `heldByLine`. */
  private heldOptions = 0;

  constructor(private readonly deps: PollDependencies) {
    this.state = new PollerState(deps.clients.doc, deps.names.stateTable);
    this.ledger = new ClaimLedger(deps.clients.doc, deps.names.ledgerTable);
  }

  private async step(step: PollStep, detail = ''): Promise<void> {
    await this.deps.onStep?.(step, detail);
  }

  private get fileMaxBytes(): number {
    return this.deps.settings.maxFileBytes;
  }

  async run(): Promise<PollResult> {
    const { source, clients, names } = this.deps;
    await ensureLedgerLayout(clients.doc, names.ledgerTable, this.deps.log);
    this.locations = await this.state.locations();
    const files = await source.listFiles();
    const listed = this.deps.arrivalOf === undefined ? arrivalOrder(files) : files;
    await this.step(PollStep.Listed, String(listed.length));
    const progress = progressLog(this.deps.log);
    for (const [index, file] of listed.entries()) {
      progress(() => `poll: ${index} of ${listed.length} file(s) landed`);
      try {
        await this.land(file);
      } catch (error) {
        // Only a source failure skips the file; anything else (S3, DynamoDB) fails the cycle.
        if (!(error instanceof SourceError)) throw error;
        // A file that cannot be read now is retried next cycle; its head is not advanced.
        this.errors.push({ path: file.path, message: error.message });
        this.deps.log?.(`cannot land ${file.path}: ${error.message}`);
      }
    }
    // Only once every listed file is landed may the source's watermark move past them.
    if (this.errors.length === 0) {
      await source.commit?.();
      await this.step(PollStep.Committed);
    }
    const unfinished = await this.state.unfinished();
    // Reference files first: a locations file dropped with the orders gives them their zones.
    const isReference = (version: LandedVersion) =>
      version.kindHint === FileKind.Locations || version.kindHint === FileKind.DateDim;
    const ordered = [...unfinished.filter(isReference), ...unfinished.filter((v) => !isReference(v))];
    let next = ordered.length > 0 ? this.readVersion(ordered[0]!) : undefined;
    for (const [index, version] of ordered.entries()) {
      const read = await next!;
      // One file read ahead: its S3 read and parse overlap this file's ledger and stream writes.
      // Reading has no effect, so a crash while it runs loses nothing; its failure surfaces when
      // its turn comes.
      next = index + 1 < ordered.length ? this.readVersion(ordered[index + 1]!) : undefined;
      next?.catch(() => {});
      await this.ingestVersion(version, read);
      progress(
        () => `poll: ${index + 1} of ${ordered.length} file(s) ingested, ${this.recordsPut} record(s) put`,
      );
    }
    await this.settleHeldOptions();
    await this.settlePendingOptions();
    await this.state.recordPoll({
      endedAtMs: this.deps.clock(),
      files: this.reports.length,
      recordsPut: this.recordsPut,
      errors: this.errors,
    });
    return {
      reports: [...this.reports].sort(
        (left, right) =>
          (left.arrivalSeq ?? Number.MAX_SAFE_INTEGER) - (right.arrivalSeq ?? Number.MAX_SAFE_INTEGER),
      ),
      errors: this.errors,
      recordsPut: this.recordsPut,
      optionsSettled: this.optionsSettled,
      optionsOrphaned: this.optionsOrphaned,
    };
  }

  // ---- landing ---------------------------------------------------------------------------------

  private async land(file: SourceFile): Promise<void> {
    const { source, names, clients, clock } = this.deps;
    const fileKey = `${source.sourceName}:${file.id}`;
    const head = await this.state.fileHead(fileKey);
    if (head?.versionTag === file.versionTag) return;

    if (file.contentKind === ContentKind.Unsupported) {
      const report = this.wholeFileReport(file, null, null, null, FileStatus.UnknownKind, null);
      const key = `raw/source=${source.sourceName}/file=${encodeURIComponent(file.id)}/unsupported/${encodeURIComponent(file.name)}.ingest-report.json`;
      const skipped = { ...report, fileMessage: 'a Google document with no CSV export: skipped' };
      await this.writeReport(key, skipped);
      this.reports.push(skipped);
      await this.state.setFileHead(fileKey, { versionTag: file.versionTag, contentHash: null }, file.path);
      return;
    }
    if (file.sizeBytes !== null && file.sizeBytes > this.fileMaxBytes) {
      await this.landTooLarge(file, fileKey);
      return;
    }
    let bytes: Buffer;
    try {
      bytes = await readAll(await source.open(file));
    } catch (error) {
      if (error instanceof ExportTooLargeError) {
        await this.quarantineWholeFile(file, fileKey, null, null, error.message);
        return;
      }
      throw error;
    }
    const contentHash = sha256(bytes);
    if (bytes.length > this.fileMaxBytes) {
      await this.landTooLarge(file, fileKey, bytes, contentHash);
      return;
    }
    if (head?.contentHash === contentHash) {
      // Touched but not changed: remember the new tag so the next listing skips it unread.
      await this.state.setFileHead(fileKey, { versionTag: file.versionTag, contentHash }, file.path);
      return;
    }
    const known = await this.state.version(fileKey, contentHash);
    if (known !== undefined) {
      // Landed before (the cycle that landed it crashed before the head moved): resumed below.
      if (known.done)
        await this.state.setFileHead(fileKey, { versionTag: file.versionTag, contentHash }, file.path);
      return;
    }
    const objectKey = rawKey(source.sourceName, file.id, contentHash, file.name);
    const metadata = { 'source-file-id': file.id, 'source-path': file.path, sha256: contentHash };
    await putRaw(clients.s3, names.rawBucket, objectKey, bytes, bytes.length, metadata);
    await this.step(PollStep.Landed, file.path);
    const original = this.deps.arrivalOf?.(file);
    const version: LandedVersion = {
      sourceName: source.sourceName,
      fileKey,
      fileId: file.id,
      path: file.path,
      name: file.name,
      contentHash,
      sizeBytes: bytes.length,
      modifiedMs: file.modifiedMs,
      arrivalSeq: original?.arrivalSeq ?? (await this.state.nextArrivalSeq()),
      arrivedAtMs: original?.arrivedAtMs ?? clock(),
      rawKey: objectKey,
      reportKey: reportKey(objectKey),
      kindHint: exportKindOfFirstLine(bytes),
    };
    const sameContent = await this.state.contentSeen(contentHash);
    if (sameContent !== undefined) {
      // The same bytes under another name or id: kept in the raw layer, never streamed again.
      const report: IngestReport = {
        ...this.wholeFileReport(file, version, contentHash, objectKey, FileStatus.DuplicateContent, null),
        kind: version.kindHint,
        duplicateOf: { fileId: sameContent.fileId, path: sameContent.path },
      };
      await this.writeReport(version.reportKey, report);
      this.reports.push(report);
      // Registered as a finished version, so `retract` of the first copy can read this one again.
      await this.state.finish({ ...version, versionTag: file.versionTag }, file.versionTag);
      return;
    }
    await this.state.registerLanded({ ...version, versionTag: file.versionTag });
    await this.step(PollStep.Registered, file.path);
  }

  private async landTooLarge(
    file: SourceFile,
    fileKey: string,
    bytes?: Buffer,
    knownHash?: string,
  ): Promise<void> {
    const { source, names, clients } = this.deps;
    // Never held whole: streamed once to learn its hash (the raw key holds it), once into S3.
    const first = knownHash === undefined ? await sha256Stream(await source.open(file)) : undefined;
    const contentHash = knownHash ?? first!.hash;
    const objectKey = rawKey(source.sourceName, file.id, contentHash, file.name);
    // The size read, not the listed one: a file replaced since its listing is checked by its hash.
    const size = bytes?.length ?? first!.size;
    // A failed download or check aborts the upload (which then stores nothing) with its error.
    const upload = new AbortController();
    let bodyError: Error | undefined;
    const body: Buffer | Readable =
      bytes ??
      pipeline(await source.open(file), verifiedBody(contentHash, file.path, source.location), (error) => {
        if (!error) return;
        bodyError = error;
        upload.abort(error);
      });
    const metadata = { 'source-file-id': file.id, 'source-path': file.path, sha256: contentHash };
    await putRaw(clients.s3, names.rawBucket, objectKey, body, size, metadata, upload.signal).catch(
      (error: unknown) => {
        throw bodyError ?? error;
      },
    );
    await this.quarantineWholeFile(
      file,
      fileKey,
      contentHash,
      objectKey,
      `${size} bytes is more than max_file_bytes (${this.fileMaxBytes}): the whole file is quarantined`,
    );
  }

  private async quarantineWholeFile(
    file: SourceFile,
    fileKey: string,
    contentHash: string | null,
    objectKey: string | null,
    message: string,
  ): Promise<void> {
    const { source, names, clients, clock } = this.deps;
    const prefix = quarantinePrefix(
      source.sourceName,
      file.id,
      contentHash ?? `unread-${sha256(Buffer.from(file.versionTag))}`,
    );
    const quarantineKey = `${prefix}file.jsonl`;
    await putQuarantine(clients.s3, names.quarantineBucket, quarantineKey, [
      {
        source: source.sourceName,
        file: file.id,
        path: file.path,
        contentHash,
        arrivalSeq: null,
        row: 0,
        column: null,
        raw: '',
        reason: ReasonCode.FileTooLarge,
        message,
        header: '',
        reportKey: null,
        quarantinedAt: new Date(clock()).toISOString(),
      },
    ]);
    const report: IngestReport = {
      ...this.wholeFileReport(file, null, contentHash, objectKey, FileStatus.FileTooLarge, message),
      quarantineKeys: [quarantineKey],
    };
    const key =
      objectKey === null
        ? `raw/source=${source.sourceName}/file=${encodeURIComponent(file.id)}/unread/${encodeURIComponent(file.name)}.ingest-report.json`
        : reportKey(objectKey);
    await this.writeReport(key, report);
    this.reports.push(report);
    await this.state.setFileHead(fileKey, { versionTag: file.versionTag, contentHash }, file.path);
  }

  private wholeFileReport(
    file: SourceFile,
    version: LandedVersion | null,
    contentHash: string | null,
    objectKey: string | null,
    status: FileStatus,
    message: string | null,
  ): IngestReport {
    const now = new Date(this.deps.clock()).toISOString();
    return {
      source: this.deps.source.sourceName,
      fileId: file.id,
      path: file.path,
      contentHash,
      sizeBytes: file.sizeBytes,
      rawKey: objectKey,
      arrivalSeq: version?.arrivalSeq ?? null,
      arrivedAt: now,
      modifiedAt: new Date(file.modifiedMs).toISOString(),
      kind: null,
      status,
      duplicateOf: null,
      fileMessage: message,
      rowsRead: 0,
      rowsAccepted: 0,
      rowsDuplicate: 0,
      rowsExcluded: 0,
      rowsQuarantined: 0,
      rowsPending: 0,
      quarantinedByReason: {},
      pendingRows: [],
      recordsPut: 0,
      outlierWarnings: 0,
      quarantineKeys: [],
      timingsMs: {},
      updatedAt: now,
    };
  }

  private async writeReport(key: string, report: IngestReport): Promise<void> {
    assertCountsAddUp(report);
    await putReport(this.deps.clients.s3, this.deps.names.rawBucket, key, report);
  }

  // ---- one landed version ----------------------------------------------------------------------

  /** Reads a landed version's raw copy and parses it whole; no side effect, so it may run ahead. */
  private async readVersion(version: LandedVersion): Promise<ReadVersion> {
    const { clients, names, settings } = this.deps;
    const startedMs = performance.now();
    const bytes = await getObjectBytes(clients.s3, names.rawBucket, version.rawKey);
    const readMs = performance.now();
    const parse = parseExport(Readable.from([bytes]), {
      file: version.fileId,
      settings: validationSettings(settings),
      arrivedAtMs: version.arrivedAtMs,
    });
    const read: ReadVersion = {
      parse,
      lines: [],
      options: [],
      rejections: [],
      locations: [],
      calendar: [],
      startedMs,
      readMs,
      parsedMs: 0,
    };
    for await (const batch of parse) {
      for (const entry of batch) {
        switch (entry.kind) {
          case EntryKind.LineItem:
            read.lines.push(entry);
            break;
          case EntryKind.Option:
            read.options.push(entry);
            break;
          case EntryKind.Location:
            read.locations.push(entry.record);
            break;
          case EntryKind.CalendarDay:
            read.calendar.push(entry.record);
            break;
          case EntryKind.Rejected:
            read.rejections.push(entry.rejection);
            break;
          case EntryKind.Excluded:
            break;
        }
      }
    }
    read.parsedMs = performance.now();
    return read;
  }

  private async ingestVersion(version: LandedVersion, read: ReadVersion): Promise<void> {
    const { clients, names, clock } = this.deps;
    const { parse, lines, options, rejections, locations, calendar, startedMs, readMs, parsedMs } = read;
    const summary = parse.summary;
    const claimant = (row: number): RowClaimant => ({
      fileKey: version.fileKey,
      contentHash: version.contentHash,
      row,
    });

    if (locations.length > 0) {
      await this.state.putLocations(locations);
      for (const location of locations) this.locations.set(location.restaurantId, location);
    }
    if (calendar.length > 0) await this.state.putCalendar(calendar);

    const lineCandidates: Candidate[] = lines.map((entry) => ({
      key: lineKey(entry.record.orderId, entry.record.lineItemId),
      valueHash: lineValueHash(entry.record),
      ...claimant(entry.origin.row),
    }));
    const optionCandidates: Candidate[] = options.map((entry) => ({
      key: optionKey(entry.record),
      valueHash: optionValueHash(entry.record),
      ...claimant(entry.origin.row),
    }));
    // One consistent read of every order the file touches (an order's lines, options and the
    // options' lines share its ledger item), unless this poll read or wrote the order already.
    const ledger = await this.ledger.read([
      ...lineCandidates.map((candidate) => candidate.key),
      ...options.map((entry) => lineKey(entry.record.orderId, entry.record.lineItemId)),
      ...optionCandidates.map((candidate) => candidate.key),
    ]);

    // Lines: the first accepted row of an identity wins.
    const lineOutcome = this.decideRows(lineCandidates, RowKind.Line, ledger);
    const claimWrites: LedgerClaim[] = lineOutcome.toWrite.map((index) =>
      lineOutcome.claimOf(index, ClaimStatus.Accepted),
    );
    const acceptedLineKeys = new Set<string>();
    const eventLines: { orderId: string; line: EventLine }[] = [];
    lines.forEach((entry, index) => {
      const decision = lineOutcome.decisions[index];
      if (decision === Decision.Claim || decision === Decision.OwnClaim) {
        acceptedLineKeys.add(keyString(lineKey(entry.record.orderId, entry.record.lineItemId)));
        eventLines.push({ orderId: entry.record.orderId, line: this.eventLine(entry, version) });
      } else if (decision === Decision.ConflictingDuplicate) {
        rejections.push(
          conflict(
            version,
            entry.origin.row,
            lineRow(parse.columns, entry.record),
            lineOutcome.claims[index],
          ),
        );
      }
    });
    // Options held by earlier files of this poll join the lines this file accepts, without waiting.
    const joined = this.joinHeldOptions(acceptedLineKeys);
    for (const held of joined) claimWrites.push({ ...held.claim, status: ClaimStatus.Accepted });

    // Options: accepted when their line is known (this file, or the ledger); otherwise held until
    // the end of the poll, when those whose line still has not arrived become pending.
    const lineKnown = (entry: OptionEntry): boolean => {
      const key = keyString(lineKey(entry.record.orderId, entry.record.lineItemId));
      return acceptedLineKeys.has(key) || ledger.has(key);
    };
    const optionOutcome = this.decideRows(optionCandidates, RowKind.Option, ledger);
    const eventOptions: { orderId: string; option: EventOption }[] = [];
    const held: HeldOption[] = [];
    const resolvedPending: IdentityKey[] = [];
    for (const [index, entry] of options.entries()) {
      const decision = optionOutcome.decisions[index];
      if (decision === Decision.Claim || decision === Decision.OwnClaim) {
        const previous = optionOutcome.claims[index];
        if (lineKnown(entry)) {
          // A claim of this very row left pending by an interrupted run is promoted now.
          if (decision === Decision.Claim || previous?.status === ClaimStatus.Pending) {
            claimWrites.push(optionOutcome.claimOf(index, ClaimStatus.Accepted));
          }
          if (decision === Decision.OwnClaim) resolvedPending.push(optionKey(entry.record));
          eventOptions.push({ orderId: entry.record.orderId, option: this.eventOption(entry, version) });
        } else {
          held.push({
            claim: optionOutcome.claimOf(index, ClaimStatus.Pending),
            lineKey: keyString(lineKey(entry.record.orderId, entry.record.lineItemId)),
            orderId: entry.record.orderId,
            event: this.eventOption(entry, version),
            pending: this.pendingOption(
              entry,
              version,
              parse.headerLine,
              optionRow(parse.columns, entry.record),
            ),
            file: undefined,
          });
        }
      } else if (decision === Decision.ConflictingDuplicate) {
        rejections.push(
          conflict(
            version,
            entry.origin.row,
            optionRow(parse.columns, entry.record),
            optionOutcome.claims[index],
          ),
        );
      }
    }
    await this.ledger.write(claimWrites);
    for (const claim of claimWrites) this.heldClaims.delete(keyString(claim));
    const dedupedMs = performance.now();
    await this.step(PollStep.Claimed, version.path);

    const joinedOptions = joined.map((entry) => ({ orderId: entry.orderId, option: entry.event }));
    const records = this.orderEvents(version, eventLines, [...eventOptions, ...joinedOptions]);
    const putOutcome = await putRecords(
      clients.kinesis,
      names.ordersStream,
      records,
      this.deps.backoff,
      undefined,
      this.deps.rateLimiter,
    );
    this.recordsPut += putOutcome.recordsPut;
    await this.step(PollStep.Put, version.path);
    // Before the report: a crash in between re-runs this version, and recording is idempotent.
    await this.state.recordArrivals(arrivalsOfLines(eventLines.map((entry) => entry.line)), version);
    await this.state.deletePendingMany(resolvedPending);
    const putMs = performance.now();

    // Whole-file rejections of unknown kind or without rows are reported, not quarantined.
    const quarantined = rejections
      .filter(
        (rejection) =>
          rejection.row > 0 ||
          (rejection.reason !== ReasonCode.UnknownFileKind && rejection.reason !== ReasonCode.EmptyFile),
      )
      .map((rejection) => this.quarantineRecord(version, rejection, parse.headerLine));
    const rowsKey = `${quarantinePrefix(version.sourceName, version.fileId, version.contentHash)}rows.jsonl`;
    const rowRejections = rejections.filter((rejection) => rejection.row > 0);
    const quarantinedByReason: Partial<Record<ReasonCode, number>> = {};
    for (const rejection of rowRejections) {
      quarantinedByReason[rejection.reason] = (quarantinedByReason[rejection.reason] ?? 0) + 1;
    }
    const duplicates =
      lineOutcome.decisions.filter((decision) => decision === Decision.Duplicate).length +
      optionOutcome.decisions.filter((decision) => decision === Decision.Duplicate).length;
    const fileRejection = summary.fileRejection;
    const now = new Date(clock()).toISOString();
    const freshReport: IngestReport = {
      source: version.sourceName,
      fileId: version.fileId,
      path: version.path,
      contentHash: version.contentHash,
      sizeBytes: version.sizeBytes,
      rawKey: version.rawKey,
      arrivalSeq: version.arrivalSeq,
      arrivedAt: new Date(version.arrivedAtMs).toISOString(),
      modifiedAt: new Date(version.modifiedMs).toISOString(),
      kind: parse.kind,
      status:
        fileRejection === null
          ? FileStatus.Ingested
          : fileRejection.reason === ReasonCode.UnknownFileKind
            ? FileStatus.UnknownKind
            : FileStatus.Rejected,
      duplicateOf: null,
      fileMessage: fileRejection === null ? null : `${fileRejection.reason}: ${fileRejection.message}`,
      rowsRead: summary.rowsRead,
      rowsAccepted: eventLines.length + eventOptions.length + locations.length + calendar.length,
      rowsDuplicate: duplicates,
      rowsExcluded: summary.rowsExcluded,
      rowsQuarantined: rowRejections.length,
      rowsPending: held.length,
      quarantinedByReason,
      pendingRows: held.map((entry) => entry.claim.row).sort((a, b) => a - b),
      recordsPut: putOutcome.recordsPut,
      outlierWarnings: summary.outliers,
      quarantineKeys: quarantined.length > 0 ? [rowsKey] : [],
      timingsMs: {
        readRaw: Math.round(readMs - startedMs),
        parse: Math.round(parsedMs - readMs),
        dedupe: Math.round(dedupedMs - parsedMs),
        put: Math.round(putMs - dedupedMs),
        total: Math.round(performance.now() - startedMs),
      },
      updatedAt: now,
    };
    // A version read again replaces what its earlier reads quarantined (and keeps what requeue took).
    const plan =
      version.reread === true
        ? planReread(freshReport, quarantined, await this.earlierRead(version, rowsKey), clock())
        : undefined;
    const report = plan?.report ?? freshReport;
    if (plan !== undefined) await this.supersedeQuarantine(version, rowsKey, plan);
    else if (quarantined.length > 0) {
      await putQuarantine(clients.s3, names.quarantineBucket, rowsKey, quarantined);
    }
    if (held.length === 0) {
      await this.writeReport(version.reportKey, report);
      this.reports.push(report);
      await this.step(PollStep.Reported, version.path);
      await this.state.finish(version, version.versionTag ?? null);
      await this.step(PollStep.Finished, version.path);
    } else {
      // Reported and finished once its held options joined their lines or became pending.
      const deferred: DeferredFile = {
        version,
        report,
        waiting: new Set(held),
        joined: new Map(),
        otherPending: report.rowsPending - held.length,
      };
      this.heldOptions += held.length;
      for (const entry of held) {
        entry.file = deferred;
        this.heldClaims.set(keyString(entry.claim), entry.claim);
        const waiting = this.heldByLine.get(entry.lineKey);
        if (waiting === undefined) this.heldByLine.set(entry.lineKey, [entry]);
        else waiting.push(entry);
      }
      this.deferred.push(deferred);
    }
    await this.finishJoinedFiles(joined);
    while (
      this.deferred.length > MAX_DEFERRED_FILES ||
      (this.deferred.length > 0 && this.heldOptions > this.deps.settings.pollMaxHeldOptions)
    ) {
      await this.flushDeferred(this.deferred[0]!);
    }
  }

  /** Takes the held options of `acceptedLineKeys` out of waiting. */
  private joinHeldOptions(acceptedLineKeys: ReadonlySet<string>): HeldOption[] {
    if (this.heldByLine.size === 0) return [];
    const joined: HeldOption[] = [];
    for (const key of acceptedLineKeys) {
      const waiting = this.heldByLine.get(key);
      if (waiting === undefined) continue;
      this.heldByLine.delete(key);
      joined.push(...waiting);
    }
    this.heldOptions -= joined.length;
    return joined;
  }

  /**
   * Settles joined options in their own files' reports (they are on the stream now); a file whose
   * held options have all joined is reported and finished.
   */
  private async finishJoinedFiles(joined: readonly HeldOption[]): Promise<void> {
    if (joined.length === 0) return;
    const touched = new Set<DeferredFile>();
    for (const entry of joined) {
      const file = entry.file!;
      file.waiting.delete(entry);
      const orders = file.joined.get(entry.claim.row);
      if (orders === undefined) file.joined.set(entry.claim.row, entry.orderId);
      touched.add(file);
    }
    for (const file of touched) {
      if (file.waiting.size === 0) await this.finishDeferred(file, []);
    }
  }

  /**
   * Writes a deferred file's report (its joined rows accepted, `stillHeld` pending) and finishes it.
   */
  private async finishDeferred(file: DeferredFile, stillHeld: readonly HeldOption[]): Promise<void> {
    const { version } = file;
    const settlements = new Map<number, Settlement>();
    for (const row of file.joined.keys()) settlements.set(row, { accepted: true });
    const settled = settlePending(file.report, settlements, this.deps.clock());
    const report: IngestReport = {
      ...settled,
      // Joined options travel in the events of their line's file: one record per order they joined.
      recordsPut: file.report.recordsPut + new Set(file.joined.values()).size,
    };
    if (report.rowsPending !== stillHeld.length + file.otherPending) {
      throw new ReportInvariantError(
        `ingest report of ${version.path}: ${report.rowsPending} rows pending, ${stillHeld.length} held and ${file.otherPending} pending before`,
        version.fileId,
      );
    }
    await this.writeReport(version.reportKey, report);
    this.reports.push(report);
    this.deferred.splice(this.deferred.indexOf(file), 1);
    await this.step(PollStep.Reported, version.path);
    await this.state.finish(version, version.versionTag ?? null);
    await this.step(PollStep.Finished, version.path);
  }

  /** At the end of the poll: options whose line did not arrive in it become pending. */
  private async settleHeldOptions(): Promise<void> {
    for (const file of [...this.deferred]) await this.flushDeferred(file);
  }

  /**
   * The options of `file` still waiting for their line become pending (ledger claims and state
   * entries, as at the end of a poll), then the file is reported and finished.
   */
  private async flushDeferred(file: DeferredFile): Promise<void> {
    const stillHeld = [...file.waiting];
    for (const entry of stillHeld) {
      const others = (this.heldByLine.get(entry.lineKey) ?? []).filter((other) => other !== entry);
      if (others.length === 0) this.heldByLine.delete(entry.lineKey);
      else this.heldByLine.set(entry.lineKey, others);
      this.heldClaims.delete(keyString(entry.claim));
    }
    this.heldOptions -= stillHeld.length;
    await this.ledger.write(stillHeld.map((entry) => entry.claim));
    await this.state.putPendingMany(stillHeld.map((entry) => entry.pending));
    await this.step(PollStep.Claimed, `held options of ${file.version.path}`);
    await this.finishDeferred(file, stillHeld);
  }

  /**
   * Decides rows in file order against `ledger` (a consistent read that covers every candidate)
   * and the options held earlier in this poll. Nothing is written here: `toWrite` lists the rows
   * that claim a new identity.
   */
  private decideRows(
    candidates: readonly Candidate[],
    kind: RowKind,
    ledger: ReadonlyMap<string, LedgerClaim>,
  ): {
    decisions: Decision[];
    claims: (LedgerClaim | undefined)[];
    toWrite: number[];
    claimOf: (index: number, status: ClaimStatus) => LedgerClaim;
  } {
    const { clock } = this.deps;
    const existing = new Map<string, LedgerClaim>();
    for (const candidate of candidates) {
      const key = keyString(candidate.key);
      const claim = (kind === RowKind.Option ? this.heldClaims.get(key) : undefined) ?? ledger.get(key);
      if (claim !== undefined) existing.set(key, claim);
    }
    const decisions = decideInOrder(candidates, existing);
    const claims: (LedgerClaim | undefined)[] = candidates.map((candidate) =>
      existing.get(keyString(candidate.key)),
    );
    const firstClaimant = new Map<string, number>();
    const toWrite: number[] = [];
    for (const [index, candidate] of candidates.entries()) {
      const key = keyString(candidate.key);
      if (decisions[index] === Decision.Claim) {
        firstClaimant.set(key, index);
        toWrite.push(index);
      } else if (claims[index] === undefined && firstClaimant.has(key)) {
        // Decided against an earlier row of this file: that row's claim is the one to name.
        const first = candidates[firstClaimant.get(key)!]!;
        claims[index] = {
          ...first,
          kind,
          status: ClaimStatus.Accepted,
          claimedAtMs: 0,
          pk: first.key.pk,
          sk: first.key.sk,
        };
      }
    }
    const claimedAtMs = clock();
    const claimOf = (index: number, status: ClaimStatus): LedgerClaim => {
      const candidate = candidates[index]!;
      return {
        pk: candidate.key.pk,
        sk: candidate.key.sk,
        kind,
        valueHash: candidate.valueHash,
        fileKey: candidate.fileKey,
        contentHash: candidate.contentHash,
        row: candidate.row,
        status,
        claimedAtMs: claims[index]?.claimedAtMs ?? claimedAtMs,
      };
    };
    return { decisions, claims, toWrite, claimOf };
  }

  private zoneOf(restaurantId: string): string {
    return this.locations.get(restaurantId)?.timeZone ?? this.deps.settings.defaultTimeZone;
  }

  private lineage(version: LandedVersion, row: number): Lineage {
    return { file: version.fileId, contentHash: version.contentHash, row, arrival: version.arrivalSeq };
  }

  private eventLine(entry: LineItemEntry, version: LandedVersion): EventLine {
    const line = entry.record;
    return {
      lineItemId: line.lineItemId,
      restaurantId: line.restaurantId,
      timeZone: this.zoneOf(line.restaurantId),
      createdAtMs: line.createdAtMs,
      userId: line.userId,
      isLoyalty: line.isLoyalty,
      category: line.category,
      unitPriceCents: line.unitPriceCents,
      quantity: line.quantity,
      lineage: this.lineage(version, entry.origin.row),
    };
  }

  private eventOption(entry: OptionEntry, version: LandedVersion): EventOption {
    const option = entry.record;
    return {
      lineItemId: option.lineItemId,
      groupName: option.groupName,
      optionName: option.optionName,
      priceCents: option.priceCents,
      quantity: option.quantity,
      lineage: this.lineage(version, entry.origin.row),
    };
  }

  /** One event per order of this file version; its id is stable, so a re-put carries the same id. */
  private orderEvents(
    version: LandedVersion,
    lines: readonly { orderId: string; line: EventLine }[],
    options: readonly { orderId: string; option: EventOption }[],
  ): StreamRecord[] {
    const orders = new Map<string, { lines: EventLine[]; options: EventOption[] }>();
    const of = (orderId: string) => {
      let order = orders.get(orderId);
      if (order === undefined) {
        order = { lines: [], options: [] };
        orders.set(orderId, order);
      }
      return order;
    };
    for (const { orderId, line } of lines) of(orderId).lines.push(line);
    for (const { orderId, option } of options) of(orderId).options.push(option);
    return [...orders].map(([orderId, order]) => ({
      partitionKey: orderId,
      data: encodeBinaryOrderEvent({
        eventId: sha256(Buffer.from(`${version.contentHash}|${orderId}`)).slice(0, 40),
        orderId,
        lines: order.lines,
        options: order.options,
      }),
    }));
  }

  private pendingOption(
    entry: OptionEntry,
    version: LandedVersion,
    headerLine: string,
    raw: string,
  ): PendingOption {
    return {
      key: optionKey(entry.record),
      option: entry.record,
      claimant: { fileKey: version.fileKey, contentHash: version.contentHash, row: entry.origin.row },
      file: version.fileId,
      path: version.path,
      arrivalSeq: version.arrivalSeq,
      arrivedAtMs: version.arrivedAtMs,
      reportKey: version.reportKey,
      quarantinePrefix: quarantinePrefix(version.sourceName, version.fileId, version.contentHash),
      headerLine,
      raw,
    };
  }

  private quarantineRecord(version: LandedVersion, rejection: Rejection, header: string): QuarantineRecord {
    return {
      source: version.sourceName,
      file: version.fileId,
      path: version.path,
      contentHash: version.contentHash,
      arrivalSeq: version.arrivalSeq,
      row: rejection.row,
      column: rejection.column,
      raw: rejection.raw,
      reason: rejection.reason,
      message: rejection.message,
      header,
      reportKey: version.reportKey,
      quarantinedAt: new Date(this.deps.clock()).toISOString(),
    };
  }

  // ---- a version read again ---------------------------------------------------------------------

  /** What the earlier reads of a version read again left: its report, `rows.jsonl`, requeue's marks. */
  private async earlierRead(version: LandedVersion, rowsKey: string): Promise<EarlierRead> {
    const { clients, names } = this.deps;
    const [report, rowRecords] = await Promise.all([
      getReport(clients.s3, names.rawBucket, version.reportKey),
      getQuarantine(clients.s3, names.quarantineBucket, rowsKey),
    ]);
    const requeueOutcomes = await this.state.requeueOutcomes(
      (report?.requeuedRows ?? []).map((row) => ({
        fileKey: version.fileKey,
        contentHash: version.contentHash,
        row,
      })),
    );
    return { report, rowRecords, requeueOutcomes };
  }

  /**
   * Writes a version's quarantine as read again, before its report: `rows.jsonl` holds the rows it
   * quarantines now (blank when none), every earlier orphan record is blanked (an option orphaned
   * again at the end of this poll is written again), and the requeue marks of rows it no longer
   * quarantines go. The bucket is never deleted from; its versioning keeps the earlier records.
   */
  private async supersedeQuarantine(
    version: LandedVersion,
    rowsKey: string,
    plan: RereadPlan,
  ): Promise<void> {
    const { clients, names } = this.deps;
    const bucket = names.quarantineBucket;
    const stale = await listObjectKeys(
      clients.s3,
      bucket,
      `${quarantinePrefix(version.sourceName, version.fileId, version.contentHash)}orphan_option/`,
    );
    const toBlank: string[] = [];
    for (const key of [rowsKey, ...stale]) {
      if (key === rowsKey && plan.rowRecords.length > 0) continue;
      if ((await getQuarantine(clients.s3, bucket, key)).length > 0) toBlank.push(key);
    }
    if (plan.rowRecords.length > 0) await putQuarantine(clients.s3, bucket, rowsKey, plan.rowRecords);
    for (const key of toBlank) await putQuarantine(clients.s3, bucket, key, []);
    for (const row of plan.forgetRequeued) {
      await this.state.forgetRequeued({ fileKey: version.fileKey, contentHash: version.contentHash, row });
    }
  }

  // ---- pending options -------------------------------------------------------------------------

  /** Settles the waiting options a page at a time, so a long wait list is never held whole. */
  private async settlePendingOptions(): Promise<void> {
    for await (const page of this.state.pendingOptionPages(PENDING_PAGE_SIZE)) {
      await this.settlePendingPage(page);
    }
  }

  private async settlePendingPage(pending: readonly PendingOption[]): Promise<void> {
    const { clients, names, settings, clock } = this.deps;
    const lineClaims = await this.ledger.read(
      pending.map((entry) => lineKey(entry.option.orderId, entry.option.lineItemId)),
    );
    const now = clock();
    const graceMs = settings.orphanGraceDays * MS_PER_DAY;
    const resolved = pending.filter((entry) =>
      lineClaims.has(keyString(lineKey(entry.option.orderId, entry.option.lineItemId))),
    );
    const orphaned = pending.filter(
      (entry) =>
        !lineClaims.has(keyString(lineKey(entry.option.orderId, entry.option.lineItemId))) &&
        now - entry.arrivedAtMs > graceMs,
    );
    if (resolved.length === 0 && orphaned.length === 0) return;

    // Resolved options: one event per (file version, order), with the rows in its id.
    const groups = new Map<string, PendingOption[]>();
    for (const entry of resolved) {
      const group = `${entry.claimant.contentHash}|${entry.option.orderId}`;
      groups.set(group, [...(groups.get(group) ?? []), entry]);
    }
    const records: StreamRecord[] = [...groups.values()].map((group) => {
      const first = group[0]!;
      const rows = group.map((entry) => entry.claimant.row).sort((a, b) => a - b);
      return {
        partitionKey: first.option.orderId,
        data: encodeBinaryOrderEvent({
          eventId: sha256(
            Buffer.from(`${first.claimant.contentHash}|${first.option.orderId}|settled|${rows.join(',')}`),
          ).slice(0, 40),
          orderId: first.option.orderId,
          lines: [],
          options: group.map((entry) => ({
            lineItemId: entry.option.lineItemId,
            groupName: entry.option.groupName,
            optionName: entry.option.optionName,
            priceCents: entry.option.priceCents,
            quantity: entry.option.quantity,
            lineage: {
              file: entry.file,
              contentHash: entry.claimant.contentHash,
              row: entry.claimant.row,
              arrival: entry.arrivalSeq,
            },
          })),
        }),
      };
    });
    const outcome = await putRecords(
      clients.kinesis,
      names.ordersStream,
      records,
      this.deps.backoff,
      undefined,
      this.deps.rateLimiter,
    );
    this.recordsPut += outcome.recordsPut;
    await this.step(PollStep.SettlePut, String(records.length));
    await this.ledger.write(
      resolved.map((entry) => ({
        ...entry.key,
        ...entry.claimant,
        kind: RowKind.Option,
        valueHash: optionValueHash(entry.option),
        status: ClaimStatus.Accepted,
        claimedAtMs: entry.arrivedAtMs,
      })),
    );

    // Orphans: quarantined one object per row (a re-run rewrites the same key), claim released.
    for (const entry of orphaned) {
      await putQuarantine(
        clients.s3,
        names.quarantineBucket,
        `${entry.quarantinePrefix}orphan_option/row=${entry.claimant.row}.jsonl`,
        [
          {
            source: entry.claimant.fileKey.split(':')[0] ?? '',
            file: entry.file,
            path: entry.path,
            contentHash: entry.claimant.contentHash,
            arrivalSeq: entry.arrivalSeq,
            row: entry.claimant.row,
            column: 'LINEITEM_ID',
            raw: entry.raw,
            reason: ReasonCode.OrphanOption,
            message: `line item (${entry.option.orderId}, ${entry.option.lineItemId}) did not arrive within ${settings.orphanGraceDays} days`,
            header: entry.headerLine,
            reportKey: entry.reportKey,
            quarantinedAt: new Date(now).toISOString(),
          },
        ],
      );
      await this.ledger.release(entry.key, entry.claimant);
      // A requeued row quarantined again may be requeued again (and is listed again).
      await this.state.forgetRequeued(entry.claimant);
    }

    // Reports: each settled row leaves its file's pending list exactly once.
    const byReport = new Map<string, Map<number, Settlement>>();
    const recordsByReport = new Map<string, number>();
    for (const entry of resolved) {
      const settlements = byReport.get(entry.reportKey) ?? new Map<number, Settlement>();
      settlements.set(entry.claimant.row, { accepted: true });
      byReport.set(entry.reportKey, settlements);
    }
    for (const group of groups.values()) {
      const key = group[0]!.reportKey;
      recordsByReport.set(key, (recordsByReport.get(key) ?? 0) + 1);
    }
    for (const entry of orphaned) {
      const settlements = byReport.get(entry.reportKey) ?? new Map<number, Settlement>();
      settlements.set(entry.claimant.row, { accepted: false, reason: ReasonCode.OrphanOption });
      byReport.set(entry.reportKey, settlements);
    }
    for (const [key, settlements] of byReport) {
      const report = await getReport(clients.s3, names.rawBucket, key);
      if (report === undefined) continue;
      const stillPending = new Set(report.pendingRows);
      const newlySettled = [...settlements.keys()].filter((row) => stillPending.has(row));
      if (newlySettled.length === 0) continue;
      const orphanKeys = orphaned
        .filter((entry) => entry.reportKey === key)
        .map((entry) => `${entry.quarantinePrefix}orphan_option/row=${entry.claimant.row}.jsonl`);
      const settled = settlePending(report, settlements, now);
      const updated: IngestReport = {
        ...settled,
        recordsPut: report.recordsPut + (recordsByReport.get(key) ?? 0),
        quarantineKeys: [...new Set([...report.quarantineKeys, ...orphanKeys])],
        ...(report.requeuedRows === undefined
          ? {}
          : {
              // Orphaned again now: no longer counted as taken in by requeue.
              requeuedRows: report.requeuedRows.filter(
                (row) => !(stillPending.has(row) && settlements.get(row)?.accepted === false),
              ),
            }),
      };
      await this.writeReport(key, updated);
    }
    await this.step(PollStep.SettleReported);
    await this.state.deletePendingMany([...resolved, ...orphaned].map((entry) => entry.key));
    this.optionsSettled += resolved.length;
    this.optionsOrphaned += orphaned.length;
  }
}

function conflict(
  version: LandedVersion,
  row: number,
  raw: string,
  winner: LedgerClaim | undefined,
): Rejection {
  const first =
    winner === undefined
      ? 'an earlier row'
      : `row ${winner.row} of ${winner.fileKey.replace(/^[a-z]+:/, '')}`;
  return {
    file: version.fileId,
    row,
    column: null,
    reason: ReasonCode.ConflictingDuplicate,
    message: `same identity as ${first}, accepted first, with different values`,
    raw,
  };
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Passes a stream through, holding back its last chunk until the whole has the expected SHA-256:
 * a file changed between two reads fails the upload (which then stores nothing) instead of
 * storing other bytes under this hash's key. The file is skipped this cycle (a `SourceError`).
 */
function verifiedBody(expectedHash: string, path: string, location: string): Transform {
  const hash = createHash('sha256');
  let held: Buffer | undefined;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      if (held !== undefined) this.push(held);
      held = chunk;
      done();
    },
    flush(done) {
      const actual = hash.digest('hex');
      if (actual !== expectedHash) {
        const message = `${path} changed while it was being landed (sha256 ${actual}, not ${expectedHash}): the next poll lands it again`;
        done(new SourceError(message, location));
        return;
      }
      if (held !== undefined) this.push(held);
      done();
    },
  });
}

async function sha256Stream(stream: Readable): Promise<{ hash: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { hash: hash.digest('hex'), size };
}
