/**
 * A ledger write that fails part way: `ClaimLedger.write` sends its BatchWriteItems through
 * `mapLimit`. Were the failure reported while the other chunks are still in flight, the poll's
 * lease would be released, the next poll (the `up` loop, the next Lambda invocation on a thawed
 * container) would write the same order items, and the late chunk would land on top with the
 * failed attempt's older view: whole order items are put unconditionally, so claims the retry added
 * would vanish. Here a line claim would vanish, so a later option of that accepted line would wait
 * as pending and be quarantined as `orphan_option`: its money would never reach the aggregates.
 */
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  ITEMS_HEADER,
  inputFolder,
  OPTIONS_HEADER,
  readStream,
  streamRows,
  useIngestStack,
} from '../support/ingest-stack.js';

const T0 = Date.parse('2023-08-20T12:00:00Z');
const DAY = 86_400_000;
/** 26 orders: one more than a BatchWriteItem holds, so the ledger write takes two requests. */
const ORDERS = Array.from({ length: 26 }, (_, index) => `O${String(index + 1).padStart(2, '0')}`);

describe('a ledger write that fails part way', () => {
  const stack = useIngestStack();

  it('leaves no request in flight to overwrite the next poll’s claims', async () => {
    // Prepare
    const { names, settings } = await stack.resources();
    const folder = await inputFolder();
    const dir = folder.dir;
    let tick = T0 - 3_600_000;
    const write = (name: string, content: string) => {
      tick += 1000;
      return folder.write(name, content, tick);
    };
    // A doc client whose first ledger BatchWriteItem with O26 fails, and whose one with O01 is slow
    // (released by the test, or after 3 s so that a write that waits for it cannot hang).
    const real = stack.clients.doc;
    let faulty = true;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let straggler: Promise<unknown> | undefined;
    const doc = {
      send(command: unknown) {
        if (faulty && command instanceof BatchWriteCommand) {
          const requests = command.input.RequestItems?.[names.ledgerTable] ?? [];
          const pks = requests.map((request) => String(request.PutRequest?.Item?.['pk']));
          if (pks.includes('row#O26')) {
            faulty = false;
            setTimeout(release, 3000);
            return Promise.reject(
              Object.assign(new Error('injected: internal server error'), { name: 'InternalServerError' }),
            );
          }
          if (pks.includes('row#O01')) {
            straggler = gate.then(() => real.send(command as BatchWriteCommand));
            return straggler;
          }
        }
        return real.send(command as never);
      },
    } as unknown as DynamoDBDocumentClient;
    const poll = (nowMs: number) =>
      stack.pollFolder(dir, { names, settings, nowMs, clients: { ...stack.clients, doc } });
    // Options arrive before their lines: at the end of the poll they are written as pending claims.
    await write(
      'a-options.csv',
      [OPTIONS_HEADER, ...ORDERS.map((o) => `${o},L1,Size,Large,0.25,1`), ''].join('\n'),
    );

    // Act
    // Poll 1 fails on the ledger write; its O01..O25 request is still under way.
    await expect(poll(T0)).rejects.toThrow('injected');
    // Poll 2 (the retry) brings the lines: options join them, lines and options are claimed and put.
    await write(
      'b-items.csv',
      [
        ITEMS_HEADER,
        ...ORDERS.map(
          (o) => `ChainApp,R1,2023-08-14T17:03:12Z,${o},U1,,TRUE,USD,L1,Burgers,Cheeseburger,5.00,1`,
        ),
        '',
      ].join('\n'),
    );
    await poll(T0);
    // The failed attempt's request lands now (a frozen Lambda thaws, a slow socket answers).
    release();
    await straggler;
    // Another option of O01's line L1 (already accepted and on the stream) arrives; a week later
    // the poller settles what still waits.
    await write('c-options.csv', `${OPTIONS_HEADER}\nO01,L1,Sauce,Extra,0.50,1\n`);
    const third = await poll(T0);
    await poll(T0 + 8 * DAY);

    // Assess
    const options = third.reports.find((report) => report.path === 'c-options.csv')!;
    expect.soft(options).toMatchObject({ rowsAccepted: 1, rowsPending: 0 });
    const rows = streamRows(await readStream(stack.clients, names.ordersStream));
    expect.soft(rows.has('option|O01|L1|Sauce|Extra|50x1')).toBe(true);
  });
});
