// Three changes to dynalite's store for the local stack's speed, all exact: cached table
// definitions, synchronous reads (`readSynchronously`) and the puts of one turn in one batch
// (`batchPuts`), both at the end.
//
// dynalite reads a table's definition from LevelDB on every request, and once more for every item
// of a BatchGetItem or BatchWriteItem: about a third of its LevelDB reads under the pipeline, each
// a round trip through libuv's thread pool. `cacheTableDefinitions` keeps the definitions that
// item requests read in memory, for the stores dynalite creates from then on in this thread.
//
// It wraps dynalite's own store (`db.create`, which dynalite's server looks up at each start) and
// stays exact: the cache is cleared whenever a table definition is written or deleted (create,
// update, delete table, and the status changes that follow them), and a definition read while such
// a write was in flight is not kept. Table operations (`DescribeTable`, `UpdateTable`,
// `DeleteTable`, which change the object they read) still read LevelDB each time. Local stack
// only: it never runs on AWS. Plain JavaScript, like emulator-worker.mjs, so that the worker
// thread can load it without a TypeScript loader.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
/** dynalite's store module: the instance its server uses (one per thread). */
const dynaliteDb = require(join(dirname(require.resolve('dynalite')), 'db', 'index.js'));

const INSTALLED = Symbol.for('tillstream.dynaliteTableCache');

/**
 * Makes every dynalite store created afterwards in this thread cache the table definitions its
 * item requests read, read LevelDB synchronously and batch its puts. Idempotent.
 */
export function cacheTableDefinitions() {
  if (dynaliteDb[INSTALLED]) return;
  dynaliteDb[INSTALLED] = true;
  const create = dynaliteDb.create;
  dynaliteDb.create = function createWithTableCache(options) {
    const store = create(options);
    readSynchronously(store.db);
    batchPuts(store.db);
    const tables = new Map();
    /** Moves on every definition write, at its start and at its end. */
    let writes = 0;
    const readTable = store.getTable;
    store.getTable = function getTable(name, checkStatus, callback) {
      if (typeof checkStatus === 'function') return getTable(name, true, checkStatus);
      // Table operations read their own copy, which they change before writing it back.
      if (checkStatus === false) return readTable(name, false, callback);
      const cached = tables.get(name);
      if (cached !== undefined) {
        process.nextTick(callback, null, cached);
        return;
      }
      const writesBefore = writes;
      readTable(name, true, (error, table) => {
        if (!error && table && writes === writesBefore) tables.set(name, table);
        callback(error, table);
      });
    };
    const tableDb = store.tableDb;
    for (const method of ['put', 'del', 'batch']) {
      const write = tableDb[method];
      tableDb[method] = function writeDefinition(...args) {
        writes++;
        tables.clear();
        const last = args.length - 1;
        if (typeof args[last] === 'function') {
          const done = args[last];
          args[last] = (...results) => {
            writes++;
            tables.clear();
            done(...results);
          };
        }
        const result = write.apply(this, args);
        // Promise style, without a callback: the same once it settles.
        if (result && typeof result.then === 'function') {
          const settled = () => {
            writes++;
            tables.clear();
          };
          result.then(settled, settled);
        }
        return result;
      };
    }
    return store;
  };
}

/**
 * Reads LevelDB on dynalite's own thread (`getSync`) instead of through libuv's thread pool: a read
 * from the block cache takes microseconds, the round trip to a pool thread and back tens of them on
 * a busy machine. Values, misses and errors are those of `get`; the callback still runs later
 * (next tick), as dynalite expects. A database that is not open keeps the asynchronous path, with
 * its errors.
 */
function readSynchronously(db) {
  const get = db.get;
  if (db.supports?.getSync !== true) return;
  db.get = function getNow(key, callback) {
    if (typeof callback !== 'function' || db.status !== 'open') return get.call(this, key, callback);
    let value;
    try {
      value = db.getSync(key);
    } catch (error) {
      process.nextTick(callback, error);
      return;
    }
    process.nextTick(callback, null, value);
  };
}

/**
 * Puts that dynalite issues within one turn of the event loop go to LevelDB as one batch: one
 * round trip through libuv's thread pool instead of one per put. Each put's callback runs when the
 * batch is written, with its error if it failed; a put is no more visible before its callback than
 * it was (a read issued meanwhile sees the value before, as with a put in flight).
 */
function batchPuts(db) {
  const put = db.put;
  let pending = [];
  const flush = () => {
    const batch = pending;
    pending = [];
    const ops = batch.map(({ key, value }) => ({ type: 'put', key, value }));
    db.batch(ops, (error) => {
      for (const entry of batch) entry.callback(error ?? null);
    });
  };
  db.put = function putInBatch(key, value, callback) {
    if (typeof callback !== 'function' || db.status !== 'open') return put.call(this, key, value, callback);
    pending.push({ key, value, callback });
    if (pending.length === 1) setImmediate(flush);
  };
}
