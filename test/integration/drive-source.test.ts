import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDriveClient } from '../../ingest/drive/client.js';
import { DriveMimeType, LocalDriveServer } from '../../ingest/drive/local-server.js';
import { createDriveSource } from '../../ingest/drive/source.js';
import { ExportTooLargeError, SourceError } from '../../ingest/errors.js';
import { readAll, type SourceFile } from '../../ingest/source.js';

const TOKEN = 'test-token';
const noSleep = { sleep: async () => {}, random: () => 0 };

function byPath(files: readonly SourceFile[]): string[] {
  return files.map((file) => file.path).sort();
}

describe('Drive source against the local Drive API server', () => {
  let server: LocalDriveServer;

  beforeEach(async () => {
    server = new LocalDriveServer();
    server.requiredToken = TOKEN;
    await server.start();
  });
  afterEach(async () => {
    await server.stop();
  });

  const client = () => createDriveClient({ accessToken: TOKEN, rootUrl: server.rootUrl });

  it('lists subfolders, resolves shortcuts, skips trash and reads blobs and Sheets', async () => {
    // Prepare
    const root = server.addFolder('exports');
    const sub = server.addFolder('2023', root);
    const elsewhere = server.addFolder('elsewhere');
    server.addFile('a.csv', root, 'A,B\n1,2\n');
    server.addFile('b.csv', sub, 'A,B\n3,4\n');
    const trashed = server.addFile('old.csv', root, 'A\n1\n');
    server.trash(trashed);
    const target = server.addFile('target.csv', elsewhere, 'T\n1\n');
    server.addShortcut('link to target', sub, target);
    server.addSheet('sheet', root, 'S,T\n5,6\n');
    server.addDocument('notes', root);
    const source = createDriveSource({ drive: client(), folderIds: [root], backoff: noSleep });

    // Act
    const files = await source.listFiles();

    // Assess
    expect(byPath(files)).toEqual([
      'exports/2023/b.csv',
      'exports/2023/target.csv',
      'exports/a.csv',
      'exports/notes',
      'exports/sheet',
    ]);
    const sheet = files.find((file) => file.name === 'sheet');
    expect(sheet?.contentKind).toBe('sheet_export');
    expect(files.find((file) => file.name === 'notes')?.contentKind).toBe('unsupported');
    const viaShortcut = files.find((file) => file.name === 'target.csv');
    expect(viaShortcut?.id).toBe(target);
    expect((await readAll(await source.open(viaShortcut!))).toString()).toBe('T\n1\n');
    expect((await readAll(await source.open(sheet!))).toString()).toBe('S,T\n5,6\n');
  });

  it('reads Shared Drives, paginates and retries 429, 500 and dropped connections', async () => {
    // Prepare
    const shared = server.addSharedDrive('Chain exports');
    for (let index = 0; index < 7; index++) server.addFile(`f${index}.csv`, shared, `X\n${index}\n`);
    const source = createDriveSource({ drive: client(), folderIds: [shared], pageSize: 2, backoff: noSleep });
    server.failNext(2, 429);
    server.failNext(1, 500);
    server.dropNext(1);

    // Act
    const files = await source.listFiles();

    // Assess
    expect(files).toHaveLength(7);
    expect(server.requestCounts.get('/files')).toBeGreaterThanOrEqual(4);
    expect(files.every((file) => file.sizeBytes !== null && file.versionTag.length === 32)).toBe(true);
  });

  it('restarts a listing whose page token expired', async () => {
    // Prepare
    const root = server.addFolder('exports');
    for (let index = 0; index < 5; index++) server.addFile(`f${index}.csv`, root, `X\n${index}\n`);
    let listings = 0;
    // The second page request finds the token of the first page expired.
    server.onRequest = (endpoint) => {
      if (endpoint === '/files' && ++listings === 2) server.expirePageTokens();
    };
    const drive = client();
    const source = createDriveSource({ drive, folderIds: [root], pageSize: 2, backoff: noSleep });

    // Act
    const files = await source.listFiles();

    // Assess
    expect(files).toHaveLength(5);
    expect(listings).toBe(5);
  });

  it('reports an over-cap Sheet instead of reading part of it', async () => {
    // Prepare
    const root = server.addFolder('exports');
    server.exportCapBytes = 10;
    server.addSheet('big', root, 'A,B\n1,2\n3,4\n5,6\n');
    const source = createDriveSource({ drive: client(), folderIds: [root], backoff: noSleep });
    const [sheet] = await source.listFiles();

    // Act
    const opening = source.open(sheet!);

    // Assess
    await expect(opening).rejects.toBeInstanceOf(ExportTooLargeError);
  });

  it('lists nothing when the changes API reports no change since the saved token', async () => {
    // Prepare
    const root = server.addFolder('exports');
    server.addFile('a.csv', root, 'A\n1\n');
    let saved: string | null = null;
    const tokens = {
      load: async () => saved,
      save: async (token: string) => {
        saved = token;
      },
    };
    const source = createDriveSource({ drive: client(), folderIds: [root], tokens, backoff: noSleep });
    expect(await source.listFiles()).toHaveLength(1);
    await source.commit?.();

    // Act
    const idle = await source.listFiles();
    await source.commit?.();
    server.addFile('b.csv', root, 'A\n2\n');
    const afterChange = await source.listFiles();
    await source.commit?.();
    server.expirePageTokens();
    const afterExpiry = await source.listFiles();

    // Assess
    expect(idle).toEqual([]);
    expect(byPath(afterChange)).toEqual(['exports/a.csv', 'exports/b.csv']);
    expect(afterExpiry).toHaveLength(2);
  });

  it('fails with a SourceError when credentials are refused', async () => {
    // Prepare
    const root = server.addFolder('exports');
    const source = createDriveSource({
      drive: createDriveClient({ accessToken: 'wrong', rootUrl: server.rootUrl }),
      folderIds: [root],
      backoff: noSleep,
    });

    // Act
    const listing = source.listFiles();

    // Assess
    await expect(listing).rejects.toBeInstanceOf(SourceError);
    expect(DriveMimeType.Folder).toContain('folder');
  });
});
