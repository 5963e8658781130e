/**
 * `tillstream retract` on the embedded stack (issue #8 "Done when"): a bad upload is retracted
 * (once after a crash in the middle, then to the end), a corrected re-export is uploaded, and the
 * marts equal those of a fresh stack that only ever saw the good files and the corrected one. The
 * published snapshots on or after the bad rows' dates are rebuilt, earlier ones are left alone, and
 * retracting twice changes nothing.
 */
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getObjectBytes, getReport, reportKey } from '../../ingest/raw-layer.js';
import { FileStatus, type IngestReport } from '../../ingest/report.js';
import { PollerState } from '../../ingest/state.js';
import { runCompaction } from '../../processors/compaction/job.js';
import { exportSnapshot, readManifest } from '../../processors/compaction/snapshot.js';
import { runPipeline } from '../../processors/pipeline/run.js';
import {
  type RetractDependencies,
  type RetractResult,
  RetractStep,
  retractedMarkerKey,
  retractFile,
} from '../../processors/retract/retract.js';
import { runShardProcessors } from '../../processors/shard/runner.js';
import { type PipelineStack, startPipelineStack } from '../support/pipeline-stack.js';

const ITEMS_HEADER =
  'APP_NAME,RESTAURANT_ID,CREATION_TIME_UTC,ORDER_ID,USER_ID,PRINTED_CARD_NUMBER,IS_LOYALTY,CURRENCY,LINEITEM_ID,ITEM_CATEGORY,ITEM_NAME,ITEM_PRICE,ITEM_QUANTITY';
const OPTIONS_HEADER = 'ORDER_ID,LINEITEM_ID,OPTION_GROUP_NAME,OPTION_NAME,OPTION_PRICE,OPTION_QUANTITY';

const item = (
  location: string,
  at: string,
  order: string,
  user: string,
  line: string,
  category: string,
  price: string,
  quantity = 1,
): string =>
  `App,${location},${at},${order},${user},,FALSE,USD,${line},${category},Item ${line},${price},${quantity}`;

/** Orders of 14 August: never touched by the retraction. */
const GOOD = [
  ITEMS_HEADER,
  item('loc-a', '2023-08-14T16:00:00Z', 'O1', 'cust-1', 'L1', 'Burgers', '12.50'),
  item('loc-a', '2023-08-14T16:00:00Z', 'O1', 'cust-1', 'L2', 'Drinks', '3.00', 2),
  item('loc-b', '2023-08-14T18:30:00Z', 'O2', 'cust-2', 'L1', 'Burgers', '9.75'),
  item('loc-b', '2023-08-14T19:00:00Z', 'O3', '', 'L1', 'Sides', '4.25'),
];
/** The bad export of 15 August: O4 at a price 100 times too high; O5 is right. */
const BAD = [
  ITEMS_HEADER,
  item('loc-a', '2023-08-15T17:00:00Z', 'O4', 'cust-1', 'L1', 'Burgers', '1250.00'),
  item('loc-a', '2023-08-15T17:00:00Z', 'O4', 'cust-1', 'L2', 'Drinks', '300.00'),
  item('loc-b', '2023-08-15T20:00:00Z', 'O5', 'cust-3', 'L1', 'Burgers', '8.00'),
];
/** A later file that repeats O5's line (a `duplicate` of the bad file's row) and adds O6. */
const LATE = [
  ITEMS_HEADER,
  item('loc-b', '2023-08-15T20:00:00Z', 'O5', 'cust-3', 'L1', 'Burgers', '8.00'),
  item('loc-a', '2023-08-16T12:00:00Z', 'O6', 'cust-2', 'L1', 'Drinks', '2.50'),
];
/** A discount on O4's first line, uploaded after the bad file. */
const OPTIONS = [OPTIONS_HEADER, 'O4,L1,Promo,Coupon,-1.00,1', 'O1,L1,Size,Large,1.50,1'];
/** The corrected re-export of 15 August. */
const CORRECTED = [
  ITEMS_HEADER,
  item('loc-a', '2023-08-15T17:00:00Z', 'O4', 'cust-1', 'L1', 'Burgers', '12.50'),
  item('loc-a', '2023-08-15T17:00:00Z', 'O4', 'cust-1', 'L2', 'Drinks', '3.00'),
  item('loc-b', '2023-08-15T20:00:00Z', 'O5', 'cust-3', 'L1', 'Burgers', '8.00'),
];

const AS_OF = '2023-08-20';
/** Published before the bad rows' date: never rebuilt. */
const EARLY = '2023-08-13';
/** Published on the day after the bad rows: rebuilt. */
const MID = '2023-08-16';
const BASE_MS = Date.parse('2024-01-10T09:00:00Z');

/** Writes a file with a modified time that fixes its arrival order. */
async function drop(dir: string, name: string, rows: readonly string[], minute: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, name);
  await writeFile(file, `${rows.join('\n')}\n`);
  const at = new Date(BASE_MS + minute * 60_000);
  await utimes(file, at, at);
}

/** The CSV text of every mart of a snapshot, by file name. */
async function martsOf(stack: PipelineStack, asOf: string, label: string): Promise<Record<string, string>> {
  const dir = path.join(stack.workDir, `export-${label}-${asOf}`);
  await exportSnapshot({ s3: stack.clients.s3, bucket: stack.names.martsBucket, asOf, toDir: dir });
  const marts: Record<string, string> = {};
  for (const name of (await readdir(dir)).filter((file) => file.endsWith('.csv')).sort()) {
    marts[name] = await readFile(path.join(dir, name), 'utf8');
  }
  return marts;
}

async function runOnce(stack: PipelineStack, input: string, asOf = AS_OF) {
  return runPipeline(stack.clients, stack.names, stack.settings, {
    input,
    asOf,
    codeVersion: 'test',
    clock: () => BASE_MS + 3_600_000,
  });
}

async function publish(stack: PipelineStack, asOf: string): Promise<void> {
  await runCompaction(stack.clients, stack.names, { asOf, codeVersion: 'test' });
}

function retractDeps(stack: PipelineStack, onStep?: RetractDependencies['onStep']): RetractDependencies {
  const { clients, names, settings } = stack;
  return {
    clients,
    names,
    settings,
    clock: () => BASE_MS + 7_200_000,
    codeVersion: 'test',
    processUntilCaughtUp: async () => {
      await runShardProcessors(clients.kinesis, clients.doc, names, { untilCaughtUp: true });
    },
    ...(onStep ? { onStep } : {}),
  };
}

async function reportOf(stack: PipelineStack, fileId: string): Promise<IngestReport> {
  const versions = await new PollerState(stack.clients.doc, stack.names.stateTable).queryAll(
    `ingest#file#folder:${fileId}`,
  );
  const version = versions.find((entry) => String(entry['sk']).startsWith('v#'))?.['version'] as
    | { rawKey: string }
    | undefined;
  if (version === undefined) throw new Error(`no landed version of ${fileId}`);
  const report = await getReport(stack.clients.s3, stack.names.rawBucket, reportKey(version.rawKey));
  if (report === undefined) throw new Error(`no report of ${fileId}`);
  return report;
}

describe('tillstream retract', () => {
  let retracted: PipelineStack;
  let fresh: PipelineStack;
  let crashedAt: string | undefined;
  let firstRetraction: RetractResult;
  let secondRetraction: RetractResult;
  const runIds: Record<string, { before: string; afterRetraction: string; afterSecond: string }> = {};
  const marts: Record<string, Record<string, string>> = {};

  beforeAll(async () => {
    [retracted, fresh] = await Promise.all([
      startPipelineStack('retract'),
      startPipelineStack('retract-fresh'),
    ]);

    const withBadFile = async (): Promise<void> => {
      const input = path.join(retracted.workDir, 'input');
      await drop(input, 'good.csv', GOOD, 0);
      await drop(input, 'bad.csv', BAD, 1);
      await drop(input, 'late.csv', LATE, 2);
      await drop(input, 'options.csv', OPTIONS, 3);
      await runOnce(retracted, input);
      await publish(retracted, EARLY);
      await publish(retracted, MID);
      const manifests = async () =>
        Object.fromEntries(
          await Promise.all(
            [EARLY, MID, AS_OF].map(async (asOf) => [
              asOf,
              (await readManifest({ s3: retracted.clients.s3, bucket: retracted.names.martsBucket, asOf }))!
                .runId,
            ]),
          ),
        ) as Record<string, string>;
      const before = await manifests();
      // A crash once the claims are released; the rerun must end where an uninterrupted one does.
      await retractFile(
        retractDeps(retracted, (step) => {
          if (step === RetractStep.Released) {
            crashedAt = step;
            throw new Error('injected crash');
          }
        }),
        { file: 'bad.csv' },
      ).catch((error: unknown) => {
        if ((error as Error).message !== 'injected crash') throw error;
      });
      firstRetraction = await retractFile(retractDeps(retracted), { file: 'bad.csv' });
      const afterRetraction = await manifests();
      marts['retracted-mid'] = await martsOf(retracted, MID, 'retracted');
      secondRetraction = await retractFile(retractDeps(retracted), { file: 'bad.csv' });
      const afterSecond = await manifests();
      for (const asOf of [EARLY, MID, AS_OF]) {
        runIds[asOf] = {
          before: before[asOf]!,
          afterRetraction: afterRetraction[asOf]!,
          afterSecond: afterSecond[asOf]!,
        };
      }
      await drop(input, 'corrected.csv', CORRECTED, 4);
      await runOnce(retracted, input);
      marts['retracted-final'] = await martsOf(retracted, AS_OF, 'retracted');
    };

    const neverBad = async (): Promise<void> => {
      const input = path.join(fresh.workDir, 'input');
      await drop(input, 'good.csv', GOOD, 0);
      await drop(input, 'late.csv', LATE, 2);
      await drop(input, 'options.csv', OPTIONS, 3);
      await runOnce(fresh, input, MID);
      marts['fresh-mid'] = await martsOf(fresh, MID, 'fresh');
      await drop(input, 'corrected.csv', CORRECTED, 4);
      await runOnce(fresh, input);
      marts['fresh-final'] = await martsOf(fresh, AS_OF, 'fresh');
    };

    await Promise.all([withBadFile(), neverBad()]);
  });

  afterAll(async () => {
    await Promise.all([retracted?.close(), fresh?.close()]);
  });

  it('ends, after a corrected re-export, with the marts of a stack that never saw the bad upload', () => {
    expect(Object.keys(marts['fresh-final']!).length).toBeGreaterThanOrEqual(6);
    expect(marts['retracted-final']).toEqual(marts['fresh-final']);
  });

  it('survives a crash in the middle: the rerun completes the retraction', () => {
    expect(crashedAt).toBe(RetractStep.Released);
    expect(firstRetraction.alreadyRetracted).toBe(false);
    expect(firstRetraction.ordersRetracted).toBe(2);
    expect(firstRetraction.earliestDate).toBe('2023-08-15');
    // O5's line, held as a duplicate by the later file, is claimed by it now.
    expect(firstRetraction.reingested).toEqual(['late.csv']);
  });

  it('rebuilds the published snapshots on or after the bad rows, and only those', () => {
    expect(firstRetraction.snapshotsRebuilt).toEqual([MID, AS_OF]);
    expect(runIds[EARLY]!.afterRetraction).toBe(runIds[EARLY]!.before);
    expect(runIds[MID]!.afterRetraction).not.toBe(runIds[MID]!.before);
    expect(runIds[AS_OF]!.afterRetraction).not.toBe(runIds[AS_OF]!.before);
    expect(marts['retracted-mid']).toEqual(marts['fresh-mid']);
  });

  it('treats a second retraction as a no-op', () => {
    expect(secondRetraction.alreadyRetracted).toBe(true);
    expect(secondRetraction.ordersRetracted).toBe(0);
    expect(secondRetraction.versions.map((version) => version.alreadyRetracted)).toEqual([true]);
    for (const asOf of [EARLY, MID, AS_OF]) {
      expect(runIds[asOf]!.afterSecond).toBe(runIds[asOf]!.afterRetraction);
    }
  });

  it('marks the upload retracted in its report and the raw layer, and streams the re-export normally', async () => {
    // Act
    const bad = await reportOf(retracted, 'bad.csv');
    const corrected = await reportOf(retracted, 'corrected.csv');
    const late = await reportOf(retracted, 'late.csv');
    const marker = JSON.parse(
      (
        await getObjectBytes(retracted.clients.s3, retracted.names.rawBucket, retractedMarkerKey(bad.rawKey!))
      ).toString('utf8'),
    ) as { fileId: string; ordersRetracted: number };
    // Assess
    expect(bad.status).toBe(FileStatus.Retracted);
    expect(bad.statusBeforeRetraction).toBe(FileStatus.Ingested);
    expect(bad.rowsAccepted).toBe(3);
    expect(marker).toMatchObject({ fileId: 'bad.csv', ordersRetracted: 2 });
    expect(corrected.quarantinedByReason).toEqual({});
    expect(corrected).toMatchObject({ rowsAccepted: 2, rowsDuplicate: 1, rowsQuarantined: 0 });
    expect(late).toMatchObject({ rowsAccepted: 2, rowsDuplicate: 0, status: FileStatus.Ingested });
  });
});
