import { type ChildProcess, spawn } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateChain } from '../../ingest/generator/index.js';

const bin = new URL('../../shared/cli/tillstream.mjs', import.meta.url).pathname;

/** Collects a child's stderr and waits for lines matching a pattern. */
function watch(child: ChildProcess): {
  text: () => string;
  waitFor: (pattern: RegExp, ms: number) => Promise<RegExpMatchArray>;
} {
  let text = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  return {
    text: () => text,
    waitFor: async (pattern, ms) => {
      const deadline = Date.now() + ms;
      for (;;) {
        const match = text.match(pattern);
        if (match) return match;
        if (Date.now() > deadline || child.exitCode !== null) {
          throw new Error(`no ${pattern} within ${ms} ms; stderr so far:\n${text}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
}

describe('tillstream up: the whole product running continuously', () => {
  let workDir: string;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'tillstream-up-'));
  });
  afterAll(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  it('polls new files, processes them, serves the dashboard, runs the nightly job and stops cleanly on SIGINT', async () => {
    // Prepare: an empty input folder; the chain's files arrive while `up` runs.
    const generated = join(workDir, 'generated');
    await generateChain({
      outDir: generated,
      locations: 2,
      days: 3,
      seed: 5,
      startDate: '2023-04-03',
      ordersPerLocationDay: 8,
    });
    const input = join(workDir, 'input');
    await cp(join(generated, 'locations.csv'), join(input, 'locations.csv'), { recursive: true });
    const child = spawn(
      process.execPath,
      [
        bin,
        '--state-dir',
        join(workDir, 'state'),
        'up',
        '--input',
        input,
        '--poll-interval',
        '1',
        '--port',
        '0',
        '--compact-at',
        '00:00',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
    );
    const output = watch(child);
    try {
      // Act + Assess
      const [, url] = await output.waitFor(/dashboard on (http:\/\/127\.0\.0\.1:\d+\/)/, 60_000);
      await output.waitFor(/nightly: published \d{4}-\d{2}-\d{2}/, 60_000);
      await cp(generated, input, { recursive: true });
      await output.waitFor(/poll: \d+ file\(s\), [1-9]\d* order events put/, 60_000);
      let checkpointedShards = 0;
      for (const deadline = Date.now() + 30_000; checkpointedShards === 0 && Date.now() < deadline; ) {
        const response = await fetch(new URL('api/ops', url ?? ''));
        expect(response.status).toBe(200);
        const ops = (await response.json()) as { shards?: { checkpoint?: string | null }[] };
        checkpointedShards = (ops.shards ?? []).filter((shard) => shard.checkpoint).length;
        if (checkpointedShards === 0) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(checkpointedShards).toBeGreaterThan(0);

      // Act: Ctrl-C reaches the whole process group, as in a terminal.
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGINT');
      const exitCode = await new Promise<number | null>((resolve) =>
        child.on('exit', (code) => resolve(code)),
      );

      // Assess
      expect(exitCode).toBe(0);
      expect(output.text()).toContain('stopped cleanly');
    } finally {
      if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }
  });
});
