/**
 * Emulators on worker threads of this process. dynalite's request handling and LevelDB work are
 * CPU-bound and would otherwise share one core with the pipeline that calls them; a worker gives
 * them a core of their own while staying inside the process (one lifetime, one state lock, no
 * child process to reap).
 */

import { inspect } from 'node:util';
import { Worker } from 'node:worker_threads';
import { z } from 'zod';
import { LocalStackError } from './errors.js';

/** One emulator a thread runs, with the options that differ between stacks. */
export type EmulatorSpec =
  | { readonly kind: 'dynalite'; readonly path: string }
  | { readonly kind: 'kinesalite'; readonly path: string; readonly shardLimit: number }
  | { readonly kind: 's3rver'; readonly directory: string };

/** The service an emulator stands in for. */
export type EmulatorComponent = 'dynamodb' | 'kinesis' | 's3';

export interface EmulatorThread {
  /** Loopback port of each emulator the thread runs. */
  readonly ports: Readonly<Partial<Record<EmulatorComponent, number>>>;
  /** The thread itself, for diagnostics (`threadId`). */
  readonly worker: Worker;
  /**
   * Closes the thread's emulators (pending writes finish, stores close) and waits for the thread
   * to end. Resolves as well when the thread has died. Idempotent.
   *
   * @throws LocalStackError when an emulator failed to close.
   */
  stop(): Promise<void>;
}

const ComponentSchema = z.enum(['dynamodb', 'kinesis', 's3']);
const ReportedErrorSchema = z.object({ message: z.string(), stack: z.string(), code: z.string() });

/** What emulator-worker.mjs posts back; checked because it crosses a thread boundary untyped. */
const WorkerReportSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('ready'),
    ports: z.partialRecord(ComponentSchema, z.number().int().positive()),
  }),
  z.object({ type: z.literal('failed'), component: ComponentSchema, ...ReportedErrorSchema.shape }),
  z.object({ type: z.literal('crashed'), ...ReportedErrorSchema.shape }),
  z.object({
    type: z.literal('stopped'),
    failures: z.array(z.object({ component: ComponentSchema, ...ReportedErrorSchema.shape })),
  }),
]);

/** How long a thread may take to end after its emulators reported closed, before it is terminated. */
const EXIT_AFTER_STOP_MS = 10_000;

const WORKER_ENTRY = new URL('./emulator-worker.mjs', import.meta.url);

const componentOf = {
  dynalite: 'dynamodb',
  kinesalite: 'kinesis',
  s3rver: 's3',
} as const satisfies Record<EmulatorSpec['kind'], EmulatorComponent>;

/** An error of the worker, rebuilt on this thread with its original stack. */
function rebuilt(report: z.infer<typeof ReportedErrorSchema>): Error {
  const error = new Error(report.message);
  if (report.stack) error.stack = report.stack;
  return error;
}

/**
 * Starts a worker thread running `emulators`, and resolves once each listens on a free loopback
 * port. A thread that dies later is reported through `log`; its endpoints stop answering.
 *
 * @throws LocalStackError naming the emulator that could not start, or the first one of a thread
 * that died while starting.
 *
 * @example
 * ```ts
 * const thread = await startEmulatorThread([{ kind: 'dynalite', path: 'state/dynamodb' }], console.error);
 * const endpoint = `http://127.0.0.1:${thread.ports.dynamodb}`;
 * // …
 * await thread.stop();
 * ```
 */
export function startEmulatorThread(
  emulators: readonly EmulatorSpec[],
  log: (message: string) => void,
): Promise<EmulatorThread> {
  const components = emulators.map((spec) => componentOf[spec.kind]);
  const first = components[0];
  if (first === undefined) throw new RangeError('an emulator thread needs at least one emulator');
  const label = components.join(' + ');
  const worker = new Worker(WORKER_ENTRY, {
    workerData: { emulators },
    // The entry is plain JavaScript: a TypeScript loader in the parent's flags would only slow the
    // thread's start. OpenSSL's legacy provider, which s3rver needs, is process-wide anyway.
    execArgv: [],
    name: `tillstream emulators: ${label}`,
  });

  let crash: unknown;
  let stopRequested = false;
  let stopFailures: LocalStackError[] = [];
  let reportStopped: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    reportStopped = resolve;
  });
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  worker.on('error', (error) => {
    crash = error;
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      stopRequested = true;
      worker.postMessage({ type: 'stop' });
      await Promise.race([stopped, exited]);
      const timer = setTimeout(() => void worker.terminate(), EXIT_AFTER_STOP_MS);
      await exited;
      clearTimeout(timer);
      if (stopFailures.length === 1 && stopFailures[0]) throw stopFailures[0];
      if (stopFailures.length > 1) {
        throw new LocalStackError(
          `the ${label} emulators did not stop cleanly`,
          stopFailures[0]?.component ?? first,
          {
            cause: new AggregateError(stopFailures),
          },
        );
      }
    })();
    return stopping;
  };

  return new Promise<EmulatorThread>((resolve, reject) => {
    let ready = false;
    worker.on('message', (message: unknown) => {
      const report = WorkerReportSchema.safeParse(message);
      if (!report.success) {
        log(`the ${label} emulator thread sent an unknown message: ${JSON.stringify(message)}`);
        return;
      }
      switch (report.data.type) {
        case 'ready':
          ready = true;
          resolve({ ports: report.data.ports, worker, stop });
          return;
        case 'failed':
          reject(
            new LocalStackError(
              `could not start the ${report.data.component} emulator`,
              report.data.component,
              {
                cause: rebuilt(report.data),
              },
            ),
          );
          return;
        case 'crashed':
          crash = rebuilt(report.data);
          return;
        case 'stopped':
          stopFailures = report.data.failures.map(
            (failure) =>
              new LocalStackError(
                `the ${failure.component} emulator did not stop cleanly`,
                failure.component,
                {
                  cause: rebuilt(failure),
                },
              ),
          );
          reportStopped();
          return;
      }
    });
    void exited.then((code) => {
      // Whatever the thread threw: errors of its emulators do not always arrive as Error instances.
      const reason =
        crash === undefined
          ? ''
          : `: ${crash instanceof Error ? (crash.stack ?? crash.message) : inspect(crash)}`;
      if (!ready) {
        // A no-op when a `failed` report already rejected.
        reject(
          new LocalStackError(
            `the ${label} emulator thread exited with code ${code} while starting${reason}`,
            first,
            {
              cause: crash,
            },
          ),
        );
      } else if (!stopRequested || crash) {
        log(`the ${label} emulator thread died (exit code ${code})${reason}; its endpoints no longer answer`);
      }
    });
  });
}
