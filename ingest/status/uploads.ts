/**
 * The missing-upload check against the state table: the locations that ever uploaded, their zones
 * (locations file, else the default zone), the arrivals the poller recorded and the closures.
 * Shared by `tillstream status` and the poller Lambda's `MissingUploads` metric.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { addDays, toLocalTime } from '../../aggregates/time.js';
import type { Settings } from '../../shared/config.js';
import type { ResourceNames } from '../../shared/resources.js';
import { type ClosureRecord, PollerState } from '../state.js';
import { type MissingUpload, missingUploads, type UploadingLocation } from './missing-uploads.js';

/** The outcome of one check. */
export interface UploadCheck {
  readonly missing: MissingUpload[];
  /** The locations checked, with their zones and first dates. */
  readonly locations: UploadingLocation[];
  readonly closures: ClosureRecord[];
}

/** Settings the check reads. */
export type UploadCheckSettings = Pick<
  Settings,
  'defaultTimeZone' | 'uploadDueLocalTime' | 'uploadDueDaysAfter' | 'statusLookbackDays'
>;

/**
 * The uploads overdue at `nowMs`: three Queries and one per page of arrivals in the lookback window
 * (locations × days items at most).
 *
 * @example
 * const check = await checkMissingUploads(clients.doc, names, settings, Date.now());
 * for (const gap of check.missing) console.log(gap.locationId, gap.localDate);
 */
export async function checkMissingUploads(
  doc: DynamoDBDocumentClient,
  names: Pick<ResourceNames, 'stateTable'>,
  settings: UploadCheckSettings,
  nowMs: number,
): Promise<UploadCheck> {
  const state = new PollerState(doc, names.stateTable);
  const [uploading, configs, closures] = await Promise.all([
    state.arrivalLocations(),
    state.locations(),
    state.closures(),
  ]);
  // Every zone's today lies within a day of UTC's.
  const utcToday = toLocalTime(nowMs, 'UTC').localDate;
  const arrived = await state.arrivalKeys(
    addDays(utcToday, -settings.statusLookbackDays - 1),
    addDays(utcToday, 1),
  );
  const locations = uploading.map((location) => ({
    ...location,
    timeZone: configs.get(location.locationId)?.timeZone ?? settings.defaultTimeZone,
  }));
  const missing = missingUploads({
    locations,
    arrived,
    closures,
    nowMs,
    dueLocalTime: settings.uploadDueLocalTime,
    dueDaysAfter: settings.uploadDueDaysAfter,
    lookbackDays: settings.statusLookbackDays,
  });
  return { missing, locations, closures };
}
