/**
 * A requeued orphan option whose line still does not come is quarantined again (same object key;
 * its report counts it quarantined). It must be listed by `tillstream quarantine` again and taken
 * by a later `requeue` once its line arrives, not hidden for good by the first requeue's marks.
 */
import { describe, expect, it } from 'vitest';
import { listQuarantinedRows } from '../../ingest/quarantine.js';
import { runRequeue } from '../../ingest/requeue.js';
import {
  ITEMS_HEADER,
  inputFolder,
  OPTIONS_HEADER,
  readStream,
  streamRows,
  useIngestStack,
} from '../support/ingest-stack.js';

const T0 = Date.parse('2023-08-20T12:00:00Z');
const DAY = 86_400_000;

describe('a requeued orphan option that is orphaned again', () => {
  const stack = useIngestStack();

  it('stays listed in quarantine and can be requeued once its line arrives', async () => {
    // Prepare
    const { names, settings } = await stack.resources();
    const { dir, write } = await inputFolder();
    const poll = (now: number) => stack.pollFolder(dir, { names, settings, nowMs: now });
    const requeue = (now: number) =>
      runRequeue({ clients: stack.clients, names, settings, clock: () => now });
    await write('options.csv', `${OPTIONS_HEADER}\nO9,L1,Size,Large,0.75,1\n`, T0 - 60_000);
    await poll(T0); // pending
    await poll(T0 + 8 * DAY); // orphan_option
    await requeue(T0 + 8 * DAY); // its line is still unknown: pending again

    // Act
    await poll(T0 + 16 * DAY); // orphan_option again
    const listed = await listQuarantinedRows(stack.clients.s3, names);
    await write(
      'items.csv',
      `${ITEMS_HEADER}\nApp,R1,2023-08-14T17:03:12Z,O9,U1,,TRUE,USD,L1,Burgers,Cheese,7.00,1\n`,
      T0 + 17 * DAY,
    );
    await poll(T0 + 17 * DAY);
    const requeued = await requeue(T0 + 17 * DAY);

    // Assess
    expect
      .soft(listed)
      .toEqual([expect.objectContaining({ path: 'options.csv', row: 1, reason: 'orphan_option' })]);
    expect.soft(requeued).toMatchObject({ examined: 1, accepted: 1 });
    const rows = streamRows(await readStream(stack.clients, names.ordersStream));
    expect(rows.has('option|O9|L1|Size|Large|75x1')).toBe(true);
  });
});
