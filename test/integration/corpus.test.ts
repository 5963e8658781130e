/**
 * The bad-input corpus (test/corpus/, issue #7): every case's files are polled on one embedded
 * stack, each case with its own resources, and the stored ingest reports, the quarantine and the
 * stream are compared with the case's expected.json.
 */
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { QuarantineRecord } from '../../ingest/raw-layer.js';
import { assertCountsAddUp, FileStatus, type IngestReport } from '../../ingest/report.js';
import type { Settings } from '../../shared/config.js';
import type { ResourceNames } from '../../shared/resources.js';
import type { EventLine, EventOption } from '../../shared/schemas/order-event.js';
import { ReasonCode } from '../../shared/schemas/reasons.js';
import { generators } from '../corpus/generate.js';
import {
  type IngestTestStack,
  listKeys,
  readObject,
  readReports,
  readStream,
  startIngestStack,
} from '../support/ingest-stack.js';

const CORPUS = fileURLToPath(new URL('../corpus/', import.meta.url));
const DAY = 86_400_000;
/** Every case's first poll runs at this instant, so its files arrive then. */
const T0 = Date.parse('2023-08-20T12:00:00Z');
const reasonCodes = Object.values(ReasonCode) as [ReasonCode, ...ReasonCode[]];

const ExpectedReport = z.strictObject({
  path: z.string(),
  status: z.enum(Object.values(FileStatus) as [FileStatus, ...FileStatus[]]),
  kind: z.string().nullable(),
  /** Why the whole file was set aside: its row-0 quarantine record, else the report's message. */
  fileReason: z.enum(reasonCodes).nullable(),
  rowsRead: z.number().int(),
  rowsAccepted: z.number().int(),
  rowsDuplicate: z.number().int(),
  rowsExcluded: z.number().int(),
  rowsQuarantined: z.number().int(),
  rowsPending: z.number().int(),
  outlierWarnings: z.number().int().default(0),
});
type ExpectedReport = z.infer<typeof ExpectedReport>;

const ExpectedQuarantine = z.strictObject({
  path: z.string(),
  row: z.number().int(),
  column: z.string().nullable(),
  reason: z.enum(reasonCodes),
});
type ExpectedQuarantine = z.infer<typeof ExpectedQuarantine>;

const CaseSpec = z.strictObject({
  what: z.string(),
  /** A generator of `generate.ts` that writes further files before the first poll. */
  generator: z.string().optional(),
  settings: z.strictObject({ maxFileBytes: z.number().int().positive() }).partial().optional(),
  /** Poll cycles in order: files copied in from a case subfolder first, the clock in days after T0. */
  polls: z
    .array(
      z.strictObject({
        files: z.string().optional(),
        atDays: z.number(),
        /** Partial reports this poll must return. */
        reports: z.array(z.record(z.string(), z.unknown()).and(z.object({ path: z.string() }))).optional(),
      }),
    )
    .default([{ files: 'files', atDays: 0 }]),
  /** Final reports of every file version, in arrival order (file_too_large reports last). */
  reports: z.array(ExpectedReport),
  quarantine: z.array(ExpectedQuarantine),
  /** Line items that must be on the stream with these values (`orderId` is the event's). */
  streamLines: z.array(z.record(z.string(), z.unknown())).optional(),
  streamOptions: z.array(z.record(z.string(), z.unknown())).optional(),
});
type CaseSpec = z.infer<typeof CaseSpec>;

async function loadCases(): Promise<{ name: string; dir: string; spec: CaseSpec }[]> {
  const entries = await readdir(CORPUS, { withFileTypes: true });
  const cases = [];
  for (const entry of entries.filter((candidate) => candidate.isDirectory())) {
    const dir = path.join(CORPUS, entry.name);
    const json: unknown = JSON.parse(await readFile(path.join(dir, 'expected.json'), 'utf8'));
    cases.push({ name: entry.name, dir, spec: CaseSpec.parse(json) });
  }
  return cases.sort((left, right) => left.name.localeCompare(right.name));
}

const cases = await loadCases();

/** Copies a case folder into the input folder, every file modified at `modifiedMs` (arrival by path). */
async function copyInto(from: string, input: string, modifiedMs: number): Promise<void> {
  await cp(from, input, { recursive: true });
  await touchAll(input, modifiedMs);
}

async function touchAll(dir: string, modifiedMs: number): Promise<void> {
  const when = new Date(modifiedMs);
  for (const entry of await readdir(dir, { recursive: true })) {
    const file = path.join(dir, entry);
    if ((await stat(file)).isFile()) await utimes(file, when, when);
  }
}

function assertIdentity(report: IngestReport): void {
  assertCountsAddUp(report);
  expect(report.rowsRead, `rows_read of ${report.path}`).toBe(
    report.rowsAccepted +
      report.rowsDuplicate +
      report.rowsExcluded +
      report.rowsQuarantined +
      report.rowsPending,
  );
}

function fileReasonOf(report: IngestReport, quarantine: readonly QuarantineRecord[]): ReasonCode | null {
  const wholeFile = quarantine.find((record) => record.path === report.path && record.row === 0);
  if (wholeFile !== undefined) return wholeFile.reason;
  const prefix = report.fileMessage?.split(':')[0] ?? '';
  return (reasonCodes as readonly string[]).includes(prefix) ? (prefix as ReasonCode) : null;
}

function project(report: IngestReport, quarantine: readonly QuarantineRecord[]): ExpectedReport {
  return {
    path: report.path,
    status: report.status,
    kind: report.kind,
    fileReason: fileReasonOf(report, quarantine),
    rowsRead: report.rowsRead,
    rowsAccepted: report.rowsAccepted,
    rowsDuplicate: report.rowsDuplicate,
    rowsExcluded: report.rowsExcluded,
    rowsQuarantined: report.rowsQuarantined,
    rowsPending: report.rowsPending,
    outlierWarnings: report.outlierWarnings,
  };
}

const byPathRowReason = (left: ExpectedQuarantine, right: ExpectedQuarantine): number =>
  left.path.localeCompare(right.path) || left.row - right.row || left.reason.localeCompare(right.reason);

describe('bad-input corpus (test/corpus) on one embedded stack', () => {
  let stack: IngestTestStack;
  const inputs: string[] = [];

  beforeAll(async () => {
    stack = await startIngestStack();
  });
  afterAll(async () => {
    await stack?.stop();
    await Promise.all(inputs.map((input) => rm(input, { recursive: true, force: true })));
  });

  async function storedReports(names: ResourceNames): Promise<IngestReport[]> {
    const reports = await readReports(stack.clients, names.rawBucket);
    return reports.sort(
      (left, right) =>
        (left.arrivalSeq ?? Number.MAX_SAFE_INTEGER) - (right.arrivalSeq ?? Number.MAX_SAFE_INTEGER) ||
        left.path.localeCompare(right.path),
    );
  }

  async function storedQuarantine(names: ResourceNames): Promise<QuarantineRecord[]> {
    const records: QuarantineRecord[] = [];
    for (const key of await listKeys(stack.clients, names.quarantineBucket)) {
      const text = (await readObject(stack.clients, names.quarantineBucket, key)).toString('utf8');
      for (const line of text.split('\n')) {
        if (line.trim() !== '') records.push(JSON.parse(line) as QuarantineRecord);
      }
    }
    return records;
  }

  it('has at least 30 cases covering every reason code', () => {
    // Assess
    expect(cases.length).toBeGreaterThanOrEqual(30);
    const covered = new Set<string>();
    for (const { spec } of cases) {
      for (const record of spec.quarantine) covered.add(record.reason);
      for (const report of spec.reports) if (report.fileReason !== null) covered.add(report.fileReason);
    }
    expect(reasonCodes.filter((reason) => !covered.has(reason))).toEqual([]);
  });

  it.each(cases)('$name', async ({ name, dir, spec }) => {
    // Prepare
    const overrides: Partial<Settings> = { ...spec.settings };
    const { names, settings } = await stack.resources(overrides);
    const input = await mkdtemp(path.join(tmpdir(), `tillstream-corpus-${name}-`));
    inputs.push(input);
    if (spec.generator !== undefined) {
      const generate = generators[spec.generator];
      if (generate === undefined) throw new Error(`${name}: no generator ${spec.generator} in generate.ts`);
      await generate(input);
      await touchAll(input, T0 - 60_000);
    }

    // Act
    for (const [index, poll] of spec.polls.entries()) {
      const nowMs = T0 + poll.atDays * DAY;
      if (poll.files !== undefined) await copyInto(path.join(dir, poll.files), input, nowMs - 60_000 + index);
      const result = await stack.pollFolder(input, { names, settings, nowMs });
      expect(result.errors, `poll ${index} of ${name}`).toEqual([]);
      for (const report of result.reports) assertIdentity(report);
      for (const partial of poll.reports ?? []) {
        expect(result.reports.find((report) => report.path === partial.path)).toMatchObject(partial);
      }
    }

    // Assess
    const reports = await storedReports(names);
    const quarantine = await storedQuarantine(names);
    for (const report of reports) assertIdentity(report);
    expect(reports.map((report) => project(report, quarantine))).toEqual(
      spec.reports.map((report) => ExpectedReport.parse(report)),
    );
    expect(
      quarantine
        .map(({ path: file, row, column, reason }) => ({ path: file, row, column, reason }))
        .sort(byPathRowReason),
    ).toEqual([...spec.quarantine].sort(byPathRowReason));
    for (const record of quarantine.filter((candidate) => candidate.row > 0)) {
      expect(record.raw, `raw text of ${record.path} row ${record.row}`).not.toBe('');
    }

    // Every file in the folder is kept byte for byte in the raw layer, whatever became of its rows.
    for (const entry of await readdir(input, { recursive: true })) {
      const file = path.join(input, entry);
      if (!(await stat(file)).isFile()) continue;
      const bytes = await readFile(file);
      const contentHash = createHash('sha256').update(bytes).digest('hex');
      const landed = reports.find(
        (report) => report.path === entry.split(path.sep).join('/') && report.contentHash === contentHash,
      );
      expect(landed?.rawKey, `raw copy of ${entry}`).toEqual(expect.any(String));
      expect((await readObject(stack.clients, names.rawBucket, landed!.rawKey!)).equals(bytes)).toBe(true);
    }

    // What reached the stream is exactly the accepted order rows, each once (replays collapse).
    const events = await readStream(stack.clients, names.ordersStream);
    const lines: (EventLine & { orderId: string })[] = [];
    const options: (EventOption & { orderId: string })[] = [];
    const streamedRows = new Set<string>();
    for (const event of events) {
      for (const line of event.lines) {
        lines.push({ ...line, orderId: event.orderId });
        streamedRows.add(`${line.lineage.contentHash}|${line.lineage.row}`);
      }
      for (const option of event.options) {
        options.push({ ...option, orderId: event.orderId });
        streamedRows.add(`${option.lineage.contentHash}|${option.lineage.row}`);
      }
    }
    const acceptedOrderRows = reports
      .filter((report) => report.kind === 'order_items' || report.kind === 'order_item_options')
      .reduce((sum, report) => sum + report.rowsAccepted, 0);
    expect(streamedRows.size).toBe(acceptedOrderRows);
    for (const line of spec.streamLines ?? []) expect(lines).toContainEqual(expect.objectContaining(line));
    for (const option of spec.streamOptions ?? []) {
      expect(options).toContainEqual(expect.objectContaining(option));
    }
  });
});
