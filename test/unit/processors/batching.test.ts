import { lastValueFrom, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { flushWhenFree } from '../../../processors/shard/batching.js';

/** A flusher whose flushes end when the test says so. */
function manualFlusher() {
  const batches: number[][] = [];
  const finishers: (() => void)[] = [];
  return {
    batches,
    flush: (batch: number[]) =>
      new Promise<void>((resolve) => {
        batches.push(batch);
        finishers.push(resolve);
      }),
    finishNext: () => finishers.shift()!(),
  };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('flushWhenFree (micro-batches that follow the flusher)', () => {
  it('gives everything that arrived during a flush to the next batch, then completes after the last flush', async () => {
    // Prepare
    const records = new Subject<number>();
    const flusher = manualFlusher();
    const done = lastValueFrom(records.pipe(flushWhenFree({ maxRecords: 500, lingerMs: 0 }, flusher.flush)), {
      defaultValue: 0,
    });
    // Act: one read of 3 records, then 5 more records in two reads while the first flush runs.
    for (const value of [1, 2, 3]) records.next(value);
    await tick();
    for (const value of [4, 5]) records.next(value);
    await tick();
    for (const value of [6, 7, 8]) records.next(value);
    await tick();
    const whileFlushing = flusher.batches.length;
    flusher.finishNext();
    await tick();
    records.complete();
    flusher.finishNext();
    const last = await done;
    // Assess
    expect(whileFlushing).toBe(1);
    expect(flusher.batches).toEqual([
      [1, 2, 3],
      [4, 5, 6, 7, 8],
    ]);
    expect(last).toBe(5);
  });

  it('splits at maxRecords and keeps the order of the records', async () => {
    // Prepare
    const flushed: number[][] = [];
    const values = Array.from({ length: 23 }, (_, index) => index);
    const records = new Subject<number>();
    const done = lastValueFrom(
      records.pipe(
        flushWhenFree({ maxRecords: 10, lingerMs: 1_000 }, async (batch) => {
          flushed.push(batch);
        }),
      ),
      { defaultValue: 0 },
    );
    // Act
    for (const value of values) records.next(value);
    records.complete();
    await done;
    // Assess
    expect(flushed.map((batch) => batch.length)).toEqual([10, 10, 3]);
    expect(flushed.flat()).toEqual(values);
  });

  it('lets a batch linger for more records while the flusher is free, but no longer than lingerMs', async () => {
    // Prepare
    const flushed: { at: number; batch: number[] }[] = [];
    const records = new Subject<number>();
    const started = Date.now();
    const done = lastValueFrom(
      records.pipe(
        flushWhenFree({ maxRecords: 100, lingerMs: 60 }, async (batch) => {
          flushed.push({ at: Date.now() - started, batch });
        }),
      ),
      { defaultValue: 0 },
    );
    // Act
    records.next(1);
    await wait(20);
    records.next(2);
    await wait(120);
    const afterLinger = flushed.length;
    records.complete();
    await done;
    // Assess
    expect(afterLinger).toBe(1);
    expect(flushed[0]!.batch).toEqual([1, 2]);
    expect(flushed[0]!.at).toBeGreaterThanOrEqual(55);
  });

  it('fails with the flush error and flushes nothing after it', async () => {
    // Prepare
    const flushed: number[][] = [];
    const records = new Subject<number>();
    const done = lastValueFrom(
      records.pipe(
        flushWhenFree({ maxRecords: 2, lingerMs: 0 }, async (batch) => {
          flushed.push(batch);
          if (flushed.length === 1) throw new Error('crash in the flush');
        }),
      ),
      { defaultValue: 0 },
    );
    // Act
    for (const value of [1, 2, 3, 4]) records.next(value);
    // Assess
    await expect(done).rejects.toThrow('crash in the flush');
    records.complete();
    await tick();
    expect(flushed).toEqual([[1, 2]]);
  });
});
