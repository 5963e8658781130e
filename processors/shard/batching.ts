/**
 * Micro-batches that follow their flusher (the rxjs stage between a shard's reader and its flush).
 *
 * A fixed time window (`bufferTime`) closes batches on the clock whether or not the flusher can
 * take them: when the flusher is slower than the stream, closed batches queue behind it, each
 * small, each paying its own writes to the shared items (location-day, chain-day), and the queue
 * only grows. Here a batch closes when the flusher is free: records that arrive while a flush runs
 * all join the next batch (up to `maxRecords`), so a busy shard gets fuller batches and fewer
 * writes per order, and an idle one flushes a record at most `lingerMs` after it arrived.
 *
 * Batch boundaries never change a result: the flush is exact for any split of a shard's records
 * (aggregates/batch.ts).
 */
import { Observable, type OperatorFunction } from 'rxjs';

export interface FlushBatchingOptions {
  /** A batch holds at most this many records; a full batch goes to a free flusher at once. */
  readonly maxRecords: number;
  /** With the flusher free, a batch waits at most this long after its first record for more. */
  readonly lingerMs: number;
}

/**
 * Groups the source's values into batches and runs `flush` on one batch at a time; emits each
 * flushed batch's size. Completes after the last batch is flushed once the source completes;
 * fails with the first error of the source or of a flush (no later batch is flushed then).
 *
 * @example
 * await lastValueFrom(records$.pipe(flushWhenFree({ maxRecords: 500, lingerMs: 250 }, flushBatchOf)), {
 *   defaultValue: 0,
 * });
 */
export function flushWhenFree<T>(
  options: FlushBatchingOptions,
  flush: (batch: T[]) => Promise<void>,
): OperatorFunction<T, number> {
  if (!Number.isInteger(options.maxRecords) || options.maxRecords < 1) {
    throw new RangeError(`maxRecords must be a whole number ≥ 1 (given ${options.maxRecords})`);
  }
  return (source) =>
    new Observable<number>((subscriber) => {
      const pending: T[] = [];
      /** Arrival of the oldest pending record (epoch ms). */
      let oldestAtMs = 0;
      let flushing = false;
      let sourceDone = false;
      let stopped = false;
      let timer: NodeJS.Timeout | undefined;
      let soon: NodeJS.Immediate | undefined;

      const clearWaits = () => {
        if (timer !== undefined) clearTimeout(timer);
        if (soon !== undefined) clearImmediate(soon);
        timer = undefined;
        soon = undefined;
      };

      const decide = (): void => {
        if (stopped || flushing) return;
        if (pending.length === 0) {
          if (sourceDone) {
            stopped = true;
            subscriber.complete();
          }
          return;
        }
        const waitedMs = Date.now() - oldestAtMs;
        if (pending.length < options.maxRecords && !sourceDone && waitedMs < options.lingerMs) {
          timer ??= setTimeout(() => {
            timer = undefined;
            decide();
          }, options.lingerMs - waitedMs);
          return;
        }
        clearWaits();
        const batch = pending.splice(0, options.maxRecords);
        flushing = true;
        flush(batch).then(
          () => {
            flushing = false;
            if (stopped) return;
            // What is left waited for the flusher: it is due now, without a further linger.
            if (pending.length > 0) oldestAtMs = 0;
            subscriber.next(batch.length);
            decide();
          },
          (error: unknown) => {
            stopped = true;
            clearWaits();
            subscriber.error(error);
          },
        );
      };

      const subscription = source.subscribe({
        next: (value) => {
          if (pending.length === 0) oldestAtMs = Date.now();
          pending.push(value);
          if (pending.length >= options.maxRecords) decide();
          // The rest of one read arrives in the same tick: decide once it has all landed.
          else
            soon ??= setImmediate(() => {
              soon = undefined;
              decide();
            });
        },
        error: (error: unknown) => {
          stopped = true;
          clearWaits();
          subscriber.error(error);
        },
        complete: () => {
          sourceDone = true;
          decide();
        },
      });
      return () => {
        stopped = true;
        clearWaits();
        subscription.unsubscribe();
      };
    });
}
