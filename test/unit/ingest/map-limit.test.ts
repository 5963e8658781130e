import { describe, expect, it } from 'vitest';
import { mapLimit } from '../../../ingest/retry.js';

describe('mapLimit after a failure', () => {
  it('rejects only once every started task has settled, and starts no new one', async () => {
    // Prepare: task 0 is slow, task 1 fails at once, task 2 would start after.
    const events: string[] = [];
    const task = async (item: number) => {
      events.push(`start ${item}`);
      if (item === 1) throw new Error('chunk 1 failed');
      await new Promise((resolve) => setTimeout(resolve, 50));
      events.push(`end ${item}`);
      return item;
    };

    // Act
    const outcome = await mapLimit([0, 1, 2], 2, task).catch((error: Error) => error.message);
    events.push('caller sees the failure');

    // Assess: with Promise.all the caller learns first and task 0 (and 2) write after it.
    expect(outcome).toBe('chunk 1 failed');
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(events).toEqual(['start 0', 'start 1', 'end 0', 'caller sees the failure']);
  });
});
