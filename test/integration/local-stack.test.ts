import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListStreamsCommand,
  PutRecordCommand,
} from '@aws-sdk/client-kinesis';
import {
  GetObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapLocalResources } from '../../shared/aws/bootstrap.js';
import { type AwsClients, createClients, type LocalEndpoints } from '../../shared/aws/clients.js';
import type { DynamoEngine } from '../../shared/config.js';
import { JavaMissingError, LocalStackError } from '../../shared/local/errors.js';
import { type LocalStack, startLocalStack } from '../../shared/local/stack.js';
import { bucketNames, resourceNames, tableNames } from '../../shared/resources.js';

const names = resourceNames({ resourcePrefix: 'tillstream' });
const SHARDS = 2;

const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
const javaAvailable = java.status === 0;
const engines: DynamoEngine[] = javaAvailable ? ['dynalite', 'local-jar'] : ['dynalite'];
if (!javaAvailable) {
  console.warn(
    `java -version failed (${java.error?.message ?? java.stderr}): the local-jar engine cases are left out; ` +
      'the JavaMissingError case below still runs',
  );
}

/** Resolves true when something accepts TCP connections at the endpoint's port. */
function accepts(endpoint: string): Promise<boolean> {
  const { hostname, port } = new URL(endpoint);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function expectAllClosed(endpoints: LocalEndpoints): Promise<void> {
  for (const endpoint of Object.values(endpoints)) expect(await accepts(endpoint), endpoint).toBe(false);
}

describe('local stack', () => {
  let stateRoot: string;
  const running: { stack: LocalStack; clients: AwsClients }[] = [];

  async function start(
    stateDir: string,
    options: {
      fresh?: boolean;
      dynamoEngine?: DynamoEngine;
      emulatorThreads?: boolean;
      log?: (message: string) => void;
    } = {},
  ): Promise<{ stack: LocalStack; clients: AwsClients }> {
    const stack = await startLocalStack({ stateDir, shardCount: SHARDS, ...options });
    const opened = { stack, clients: createClients({ kind: 'local', endpoints: stack.endpoints }) };
    running.push(opened);
    return opened;
  }

  async function stop(opened: { stack: LocalStack; clients: AwsClients }): Promise<void> {
    running.splice(running.indexOf(opened), 1);
    opened.clients.destroy();
    await opened.stack.stop();
  }

  beforeAll(async () => {
    stateRoot = await mkdtemp(join(tmpdir(), 'tillstream-stack-'));
  });
  afterEach(async () => {
    for (const opened of [...running]) await stop(opened);
  });
  afterAll(async () => {
    await rm(stateRoot, { recursive: true, force: true });
  });

  describe.each(engines)('with DynamoDB on %s', (dynamoEngine) => {
    it('starts on free loopback ports, bootstraps every resource once, and stops closing its ports', async () => {
      // Prepare
      const stateDir = join(stateRoot, `bootstrap-${dynamoEngine}`);

      // Act
      const opened = await start(stateDir, { dynamoEngine });
      const first = await bootstrapLocalResources(opened.stack.endpoints, names, { shardCount: SHARDS });
      const second = await bootstrapLocalResources(opened.stack.endpoints, names, { shardCount: SHARDS });

      // Assess
      for (const endpoint of Object.values(opened.stack.endpoints)) {
        expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        expect(endpoint).not.toMatch(/:(0|8000|4567|4568)$/);
      }
      const everything = [...tableNames(names), names.ordersStream, ...bucketNames(names)].sort();
      expect(first).toEqual({ created: everything, existing: [] });
      expect(second).toEqual({ created: [], existing: everything });
      const { TableNames } = await opened.clients.dynamo.send(new ListTablesCommand({}));
      expect(TableNames?.sort()).toEqual([...tableNames(names)].sort());
      for (const table of tableNames(names)) {
        const { Table } = await opened.clients.dynamo.send(new DescribeTableCommand({ TableName: table }));
        expect(Table?.TableStatus).toBe('ACTIVE');
        expect(Table?.KeySchema).toEqual([
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ]);
        expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
      }
      const { StreamDescriptionSummary } = await opened.clients.kinesis.send(
        new DescribeStreamSummaryCommand({ StreamName: names.ordersStream }),
      );
      expect(StreamDescriptionSummary).toMatchObject({ StreamStatus: 'ACTIVE', OpenShardCount: SHARDS });
      const { Buckets } = await opened.clients.s3.send(new ListBucketsCommand({}));
      expect(Buckets?.map((bucket) => bucket.Name).sort()).toEqual([...bucketNames(names)].sort());

      const endpoints = opened.stack.endpoints;
      await stop(opened);
      await expectAllClosed(endpoints);
    });

    it('keeps a DynamoDB item across stop and restart, and loses it with fresh', async () => {
      // Prepare
      const stateDir = join(stateRoot, `dynamo-${dynamoEngine}`);
      const first = await start(stateDir, { dynamoEngine });
      await bootstrapLocalResources(first.stack.endpoints, names, { shardCount: SHARDS });
      const item = { pk: 'shard#shardId-000000000001', sk: 'checkpoint', sequence: '4963' + '0'.repeat(50) };
      await first.clients.doc.send(new PutCommand({ TableName: names.stateTable, Item: item }));
      await stop(first);

      // Act
      const restarted = await start(stateDir, { dynamoEngine });
      const again = await bootstrapLocalResources(restarted.stack.endpoints, names, { shardCount: SHARDS });
      const { Item } = await restarted.clients.doc.send(
        new GetCommand({
          TableName: names.stateTable,
          Key: { pk: item.pk, sk: item.sk },
          ConsistentRead: true,
        }),
      );
      await stop(restarted);
      const wiped = await start(stateDir, { dynamoEngine, fresh: true });
      const { TableNames } = await wiped.clients.dynamo.send(new ListTablesCommand({}));

      // Assess
      expect(again.created).toEqual([]);
      expect(Item).toEqual(item);
      expect(TableNames).toEqual([]);
    });
  });

  it('runs the emulators on worker threads by default, and on the main thread with the same state when asked', async () => {
    // Prepare
    const stateDir = join(stateRoot, 'threads');
    const threaded = await start(stateDir);
    await bootstrapLocalResources(threaded.stack.endpoints, names, { shardCount: SHARDS });
    const item = { pk: 'location#l-1', sk: 'day#2023-01-10', netRevenueCents: 123_456 };
    await threaded.clients.doc.send(new PutCommand({ TableName: names.aggregatesTable, Item: item }));
    const put = await threaded.clients.kinesis.send(
      new PutRecordCommand({
        StreamName: names.ordersStream,
        PartitionKey: 'o-1',
        Data: new TextEncoder().encode('o-1'),
      }),
    );
    await threaded.clients.s3.send(
      new PutObjectCommand({ Bucket: names.rawBucket, Key: 'a.csv', Body: 'a,b\n' }),
    );
    await stop(threaded);

    // Act
    const inThread = await start(stateDir, { emulatorThreads: false });
    const { Item } = await inThread.clients.doc.send(
      new GetCommand({
        TableName: names.aggregatesTable,
        Key: { pk: item.pk, sk: item.sk },
        ConsistentRead: true,
      }),
    );
    const { ShardIterator } = await inThread.clients.kinesis.send(
      new GetShardIteratorCommand({
        StreamName: names.ordersStream,
        ShardId: put.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    const { Records } = await inThread.clients.kinesis.send(new GetRecordsCommand({ ShardIterator }));
    const object = await inThread.clients.s3.send(
      new GetObjectCommand({ Bucket: names.rawBucket, Key: 'a.csv' }),
    );
    const body = await object.Body?.transformToString();
    const endpoints = inThread.stack.endpoints;
    await stop(inThread);

    // Assess
    expect(threaded.stack.emulatorThreads).toBe(true);
    expect(inThread.stack.emulatorThreads).toBe(false);
    expect(Item).toEqual(item);
    expect(Records?.map((record) => record.SequenceNumber)).toEqual([put.SequenceNumber]);
    expect(body).toBe('a,b\n');
    await expectAllClosed(endpoints);
  });

  it('reports an emulator thread that dies, keeps the others serving, and still stops and unlocks', async () => {
    // Prepare: kinesalite's LevelDB cannot open a store under a file, and throws on its thread.
    const stateDir = join(stateRoot, 'dying-thread');
    await mkdir(stateDir, { recursive: true });
    await writeFile(join(stateDir, 'kinesis'), 'not a directory');
    const messages: string[] = [];
    const opened = await start(stateDir, { log: (message) => messages.push(message) });

    // Act
    const deadline = Date.now() + 30_000;
    while (!messages.some((message) => message.includes('died')) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const { TableNames } = await opened.clients.dynamo.send(new ListTablesCommand({}));
    const endpoints = opened.stack.endpoints;
    const kinesisAnswers = await accepts(endpoints.kinesis);
    await stop(opened);
    await rm(join(stateDir, 'kinesis'));
    const restarted = await start(stateDir);

    // Assess
    const death = messages.find((message) => message.includes('died'));
    expect(death).toMatch(
      /^the kinesis \+ s3 emulator thread died \(exit code 1\): OpenError: .*Not a directory/,
    );
    expect(TableNames).toEqual([]);
    expect(kinesisAnswers).toBe(false);
    await expectAllClosed(endpoints);
    expect(restarted.stack.endpoints.kinesis).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('fails with a clear message when local-jar is asked for and java is not on the PATH', async () => {
    // Prepare
    const emptyBin = await mkdtemp(join(stateRoot, 'no-java-'));
    const path = process.env['PATH'];
    process.env['PATH'] = emptyBin;

    try {
      // Act
      const starting = startLocalStack({ stateDir: join(stateRoot, 'no-java'), dynamoEngine: 'local-jar' });

      // Assess
      await expect(starting).rejects.toThrow(JavaMissingError);
      await expect(starting).rejects.toThrow(/needs Java 17 or newer, but 'java' was not found on the PATH/);
    } finally {
      process.env['PATH'] = path;
    }
  });

  it('refuses a second stack on a state directory in use, even with fresh, and leaves the first intact', async () => {
    // Prepare
    const stateDir = join(stateRoot, 'locked');
    const first = await start(stateDir);
    await bootstrapLocalResources(first.stack.endpoints, names, { shardCount: SHARDS });

    // Act
    const second = startLocalStack({ stateDir, fresh: true });

    // Assess
    await expect(second).rejects.toThrow(LocalStackError);
    await expect(second).rejects.toThrow(/already in use/);
    const { TableNames } = await first.clients.dynamo.send(new ListTablesCommand({}));
    expect(TableNames?.length).toBe(tableNames(names).length);
    await stop(first);
    const restarted = await start(stateDir);
    expect((await restarted.clients.dynamo.send(new ListTablesCommand({}))).TableNames?.length).toBe(
      tableNames(names).length,
    );
  });

  it('keeps Kinesis records and their sequence across stop and restart, and loses them with fresh', async () => {
    // Prepare
    const stateDir = join(stateRoot, 'kinesis');
    const first = await start(stateDir);
    await bootstrapLocalResources(first.stack.endpoints, names, { shardCount: SHARDS });
    const data = new TextEncoder().encode('{"orderId":"o-1","netRevenueCents":1234}');
    const put = await first.clients.kinesis.send(
      new PutRecordCommand({ StreamName: names.ordersStream, PartitionKey: 'o-1', Data: data }),
    );
    await stop(first);

    // Act
    const restarted = await start(stateDir);
    const later = await restarted.clients.kinesis.send(
      new PutRecordCommand({
        StreamName: names.ordersStream,
        PartitionKey: 'o-1',
        Data: new TextEncoder().encode('later'),
      }),
    );
    const { ShardIterator } = await restarted.clients.kinesis.send(
      new GetShardIteratorCommand({
        StreamName: names.ordersStream,
        ShardId: put.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    const { Records } = await restarted.clients.kinesis.send(new GetRecordsCommand({ ShardIterator }));
    await stop(restarted);
    const wiped = await start(stateDir, { fresh: true });
    const { StreamNames } = await wiped.clients.kinesis.send(new ListStreamsCommand({}));

    // Assess
    expect(later.ShardId).toBe(put.ShardId);
    expect(Records?.map((record) => record.SequenceNumber)).toEqual([
      put.SequenceNumber,
      later.SequenceNumber,
    ]);
    expect(Buffer.from(Records?.[0]?.Data ?? [])).toEqual(Buffer.from(data));
    expect(BigInt(later.SequenceNumber ?? '0')).toBeGreaterThan(BigInt(put.SequenceNumber ?? '0'));
    expect(StreamNames).toEqual([]);
  });

  it('keeps S3 objects byte for byte across stop and restart, pages listings, and loses them with fresh', async () => {
    // Prepare
    const stateDir = join(stateRoot, 's3');
    const first = await start(stateDir);
    await bootstrapLocalResources(first.stack.endpoints, names, { shardCount: SHARDS });
    const body = Buffer.concat([
      Buffer.from(Array.from({ length: 256 }, (_, byte) => byte)),
      randomBytes(300_000),
    ]);
    await first.clients.s3.send(
      new PutObjectCommand({ Bucket: names.rawBucket, Key: 'raw/exports/order_items.csv', Body: body }),
    );
    const keys = Array.from(
      { length: 25 },
      (_, index) => `quarantine/file-${String(index).padStart(2, '0')}.jsonl`,
    );
    for (const key of keys) {
      await first.clients.s3.send(
        new PutObjectCommand({ Bucket: names.quarantineBucket, Key: key, Body: key }),
      );
    }
    await stop(first);

    // Act
    const restarted = await start(stateDir);
    const object = await restarted.clients.s3.send(
      new GetObjectCommand({ Bucket: names.rawBucket, Key: 'raw/exports/order_items.csv' }),
    );
    const stored = Buffer.from((await object.Body?.transformToByteArray()) ?? []);
    const pages: string[][] = [];
    for await (const page of paginateListObjectsV2(
      { client: restarted.clients.s3 },
      { Bucket: names.quarantineBucket, MaxKeys: 10 },
    )) {
      pages.push((page.Contents ?? []).map((entry) => entry.Key ?? ''));
    }
    await stop(restarted);
    const wiped = await start(stateDir, { fresh: true });
    const { Buckets } = await wiped.clients.s3.send(new ListBucketsCommand({}));

    // Assess
    expect(stored.equals(body)).toBe(true);
    expect(pages.map((page) => page.length)).toEqual([10, 10, 5]);
    expect(pages.flat()).toEqual(keys);
    expect(Buckets ?? []).toEqual([]);
  });
});

describe('tillstream stack', () => {
  let stateRoot: string;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    stateRoot = await mkdtemp(join(tmpdir(), 'tillstream-cli-'));
  });
  afterEach(() => {
    // A failed assertion must not leave the stack running.
    if (child && child.exitCode === null && child.signalCode === null && child.pid) {
      process.kill(-child.pid, 'SIGKILL');
    }
    child = undefined;
  });
  afterAll(async () => {
    await rm(stateRoot, { recursive: true, force: true });
  });

  /** Starts the CLI in its own process group, as a terminal would, and waits for its endpoints. */
  async function startCli(stateDir: string): Promise<{ endpoints: LocalEndpoints; output: () => string }> {
    // The shim adds --openssl-legacy-provider itself; the parent's flags must not leak in.
    const { NODE_OPTIONS: _ignored, ...env } = process.env;
    child = spawn(
      process.execPath,
      ['shared/cli/tillstream.mjs', 'stack', '--fresh', '--state-dir', stateDir],
      {
        cwd: process.cwd(),
        env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    const running = child;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no endpoints within 60 s:\n${output}`)), 60_000);
      const check = () => {
        if (output.includes('Running; Ctrl-C stops it.')) {
          clearTimeout(timer);
          resolve();
        }
      };
      running.stdout?.on('data', check);
      running.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`exited with ${code} before it was ready:\n${output}`));
      });
    });
    const endpoint = (service: string) => {
      const match = new RegExp(`^  ${service}\\s+(http://127\\.0\\.0\\.1:\\d+)$`, 'm').exec(output);
      if (!match?.[1]) throw new Error(`no ${service} endpoint in:\n${output}`);
      return match[1];
    };
    return {
      endpoints: { dynamodb: endpoint('dynamodb'), kinesis: endpoint('kinesis'), s3: endpoint('s3') },
      output: () => output,
    };
  }

  function exitOf(process: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (process.exitCode !== null || process.signalCode !== null) {
      return Promise.resolve({ code: process.exitCode, signal: process.signalCode });
    }
    return new Promise((resolve) => process.once('exit', (code, signal) => resolve({ code, signal })));
  }

  it.each([
    // A terminal's Ctrl-C reaches the whole foreground process group.
    { signal: 'SIGINT' as const, toGroup: true },
    // A process manager signals the command's own process only.
    { signal: 'SIGTERM' as const, toGroup: false },
  ])('starts, serves its endpoints and exits 0 cleanly on $signal', async ({ signal, toGroup }) => {
    // Prepare
    const stateDir = join(stateRoot, signal);
    const { endpoints, output } = await startCli(stateDir);
    const clients = createClients({ kind: 'local', endpoints });
    const { TableNames } = await clients.dynamo.send(new ListTablesCommand({}));
    const { Buckets } = await clients.s3.send(new ListBucketsCommand({}));
    clients.destroy();
    const running = child as ChildProcess & { pid: number };

    // Act
    const exited = exitOf(running);
    process.kill(toGroup ? -running.pid : running.pid, signal);
    const { code } = await exited;

    // Assess
    expect(TableNames?.sort()).toEqual([...tableNames(names)].sort());
    expect(Buckets?.length).toBe(3);
    expect(code, output()).toBe(0);
    expect(output()).toContain(`${signal}: stopping the local stack`);
    expect(output()).toContain('local stack stopped');
    await expectAllClosed(endpoints);
  });
});
