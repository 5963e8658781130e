/**
 * The poller and compaction Lambdas write the live table generation (issue #8, rebuild on AWS):
 * each resolves the pointer at invocation, the poller only once it holds the poller lease. The
 * cycle and the nightly job themselves are replaced by spies that record the names they are given.
 */
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ResourceNames } from '../../../shared/resources.js';

const calls = vi.hoisted(() => ({ order: [] as string[], names: [] as ResourceNames[] }));

vi.mock('../../../ingest/poll.js', () => ({
  runPollCycle: async (deps: { names: ResourceNames }) => {
    calls.order.push('cycle');
    calls.names.push(deps.names);
    return { reports: [], recordsPut: 0, optionsSettled: 0, optionsOrphaned: 0, errors: [] };
  },
}));
vi.mock('../../../ingest/status/uploads.js', () => ({
  checkMissingUploads: async (_doc: unknown, names: ResourceNames) => {
    calls.names.push(names);
    return { missing: [] };
  },
}));
vi.mock('../../../processors/compaction/job.js', () => ({
  runNightly: async (_clients: unknown, names: ResourceNames) => {
    calls.names.push(names);
    return { asOf: '2023-08-19', published: [], unchanged: [] };
  },
}));

const documents = mockClient(DynamoDBDocumentClient);
const savedEnv = { ...process.env };

beforeAll(() => {
  Object.assign(process.env, {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    TILLSTREAM_TARGET: 'aws',
    TILLSTREAM_INPUT: '/nonexistent/input',
    POWERTOOLS_METRICS_NAMESPACE: 'test',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
});
afterAll(() => {
  process.env = savedEnv;
});

describe('the Lambdas follow the live table generation', () => {
  beforeEach(() => {
    documents.reset();
    calls.order.length = 0;
    calls.names.length = 0;
  });

  it('the poller takes the lease, then reads the pointer, then polls and checks uploads in that generation', async () => {
    // Prepare
    documents.on(PutCommand).callsFake(() => {
      calls.order.push('lease');
      return {};
    });
    documents.on(DeleteCommand).resolves({});
    documents.on(GetCommand).callsFake((input: { TableName: string }) => {
      calls.order.push(`pointer@${input.TableName}`);
      return { Item: { pk: 'control#generation', sk: 'live', live: 2 } };
    });
    const { handler } = await import('../../../ingest/lambda.js');

    // Act
    const result = await handler();

    // Assess
    expect(result.skipped).toBeUndefined();
    expect(calls.order).toEqual(['lease', 'pointer@tillstream-state', 'cycle']);
    expect(calls.names.map((names) => names.ledgerTable)).toEqual([
      'tillstream-ledger-g2',
      'tillstream-ledger-g2',
    ]);
    expect(calls.names[0]!.stateTable).toBe('tillstream-state-g2');
    const lease = documents.commandCalls(PutCommand)[0]!.args[0].input;
    expect(lease.TableName).toBe('tillstream-state');
  });

  it('the compaction reads the pointer at every run', async () => {
    // Prepare
    documents
      .on(GetCommand)
      .resolvesOnce({})
      .resolvesOnce({ Item: { pk: 'control#generation', sk: 'live', live: 1 } });
    const { handler } = await import('../../../processors/compaction/lambda.js');

    // Act
    await handler();
    await handler();

    // Assess
    expect(calls.names.map((names) => names.aggregatesTable)).toEqual([
      'tillstream-aggregates',
      'tillstream-aggregates-g1',
    ]);
  });
});
