/**
 * The embedded local stack: DynamoDB (dynalite, or DynamoDB Local on Java), Kinesis (kinesalite)
 * and S3 (s3rver), in process on free loopback ports, with their state under one directory. The JS
 * emulators run on worker threads by default, so they do not compete with the pipeline for the
 * main thread.
 */

import { mkdir, readdir, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { homedir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import dynalite from 'dynalite';
import kinesalite from 'kinesalite';
import S3rver from 's3rver';
import type { LocalEndpoints } from '../aws/clients.js';
import type { DynamoEngine } from '../config.js';
import { cacheTableDefinitions } from './dynalite-tables.mjs';
import type { RunningEmulator } from './dynamodb-local.js';
import { startDynamoDbLocal } from './dynamodb-local.js';
import { type EmulatorSpec, startEmulatorThread } from './emulator-threads.js';
import { LocalStackError } from './errors.js';
import { closeServer, LOOPBACK, listenOnFreePort } from './ports.js';
import { lockStateDir, STATE_LOCK_FILE } from './state-lock.js';

export interface LocalStackOptions {
  /** Emulator state lives in `dynamodb/`, `dynamodb-local/`, `kinesis/` and `s3/` under it. */
  readonly stateDir: string;
  /** Delete the state directory first. @default false */
  readonly fresh?: boolean;
  /** @default `dynalite` */
  readonly dynamoEngine?: DynamoEngine;
  /** Shards the stream will have; the emulator's shard limit leaves room to split them. @default 2 */
  readonly shardCount?: number;
  /**
   * Run the JS emulators on worker threads (dynalite on one, kinesalite and s3rver on another);
   * `false` runs them on the calling thread, which is easier to profile and debug. The environment
   * variable `TILLSTREAM_EMULATOR_THREADS=0` sets the default to `false`.
   * @default true
   */
  readonly emulatorThreads?: boolean;
  /** Progress messages, and the report of an emulator thread that died. */
  readonly log?: (message: string) => void;
}

export interface LocalStack {
  /** `http://127.0.0.1:PORT` of each emulator. */
  readonly endpoints: LocalEndpoints;
  readonly stateDir: string;
  readonly dynamoEngine: DynamoEngine;
  /** Milliseconds from the call to every emulator answering. */
  readonly startMs: number;
  /** Whether the JS emulators run on worker threads. */
  readonly emulatorThreads: boolean;
  /** Stops every emulator, letting pending writes finish and closing their stores. Idempotent. */
  stop(): Promise<void>;
}

/** State subdirectories, one per emulator. */
export const StateFolder = {
  Dynalite: 'dynamodb',
  DynamoDbLocal: 'dynamodb-local',
  Kinesis: 'kinesis',
  S3: 's3',
} as const;

/** Shards kinesalite allows in total: room for tests with several streams and for splits. */
const MIN_SHARD_LIMIT = 200;

/** The endpoints of the emulators started so far. */
type StartedEndpoints = { -readonly [Component in keyof LocalEndpoints]?: string };

/** `TILLSTREAM_EMULATOR_THREADS=0` (or `false`) turns the worker threads off where no option reaches. */
function emulatorThreadsByDefault(): boolean {
  const setting = process.env['TILLSTREAM_EMULATOR_THREADS']?.trim().toLowerCase();
  return setting !== '0' && setting !== 'false';
}

/**
 * Refuses to wipe a directory that holds more than local state: the root, the home directory, or
 * the working directory or one of its parents.
 */
function assertWipeable(stateDir: string): void {
  const target = resolve(stateDir);
  const cwd = resolve('.');
  const protectedDirs = [resolve('/'), resolve(homedir())];
  if (protectedDirs.includes(target) || cwd === target || cwd.startsWith(target + sep)) {
    throw new LocalStackError(
      `refusing to wipe ${target} for --fresh: it is not a dedicated state directory`,
      'state-dir',
    );
  }
}

async function startInProcess(server: Server, component: 'dynamodb' | 'kinesis'): Promise<string> {
  try {
    return `http://${LOOPBACK}:${await listenOnFreePort(server)}`;
  } catch (error) {
    throw new LocalStackError(`could not start the ${component} emulator`, component, { cause: error });
  }
}

/**
 * Starts the emulators. Data persists in `stateDir` across stops and restarts; only one stack may
 * use a state directory at a time (LevelDB locks it).
 *
 * @example
 * ```ts
 * const stack = await startLocalStack({ stateDir: '.tillstream' });
 * const clients = createClients({ kind: 'local', endpoints: stack.endpoints });
 * // …
 * clients.destroy();
 * await stack.stop();
 * ```
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const started = performance.now();
  const stateDir = resolve(options.stateDir);
  const dynamoEngine = options.dynamoEngine ?? 'dynalite';
  const emulatorThreads = options.emulatorThreads ?? emulatorThreadsByDefault();
  const log = options.log ?? (() => {});
  if (options.fresh) assertWipeable(stateDir);
  await mkdir(stateDir, { recursive: true });
  // Locked before --fresh wipes anything, so a running stack's state is never pulled from under it.
  const unlock = await lockStateDir(stateDir);
  try {
    if (options.fresh) {
      const entries = (await readdir(stateDir)).filter((entry) => entry !== STATE_LOCK_FILE);
      await Promise.all(entries.map((entry) => rm(join(stateDir, entry), { recursive: true, force: true })));
    }
    // s3rver answers ListBuckets with a 500 until its directory exists; the LevelDB stores create their own.
    await mkdir(join(stateDir, StateFolder.S3), { recursive: true });
  } catch (error) {
    await unlock();
    throw error;
  }

  const stoppers: (() => Promise<void>)[] = [];
  let unlocked = false;
  const stopAll = async () => {
    const results = await Promise.allSettled(stoppers.splice(0).map((stop) => stop()));
    // Kept when a store did not close: the next start then finds a live or stale holder, never a half-closed store.
    if (results.every((result) => result.status === 'fulfilled') && !unlocked) {
      unlocked = true;
      await unlock();
    }
    const failures = results.filter((result) => result.status === 'rejected');
    if (failures.length > 0) {
      throw new AggregateError(
        failures.map((failure) => failure.reason),
        'the local stack did not stop cleanly',
      );
    }
  };

  const reportDeath = options.log ?? ((message: string) => process.stderr.write(`tillstream: ${message}\n`));

  /** Starts each group of emulators on a thread of its own, in parallel. */
  const startOnThreads = async (...groups: (EmulatorSpec | undefined)[][]): Promise<StartedEndpoints> => {
    const specGroups = groups
      .map((group) => group.filter((spec) => spec !== undefined))
      .filter((group) => group.length > 0);
    const started = await Promise.allSettled(
      specGroups.map((group) => startEmulatorThread(group, reportDeath)),
    );
    const endpoints: StartedEndpoints = {};
    for (const result of started) {
      if (result.status === 'rejected') continue;
      stoppers.push(result.value.stop);
      for (const [component, port] of Object.entries(result.value.ports)) {
        endpoints[component as keyof StartedEndpoints] = `http://${LOOPBACK}:${port}`;
      }
    }
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    return endpoints;
  };

  /** Starts the emulators on this thread, one after another. */
  const startInThread = async (
    dynaliteSpec: Extract<EmulatorSpec, { kind: 'dynalite' }> | undefined,
    kinesisSpec: Extract<EmulatorSpec, { kind: 'kinesalite' }>,
    s3Spec: Extract<EmulatorSpec, { kind: 's3rver' }>,
  ): Promise<StartedEndpoints> => {
    const endpoints: StartedEndpoints = {};
    if (dynaliteSpec) {
      cacheTableDefinitions();
      const server = dynalite({
        path: dynaliteSpec.path,
        createTableMs: 0,
        deleteTableMs: 0,
        updateTableMs: 0,
      });
      endpoints.dynamodb = await startInProcess(server, 'dynamodb');
      stoppers.push(() => closeServer(server));
    }
    const kinesisServer = kinesalite({
      path: kinesisSpec.path,
      createStreamMs: 0,
      deleteStreamMs: 0,
      updateStreamMs: 0,
      shardLimit: kinesisSpec.shardLimit,
    });
    endpoints.kinesis = await startInProcess(kinesisServer, 'kinesis');
    stoppers.push(() => closeServer(kinesisServer));
    const s3rver = new S3rver({
      address: LOOPBACK,
      port: 0,
      silent: true,
      directory: s3Spec.directory,
      vhostBuckets: false,
    });
    try {
      endpoints.s3 = `http://${LOOPBACK}:${(await s3rver.run()).port}`;
    } catch (error) {
      throw new LocalStackError('could not start the S3 emulator', 's3', { cause: error });
    }
    stoppers.push(() => s3rver.close());
    return endpoints;
  };

  try {
    const dynaliteSpec = { kind: 'dynalite', path: join(stateDir, StateFolder.Dynalite) } as const;
    const kinesisSpec = {
      kind: 'kinesalite',
      path: join(stateDir, StateFolder.Kinesis),
      shardLimit: Math.max(MIN_SHARD_LIMIT, 4 * (options.shardCount ?? 2)),
    } as const;
    const s3Spec = { kind: 's3rver', directory: join(stateDir, StateFolder.S3) } as const;
    const endpoints = emulatorThreads
      ? await startOnThreads([dynamoEngine === 'dynalite' ? dynaliteSpec : undefined], [kinesisSpec, s3Spec])
      : await startInThread(dynamoEngine === 'dynalite' ? dynaliteSpec : undefined, kinesisSpec, s3Spec);
    let dynamodb = endpoints.dynamodb;
    if (dynamoEngine === 'local-jar') {
      const jar: RunningEmulator = await startDynamoDbLocal({
        dbPath: join(stateDir, StateFolder.DynamoDbLocal),
        log,
      });
      stoppers.push(jar.stop);
      dynamodb = jar.endpoint;
    }
    const { kinesis, s3 } = endpoints;
    if (dynamodb === undefined || kinesis === undefined || s3 === undefined) {
      throw new Error('invariant: every emulator was started');
    }

    const startMs = Math.round(performance.now() - started);
    const where = emulatorThreads ? 'on worker threads' : 'on the main thread';
    log(`local stack (${dynamoEngine}, ${where}) up in ${startMs} ms, state in ${stateDir}`);
    return {
      endpoints: { dynamodb, kinesis, s3 },
      stateDir,
      dynamoEngine,
      startMs,
      emulatorThreads,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll().catch(() => {});
    throw error;
  }
}
