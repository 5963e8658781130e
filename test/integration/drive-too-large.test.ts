/**
 * A Drive file over `max_file_bytes` is quarantined whole with its raw copy kept: the poller must
 * stream it (the cap exists for files too big to hold; two buffers of a file of some hundred MB
 * would kill the 1,024 MB poller Lambda at the same file every cycle), and a file that changes
 * between the read that hashes it and the read that stores it must not be stored under the hash
 * of other bytes.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDriveClient } from '../../ingest/drive/client.js';
import { LocalDriveServer } from '../../ingest/drive/local-server.js';
import { createDriveSource } from '../../ingest/drive/source.js';
import { runPollCycle } from '../../ingest/poll.js';
import { rawKey } from '../../ingest/raw-layer.js';
import type { FileSource } from '../../ingest/source.js';
import { listKeys, readObject, useIngestStack } from '../support/ingest-stack.js';

const HEADER =
  'APP_NAME,RESTAURANT_ID,CREATION_TIME_UTC,ORDER_ID,USER_ID,PRINTED_CARD_NUMBER,IS_LOYALTY,CURRENCY,LINEITEM_ID,ITEM_CATEGORY,ITEM_NAME,ITEM_PRICE,ITEM_QUANTITY';
const T0 = Date.parse('2023-08-20T12:00:00Z');
const ROW = 'App,R1,2023-08-14T17:03:12Z,O1,U1,,TRUE,USD,L1,Burgers,Cheese,1.00,1\n';
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** About `mib` MiB of one repeated row; `price` makes two contents of the same size differ. */
function bigExport(mib: number, price = '1.00'): Buffer {
  const row = ROW.replace('1.00', price);
  return Buffer.from(`${HEADER}\n${row.repeat(Math.ceil((mib * 1024 * 1024) / row.length))}`);
}

describe('a Drive file over max_file_bytes', () => {
  const stack = useIngestStack();
  let server: LocalDriveServer;
  beforeAll(async () => {
    server = new LocalDriveServer();
    await server.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  const driveSource = (root: string) =>
    createDriveSource({
      drive: createDriveClient({ accessToken: 'token', rootUrl: server.rootUrl }),
      folderIds: [root],
      backoff: { sleep: async () => {}, random: () => 0 },
    });

  it('is streamed, never read whole, and kept byte for byte under its hash', async () => {
    // Prepare: 24 MiB of rows, a 1 MiB cap
    const { names, settings } = await stack.resources({ maxFileBytes: 1024 * 1024 });
    const root = server.addFolder('exports');
    const big = bigExport(24);
    const id = server.addFile('huge.csv', root, big);
    const source = driveSource(root);
    const [listed] = await source.listFiles();

    // Act
    let chunks = 0;
    for await (const _chunk of await source.open(listed!)) chunks++;
    const result = await runPollCycle({ clients: stack.clients, names, settings, source, clock: () => T0 });

    // Assess: the download arrives in many chunks (a buffered read is one); the raw copy is exact
    expect(chunks).toBeGreaterThan(10);
    expect(result.reports.map((report) => [report.path, report.status])).toEqual([
      ['exports/huge.csv', 'file_too_large'],
    ]);
    const key = rawKey('drive', id, sha256(big), 'huge.csv');
    expect((await readObject(stack.clients, names.rawBucket, key)).equals(big)).toBe(true);
  }, 60_000);

  it('is not stored under the first read’s hash when it changes before the second read', async () => {
    // Prepare: the file's content changes (same size) just before the poller's second read
    const { names, settings } = await stack.resources({ maxFileBytes: 1024 * 1024 });
    const root = server.addFolder('exports-changing');
    const first = bigExport(4);
    const second = bigExport(4, '2.00');
    expect(second.length).toBe(first.length);
    const id = server.addFile('changing.csv', root, first);
    const drive = driveSource(root);
    let opens = 0;
    const source: FileSource = {
      ...drive,
      open: async (file) => {
        if (++opens === 2) server.updateContent(id, second);
        return drive.open(file);
      },
    };
    const poll = () => runPollCycle({ clients: stack.clients, names, settings, source, clock: () => T0 });

    // Act
    const skipped = await poll();
    const keysAfterFailure = await listKeys(stack.clients, names.rawBucket, `raw/source=drive/file=${id}/`);
    const retried = await poll();

    // Assess: the first poll skips the file naming the change; the next lands the new content
    expect(skipped.reports).toEqual([]);
    expect(skipped.errors).toEqual([
      {
        path: 'exports-changing/changing.csv',
        message: expect.stringMatching(/changed while it was being landed .*: the next poll lands it again$/),
      },
    ]);
    // No report: the version is not recorded. (S3 stores nothing of an aborted or mismatched
    // PutObject, its ChecksumSHA256 naming the first read's hash; s3rver keeps what it received of
    // the aborted body, so the raw key itself is not checked here.)
    expect(keysAfterFailure.filter((key) => key.endsWith('.ingest-report.json'))).toEqual([]);
    expect(retried.reports.map((report) => report.status)).toEqual(['file_too_large']);
    const key = rawKey('drive', id, sha256(second), 'changing.csv');
    expect((await readObject(stack.clients, names.rawBucket, key)).equals(second)).toBe(true);
  }, 60_000);
});
