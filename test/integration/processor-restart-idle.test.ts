/**
 * After a failure whose shard then stays idle, the long-running processor waits between listings
 * as usual: a backoff that is over is not a reason to list again at once.
 */
import { GetRecordsCommand, type KinesisClient, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import { runShardProcessors } from '../../processors/shard/runner.js';
import { useEmbeddedStack } from '../support/embedded-stack.js';

describe('continuous runner after one transient failure on an idle shard', () => {
  const embedded = useEmbeddedStack('busy');

  it('does not list shards in a tight loop', async () => {
    const names = await embedded.freshResources(1);
    const real = embedded.clients.kinesis;
    let getRecords = 0;
    let listShards = 0;
    const kinesis = {
      send: (command: unknown) => {
        if (command instanceof ListShardsCommand) listShards++;
        if (command instanceof GetRecordsCommand && getRecords++ === 0)
          return Promise.reject(Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }));
        return real.send(command as never);
      },
    } as unknown as KinesisClient;
    const stop = new AbortController();
    const run = runShardProcessors(kinesis, embedded.clients.doc, names, {
      idlePollMs: 30,
      restartDelayMs: 100,
      signal: stop.signal,
    });
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    stop.abort();
    await run;
    // One listing at the start, one for the restart (the next is due after 10 s).
    expect(listShards).toBeLessThan(5);
  }, 30_000);
});
