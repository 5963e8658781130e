import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { backfillQueue, ChunkPlanner, chunkSource } from '../../../ingest/backfill/turns.js';
import { ContentKind, type FileSource, type SourceFile } from '../../../ingest/source.js';

function file(id: string, modifiedMs: number, sizeBytes: number | null = 100): SourceFile {
  return {
    id,
    path: id,
    name: id,
    modifiedMs,
    sizeBytes,
    contentKind: ContentKind.Bytes,
    versionTag: `${modifiedMs}:${sizeBytes}`,
  };
}

function memorySource(contents: Record<string, string>, onCommit?: () => void): FileSource {
  return {
    sourceName: 'folder',
    location: '/history',
    listFiles: async () => [],
    open: async (listed) => Readable.from([Buffer.from(contents[listed.id] ?? '')]),
    ...(onCommit ? { commit: async () => onCommit() } : {}),
  };
}

describe('ChunkPlanner (how many files fit a turn)', () => {
  it('takes one file before anything is measured', () => {
    // Prepare
    const planner = new ChunkPlanner();
    // Act
    const count = planner.take([100, 100, 100], 30_000);
    // Assess
    expect(count).toBe(1);
  });

  it('takes the files whose measured cost fits the budget, and at least one', () => {
    // Prepare
    const planner = new ChunkPlanner();
    planner.observe(1, 1_000, 500); // 0.5 ms per byte
    // Act
    const fits = planner.take([1_000, 2_000, 1_000, 4_000], 2_000);
    const tooBig = planner.take([10_000, 100], 2_000);
    const unknownSize = planner.take([null, null, null, null, null], 2_000);
    // Assess
    expect(fits).toBe(3);
    expect(tooBig).toBe(1);
    expect(unknownSize).toBe(4);
  });
});

describe('backfillQueue', () => {
  it('puts reference exports first, then arrival order, without the files already done', async () => {
    // Prepare
    const source = memorySource({
      'day1.csv': 'APP_NAME,RESTAURANT_ID,CREATION_TIME_UTC,ORDER_ID\n',
      'locations.csv': 'RESTAURANT_ID,NAME,TIMEZONE\nr1,One,America/Chicago\n',
      'day2.csv': 'APP_NAME,RESTAURANT_ID,CREATION_TIME_UTC,ORDER_ID\n',
      'done.csv': 'x\n',
    });
    const files = [
      file('locations.csv', 30),
      file('day2.csv', 20),
      file('done.csv', 5),
      file('day1.csv', 10),
    ];
    // Act
    const queue = await backfillQueue(source, files, async (listed) => listed.id === 'done.csv');
    // Assess
    expect(queue.map((listed) => listed.id)).toEqual(['locations.csv', 'day1.csv', 'day2.csv']);
  });
});

describe('chunkSource', () => {
  it('lists only its chunk and moves the watermark only when told it is the last', async () => {
    // Prepare
    let commits = 0;
    const source = memorySource({}, () => commits++);
    let last = false;
    const chunk = chunkSource(source, [file('a.csv', 1)], () => last);
    // Act
    const listed = await chunk.listFiles();
    await chunk.commit?.();
    last = true;
    await chunk.commit?.();
    // Assess
    expect(listed.map((entry) => entry.id)).toEqual(['a.csv']);
    expect(commits).toBe(1);
  });
});
