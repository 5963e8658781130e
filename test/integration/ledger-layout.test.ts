import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { ClaimStatus, keyString, lineKey, optionKey, RowKind } from '../../ingest/identity.js';
import { ensureLedgerLayout, ORDER_CLAIMS_SK, readClaims } from '../../ingest/ledger.js';
import { readReports, useIngestStack } from '../support/ingest-stack.js';

const HEADER =
  'APP_NAME,RESTAURANT_ID,CREATION_TIME_UTC,ORDER_ID,USER_ID,PRINTED_CARD_NUMBER,IS_LOYALTY,CURRENCY,LINEITEM_ID,ITEM_CATEGORY,ITEM_NAME,ITEM_PRICE,ITEM_QUANTITY';
const T0 = Date.parse('2023-08-20T12:00:00Z');

describe('a ledger written one item per identity (the layout before order items)', () => {
  const stack = useIngestStack();

  it('is folded into order items once, and its claims still settle duplicates', async () => {
    // Prepare
    const { names, settings } = await stack.resources();
    const { doc } = stack.clients;
    const oldClaim = {
      fileKey: 'folder:old/items.csv',
      contentHash: 'a'.repeat(64),
      valueHash: 'b'.repeat(64),
      claimedAtMs: T0 - 86_400_000,
    };
    const pendingOption = optionKey({
      orderId: 'O3',
      lineItemId: 'L1',
      groupName: 'Size',
      optionName: 'Large',
    });
    const identityItems = [
      { ...lineKey('O1', 'L1'), ...oldClaim, row: 1, kind: RowKind.Line, status: ClaimStatus.Accepted },
      { ...pendingOption, ...oldClaim, row: 2, kind: RowKind.Option, status: ClaimStatus.Pending },
    ];
    for (const item of identityItems)
      await doc.send(new PutCommand({ TableName: names.ledgerTable, Item: item }));
    // A processor's order state shares the table and must be left alone.
    const orderState = { pk: 'O#O1', sk: 'S', v: 3, s: 'state' };
    await doc.send(new PutCommand({ TableName: names.ledgerTable, Item: orderState }));
    const dir = await mkdtemp(path.join(tmpdir(), 'tillstream-ledger-layout-'));
    await writeFile(
      path.join(dir, 'items.csv'),
      `${HEADER}\nApp,R1,2023-08-14T17:03:12Z,O1,U1,,TRUE,USD,L1,Burgers,Cheese,9.50,1\nApp,R1,2023-08-14T17:04:00Z,O2,,,FALSE,USD,L1,Fries,Fries,3.25,2\n`,
    );

    // Act
    await stack.pollFolder(dir, { names, settings, nowMs: T0 });
    const foldedAgain = await ensureLedgerLayout(doc, names.ledgerTable);

    // Assess
    const [report] = await readReports(stack.clients, names.rawBucket);
    expect(report).toMatchObject({
      rowsAccepted: 1,
      rowsQuarantined: 1,
      quarantinedByReason: { conflicting_duplicate: 1 },
    });
    const claims = await readClaims(doc, names.ledgerTable, [
      lineKey('O1', 'L1'),
      pendingOption,
      lineKey('O2', 'L1'),
    ]);
    expect(claims.get(keyString(lineKey('O1', 'L1')))).toEqual(identityItems[0]);
    expect(claims.get(keyString(pendingOption))).toEqual(identityItems[1]);
    expect(claims.get(keyString(lineKey('O2', 'L1')))).toMatchObject({
      row: 2,
      status: ClaimStatus.Accepted,
    });
    const items = (await doc.send(new ScanCommand({ TableName: names.ledgerTable }))).Items ?? [];
    const keys = items.map((item) => `${String(item['pk'])} ${String(item['sk'])}`).sort();
    expect(keys).toEqual([
      'O#O1 S',
      'ledger#layout order-items',
      `row#O1 ${ORDER_CLAIMS_SK}`,
      `row#O2 ${ORDER_CLAIMS_SK}`,
      `row#O3 ${ORDER_CLAIMS_SK}`,
    ]);
    expect(items.find((item) => item['pk'] === 'O#O1')).toEqual(orderState);
    expect(foldedAgain).toBe(0);
  });
});
