/**
 * An embedded stack for one test file, started before its tests and stopped after, with a fresh
 * set of tables and a stream per call of `freshResources` (so tests of the file do not share data).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { bootstrapLocalResources } from '../../shared/aws/bootstrap.js';
import { type AwsClients, createClients } from '../../shared/aws/clients.js';
import type { DynamoEngine } from '../../shared/config.js';
import { type LocalStack, startLocalStack } from '../../shared/local/stack.js';
import { type ResourceNames, resourceNames } from '../../shared/resources.js';

export interface EmbeddedStack {
  /** The clients of the running stack (only once `beforeAll` has run). */
  readonly clients: AwsClients;
  /** New tables and a new stream of `shardCount` shards, under a prefix of their own. */
  freshResources(shardCount: number): Promise<ResourceNames>;
}

/**
 * Registers the stack's `beforeAll` and `afterAll` in the calling `describe`.
 *
 * @example
 * const stack = useEmbeddedStack('wide', 'local-jar');
 * it('…', async () => { const names = await stack.freshResources(1); … });
 */
export function useEmbeddedStack(label: string, dynamoEngine?: DynamoEngine): EmbeddedStack {
  let stack: LocalStack | undefined;
  let clients: AwsClients | undefined;
  let stateDir: string | undefined;
  let prefix = 0;
  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), `tillstream-${label}-`));
    stack = await startLocalStack({ stateDir, fresh: true, ...(dynamoEngine ? { dynamoEngine } : {}) });
    clients = createClients({ kind: 'local', endpoints: stack.endpoints });
  });
  afterAll(async () => {
    clients?.destroy();
    await stack?.stop();
    if (stateDir !== undefined) await rm(stateDir, { recursive: true, force: true });
  });
  return {
    get clients(): AwsClients {
      if (clients === undefined) throw new Error('the embedded stack is not started yet');
      return clients;
    },
    async freshResources(shardCount) {
      if (stack === undefined) throw new Error('the embedded stack is not started yet');
      const names = resourceNames({ resourcePrefix: `${label}${prefix++}` });
      await bootstrapLocalResources(stack.endpoints, names, { shardCount });
      return names;
    },
  };
}
