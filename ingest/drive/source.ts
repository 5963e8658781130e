/**
 * The Google Drive source: every file under one or more folders (subfolders followed, Shared
 * Drives included, trashed items ignored, shortcuts resolved), Google Sheets read through Drive's
 * CSV export. The changes API makes idle polls cheap: when nothing changed since the saved page
 * token, nothing is listed; otherwise the folders are listed whole, which also catches files moved
 * in (a move keeps the modified time, so a modifiedTime watermark would miss them).
 */
import { PassThrough, Readable } from 'node:stream';
import type { drive_v3 } from '@googleapis/drive';
import { ExportTooLargeError, SourceError } from '../errors.js';
import { type BackoffOptions, withRetry } from '../retry.js';
import { ContentKind, type FileSource, type SourceFile } from '../source.js';
import { DriveMimeType } from './local-server.js';

/** Where the changes page token is kept between polls. */
export interface ChangeTokenStore {
  load(): Promise<string | null>;
  save(token: string): Promise<void>;
}

export interface DriveSourceOptions {
  readonly drive: drive_v3.Drive;
  /** The folders (or Shared Drive ids) to read. */
  readonly folderIds: readonly string[];
  /** Without a store, every poll lists the folders whole. */
  readonly tokens?: ChangeTokenStore;
  readonly backoff?: BackoffOptions;
  /** @default 1000 */
  readonly pageSize?: number;
}

const FILE_FIELDS =
  'id,name,mimeType,modifiedTime,size,md5Checksum,version,parents,driveId,trashed,shortcutDetails';
const GOOGLE_APPS = 'application/vnd.google-apps.';

/** The parts of a Drive API error the poller acts on. */
export interface DriveErrorInfo {
  readonly status: number | undefined;
  readonly reason: string | undefined;
  readonly location: string | undefined;
  readonly code: string | undefined;
}

/** Reads status, reason and location from a gaxios error, whatever the response type was. */
export function driveErrorInfo(error: unknown): DriveErrorInfo {
  const candidate = error as {
    status?: number;
    code?: string | number;
    response?: { status?: number; data?: unknown };
  };
  const status = candidate.response?.status ?? candidate.status;
  let data = candidate.response?.data;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
    data = Buffer.from(data as ArrayBuffer).toString('utf8');
  }
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data);
    } catch {
      data = undefined;
    }
  }
  const first = (data as { error?: { errors?: { reason?: string; location?: string }[] } } | undefined)?.error
    ?.errors?.[0];
  return {
    status: typeof status === 'number' ? status : undefined,
    reason: first?.reason,
    location: first?.location,
    code: typeof candidate.code === 'string' ? candidate.code : undefined,
  };
}

const DROPPED = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
]);

/** 429, 5xx, Drive's rate-limit 403s and dropped connections are worth retrying. */
export function isRetryableDriveError(error: unknown): boolean {
  const info = driveErrorInfo(error);
  if (info.status === 429 || (info.status !== undefined && info.status >= 500)) return true;
  if (
    info.status === 403 &&
    (info.reason === 'rateLimitExceeded' || info.reason === 'userRateLimitExceeded')
  ) {
    return true;
  }
  if (info.status === undefined) {
    if (info.code !== undefined && DROPPED.has(info.code)) return true;
    const message = error instanceof Error ? error.message : '';
    return /socket hang up|ECONNRESET|other side closed|terminated/i.test(message);
  }
  return false;
}

/** A page token Drive no longer accepts: the listing starts over. */
export function isExpiredPageToken(error: unknown): boolean {
  const info = driveErrorInfo(error);
  return info.status === 410 || (info.status === 400 && info.location === 'pageToken');
}

class ExpiredTokenSignal extends Error {
  override name = 'ExpiredTokenSignal';
}

/**
 * The Drive source.
 *
 * @example
 * const source = createDriveSource({ drive: createDriveClient(driveOptionsFromEnv(process.env)), folderIds: ['1AbC'] });
 */
export function createDriveSource(options: DriveSourceOptions): FileSource {
  const { drive, folderIds, tokens } = options;
  const location = `drive://${folderIds.join(',')}`;
  const pageSize = options.pageSize ?? 1000;
  let pendingToken: string | null = null;

  const call = <T>(operation: () => Promise<T>): Promise<T> =>
    withRetry(operation, isRetryableDriveError, options.backoff).catch((error: unknown) => {
      if (isExpiredPageToken(error)) throw new ExpiredTokenSignal('page token expired', { cause: error });
      throw error;
    });

  const fail = (what: string, error: unknown): never => {
    if (error instanceof SourceError) throw error;
    const info = driveErrorInfo(error);
    throw new SourceError(
      `Drive ${what} failed (${info.status ?? info.code ?? 'no response'}${info.reason ? ` ${info.reason}` : ''}): ${(error as Error).message}`,
      location,
      { cause: error },
    );
  };

  async function listChildren(folderId: string): Promise<drive_v3.Schema$File[]> {
    // An expired token in the middle of a folder restarts that folder's listing from its first page.
    for (let restart = 0; ; restart++) {
      const children: drive_v3.Schema$File[] = [];
      let pageToken: string | undefined;
      try {
        do {
          const response = await call(() =>
            drive.files.list(
              {
                q: `'${folderId.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}' in parents and trashed = false`,
                fields: `nextPageToken, files(${FILE_FIELDS})`,
                pageSize,
                supportsAllDrives: true,
                includeItemsFromAllDrives: true,
                ...(pageToken === undefined ? {} : { pageToken }),
              },
              { retry: false },
            ),
          );
          children.push(...(response.data.files ?? []));
          pageToken = response.data.nextPageToken ?? undefined;
        } while (pageToken !== undefined);
        return children;
      } catch (error) {
        if (error instanceof ExpiredTokenSignal && restart < 3) continue;
        return fail(`listing of folder ${folderId}`, error);
      }
    }
  }

  async function getMetadata(fileId: string): Promise<drive_v3.Schema$File | null> {
    try {
      const response = await call(() =>
        drive.files.get({ fileId, fields: FILE_FIELDS, supportsAllDrives: true }, { retry: false }),
      );
      return response.data;
    } catch (error) {
      // A shortcut to a file the caller cannot see (or that was deleted) is skipped.
      if (driveErrorInfo(error).status === 404) return null;
      return fail(`metadata of ${fileId}`, error);
    }
  }

  function toSourceFile(file: drive_v3.Schema$File, folderPath: string): SourceFile | null {
    if (!file.id || !file.name || !file.mimeType) return null;
    const contentKind =
      file.mimeType === DriveMimeType.Sheet
        ? ContentKind.SheetExport
        : file.mimeType.startsWith(GOOGLE_APPS)
          ? ContentKind.Unsupported
          : ContentKind.Bytes;
    const modifiedMs = file.modifiedTime ? Date.parse(file.modifiedTime) : 0;
    return {
      id: file.id,
      path: folderPath === '' ? file.name : `${folderPath}/${file.name}`,
      name: file.name,
      modifiedMs,
      sizeBytes: file.size ? Number(file.size) : null,
      contentKind,
      versionTag: file.md5Checksum ?? `v${file.version ?? '?'}@${file.modifiedTime ?? '?'}`,
    };
  }

  async function listAll(): Promise<SourceFile[]> {
    const files = new Map<string, SourceFile>();
    const visitedFolders = new Set<string>();
    const queue: { id: string; path: string }[] = [];
    for (const folderId of folderIds) {
      const root = await getMetadata(folderId);
      if (root === null) throw new SourceError(`Drive folder ${folderId} not found or not shared`, location);
      queue.push({ id: folderId, path: root.name ?? folderId });
    }
    while (queue.length > 0) {
      const folder = queue.shift();
      if (folder === undefined || visitedFolders.has(folder.id)) continue;
      visitedFolders.add(folder.id);
      for (const child of await listChildren(folder.id)) {
        let item: drive_v3.Schema$File | null = child;
        if (child.mimeType === DriveMimeType.Shortcut) {
          const targetId = child.shortcutDetails?.targetId;
          item = targetId ? await getMetadata(targetId) : null;
          if (item === null || item.trashed) continue;
        }
        if (item.mimeType === DriveMimeType.Folder) {
          if (item.id) queue.push({ id: item.id, path: `${folder.path}/${child.name ?? item.name}` });
          continue;
        }
        const file = toSourceFile(item, folder.path);
        // A file reached twice (directly and through a shortcut) is one file: its Drive id.
        if (file !== null && !files.has(file.id)) files.set(file.id, file);
      }
    }
    return [...files.values()];
  }

  async function startToken(): Promise<string> {
    try {
      const response = await call(() =>
        drive.changes.getStartPageToken({ supportsAllDrives: true }, { retry: false }),
      );
      const token = response.data.startPageToken;
      if (!token) throw new SourceError('Drive answered no start page token', location);
      return token;
    } catch (error) {
      return fail('changes.getStartPageToken', error);
    }
  }

  /** Whether anything changed since `token`, and the token to save once this poll is landed. */
  async function changesSince(token: string): Promise<{ changed: boolean; next: string } | null> {
    let pageToken = token;
    let changed = false;
    try {
      for (;;) {
        const response = await call(() =>
          drive.changes.list(
            {
              pageToken,
              pageSize,
              fields: `nextPageToken, newStartPageToken, changes(fileId, removed, time, file(${FILE_FIELDS}))`,
              supportsAllDrives: true,
              includeItemsFromAllDrives: true,
              includeRemoved: true,
              spaces: 'drive',
            },
            { retry: false },
          ),
        );
        if ((response.data.changes ?? []).length > 0) changed = true;
        if (response.data.newStartPageToken) return { changed, next: response.data.newStartPageToken };
        if (!response.data.nextPageToken) return { changed: true, next: await startToken() };
        pageToken = response.data.nextPageToken;
      }
    } catch (error) {
      if (error instanceof ExpiredTokenSignal) return null;
      return fail('changes.list', error);
    }
  }

  /**
   * A file's bytes as a stream, so that a file over `max_file_bytes` is never held in memory whole.
   * A Sheet's CSV export (which Drive caps at 10 MB) is read whole: its size is known only after.
   */
  async function download(file: SourceFile): Promise<Readable> {
    try {
      if (file.contentKind === ContentKind.SheetExport) {
        const response = await call(() =>
          drive.files.export(
            { fileId: file.id, mimeType: 'text/csv' },
            { responseType: 'arraybuffer', retry: false },
          ),
        );
        return Readable.from([Buffer.from(response.data as unknown as ArrayBuffer)]);
      }
      // Retried up to the response's headers; a failure mid-body fails the poll, and the next retries.
      const response = await call(() =>
        drive.files.get(
          { fileId: file.id, alt: 'media', supportsAllDrives: true },
          { responseType: 'stream', retry: false },
        ),
      );
      const body = response.data as unknown as Readable;
      const out = new PassThrough();
      body.on('error', (error: Error) =>
        out.destroy(
          new SourceError(`Drive download of ${file.path} (${file.id}) failed: ${error.message}`, location, {
            cause: error,
          }),
        ),
      );
      // A reader that stops early (a peek at the first line, an aborted upload) closes the download.
      out.on('close', () => body.destroy());
      return body.pipe(out);
    } catch (error) {
      const info = driveErrorInfo(error);
      if (info.reason === 'exportSizeLimitExceeded')
        throw new ExportTooLargeError(file.id, location, { cause: error });
      return fail(`download of ${file.path} (${file.id})`, error);
    }
  }

  return {
    sourceName: 'drive',
    location,
    async listFiles(): Promise<SourceFile[]> {
      pendingToken = null;
      if (tokens !== undefined) {
        const saved = await tokens.load();
        if (saved !== null) {
          const since = await changesSince(saved);
          if (since !== null && !since.changed) {
            pendingToken = since.next;
            return [];
          }
        }
      }
      // The token is taken before the listing, so a change made during the listing is seen next time.
      const next = tokens === undefined ? null : await startToken();
      const files = await listAll();
      pendingToken = next;
      return files;
    },
    async open(file: SourceFile): Promise<Readable> {
      return download(file);
    },
    async commit(): Promise<void> {
      if (tokens !== undefined && pendingToken !== null) await tokens.save(pendingToken);
      pendingToken = null;
    },
  };
}
