/** The local-folder source: the embedded default, a folder standing in for the Drive folder. */

import type { Stats } from 'node:fs';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline, type Readable, Transform } from 'node:stream';
import { SourceError } from '../errors.js';
import { ContentKind, type FileSource, type SourceFile } from '../source.js';

/** Names that are never export files: editor and OS droppings. */
const IGNORED_NAMES = /^(\.DS_Store|Thumbs\.db|desktop\.ini|~\$.*|\..*\.swp)$/;

/**
 * Lists every file under `root`, recursively; a file's id is its path relative to `root` with `/`
 * separators, so ids are stable across machines.
 *
 * @example
 * const source = createFolderSource('./exports');
 * for (const file of await source.listFiles()) console.log(file.id, file.sizeBytes);
 */
export function createFolderSource(root: string): FileSource {
  const absoluteRoot = path.resolve(root);
  return {
    sourceName: 'folder',
    location: absoluteRoot,
    async listFiles(): Promise<SourceFile[]> {
      const files: SourceFile[] = [];
      let entries: string[];
      try {
        entries = await readdir(absoluteRoot, { recursive: true });
      } catch (error) {
        throw new SourceError(`cannot list ${absoluteRoot}: ${(error as Error).message}`, absoluteRoot, {
          cause: error,
        });
      }
      for (const entry of entries) {
        const id = entry.split(path.sep).join('/');
        const name = path.posix.basename(id);
        if (IGNORED_NAMES.test(name) || id.split('/').some((segment) => segment.startsWith('.'))) continue;
        const info = await stat(path.join(absoluteRoot, entry)).catch(() => null);
        // A file removed between readdir and stat is simply not listed this time.
        if (info === null || !info.isFile()) continue;
        files.push({
          id,
          path: id,
          name,
          modifiedMs: Math.trunc(info.mtimeMs),
          sizeBytes: info.size,
          contentKind: ContentKind.Bytes,
          versionTag: versionTag(info),
        });
      }
      return files;
    },
    /**
     * The file's bytes; the stream fails at its end if the file is no longer the version listed
     * (its modified time or size moved): a file still being written is read at the next poll,
     * whole, instead of landing cut short (where a cut last field could pass validation).
     */
    async open(file: SourceFile): Promise<Readable> {
      const absolute = path.join(absoluteRoot, ...file.id.split('/'));
      const checked = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          done(null, chunk);
        },
        flush(done) {
          stat(absolute).then(
            (info) =>
              done(
                versionTag(info) === file.versionTag
                  ? null
                  : new SourceError(
                      `${file.path} changed while it was being read (it may still be being written): the next poll reads it again`,
                      absolute,
                    ),
              ),
            (error: unknown) => done(error as Error),
          );
        },
      });
      return pipeline(createReadStream(absolute), checked, () => {});
    },
  };
}

/** A version of a file as the folder tells it: modified time (ms) and size. */
function versionTag(info: Stats): string {
  return `${Math.trunc(info.mtimeMs)}:${info.size}`;
}
