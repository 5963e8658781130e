/** A local stack with the default resource names in a fresh temporary folder, for pipeline tests. */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { HIGH_WATER_MARK_ATTR } from '../../aggregates/keys.js';
import { bootstrapLocalResources } from '../../shared/aws/bootstrap.js';
import { type AwsClients, createClients, type LocalEndpoints } from '../../shared/aws/clients.js';
import { loadSettings, type Settings } from '../../shared/config.js';
import { startLocalStack } from '../../shared/local/stack.js';
import { type ResourceNames, resourceNames } from '../../shared/resources.js';

export interface PipelineStack {
  /** A fresh folder for the test's files; the stack's state lives in its `state/`. */
  readonly workDir: string;
  readonly settings: Settings;
  readonly names: ResourceNames;
  readonly clients: AwsClients;
  /** The emulators' endpoints, for code that builds its own clients (the Lambda handlers). */
  readonly endpoints: LocalEndpoints;
  /** Stops the stack and removes the folder. */
  close(): Promise<void>;
}

export async function startPipelineStack(label: string): Promise<PipelineStack> {
  const settings = loadSettings({});
  const names = resourceNames(settings);
  const workDir = await mkdtemp(join(tmpdir(), `tillstream-${label}-`));
  const stack = await startLocalStack({ stateDir: join(workDir, 'state') });
  await bootstrapLocalResources(stack.endpoints, names, { shardCount: 2 });
  const clients = createClients({ kind: 'local', endpoints: stack.endpoints });
  return {
    workDir,
    settings,
    names,
    clients,
    endpoints: stack.endpoints,
    async close() {
      clients.destroy();
      await stack.stop();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

type Item = Record<string, unknown>;

/** Every item of a table (consistent Scan, all pages). */
export async function scanTable(doc: DynamoDBDocumentClient, tableName: string): Promise<Item[]> {
  const items: Item[] = [];
  let startKey: Item | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({
        TableName: tableName,
        ConsistentRead: true,
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return items;
}

/**
 * Aggregate items keyed `pk|sk`, without high-water marks: they are stream positions, and two
 * stacks' streams number records differently.
 */
export function comparableItems(items: readonly Item[]): Map<string, Item> {
  return new Map(
    items.map((item) => [
      `${String(item['pk'])}|${String(item['sk'])}`,
      Object.fromEntries(Object.entries(item).filter(([name]) => !HIGH_WATER_MARK_ATTR.test(name))),
    ]),
  );
}
