/**
 * A local Drive v3 API server for tests and the local stack: the endpoints the poller uses
 * (`files.list`, `files.get` with `alt=media`, `files.export`, `changes.getStartPageToken`,
 * `changes.list`) over an in-memory model of folders, trash, shortcuts, Google Sheets (CSV text,
 * exported), Shared Drives, and injected failures (HTTP errors, dropped connections, expired
 * page tokens). Driven by the real `@googleapis/drive` client through its `rootUrl`.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const DriveMimeType = {
  Folder: 'application/vnd.google-apps.folder',
  Sheet: 'application/vnd.google-apps.spreadsheet',
  Document: 'application/vnd.google-apps.document',
  Shortcut: 'application/vnd.google-apps.shortcut',
  Csv: 'text/csv',
} as const;

/** Drive refuses to export a Google document whose export exceeds this (10 MB). */
export const DRIVE_EXPORT_CAP_BYTES = 10 * 1024 * 1024;

interface DriveItem {
  id: string;
  name: string;
  mimeType: string;
  parents: string[];
  trashed: boolean;
  modifiedMs: number;
  version: number;
  /** A blob's bytes, or a Sheet's CSV (its first sheet). */
  content: Buffer | null;
  shortcutTargetId: string | null;
  /** The Shared Drive holding the item, if any. */
  driveId: string | null;
}

interface Change {
  fileId: string;
  timeMs: number;
}

/** Options of a new item. */
export interface ItemOptions {
  readonly modifiedMs?: number;
  readonly mimeType?: string;
}

export class LocalDriveServer {
  private readonly items = new Map<string, DriveItem>();
  private readonly changes: Change[] = [];
  private nextId = 1;
  private server: Server | null = null;
  private failures: { status: number; reason: string }[] = [];
  private drops = 0;
  /** Page tokens minted before this generation are expired. */
  private tokenGeneration = 0;
  /** Requests answered, by endpoint, for assertions on API cost. */
  readonly requestCounts = new Map<string, number>();
  /** Base URL (`http://127.0.0.1:PORT/`) once started: the Drive client's `rootUrl`. */
  rootUrl = '';
  /** Every Authorization header seen must carry this token when set. */
  requiredToken: string | null = null;
  exportCapBytes = DRIVE_EXPORT_CAP_BYTES;
  /** Called with each request's endpoint before it is answered (tests change the model here). */
  onRequest: ((endpoint: string) => void) | null = null;
  private clockMs = Date.UTC(2024, 0, 1);

  /** Starts listening on 127.0.0.1 (`port` 0: any free port). */
  async start(port = 0): Promise<string> {
    const server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) this.sendError(response, 500, 'backendError', String(error));
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.rootUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    return this.rootUrl;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === null) return;
    this.server = null;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ---- the model -------------------------------------------------------------------------------

  private tick(modifiedMs?: number): number {
    this.clockMs = Math.max(this.clockMs + 1000, modifiedMs ?? 0);
    return modifiedMs ?? this.clockMs;
  }

  private record(fileId: string): void {
    this.changes.push({ fileId, timeMs: this.clockMs });
  }

  private create(item: Omit<DriveItem, 'id' | 'version' | 'trashed' | 'driveId'>, id?: string): string {
    const itemId = id ?? `f${String(this.nextId++).padStart(6, '0')}`;
    const parent = item.parents[0] === undefined ? undefined : this.items.get(item.parents[0]);
    this.items.set(itemId, {
      ...item,
      id: itemId,
      version: 1,
      trashed: false,
      driveId: parent?.driveId ?? null,
    });
    this.record(itemId);
    return itemId;
  }

  /** A folder in `parentId` (or a root folder when null). */
  addFolder(name: string, parentId: string | null = null): string {
    return this.create({
      name,
      mimeType: DriveMimeType.Folder,
      parents: parentId === null ? [] : [parentId],
      modifiedMs: this.tick(),
      content: null,
      shortcutTargetId: null,
    });
  }

  /** A Shared Drive; its id is also the id of its root folder. */
  addSharedDrive(name: string): string {
    const id = `sd${String(this.nextId++).padStart(6, '0')}`;
    this.create(
      {
        name,
        mimeType: DriveMimeType.Folder,
        parents: [],
        modifiedMs: this.tick(),
        content: null,
        shortcutTargetId: null,
      },
      id,
    );
    const drive = this.items.get(id);
    if (drive) drive.driveId = id;
    return id;
  }

  /** A stored file (any bytes; `text/csv` unless told). */
  addFile(name: string, parentId: string, content: string | Buffer, options: ItemOptions = {}): string {
    return this.create({
      name,
      mimeType: options.mimeType ?? DriveMimeType.Csv,
      parents: [parentId],
      modifiedMs: this.tick(options.modifiedMs),
      content: Buffer.from(content),
      shortcutTargetId: null,
    });
  }

  /** A Google Sheet whose first sheet exports as `csv`. */
  addSheet(name: string, parentId: string, csv: string, options: ItemOptions = {}): string {
    return this.create({
      name,
      mimeType: DriveMimeType.Sheet,
      parents: [parentId],
      modifiedMs: this.tick(options.modifiedMs),
      content: Buffer.from(csv),
      shortcutTargetId: null,
    });
  }

  /** A Google Doc: no CSV export exists. */
  addDocument(name: string, parentId: string): string {
    return this.create({
      name,
      mimeType: DriveMimeType.Document,
      parents: [parentId],
      modifiedMs: this.tick(),
      content: Buffer.from('a document'),
      shortcutTargetId: null,
    });
  }

  addShortcut(name: string, parentId: string, targetId: string): string {
    return this.create({
      name,
      mimeType: DriveMimeType.Shortcut,
      parents: [parentId],
      modifiedMs: this.tick(),
      content: null,
      shortcutTargetId: targetId,
    });
  }

  /** New content for a file or Sheet: a new version, a new modified time. */
  updateContent(fileId: string, content: string | Buffer, options: ItemOptions = {}): void {
    const item = this.require(fileId);
    item.content = Buffer.from(content);
    item.version++;
    item.modifiedMs = this.tick(options.modifiedMs);
    this.record(fileId);
  }

  trash(fileId: string): void {
    const item = this.require(fileId);
    item.trashed = true;
    item.version++;
    this.tick();
    this.record(fileId);
  }

  /** Moves an item to another folder; like Drive, its modified time does not change. */
  move(fileId: string, parentId: string): void {
    const item = this.require(fileId);
    item.parents = [parentId];
    item.driveId = this.items.get(parentId)?.driveId ?? null;
    this.tick();
    this.record(fileId);
  }

  private require(fileId: string): DriveItem {
    const item = this.items.get(fileId);
    if (item === undefined) throw new Error(`no Drive item ${fileId}`);
    return item;
  }

  // ---- failure injection -----------------------------------------------------------------------

  /** The next `count` requests answer HTTP `status` (429 or 5xx). */
  failNext(count: number, status: 429 | 500 | 502 | 503): void {
    const reason = status === 429 ? 'rateLimitExceeded' : 'backendError';
    for (let index = 0; index < count; index++) this.failures.push({ status, reason });
  }

  /** The next `count` requests have their connection dropped without an answer. */
  dropNext(count: number): void {
    this.drops += count;
  }

  /** Every page token given out so far (files and changes) is expired. */
  expirePageTokens(): void {
    this.tokenGeneration++;
  }

  // ---- HTTP ------------------------------------------------------------------------------------

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<undefined> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const route = url.pathname.replace(/^\/drive\/v3/, '');
    const endpoint = route.startsWith('/files/')
      ? route.endsWith('/export')
        ? 'files.export'
        : url.searchParams.get('alt') === 'media'
          ? 'files.get.media'
          : 'files.get'
      : route;
    this.requestCounts.set(endpoint, (this.requestCounts.get(endpoint) ?? 0) + 1);
    this.onRequest?.(endpoint);
    if (this.drops > 0) {
      this.drops--;
      request.socket.destroy();
      return;
    }
    const failure = this.failures.shift();
    if (failure !== undefined)
      return this.sendError(response, failure.status, failure.reason, 'Injected failure');
    const authorization = request.headers.authorization ?? '';
    if (
      !authorization.startsWith('Bearer ') ||
      (this.requiredToken !== null && authorization !== `Bearer ${this.requiredToken}`)
    ) {
      return this.sendError(response, 401, 'authError', 'Invalid Credentials');
    }
    if (request.method !== 'GET')
      return this.sendError(response, 405, 'methodNotAllowed', 'Only GET is modelled');
    const params = url.searchParams;
    if (route === '/files') return this.listFiles(params, response);
    if (route === '/changes/startPageToken') {
      return this.sendJson(response, {
        kind: 'drive#startPageToken',
        startPageToken: this.changeToken(this.changes.length + 1),
      });
    }
    if (route === '/changes') return this.listChanges(params, response);
    const exportMatch = /^\/files\/([^/]+)\/export$/.exec(route);
    if (exportMatch?.[1] !== undefined)
      return this.exportFile(decodeURIComponent(exportMatch[1]), params, response);
    const getMatch = /^\/files\/([^/]+)$/.exec(route);
    if (getMatch?.[1] !== undefined) return this.getFile(decodeURIComponent(getMatch[1]), params, response);
    return this.sendError(response, 404, 'notFound', `No route ${route}`);
  }

  private visible(item: DriveItem, params: URLSearchParams, listing: boolean): boolean {
    if (item.driveId === null) return true;
    // Drive hides Shared Drive items from callers that do not declare support for them.
    if (params.get('supportsAllDrives') !== 'true') return false;
    return !listing || params.get('includeItemsFromAllDrives') === 'true';
  }

  private listFiles(params: URLSearchParams, response: ServerResponse): undefined {
    let predicate: (item: DriveItem) => boolean;
    try {
      predicate = parseQuery(params.get('q') ?? '');
    } catch (error) {
      return this.sendError(response, 400, 'invalid', (error as Error).message, 'q');
    }
    const matching = [...this.items.values()]
      .filter((item) => this.visible(item, params, true) && predicate(item))
      .sort((left, right) => (left.id < right.id ? -1 : left.id > right.id ? 1 : 0));
    const page = this.page(matching.length, params, response);
    if (page === null) return;
    const files = matching.slice(page.start, page.end).map((item) => this.resource(item));
    this.sendJson(response, {
      kind: 'drive#fileList',
      incompleteSearch: false,
      files,
      ...(page.end < matching.length ? { nextPageToken: this.token(page.end) } : {}),
    });
  }

  private page(
    total: number,
    params: URLSearchParams,
    response: ServerResponse,
  ): { start: number; end: number } | null {
    const pageSize = Math.min(1000, Math.max(1, Number(params.get('pageSize') ?? '100') || 100));
    let start = 0;
    const token = params.get('pageToken');
    if (token !== null) {
      const decoded = /^(\d+):(\d+)$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
      if (decoded === null || Number(decoded[1]) !== this.tokenGeneration || Number(decoded[2]) > total) {
        this.sendError(response, 400, 'invalid', 'Invalid Value', 'pageToken');
        return null;
      }
      start = Number(decoded[2]);
    }
    return { start, end: Math.min(total, start + pageSize) };
  }

  /** Changes tokens are `<generation>.<change index>`: opaque to clients, as Drive's are. */
  private changeToken(index: number): string {
    return `${this.tokenGeneration}.${index}`;
  }

  private token(offset: number): string {
    return Buffer.from(`${this.tokenGeneration}:${offset}`).toString('base64url');
  }

  private listChanges(params: URLSearchParams, response: ServerResponse): undefined {
    const decoded = /^(\d+)\.(\d+)$/.exec(params.get('pageToken') ?? '');
    const token = Number(decoded?.[2]);
    if (
      decoded === null ||
      Number(decoded[1]) !== this.tokenGeneration ||
      token < 1 ||
      token > this.changes.length + 1
    ) {
      return this.sendError(response, 400, 'invalid', 'Invalid Value', 'pageToken');
    }
    const pageSize = Math.min(1000, Math.max(1, Number(params.get('pageSize') ?? '100') || 100));
    const end = Math.min(this.changes.length, token - 1 + pageSize);
    const changes = this.changes.slice(token - 1, end).flatMap((change) => {
      const item = this.items.get(change.fileId);
      if (item === undefined || !this.visible(item, params, true)) return [];
      return [
        {
          kind: 'drive#change',
          changeType: 'file',
          type: 'file',
          fileId: change.fileId,
          removed: false,
          time: new Date(change.timeMs).toISOString(),
          file: this.resource(item),
        },
      ];
    });
    this.sendJson(response, {
      kind: 'drive#changeList',
      changes,
      ...(end < this.changes.length
        ? { nextPageToken: this.changeToken(end + 1) }
        : { newStartPageToken: this.changeToken(end + 1) }),
    });
  }

  private getFile(fileId: string, params: URLSearchParams, response: ServerResponse): undefined {
    const item = this.items.get(fileId);
    if (item === undefined || !this.visible(item, params, false)) {
      return this.sendError(response, 404, 'notFound', `File not found: ${fileId}.`, 'fileId');
    }
    if (params.get('alt') !== 'media') return this.sendJson(response, this.resource(item));
    if (item.mimeType.startsWith('application/vnd.google-apps.') || item.content === null) {
      return this.sendError(
        response,
        403,
        'fileNotDownloadable',
        'Only files with binary content can be downloaded. Use Export with Docs Editors files.',
      );
    }
    response.writeHead(200, { 'content-type': item.mimeType, 'content-length': item.content.length });
    response.end(item.content);
  }

  private exportFile(fileId: string, params: URLSearchParams, response: ServerResponse): undefined {
    const item = this.items.get(fileId);
    if (item === undefined || !this.visible(item, params, false)) {
      return this.sendError(response, 404, 'notFound', `File not found: ${fileId}.`, 'fileId');
    }
    if (item.mimeType !== DriveMimeType.Sheet || item.content === null) {
      return this.sendError(response, 403, 'fileNotExportable', 'Export only supports Docs Editors files.');
    }
    if (params.get('mimeType') !== DriveMimeType.Csv) {
      return this.sendError(
        response,
        400,
        'badRequest',
        'The requested conversion is not supported.',
        'mimeType',
      );
    }
    if (item.content.length > this.exportCapBytes) {
      return this.sendError(
        response,
        403,
        'exportSizeLimitExceeded',
        'This file is too large to be exported.',
      );
    }
    response.writeHead(200, { 'content-type': 'text/csv', 'content-length': item.content.length });
    response.end(item.content);
  }

  private resource(item: DriveItem): Record<string, unknown> {
    const blob = item.content !== null && !item.mimeType.startsWith('application/vnd.google-apps.');
    const target = item.shortcutTargetId === null ? undefined : this.items.get(item.shortcutTargetId);
    return {
      kind: 'drive#file',
      id: item.id,
      name: item.name,
      mimeType: item.mimeType,
      parents: item.parents,
      trashed: item.trashed,
      modifiedTime: new Date(item.modifiedMs).toISOString(),
      version: String(item.version),
      ...(item.driveId === null ? {} : { driveId: item.driveId }),
      ...(blob && item.content !== null
        ? {
            size: String(item.content.length),
            md5Checksum: createHash('md5').update(item.content).digest('hex'),
          }
        : {}),
      ...(item.shortcutTargetId === null
        ? {}
        : { shortcutDetails: { targetId: item.shortcutTargetId, targetMimeType: target?.mimeType ?? '' } }),
    };
  }

  private sendJson(response: ServerResponse, body: unknown): undefined {
    const text = JSON.stringify(body);
    response.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
    response.end(text);
  }

  private sendError(
    response: ServerResponse,
    status: number,
    reason: string,
    message: string,
    location?: string,
  ): undefined {
    const error = {
      domain: status === 429 || reason === 'rateLimitExceeded' ? 'usageLimits' : 'global',
      reason,
      message,
      ...(location === undefined ? {} : { locationType: 'parameter', location }),
    };
    response.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
    response.end(JSON.stringify({ error: { code: status, message, errors: [error] } }));
  }
}

/**
 * The `q` clauses the poller sends, joined by `and`: `'<id>' in parents`, `trashed = true|false`,
 * `mimeType = '<type>'`, `mimeType != '<type>'`. Anything else is a 400, as an unmodelled query
 * must not pass silently.
 */
function parseQuery(q: string): (item: DriveItem) => boolean {
  const clauses = q.trim() === '' ? [] : q.split(/\s+and\s+/i);
  const tests = clauses.map((clause): ((item: DriveItem) => boolean) => {
    const text = clause.trim();
    const inParents = /^'((?:[^'\\]|\\.)*)'\s+in\s+parents$/.exec(text);
    if (inParents?.[1] !== undefined) {
      const parent = inParents[1].replace(/\\(.)/g, '$1');
      return (item) => item.parents.includes(parent);
    }
    const trashed = /^trashed\s*=\s*(true|false)$/.exec(text);
    if (trashed?.[1] !== undefined) {
      const wanted = trashed[1] === 'true';
      return (item) => item.trashed === wanted;
    }
    const mime = /^mimeType\s*(=|!=)\s*'((?:[^'\\]|\\.)*)'$/.exec(text);
    if (mime?.[1] !== undefined && mime[2] !== undefined) {
      const type = mime[2].replace(/\\(.)/g, '$1');
      return mime[1] === '=' ? (item) => item.mimeType === type : (item) => item.mimeType !== type;
    }
    throw new Error(`Invalid query clause: ${text}`);
  });
  return (item) => tests.every((test) => test(item));
}
