/**
 * The local stack's changes to dynalite's store (shared/local/dynalite-tables.mjs): item reads on
 * dynalite's own thread give what reads through the pool give; the puts of one turn are written as
 * one batch; item requests stop reading the
 * table definition from the store, and every table change is still seen at once (a deleted table
 * is gone, a recreated one has its new key schema).
 */

import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheTableDefinitions } from '../../shared/local/dynalite-tables.mjs';
import { closeServer } from '../../shared/local/ports.js';

interface StoreModule {
  create: (options: unknown) => {
    tableDb: { get: (...args: unknown[]) => unknown };
    db: { getSync: (...args: unknown[]) => unknown };
  };
}

const require = createRequire(import.meta.url);
const storeModule = require(join(dirname(require.resolve('dynalite')), 'db', 'index.js')) as StoreModule;

describe('dynalite with cached table definitions', () => {
  /** Reads of a table definition from dynalite's store. */
  let definitionReads = 0;
  /** Reads of LevelDB on dynalite's own thread. */
  let syncReads = 0;

  let server: ReturnType<typeof dynalite>;
  let client: DynamoDBClient;

  beforeAll(async () => {
    cacheTableDefinitions();
    // Counts the store's own reads, beneath the cache.
    const create = storeModule.create;
    storeModule.create = (options) => {
      const store = create(options);
      const get = store.tableDb.get;
      store.tableDb.get = (...args) => {
        definitionReads++;
        return get.apply(store.tableDb, args);
      };
      const getSync = store.db.getSync;
      store.db.getSync = (...args) => {
        syncReads++;
        return getSync.apply(store.db, args);
      };
      return store;
    };
    server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    storeModule.create = create;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  });

  afterAll(async () => {
    client?.destroy();
    if (server) await closeServer(server);
  });

  const createTable = async (keyName: string) => {
    await client.send(
      new CreateTableCommand({
        TableName: 'cached',
        KeySchema: [{ AttributeName: keyName, KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: keyName, AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    // Active once the status change (a definition write of its own) has landed.
    for (;;) {
      const table = await client.send(new DescribeTableCommand({ TableName: 'cached' }));
      if (table.Table?.TableStatus === 'ACTIVE') return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const dropTable = async () => {
    await client.send(new DeleteTableCommand({ TableName: 'cached' }));
    for (;;) {
      const gone = await client
        .send(new DescribeTableCommand({ TableName: 'cached' }))
        .then(() => false)
        .catch((error: unknown) => error instanceof ResourceNotFoundException);
      if (gone) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const put = (item: Record<string, string>) =>
    client.send(
      new PutItemCommand({
        TableName: 'cached',
        Item: Object.fromEntries(Object.entries(item).map(([name, value]) => [name, { S: value }])),
      }),
    );

  it('reads items on its own thread, with the values, misses and conditions of a read through the pool', async () => {
    // Prepare
    await createTable('pk');
    await put({ pk: 'a', v: '1' });
    // Act
    const readsBefore = syncReads;
    const found = await client.send(new GetItemCommand({ TableName: 'cached', Key: { pk: { S: 'a' } } }));
    const missing = await client.send(new GetItemCommand({ TableName: 'cached', Key: { pk: { S: 'zz' } } }));
    const refused = await client
      .send(
        new PutItemCommand({
          TableName: 'cached',
          Item: { pk: { S: 'a' }, v: { S: '2' } },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      )
      .catch((error: unknown) => error);
    const replaced = await client.send(
      new PutItemCommand({
        TableName: 'cached',
        Item: { pk: { S: 'a' }, v: { S: '3' } },
        ReturnValues: 'ALL_OLD',
      }),
    );
    const after = await client.send(new GetItemCommand({ TableName: 'cached', Key: { pk: { S: 'a' } } }));
    await dropTable();
    // Assess
    expect(found.Item).toEqual({ pk: { S: 'a' }, v: { S: '1' } });
    expect(missing.Item).toBeUndefined();
    expect((refused as Error).name).toBe('ConditionalCheckFailedException');
    expect(replaced.Attributes).toEqual({ pk: { S: 'a' }, v: { S: '1' } });
    expect(after.Item).toEqual({ pk: { S: 'a' }, v: { S: '3' } });
    expect(syncReads - readsBefore).toBeGreaterThanOrEqual(4);
  });

  it('writes the puts of one turn as one batch, and calls back each put once it is written', async () => {
    // Prepare: a store of its own, with the same changes
    const store = storeModule.create({}) as unknown as {
      db: {
        put: (key: string, value: unknown, callback: (error: Error | null) => void) => void;
        get: (key: string, callback: (error: Error | null, value?: unknown) => void) => void;
        batch: (...args: unknown[]) => unknown;
        open: () => Promise<void>;
      };
    };
    await store.db.open();
    let storeBatches = 0;
    const batch = store.db.batch;
    store.db.batch = (...args) => {
      storeBatches++;
      return batch.apply(store.db, args);
    };
    // Act: 40 puts in one turn
    const written = Array.from(
      { length: 40 },
      (_, index) =>
        new Promise<void>((resolve, reject) =>
          store.db.put(`k${index}`, { v: index }, (error) => (error ? reject(error) : resolve())),
        ),
    );
    await Promise.all(written);
    const values = await Promise.all(
      Array.from(
        { length: 40 },
        (_, index) =>
          new Promise((resolve, reject) =>
            store.db.get(`k${index}`, (error, value) => (error ? reject(error) : resolve(value))),
          ),
      ),
    );
    // Assess
    expect(storeBatches).toBe(1);
    expect(values).toEqual(Array.from({ length: 40 }, (_, index) => ({ v: index })));
  });

  it('reads a definition once for many item requests, and sees a deleted and a recreated table', async () => {
    // Prepare
    await createTable('pk');

    // Act: 50 item requests
    const readsBefore = definitionReads;
    for (let index = 0; index < 50; index++) await put({ pk: `k${index}`, v: 'x' });
    const got = await client.send(new GetItemCommand({ TableName: 'cached', Key: { pk: { S: 'k7' } } }));
    const readsForItems = definitionReads - readsBefore;

    // Act: the table deleted, then created again with another key
    await dropTable();
    const putAfterDelete = await put({ pk: 'k1' }).catch((error: unknown) => error);
    await createTable('id');
    const putWithOldKey = await put({ pk: 'k1' }).catch((error: unknown) => error);
    await put({ id: 'i1', v: 'y' });
    const recreated = await client.send(
      new GetItemCommand({ TableName: 'cached', Key: { id: { S: 'i1' } } }),
    );

    // Assess
    expect(got.Item?.['v']).toEqual({ S: 'x' });
    expect(readsForItems).toBeLessThanOrEqual(1);
    expect(putAfterDelete).toBeInstanceOf(ResourceNotFoundException);
    expect((putWithOldKey as Error).name).toBe('ValidationException');
    expect(recreated.Item?.['v']).toEqual({ S: 'y' });
  });
});
