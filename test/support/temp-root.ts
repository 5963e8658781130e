/**
 * Vitest global setup: every test process gets its own system temp folder, removed when the run
 * ends, so the folders, emulator stores and synthesized apps the tests create never pile up in the
 * machine's temp dir (a run created ~40 of them). `TILLSTREAM_KEEP_TEST_TMP=1` keeps it for a
 * post-mortem and prints where it is.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'tillstream-test-'));
  const previous = process.env['TMPDIR'];
  // The worker processes inherit the environment, and os.tmpdir() reads TMPDIR on every call.
  process.env['TMPDIR'] = root;
  return () => {
    if (previous === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = previous;
    if (process.env['TILLSTREAM_KEEP_TEST_TMP'] === '1') {
      console.log(`tests' temp folder kept: ${root}`);
      return;
    }
    rmSync(root, { recursive: true, force: true });
  };
}
