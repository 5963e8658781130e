/**
 * Ids and names as long as validation allows, in non-ASCII text: a waiting option's state-table sort
 * key is its whole identity URI-encoded (`row#<order>|option|<line>|<group>|<name>`), and the
 * ledger's partition key is `row#<order>`. URI-encoded, a non-ASCII character takes 9 bytes, so
 * either can exceed DynamoDB's key limits (1,024 bytes for a sort key, 2,048 for a partition key);
 * such a key would fail the poll every time, and no later file would ever be ingested.
 */
import { describe, expect, it } from 'vitest';
import { MAX_ID_LENGTH } from '../../shared/input/validate.js';
import {
  ITEMS_HEADER,
  inputFolder,
  OPTIONS_HEADER,
  readStream,
  streamRows,
  useIngestStack,
} from '../support/ingest-stack.js';

const T0 = Date.parse('2023-08-20T12:00:00Z');

describe('keys of long non-ASCII ids and names', () => {
  const stack = useIngestStack();

  it('is kept pending and joins its line later, without blocking the poller', async () => {
    // Prepare: 120 Japanese characters (valid: under MAX_NAME_LENGTH = 1,000) = 1,080 encoded bytes.
    const { names, settings } = await stack.resources();
    const { dir, write } = await inputFolder();
    const longName = 'お'.repeat(120);
    await write('a-options.csv', `${OPTIONS_HEADER}\nO1,L1,Note,${longName},0.50,1\n`, T0 - 60_000);
    const poll = () => stack.pollFolder(dir, { names, settings, nowMs: T0 });

    // Act: the options file first (its line is not there yet), then the lines file.
    const first = await poll().catch((error: unknown) => error as Error);
    await write(
      'b-items.csv',
      `${ITEMS_HEADER}\nChainApp,R1,2023-08-14T17:03:12Z,O1,U1,,TRUE,USD,L1,Burgers,Cheeseburger,9.50,1\nChainApp,R1,2023-08-14T18:00:00Z,O2,U2,,TRUE,USD,L1,Burgers,Fries,3.00,1\n`,
      T0 - 30_000,
    );
    const second = await poll().catch((error: unknown) => error as Error);

    // Assess
    expect((first as Error)?.message).toBeUndefined();
    expect(second).not.toBeInstanceOf(Error);
    expect([...streamRows(await readStream(stack.clients, names.ordersStream))].sort()).toEqual(
      ['line|O1|L1|950x1', 'line|O2|L1|300x1', `option|O1|L1|Note|${longName}|50x1`].sort(),
    );
  });
  it('takes an order whose ids are 256 non-ASCII characters, its option arriving first', async () => {
    // Prepare: ORDER_ID and LINEITEM_ID at MAX_ID_LENGTH, 2,308 bytes once encoded
    const { names, settings } = await stack.resources();
    const { dir, write } = await inputFolder();
    const orderId = 'ご'.repeat(MAX_ID_LENGTH);
    const lineId = 'ラ'.repeat(MAX_ID_LENGTH);
    await write('a-options.csv', `${OPTIONS_HEADER}\n${orderId},${lineId},Size,Large,0.50,1\n`, T0 - 60_000);
    const poll = () => stack.pollFolder(dir, { names, settings, nowMs: T0 });

    // Act
    const first = await poll();
    await write(
      'b-items.csv',
      `${ITEMS_HEADER}\nChainApp,R1,2023-08-14T17:03:12Z,${orderId},U1,,TRUE,USD,${lineId},Burgers,Cheeseburger,9.50,1\n`,
      T0 - 30_000,
    );
    const second = await poll();
    const again = await poll();

    // Assess: pending, then joined to its line; a third poll finds nothing new
    expect(first.reports.map((report) => [report.rowsPending, report.rowsQuarantined])).toEqual([[1, 0]]);
    expect(second.reports.map((report) => [report.path, report.rowsAccepted])).toEqual([['b-items.csv', 1]]);
    expect(again.reports).toEqual([]);
    expect([...streamRows(await readStream(stack.clients, names.ordersStream))].sort()).toEqual(
      [`line|${orderId}|${lineId}|950x1`, `option|${orderId}|${lineId}|Size|Large|50x1`].sort(),
    );
  });
});
