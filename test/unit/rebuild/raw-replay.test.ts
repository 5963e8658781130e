import { describe, expect, it } from 'vitest';
import { FileStatus, type IngestReport } from '../../../ingest/report.js';
import { parseRawKey, planReplay, type RawObject } from '../../../processors/rebuild/raw-replay.js';
import { generationNames } from '../../../shared/generation.js';
import { resourceNames } from '../../../shared/resources.js';

const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);
const HASH_C = 'c'.repeat(64);
const HASH_D = 'd'.repeat(64);

function raw(fileId: string, hash: string, name: string, lastModifiedMs = 0): RawObject {
  return {
    key: `raw/source=folder/file=${encodeURIComponent(fileId)}/sha256=${hash}/${encodeURIComponent(name)}`,
    sizeBytes: 10,
    lastModifiedMs,
  };
}

function report(object: RawObject, arrivalSeq: number, status: IngestReport['status'] = FileStatus.Ingested) {
  const path = parseRawKey(object.key).fileId;
  return [
    object.key,
    {
      path,
      arrivalSeq,
      arrivedAt: new Date(Date.UTC(2023, 0, arrivalSeq)).toISOString(),
      modifiedAt: '2023-01-01T00:00:00.000Z',
      status,
    } as IngestReport,
  ] as const;
}

describe('planReplay', () => {
  it('replays in arrival order with original ids and arrivals, leaving out retracted and duplicate copies', () => {
    // Prepare
    const early = raw('2023-01-02/order_items.csv', HASH_B, 'order_items.csv');
    const late = raw('2023-01-01/order items é.csv', HASH_A, 'order items é.csv');
    const retracted = raw('bad.csv', HASH_C, 'bad.csv');
    const copy = raw('copy.csv', HASH_D, 'copy.csv');
    const unreported = raw('crashed.csv', HASH_D, 'crashed.csv', 5);
    const objects = [
      late,
      retracted,
      early,
      copy,
      unreported,
      { ...early, key: `${early.key}.ingest-report.json` },
    ];
    const reports = new Map([
      report(late, 7),
      report(early, 3),
      report(retracted, 4, FileStatus.Retracted),
      report(copy, 5, FileStatus.DuplicateContent),
    ]);

    // Act
    const plan = planReplay(objects, reports);

    // Assess
    expect(plan.files.map((file) => file.file.id)).toEqual([
      '2023-01-02/order_items.csv',
      '2023-01-01/order items é.csv',
      'crashed.csv',
    ]);
    expect(plan.files[1]).toMatchObject({
      sourceName: 'folder',
      rawKey: late.key,
      arrival: { arrivalSeq: 7, arrivedAtMs: Date.UTC(2023, 0, 7) },
      file: {
        name: 'order items é.csv',
        path: '2023-01-01/order items é.csv',
        versionTag: `replay:${HASH_A}`,
      },
    });
    expect(plan.files[2]!.arrival).toBeUndefined();
    expect(plan.retracted).toEqual(['bad.csv']);
    expect(plan.duplicateContent).toEqual(['copy.csv']);
  });
});

describe('generationNames', () => {
  it('keeps generation 0 as today and suffixes the tables of later generations only', () => {
    const base = resourceNames({ resourcePrefix: 'tillstream' });
    expect(generationNames(base, 0)).toBe(base);
    expect(generationNames(base, 2)).toEqual({
      ...base,
      aggregatesTable: 'tillstream-aggregates-g2',
      ledgerTable: 'tillstream-ledger-g2',
      stateTable: 'tillstream-state-g2',
    });
    expect(() => generationNames(base, -1)).toThrow(RangeError);
  });
});
