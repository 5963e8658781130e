/**
 * One stack per state directory: the emulators' LevelDB stores refuse a second opener by crashing
 * the process, so the stack takes this lock first and fails with a clear message instead.
 */
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalStackError } from './errors.js';

/** The lock's file name inside the state directory; `--fresh` keeps it. */
export const STATE_LOCK_FILE = 'stack.lock';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the lock of `stateDir` for this process, replacing a lock whose process is gone.
 * Resolves to its release.
 *
 * @throws LocalStackError when a live process holds it.
 */
export async function lockStateDir(stateDir: string): Promise<() => Promise<void>> {
  const path = join(stateDir, STATE_LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder)) {
        throw new LocalStackError(
          `${stateDir} is in use by another tillstream process (pid ${holder}); stop it or pass another --state-dir`,
          'state-dir',
        );
      }
      if (holder === process.pid) {
        throw new LocalStackError(`${stateDir} is already in use by a stack of this process`, 'state-dir');
      }
      await rm(path, { force: true });
    }
  }
  throw new LocalStackError(`could not lock ${stateDir}`, 'state-dir');
}
