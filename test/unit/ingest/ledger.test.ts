import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  ClaimStatus,
  keyString,
  type LedgerClaim,
  lineKey,
  optionKey,
  RowKind,
} from '../../../ingest/identity.js';
import {
  ClaimCodec,
  ClaimLedger,
  LedgerFormatError,
  ORDER_CLAIMS_SK,
  OrderTooLargeError,
  releaseClaim,
} from '../../../ingest/ledger.js';

const TABLE = 'tillstream-ledger';
const docMock = mockClient(DynamoDBDocumentClient);
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));

function claim(key: { pk: string; sk: string }, row: number, kind: RowKind = RowKind.Line): LedgerClaim {
  return {
    ...key,
    kind,
    fileKey: 'folder:2023-06-01/order_items.csv',
    contentHash: 'c'.repeat(64),
    row,
    valueHash: 'v'.repeat(64),
    status: ClaimStatus.Accepted,
    claimedAtMs: 1_700_000_000_000,
  };
}

const optionOfO1 = optionKey({ orderId: 'O1', lineItemId: 'L1', groupName: 'Size', optionName: 'Large' });

describe('ClaimCodec', () => {
  it('round-trips a claim through one attribute value', () => {
    // Prepare
    const original = claim(lineKey('O1', 'L1'), 7);

    // Act
    const decoded = ClaimCodec.decode(lineKey('O1', 'L1'), ClaimCodec.encode(original));

    // Assess
    expect(decoded).toEqual(original);
  });

  it('matches the holder prefix of the very row only, not of a row whose number starts alike', () => {
    // Prepare
    const row1 = claim(lineKey('O1', 'L1'), 1);
    const row12 = claim(lineKey('O1', 'L1'), 12);

    // Act
    const prefix = ClaimCodec.holderPrefix(row1);

    // Assess
    expect(ClaimCodec.encode(row1).startsWith(prefix)).toBe(true);
    expect(ClaimCodec.encode(row12).startsWith(prefix)).toBe(false);
    expect(ClaimCodec.encode({ ...row1, contentHash: 'd'.repeat(64) }).startsWith(prefix)).toBe(false);
  });

  it('names the order and the attribute of a value that is not a claim', () => {
    // Act
    const decoding = () => ClaimCodec.decode(lineKey('O1', 'L1'), '["folder:x"]');

    // Assess
    expect(decoding).toThrow(LedgerFormatError);
    expect(decoding).toThrow('row#O1: attribute line|L1');
  });
});

describe('ClaimLedger', () => {
  beforeEach(() => {
    docMock.reset();
  });

  it('reads each order item once per cycle, whatever identities of it are asked for later', async () => {
    // Prepare
    const line = claim(lineKey('O1', 'L1'), 3);
    docMock.on(BatchGetCommand).resolves({
      Responses: { [TABLE]: [{ pk: line.pk, sk: ORDER_CLAIMS_SK, [line.sk]: ClaimCodec.encode(line) }] },
    });
    const ledger = new ClaimLedger(doc, TABLE);

    // Act
    const first = await ledger.read([optionOfO1, lineKey('O1', 'L1'), lineKey('O2', 'L1')]);
    const second = await ledger.read([lineKey('O1', 'L1'), lineKey('O1', 'L2'), lineKey('O2', 'L9')]);

    // Assess
    const gets = docMock.commandCalls(BatchGetCommand);
    expect(gets).toHaveLength(1);
    expect(gets[0]!.args[0].input.RequestItems?.[TABLE]?.Keys).toEqual([
      { pk: 'row#O1', sk: ORDER_CLAIMS_SK },
      { pk: 'row#O2', sk: ORDER_CLAIMS_SK },
    ]);
    expect([...first.keys()]).toEqual([keyString(lineKey('O1', 'L1'))]);
    expect(second.get(keyString(lineKey('O1', 'L1')))).toEqual(line);
    expect(second.has(keyString(lineKey('O1', 'L2')))).toBe(false);
  });

  it('writes one item per order that keeps the claims the order already had', async () => {
    // Prepare
    const line = claim(lineKey('O1', 'L1'), 3);
    docMock.on(BatchGetCommand).resolves({
      Responses: { [TABLE]: [{ pk: line.pk, sk: ORDER_CLAIMS_SK, [line.sk]: ClaimCodec.encode(line) }] },
    });
    docMock.on(BatchWriteCommand).resolves({});
    const ledger = new ClaimLedger(doc, TABLE);
    const option = claim(optionOfO1, 5, RowKind.Option);
    const secondLine = claim(lineKey('O1', 'L2'), 4);
    const otherOrder = claim(lineKey('O2', 'L1'), 6);

    // Act
    await ledger.write([option, secondLine, otherOrder]);

    // Assess
    const puts = docMock
      .commandCalls(BatchWriteCommand)
      .flatMap((call) => call.args[0].input.RequestItems?.[TABLE] ?? [])
      .map((request) => request.PutRequest?.Item);
    expect(puts).toEqual([
      {
        pk: 'row#O1',
        sk: ORDER_CLAIMS_SK,
        [line.sk]: ClaimCodec.encode(line),
        [option.sk]: ClaimCodec.encode(option),
        [secondLine.sk]: ClaimCodec.encode(secondLine),
      },
      { pk: 'row#O2', sk: ORDER_CLAIMS_SK, [otherOrder.sk]: ClaimCodec.encode(otherOrder) },
    ]);
  });

  it('refuses, naming the order, an order whose claims do not fit one item, and writes none of the batch', async () => {
    // Prepare
    docMock.on(BatchGetCommand).resolves({ Responses: { [TABLE]: [] } });
    docMock.on(BatchWriteCommand).resolves({});
    const ledger = new ClaimLedger(doc, TABLE);
    const huge = Array.from({ length: 2_000 }, (_, index) => claim(lineKey('O#big', `L${index}`), index + 1));

    // Act
    const writing = ledger.write([claim(lineKey('O1', 'L1'), 1), ...huge]);

    // Assess
    await expect(writing).rejects.toThrow(OrderTooLargeError);
    await expect(ledger.write(huge)).rejects.toThrow(/^order O#big has 2000 row claims \(\d+ bytes\)/);
    expect(docMock.commandCalls(BatchWriteCommand)).toHaveLength(0);
  });

  it('reads the table again after a write that failed, instead of trusting what it meant to write', async () => {
    // Prepare
    docMock.on(BatchGetCommand).resolves({ Responses: { [TABLE]: [] } });
    docMock.on(BatchWriteCommand).rejects(new Error('connection reset'));
    const ledger = new ClaimLedger(doc, TABLE);
    await ledger.read([lineKey('O1', 'L1')]);

    // Act
    await expect(ledger.write([claim(lineKey('O1', 'L1'), 3)])).rejects.toThrow('connection reset');
    const after = await ledger.read([lineKey('O1', 'L1')]);

    // Assess
    expect(after.size).toBe(0);
    expect(docMock.commandCalls(BatchGetCommand)).toHaveLength(2);
  });

  it('keeps at most the configured number of orders between calls', async () => {
    // Prepare
    docMock.on(BatchGetCommand).resolves({ Responses: { [TABLE]: [] } });
    const ledger = new ClaimLedger(doc, TABLE, 2);

    // Act
    await ledger.read([lineKey('O1', 'L1'), lineKey('O2', 'L1'), lineKey('O3', 'L1')]);
    await ledger.read([lineKey('O3', 'L1'), lineKey('O2', 'L1')]);
    await ledger.read([lineKey('O1', 'L1')]);

    // Assess
    const keys = docMock
      .commandCalls(BatchGetCommand)
      .map((call) => call.args[0].input.RequestItems?.[TABLE]?.Keys?.map((key) => key['pk']));
    expect(keys).toEqual([['row#O1', 'row#O2', 'row#O3'], ['row#O1']]);
  });

  it('releases a claim only while the row that made it holds it, and forgets the order', async () => {
    // Prepare
    const option = claim(optionOfO1, 5, RowKind.Option);
    docMock.on(BatchGetCommand).resolves({
      Responses: {
        [TABLE]: [{ pk: option.pk, sk: ORDER_CLAIMS_SK, [option.sk]: ClaimCodec.encode(option) }],
      },
    });
    docMock.on(UpdateCommand).resolves({});
    const ledger = new ClaimLedger(doc, TABLE);
    await ledger.read([optionOfO1]);

    // Act
    await ledger.release(optionOfO1, option);
    await ledger.read([optionOfO1]);

    // Assess
    const update = docMock.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(update).toMatchObject({
      Key: { pk: 'row#O1', sk: ORDER_CLAIMS_SK },
      UpdateExpression: 'REMOVE #claim',
      ConditionExpression: 'begins_with(#claim, :holder)',
      ExpressionAttributeNames: { '#claim': option.sk },
      ExpressionAttributeValues: { ':holder': ClaimCodec.holderPrefix(option) },
    });
    expect(docMock.commandCalls(BatchGetCommand)).toHaveLength(2);
  });

  it('leaves a claim held by another row in place (the conditional failure is not an error)', async () => {
    // Prepare
    const { ConditionalCheckFailedException } = await import('@aws-sdk/client-dynamodb');
    docMock
      .on(UpdateCommand)
      .rejects(new ConditionalCheckFailedException({ message: 'failed', $metadata: {} }));

    // Act
    const releasing = releaseClaim(doc, TABLE, optionOfO1, claim(optionOfO1, 5, RowKind.Option));

    // Assess
    await expect(releasing).resolves.toBeUndefined();
  });
});
