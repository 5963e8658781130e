/** `tillstream quarantine` lists a file quarantined whole (row 0), as well as its rows. */
import { describe, expect, it } from 'vitest';
import { listQuarantinedRows } from '../../ingest/quarantine.js';
import { inputFolder, useIngestStack } from '../support/ingest-stack.js';

const T0 = Date.parse('2023-08-20T12:00:00Z');

describe('tillstream quarantine and whole files set aside by the parse', () => {
  const stack = useIngestStack();

  it('lists an items export that lacks a column (missing_column, row 0)', async () => {
    // Prepare: an order_items export without ITEM_QUANTITY
    const { names, settings } = await stack.resources();
    const folder = await inputFolder();
    await folder.write(
      'items.csv',
      'APP_NAME,RESTAURANT_ID,CREATION_TIME_UTC,ORDER_ID,USER_ID,PRINTED_CARD_NUMBER,IS_LOYALTY,CURRENCY,LINEITEM_ID,ITEM_CATEGORY,ITEM_NAME,ITEM_PRICE\n' +
        'App,R1,2023-08-14T17:03:12Z,O1,U1,,TRUE,USD,L1,Burgers,Cheese,9.50\n',
      T0 - 60_000,
    );
    // Act
    await stack.pollFolder(folder.dir, { names, settings, nowMs: T0 });
    const listed = await listQuarantinedRows(stack.clients.s3, names);
    // Assess
    expect(listed).toEqual([
      expect.objectContaining({ path: 'items.csv', row: 0, reason: 'missing_column' }),
    ]);
  });
});
