import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../../shared/cli/main.js';

const run = promisify(execFile);
const bin = new URL('../../../shared/cli/tillstream.mjs', import.meta.url).pathname;

/** Every command of CONTRACT.md §4, plus `reconcile` (issue #7). */
const contractCommands = [
  'run',
  'rebuild',
  'retract',
  'backfill',
  'status',
  'poll',
  'process',
  'compact',
  'export',
  'requeue',
  'lag',
  'dashboard',
  'up',
  'generate',
  'demo',
  'reconcile',
];

/** The exit code and stderr of a CLI run that is expected to fail. */
const failedRun = (...args: string[]): Promise<{ code: number; stderr: string }> =>
  run(process.execPath, [bin, ...args]).then(
    () => ({ code: 0, stderr: '' }),
    (error: { code: number; stderr: string }) => error,
  );

describe('tillstream CLI', () => {
  it('registers every command of the contract', () => {
    // Act
    const names = buildProgram().commands.map((command) => command.name());
    // Assess
    expect(names).toEqual(expect.arrayContaining(contractCommands));
  });

  it('prints help and exits 0 through the installed bin shim', async () => {
    // Act
    const { stdout } = await run(process.execPath, [bin, '--help']);
    // Assess
    expect(stdout).toContain('Usage: tillstream');
    for (const name of contractCommands) expect(stdout).toContain(name);
  });

  it('exits 2 on an unknown command', async () => {
    // Act
    const failure = await failedRun('no-such-command');
    // Assess
    expect(failure).toMatchObject({ code: 2 });
    expect(failure.stderr).toContain("unknown command 'no-such-command'");
  });

  it('exits 2 on a date that is not in the calendar, before opening anything', async () => {
    // Act
    const failure = await failedRun('compact', '--as-of', '2023-02-30');
    // Assess
    expect(failure).toMatchObject({ code: 2 });
    expect(failure.stderr).toContain('--as-of must be a date YYYY-MM-DD (given "2023-02-30")');
  });

  it('exits 2 with one line, no stack, on an input folder that does not exist', async () => {
    // Act
    const failure = await failedRun('poll', '--input', '/no/such/tillstream/folder');
    // Assess
    expect(failure).toMatchObject({ code: 2 });
    expect(failure.stderr).toBe('tillstream: --input /no/such/tillstream/folder: no such folder\n');
  });
});
