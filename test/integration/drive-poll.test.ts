import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDriveClient } from '../../ingest/drive/client.js';
import { LocalDriveServer } from '../../ingest/drive/local-server.js';
import { createDriveSource } from '../../ingest/drive/source.js';
import { PollStep, runPollCycle } from '../../ingest/poll.js';
import { PollerState } from '../../ingest/state.js';
import { listKeys, readObject, readStream, streamRows, useIngestStack } from '../support/ingest-stack.js';

const HEADER =
  'APP_NAME,RESTAURANT_ID,CREATION_TIME_UTC,ORDER_ID,USER_ID,PRINTED_CARD_NUMBER,IS_LOYALTY,CURRENCY,LINEITEM_ID,ITEM_CATEGORY,ITEM_NAME,ITEM_PRICE,ITEM_QUANTITY';
const T0 = Date.parse('2023-08-20T12:00:00Z');
const row = (order: string, line: string, price: string) =>
  `App,R1,2023-08-14T17:03:12Z,${order},U1,,TRUE,USD,${line},Burgers,Cheese,${price},1`;
const csv = (...rows: string[]) => `${HEADER}\n${rows.join('\n')}\n`;

describe('poll cycle over Google Drive (local Drive API server, real @googleapis/drive client)', () => {
  const stack = useIngestStack();
  let server: LocalDriveServer;
  beforeAll(async () => {
    server = new LocalDriveServer();
    await server.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function setup() {
    const { names, settings } = await stack.resources();
    const state = new PollerState(stack.clients.doc, names.stateTable);
    const root = server.addFolder('exports');
    const source = createDriveSource({
      drive: createDriveClient({ accessToken: 'token', rootUrl: server.rootUrl }),
      folderIds: [root],
      pageSize: 2,
      backoff: { sleep: async () => {}, random: () => 0 },
      tokens: { load: () => state.changeToken(root), save: (token) => state.saveChangeToken(root, token) },
    });
    const poll = (onStep?: (step: string) => void) =>
      runPollCycle({
        clients: stack.clients,
        names,
        settings,
        source,
        clock: () => T0,
        ...(onStep ? { onStep } : {}),
      });
    return { names, root, poll };
  }

  it('ingests files, subfolders, Sheets and Shared Drive shortcuts through failures, then only what changed', async () => {
    // Prepare
    const { names, root, poll } = await setup();
    const sub = server.addFolder('august', root);
    const shared = server.addSharedDrive('Chain');
    const items = server.addFile('items.csv', root, csv(row('D1', 'L1', '1.00'), row('D2', 'L1', '2.00')));
    server.addFile('more.csv', sub, csv(row('D3', 'L1', '3.00')));
    server.addSheet('sheet', sub, csv(row('D4', 'L1', '4.00')));
    const sharedFile = server.addFile('shared.csv', shared, csv(row('D5', 'L1', '5.00')));
    server.addShortcut('shared shortcut', root, sharedFile);
    server.trash(server.addFile('trashed.csv', root, csv(row('D6', 'L1', '6.00'))));
    server.failNext(2, 429);
    server.failNext(1, 503);
    server.dropNext(1);

    // Act
    const first = await poll();
    const idle = await poll();
    server.updateContent(
      items,
      csv(row('D1', 'L1', '1.00'), row('D2', 'L1', '2.00'), row('D7', 'L1', '7.00')),
    );
    server.addFile('copy.csv', sub, csv(row('D3', 'L1', '3.00')));
    const changed = await poll();

    // Assess
    expect(first.errors).toEqual([]);
    expect(first.reports.map((report) => report.path).sort()).toEqual([
      'exports/august/more.csv',
      'exports/august/sheet',
      'exports/items.csv',
      'exports/shared.csv',
    ]);
    expect(idle.reports).toEqual([]);
    expect(
      changed.reports.map((report) => [
        report.path,
        report.status,
        report.rowsAccepted,
        report.rowsDuplicate,
      ]),
    ).toEqual([
      ['exports/items.csv', 'ingested', 1, 2],
      ['exports/august/copy.csv', 'duplicate_content', 0, 0],
    ]);
    expect([...streamRows(await readStream(stack.clients, names.ordersStream))].sort()).toEqual(
      ['D1', 'D2', 'D3', 'D4', 'D5', 'D7'].map(
        (order, index) => `line|${order}|L1|${[100, 200, 300, 400, 500, 700][index]}x1`,
      ),
    );
    const sheetRaw = (await listKeys(stack.clients, names.rawBucket)).find((key) => key.endsWith('/sheet'))!;
    expect((await readObject(stack.clients, names.rawBucket, sheetRaw)).toString()).toBe(
      csv(row('D4', 'L1', '4.00')),
    );
  });

  it('reports an over-cap Sheet and a Google Doc without failing the poll', async () => {
    // Prepare
    const { names, root, poll } = await setup();
    server.exportCapBytes = 50;
    server.addSheet('big sheet', root, csv(row('E1', 'L1', '1.00'), row('E2', 'L1', '2.00')));
    server.addDocument('readme', root);
    server.addFile('ok.csv', root, csv(row('E3', 'L1', '3.00')));

    // Act
    const result = await poll();
    server.exportCapBytes = 10 * 1024 * 1024;

    // Assess
    expect(result.reports.map((report) => [report.path, report.status]).sort()).toEqual([
      ['exports/big sheet', 'file_too_large'],
      ['exports/ok.csv', 'ingested'],
      ['exports/readme', 'unknown_kind'],
    ]);
    const quarantine = await listKeys(stack.clients, names.quarantineBucket);
    expect(quarantine).toHaveLength(1);
    expect((await readObject(stack.clients, names.quarantineBucket, quarantine[0]!)).toString()).toContain(
      'export',
    );
    expect([...streamRows(await readStream(stack.clients, names.ordersStream))]).toEqual([
      'line|E3|L1|300x1',
    ]);
  });

  it('resumes after a crash before the changes token was committed', async () => {
    // Prepare
    const { names, root, poll } = await setup();
    server.addFile('a.csv', root, csv(row('F1', 'L1', '1.00')));
    server.addFile('b.csv', root, csv(row('F2', 'L1', '2.00')));
    let landed = 0;

    // Act
    await expect(
      poll((step) => {
        if (step === PollStep.Landed && ++landed === 2) throw new Error('crash');
      }),
    ).rejects.toThrow('crash');
    await poll();

    // Assess
    expect([...streamRows(await readStream(stack.clients, names.ordersStream))].sort()).toEqual([
      'line|F1|L1|100x1',
      'line|F2|L1|200x1',
    ]);
  });
});
