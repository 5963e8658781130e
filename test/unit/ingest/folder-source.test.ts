import { appendFile, mkdir, mkdtemp, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SourceError } from '../../../ingest/errors.js';
import { createFolderSource } from '../../../ingest/folder/source.js';
import { arrivalOrder, readAll, type SourceFile } from '../../../ingest/source.js';

describe('folder source', () => {
  it('lists files recursively with relative ids, skipping hidden files', async () => {
    // Prepare
    const dir = await mkdtemp(path.join(tmpdir(), 'tillstream-folder-'));
    await mkdir(path.join(dir, 'sub', 'deeper'), { recursive: true });
    await mkdir(path.join(dir, '.git'));
    await writeFile(path.join(dir, 'a.csv'), 'A\n1\n');
    await writeFile(path.join(dir, 'sub', 'deeper', 'b.csv'), 'B\n2\n');
    await writeFile(path.join(dir, '.hidden.csv'), 'x');
    await writeFile(path.join(dir, '.git', 'config'), 'x');
    await writeFile(path.join(dir, '.DS_Store'), 'x');
    const source = createFolderSource(dir);

    // Act
    const files = await source.listFiles();
    const bytes = await readAll(await source.open(files.find((file) => file.name === 'b.csv')!));

    // Assess
    expect(files.map((file) => file.id).sort()).toEqual(['a.csv', 'sub/deeper/b.csv']);
    expect(bytes.toString()).toBe('B\n2\n');
    expect(files.every((file) => file.contentKind === 'bytes' && file.sizeBytes === 4)).toBe(true);
  });

  it('fails the read of a file that changed after it was listed (still being written)', async () => {
    // Prepare: listed with a cut last field; the writer then finishes the line
    const dir = await mkdtemp(path.join(tmpdir(), 'tillstream-folder-'));
    const file = path.join(dir, 'a.csv');
    await writeFile(file, 'A,QTY\nx,1');
    const source = createFolderSource(dir);
    const [listed] = await source.listFiles();
    await appendFile(file, '2\n');

    // Act
    const read = readAll(await source.open(listed!));

    // Assess: a SourceError, so the poll skips the file this cycle and lands it whole next time
    await expect(read).rejects.toThrow(SourceError);
    await expect(read).rejects.toThrow('a.csv changed while it was being read');
    const [again] = await source.listFiles();
    expect((await readAll(await source.open(again!))).toString()).toBe('A,QTY\nx,12\n');
  });

  it('changes the version tag when a file is rewritten', async () => {
    // Prepare
    const dir = await mkdtemp(path.join(tmpdir(), 'tillstream-folder-'));
    const file = path.join(dir, 'a.csv');
    await writeFile(file, 'A\n1\n');
    await utimes(file, new Date(1_000_000), new Date(1_000_000));
    const [before] = await createFolderSource(dir).listFiles();

    // Act
    await writeFile(file, 'A\n1\n2\n');
    await utimes(file, new Date(2_000_000), new Date(2_000_000));
    const [after] = await createFolderSource(dir).listFiles();

    // Assess
    expect(after!.versionTag).not.toBe(before!.versionTag);
  });
});

describe('arrival order', () => {
  it('orders by modified time, then path as UTF-8 bytes', () => {
    // Prepare
    const file = (id: string, modifiedMs: number): SourceFile => ({
      id,
      path: id,
      name: id,
      modifiedMs,
      sizeBytes: 1,
      contentKind: 'bytes',
      versionTag: '',
    });
    // 'é' (U+00E9) sorts after 'z' as UTF-8 bytes; 'Z' sorts before 'a'.
    const files = [
      file('é.csv', 5),
      file('z.csv', 5),
      file('a.csv', 5),
      file('Z.csv', 5),
      file('late.csv', 9),
      file('early.csv', 1),
    ];

    // Act
    const ordered = arrivalOrder(files).map((entry) => entry.id);

    // Assess
    expect(ordered).toEqual(['early.csv', 'Z.csv', 'a.csv', 'z.csv', 'é.csv', 'late.csv']);
  });
});
