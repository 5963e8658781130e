// Worker-thread entry of the local stack: runs some of the JS emulators (dynalite, kinesalite,
// s3rver) off the main thread, so their request handling and LevelDB work use another core.
// Plain JavaScript on purpose: a worker needs no TypeScript loader to start, whichever way the
// process was launched (tsx shim, vitest fork, `node --import tsx`). The message shapes are
// declared and checked in emulator-threads.ts.
import { parentPort, workerData } from 'node:worker_threads';
import dynalite from 'dynalite';
import kinesalite from 'kinesalite';
import S3rver from 's3rver';
import { cacheTableDefinitions } from './dynalite-tables.mjs';

const LOOPBACK = '127.0.0.1';

/** @param {unknown} error */
function describe(error) {
  if (error instanceof Error || (typeof error === 'object' && error !== null && 'message' in error)) {
    const code = /** @type {{ code?: unknown }} */ (error).code;
    return {
      message: String(error.message),
      stack: String(error.stack ?? ''),
      code: typeof code === 'string' ? code : '',
    };
  }
  return { message: String(error), stack: '', code: '' };
}

/** @param {import('node:http').Server} server */
function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      server.off('error', reject);
      resolve(/** @type {import('node:net').AddressInfo} */ (server.address()).port);
    });
  });
}

/** The emulators' own `close` waits for pending writes and closes their LevelDB store. */
function close(server) {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve(undefined)));
    server.closeIdleConnections();
  });
}

/** Starts one emulator; resolves to its component, port and stop function. */
async function start(spec) {
  switch (spec.kind) {
    case 'dynalite': {
      cacheTableDefinitions();
      const server = dynalite({ path: spec.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
      return { component: 'dynamodb', port: await listen(server), stop: () => close(server) };
    }
    case 'kinesalite': {
      const server = kinesalite({
        path: spec.path,
        createStreamMs: 0,
        deleteStreamMs: 0,
        updateStreamMs: 0,
        shardLimit: spec.shardLimit,
      });
      return { component: 'kinesis', port: await listen(server), stop: () => close(server) };
    }
    case 's3rver': {
      const s3rver = new S3rver({
        address: LOOPBACK,
        port: 0,
        silent: true,
        directory: spec.directory,
        vhostBuckets: false,
      });
      const { port } = await s3rver.run();
      return { component: 's3', port, stop: () => s3rver.close() };
    }
    default:
      throw new Error(`unknown emulator kind ${JSON.stringify(spec.kind)}`);
  }
}

const componentOf = { dynalite: 'dynamodb', kinesalite: 'kinesis', s3rver: 's3' };

/** @type {{ component: string, stop: () => Promise<unknown> }[]} */
const running = [];

/** Stops every running emulator; resolves to the failures, never rejects. */
async function stopAll() {
  const stopping = running.splice(0);
  const results = await Promise.allSettled(stopping.map(async (emulator) => emulator.stop()));
  return results.flatMap((result, index) =>
    result.status === 'rejected'
      ? [{ component: stopping[index]?.component ?? '', ...describe(result.reason) }]
      : [],
  );
}

if (!parentPort) throw new Error('emulator-worker.mjs runs as a worker thread only');
const port = parentPort;

// An emulator's uncaught error ends this thread only; the main thread gets it in full first
// (a thrown non-Error would otherwise arrive as an empty object).
process.on('uncaughtException', (error) => {
  port.postMessage({ type: 'crashed', ...describe(error) });
  process.exit(1);
});

port.on('message', async (request) => {
  if (request?.type !== 'stop') return;
  const failures = await stopAll();
  port.postMessage({ type: 'stopped', failures });
  // Nothing else holds the event loop once the servers are closed: the thread ends on its own.
  port.close();
});

const ports = {};
for (const spec of workerData.emulators) {
  try {
    const emulator = await start(spec);
    running.push(emulator);
    ports[emulator.component] = emulator.port;
  } catch (error) {
    await stopAll();
    port.postMessage({ type: 'failed', component: componentOf[spec.kind] ?? '', ...describe(error) });
    port.close();
    break;
  }
}
if (running.length === workerData.emulators.length) port.postMessage({ type: 'ready', ports });
