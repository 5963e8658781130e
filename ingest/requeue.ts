/**
 * `tillstream requeue`: quarantined rows validated again (after a fix to the settings, to the code,
 * or to the row's `raw` text in the quarantine file) and streamed when they now pass. A row taken
 * in is marked in the state table, so each is requeued once; rows that still fail stay put. It
 * takes the rows `tillstream quarantine` lists (ingest/quarantine.ts), and a row's updated report
 * is checked before its records go on the stream.
 */
import { createHash } from 'node:crypto';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Settings } from '../shared/config.js';
import { splitCsvRecord } from '../shared/input/csv.js';
import { matchHeader } from '../shared/input/header.js';
import { EntryKind, validationSettings } from '../shared/input/types.js';
import { validateRow } from '../shared/input/validate.js';
import type { ResourceNames } from '../shared/resources.js';
import type { Lineage } from '../shared/schemas/order-event.js';
import { encodeBinaryOrderEvent } from '../shared/schemas/order-event-binary.js';
import type { ReasonCode } from '../shared/schemas/reasons.js';
import {
  ClaimStatus,
  Decision,
  decide,
  keyString,
  type LedgerClaim,
  lineKey,
  lineValueHash,
  optionKey,
  optionValueHash,
  RowKind,
} from './identity.js';
import { ensureLedgerLayout, putClaim, readClaims } from './ledger.js';
import { putRecords, type StreamRecord } from './producer.js';
import { getQuarantine, getReport, listObjectKeys, putReport } from './raw-layer.js';
import {
  checkedRequeue,
  type IngestReport,
  RecordStanding,
  type RequeueOutcome,
  recordStanding,
} from './report.js';
import type { BackoffOptions } from './retry.js';
import { PollerState, REQUEUED_PARTITION, requeueMarker } from './state.js';

export interface RequeueDependencies {
  readonly clients: {
    readonly doc: DynamoDBDocumentClient;
    readonly kinesis: KinesisClient;
    readonly s3: S3Client;
  };
  readonly names: ResourceNames;
  readonly settings: Settings;
  readonly clock: () => number;
  readonly backoff?: BackoffOptions;
}

export interface RequeueResult {
  /** Quarantined rows looked at (whole-file rejections and rows already requeued excluded). */
  readonly examined: number;
  readonly accepted: number;
  readonly duplicate: number;
  readonly excluded: number;
  readonly pending: number;
  /** Rows that fail again, by their new reason. */
  readonly stillRejected: Readonly<Partial<Record<ReasonCode, number>>>;
  readonly recordsPut: number;
}

/**
 * Re-validates every quarantined row and streams those that now pass.
 *
 * @example
 * const result = await runRequeue({ clients, names, settings, clock: Date.now });
 * console.log(`${result.accepted} rows requeued`);
 */
export async function runRequeue(deps: RequeueDependencies): Promise<RequeueResult> {
  const { clients, names, settings, clock } = deps;
  const state = new PollerState(clients.doc, names.stateTable);
  await ensureLedgerLayout(clients.doc, names.ledgerTable);
  const locations = await state.locations();
  const validation = validationSettings(settings);
  const result = {
    examined: 0,
    accepted: 0,
    duplicate: 0,
    excluded: 0,
    pending: 0,
    stillRejected: {} as Partial<Record<ReasonCode, number>>,
    recordsPut: 0,
  };

  /** Each report as last read or written by this run. */
  const reports = new Map<string, IngestReport | undefined>();
  const reportOf = async (key: string): Promise<IngestReport | undefined> => {
    if (!reports.has(key)) reports.set(key, await getReport(clients.s3, names.rawBucket, key));
    return reports.get(key);
  };

  for (const key of await listQuarantineKeys(clients.s3, names.quarantineBucket)) {
    for (const record of await getQuarantine(clients.s3, names.quarantineBucket, key)) {
      if (record.row === 0 || record.contentHash === null || record.reportKey === null) continue;
      const fileKey = `${record.source}:${record.file}`;
      const marker = requeueMarker({ fileKey, contentHash: record.contentHash, row: record.row });
      if (await isRequeued(clients.doc, names.stateTable, marker)) continue;
      // As `tillstream quarantine` lists them: a withdrawn file's rows, and a record its report no
      // longer counts (its file read again took the row in), are not quarantined rows.
      const standing = recordStanding(await reportOf(record.reportKey), record.reason, record.row);
      if (standing === RecordStanding.Withdrawn || standing === RecordStanding.Superseded) continue;
      result.examined++;
      const now = clock();
      let fields: string[];
      let headerFields: string[];
      try {
        fields = splitCsvRecord(record.raw);
        headerFields = splitCsvRecord(record.header);
      } catch {
        result.stillRejected[record.reason] = (result.stillRejected[record.reason] ?? 0) + 1;
        continue;
      }
      const header = matchHeader(headerFields);
      if (!header.ok) continue;
      // A requeued row is judged as arriving now: the operator took it in deliberately.
      const entry = validateRow(
        header.layout,
        fields,
        { file: record.file, row: record.row },
        {
          settings: validation,
          arrivedAtMs: now,
        },
      );
      const claimant = { fileKey, contentHash: record.contentHash, row: record.row };
      const lineage: Lineage = {
        file: record.file,
        contentHash: record.contentHash,
        row: record.row,
        arrival: record.arrivalSeq ?? 0,
      };
      let outcome: RequeueOutcome;
      const records: StreamRecord[] = [];
      const eventId = (orderId: string) =>
        createHash('sha256')
          .update(`${record.contentHash}|${orderId}|requeue|${record.row}`)
          .digest('hex')
          .slice(0, 40);

      if (entry.kind === EntryKind.Rejected) {
        const reason = entry.rejection.reason;
        result.stillRejected[reason] = (result.stillRejected[reason] ?? 0) + 1;
        continue;
      } else if (entry.kind === EntryKind.Excluded) {
        outcome = 'excluded';
      } else if (entry.kind === EntryKind.Location) {
        await state.putLocations([entry.record]);
        outcome = 'accepted';
      } else if (entry.kind === EntryKind.CalendarDay) {
        await state.putCalendar([entry.record]);
        outcome = 'accepted';
      } else {
        const isLine = entry.kind === EntryKind.LineItem;
        const identity = isLine
          ? lineKey(entry.record.orderId, entry.record.lineItemId)
          : optionKey(entry.record);
        const valueHash = isLine ? lineValueHash(entry.record) : optionValueHash(entry.record);
        const existing = (await readClaims(clients.doc, names.ledgerTable, [identity])).get(
          keyString(identity),
        );
        let decision = decide(existing, { ...claimant, valueHash });
        let lineKnown = true;
        if (!isLine) {
          const parent = lineKey(entry.record.orderId, entry.record.lineItemId);
          lineKnown = (await readClaims(clients.doc, names.ledgerTable, [parent])).has(keyString(parent));
        }
        if (decision === Decision.Claim) {
          const claim: LedgerClaim = {
            ...identity,
            ...claimant,
            kind: isLine ? RowKind.Line : RowKind.Option,
            valueHash,
            status: lineKnown ? ClaimStatus.Accepted : ClaimStatus.Pending,
            claimedAtMs: now,
          };
          if (!(await putClaim(clients.doc, names.ledgerTable, claim))) {
            const winner = (await readClaims(clients.doc, names.ledgerTable, [identity])).get(
              keyString(identity),
            );
            decision = decide(winner, { ...claimant, valueHash });
          }
        }
        if (decision === Decision.ConflictingDuplicate) {
          result.stillRejected.conflicting_duplicate = (result.stillRejected.conflicting_duplicate ?? 0) + 1;
          continue;
        }
        if (decision === Decision.Duplicate) {
          outcome = 'duplicate';
        } else if (entry.kind === EntryKind.LineItem) {
          const line = entry.record;
          records.push({
            partitionKey: line.orderId,
            data: encodeBinaryOrderEvent({
              eventId: eventId(line.orderId),
              orderId: line.orderId,
              lines: [
                {
                  lineItemId: line.lineItemId,
                  restaurantId: line.restaurantId,
                  timeZone: locations.get(line.restaurantId)?.timeZone ?? settings.defaultTimeZone,
                  createdAtMs: line.createdAtMs,
                  userId: line.userId,
                  isLoyalty: line.isLoyalty,
                  category: line.category,
                  unitPriceCents: line.unitPriceCents,
                  quantity: line.quantity,
                  lineage,
                },
              ],
              options: [],
            }),
          });
          outcome = 'accepted';
        } else if (lineKnown) {
          const option = entry.record;
          records.push({
            partitionKey: option.orderId,
            data: encodeBinaryOrderEvent({
              eventId: eventId(option.orderId),
              orderId: option.orderId,
              lines: [],
              options: [
                {
                  lineItemId: option.lineItemId,
                  groupName: option.groupName,
                  optionName: option.optionName,
                  priceCents: option.priceCents,
                  quantity: option.quantity,
                  lineage,
                },
              ],
            }),
          });
          outcome = 'accepted';
        } else {
          await state.putPending({
            key: optionKey(entry.record),
            option: entry.record,
            claimant,
            file: record.file,
            path: record.path,
            arrivalSeq: record.arrivalSeq ?? 0,
            arrivedAtMs: now,
            reportKey: record.reportKey,
            quarantinePrefix: key.slice(0, key.lastIndexOf('sha256=') + 'sha256='.length + 64) + '/',
            headerLine: record.header,
            raw: record.raw,
          });
          outcome = 'pending';
        }
      }
      // The report is checked before anything goes on the stream: a report that does not add up
      // stops the requeue with nothing put for the row.
      const report = await reportOf(record.reportKey);
      const updated =
        report === undefined
          ? undefined
          : checkedRequeue(report, record.reason, outcome, record.row, records.length, now);
      if (records.length > 0) {
        result.recordsPut += (
          await putRecords(clients.kinesis, names.ordersStream, records, deps.backoff)
        ).recordsPut;
      }
      if (updated !== undefined && updated !== report) {
        await putReport(clients.s3, names.rawBucket, record.reportKey, updated);
        reports.set(record.reportKey, updated);
      }
      await clients.doc.send(
        new PutCommand({
          TableName: names.stateTable,
          Item: { pk: REQUEUED_PARTITION, sk: marker, outcome, at: now, quarantineKey: key },
        }),
      );
      result[outcome]++;
    }
  }
  return result;
}

async function isRequeued(doc: DynamoDBDocumentClient, tableName: string, marker: string): Promise<boolean> {
  const response = await doc.send(
    new GetCommand({
      TableName: tableName,
      Key: { pk: REQUEUED_PARTITION, sk: marker },
      ConsistentRead: true,
    }),
  );
  return response.Item !== undefined;
}

/** Every quarantine object key, sorted. */
export async function listQuarantineKeys(s3: S3Client, bucket: string): Promise<string[]> {
  return listObjectKeys(s3, bucket, 'quarantine/');
}
