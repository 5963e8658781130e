/** Checks of the `--input` and `--export` options, made before a command opens the stack. */
import { stat } from 'node:fs/promises';
import { driveFolderIds } from '../../ingest/sources.js';
import { CliError, ExitCode } from './errors.js';

/**
 * Refuses (exit 2) an input that names no Drive folder, or a local folder that does not exist or
 * is a file: found before any work, not as a stack trace once the poll lists it.
 *
 * @example
 * await checkInputOption('--input', options.input);
 */
export async function checkInputOption(flag: string, input: string): Promise<void> {
  const folderIds = driveFolderIds(input);
  if (folderIds !== null) {
    if (folderIds.length === 0)
      throw new CliError(`${flag} ${input} names no Drive folder`, ExitCode.BadUsage);
    return;
  }
  const found = await stat(input).catch(() => null);
  if (found === null) throw new CliError(`${flag} ${input}: no such folder`, ExitCode.BadUsage);
  if (!found.isDirectory()) throw new CliError(`${flag} ${input} is a file, not a folder`, ExitCode.BadUsage);
}

/** Refuses (exit 2) an output folder that is an existing file. */
export async function checkOutputFolderOption(flag: string, folder: string): Promise<void> {
  const found = await stat(folder).catch(() => null);
  if (found !== null && !found.isDirectory())
    throw new CliError(`${flag} ${folder} is a file, not a folder`, ExitCode.BadUsage);
}
