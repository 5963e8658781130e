import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { ReportInvariantError } from '../../ingest/errors.js';
import { createFolderSource } from '../../ingest/folder/source.js';
import { runPollCycle } from '../../ingest/poll.js';
import { formatQuarantine, listQuarantinedRows } from '../../ingest/quarantine.js';
import type { IngestReport } from '../../ingest/report.js';
import { runRequeue } from '../../ingest/requeue.js';
import { listKeys, readObject, readStream, streamRows, useIngestStack } from '../support/ingest-stack.js';

const HEADER =
  'APP_NAME,RESTAURANT_ID,CREATION_TIME_UTC,ORDER_ID,USER_ID,PRINTED_CARD_NUMBER,IS_LOYALTY,CURRENCY,LINEITEM_ID,ITEM_CATEGORY,ITEM_NAME,ITEM_PRICE,ITEM_QUANTITY';
const T0 = Date.parse('2023-08-20T12:00:00Z');

describe('requeue of quarantined rows', () => {
  const stack = useIngestStack();

  it('streams a row fixed in the quarantine file once, and updates its report', async () => {
    // Prepare
    const { names, settings } = await stack.resources();
    const dir = await mkdtemp(path.join(tmpdir(), 'tillstream-requeue-'));
    await writeFile(
      path.join(dir, 'items.csv'),
      `${HEADER}\nApp,R1,2023-08-14T17:03:12Z,O1,U1,,TRUE,USD,L1,Burgers,Cheese,9.50,1\nApp,R1,2023-08-14T17:04:00Z,O2,,,FALSE,USD,L1,Fries,Fries,abc,2\n`,
    );
    const deps = { clients: stack.clients, names, settings, clock: () => T0 };
    await runPollCycle({ ...deps, source: createFolderSource(dir) });
    const [quarantineKey] = await listKeys(stack.clients, names.quarantineBucket);
    const untouched = await runRequeue(deps);
    const listed = await listQuarantinedRows(stack.clients.s3, names, { file: 'items.csv' });
    const fixed = (await readObject(stack.clients, names.quarantineBucket, quarantineKey!))
      .toString()
      .replace(',abc,', ',3.25,');
    await stack.clients.s3.send(
      new PutObjectCommand({ Bucket: names.quarantineBucket, Key: quarantineKey, Body: fixed }),
    );

    // Act
    const requeued = await runRequeue(deps);
    const again = await runRequeue(deps);
    const listedAfter = await listQuarantinedRows(stack.clients.s3, names, { file: 'items.csv' });

    // Assess
    expect(untouched).toMatchObject({ examined: 1, accepted: 0, stillRejected: { bad_number: 1 } });
    expect(requeued).toMatchObject({ examined: 1, accepted: 1, recordsPut: 1 });
    expect(again.examined).toBe(0);
    // `tillstream quarantine` lists the row with its column and reason until a requeue takes it
    expect(listed).toEqual([
      expect.objectContaining({ path: 'items.csv', row: 2, column: 'ITEM_PRICE', reason: 'bad_number' }),
    ]);
    expect(formatQuarantine(listed, 50)).toMatch(/^items\.csv\s+2\s+ITEM_PRICE\s+bad_number\s+\S/m);
    expect(listedAfter).toEqual([]);
    const rows = streamRows(await readStream(stack.clients, names.ordersStream));
    expect(rows.has('line|O2|L1|325x2')).toBe(true);
    const reportKey = (await listKeys(stack.clients, names.rawBucket)).find((key) =>
      key.endsWith('.ingest-report.json'),
    )!;
    const report = JSON.parse(
      (await readObject(stack.clients, names.rawBucket, reportKey)).toString(),
    ) as IngestReport;
    expect(report).toMatchObject({
      rowsRead: 2,
      rowsAccepted: 2,
      rowsQuarantined: 0,
      quarantinedByReason: {},
      requeuedRows: [2],
    });
  });

  it('puts nothing on the stream for a row whose report would not add up', async () => {
    // Prepare: a bad price fixed in quarantine, and a report that lost count of a row
    const { names, settings } = await stack.resources();
    const dir = await mkdtemp(path.join(tmpdir(), 'tillstream-requeue-'));
    await writeFile(
      path.join(dir, 'items.csv'),
      `${HEADER}\nApp,R1,2023-08-14T17:03:12Z,O1,U1,,TRUE,USD,L1,Burgers,Cheese,9.50,1\nApp,R1,2023-08-14T17:04:00Z,O2,,,FALSE,USD,L1,Fries,Fries,abc,2\n`,
    );
    const deps = { clients: stack.clients, names, settings, clock: () => T0 };
    await runPollCycle({ ...deps, source: createFolderSource(dir) });
    const [quarantineKey] = await listKeys(stack.clients, names.quarantineBucket);
    const fixed = (await readObject(stack.clients, names.quarantineBucket, quarantineKey!))
      .toString()
      .replace(',abc,', ',3.25,');
    await stack.clients.s3.send(
      new PutObjectCommand({ Bucket: names.quarantineBucket, Key: quarantineKey, Body: fixed }),
    );
    const reportKey = (await listKeys(stack.clients, names.rawBucket)).find((key) =>
      key.endsWith('.ingest-report.json'),
    )!;
    const report = JSON.parse(
      (await readObject(stack.clients, names.rawBucket, reportKey)).toString(),
    ) as IngestReport;
    await stack.clients.s3.send(
      new PutObjectCommand({
        Bucket: names.rawBucket,
        Key: reportKey,
        Body: JSON.stringify({ ...report, rowsRead: 3 }),
      }),
    );
    const recordsBefore = (await readStream(stack.clients, names.ordersStream)).length;

    // Act
    const failure = await runRequeue(deps).catch((error: unknown) => error);
    const recordsAfter = (await readStream(stack.clients, names.ordersStream)).length;

    // Assess
    expect(failure).toBeInstanceOf(ReportInvariantError);
    expect(recordsAfter).toBe(recordsBefore);
  });

  it('keeps a row with a malformed quote rejected until its raw text is fixed', async () => {
    // Prepare: a quote never closed; its quarantined raw text is the line as the file has it
    const { names, settings } = await stack.resources();
    const dir = await mkdtemp(path.join(tmpdir(), 'tillstream-requeue-'));
    const spoiled = 'App,R2,2023-08-14T17:05:00Z,O9,U9,,FALSE,USD,L1,"Burgers,Cheeseburger,9.99,1';
    await writeFile(path.join(dir, 'quotes.csv'), `${HEADER}\n${spoiled}\n`);
    const deps = { clients: stack.clients, names, settings, clock: () => T0 };
    await runPollCycle({ ...deps, source: createFolderSource(dir) });
    const keys = await listKeys(stack.clients, names.quarantineBucket);
    const quarantineKey = keys.find((key) => key.includes('quotes'))!;
    const quarantined = (await readObject(stack.clients, names.quarantineBucket, quarantineKey)).toString();

    // Act: a requeue with nothing fixed, then one after the quote is closed in the quarantine file
    const untouched = await runRequeue(deps);
    const fixed = quarantined.replace('\\"Burgers,', '\\"Burgers\\",');
    await stack.clients.s3.send(
      new PutObjectCommand({ Bucket: names.quarantineBucket, Key: quarantineKey, Body: fixed }),
    );
    const requeued = await runRequeue(deps);

    // Assess
    expect(JSON.parse(quarantined.trim()).raw).toBe(spoiled);
    expect(untouched).toMatchObject({ accepted: 0, recordsPut: 0, stillRejected: { malformed_row: 1 } });
    expect(requeued).toMatchObject({ examined: 1, accepted: 1, recordsPut: 1 });
    const rows = streamRows(await readStream(stack.clients, names.ordersStream));
    expect(rows.has('line|O9|L1|999x1')).toBe(true);
  });
});
