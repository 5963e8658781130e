/** The source an `--input` names: a local folder, or `drive://FOLDER_ID[,ID…]`. */
import { createDriveClient, driveOptionsFromEnv, type ServiceAccountKey } from './drive/client.js';
import { createDriveSource } from './drive/source.js';
import { createFolderSource } from './folder/source.js';
import type { FileSource } from './source.js';
import type { PollerState } from './state.js';

export const DRIVE_SCHEME = 'drive://';

/** The Drive folder ids of a `drive://` input, or null for a folder path. */
export function driveFolderIds(input: string): string[] | null {
  if (!input.startsWith(DRIVE_SCHEME)) return null;
  const ids = input
    .slice(DRIVE_SCHEME.length)
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  return ids;
}

/**
 * The source for an input; a Drive source keeps its changes token in the poller state.
 *
 * @example
 * const source = sourceFor('drive://1AbC', state, process.env);
 */
export function sourceFor(
  input: string,
  state: PollerState,
  env: Readonly<Record<string, string | undefined>>,
  serviceAccountKey?: ServiceAccountKey,
): FileSource {
  const folderIds = driveFolderIds(input);
  if (folderIds === null) return createFolderSource(input);
  const location = `${DRIVE_SCHEME}${folderIds.join(',')}`;
  const fromEnv = driveOptionsFromEnv(env);
  return createDriveSource({
    drive: createDriveClient(serviceAccountKey === undefined ? fromEnv : { ...fromEnv, serviceAccountKey }),
    folderIds,
    tokens: {
      load: () => state.changeToken(location),
      save: (token) => state.saveChangeToken(location, token),
    },
  });
}
