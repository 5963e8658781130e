import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { openContext, settingsFromOptions } from '../../../shared/cli/context.js';
import { CliError, ExitCode } from '../../../shared/cli/errors.js';

describe('settingsFromOptions', () => {
  it('takes the environment when no flag is given', () => {
    // Act
    const settings = settingsFromOptions(
      {},
      { TILLSTREAM_TARGET: 'aws', TILLSTREAM_STATE_DIR: '/var/tillstream', TILLSTREAM_DYNAMODB: 'local-jar' },
    );

    // Assess
    expect(settings).toMatchObject({ target: 'aws', stateDir: '/var/tillstream', dynamoEngine: 'local-jar' });
  });

  it('lets the flags override the environment', () => {
    // Act
    const settings = settingsFromOptions(
      { aws: true, stateDir: 'elsewhere', dynamodb: 'dynalite' },
      {
        TILLSTREAM_TARGET: 'local',
        TILLSTREAM_STATE_DIR: '/var/tillstream',
        TILLSTREAM_DYNAMODB: 'local-jar',
      },
    );

    // Assess
    expect(settings).toMatchObject({ target: 'aws', stateDir: 'elsewhere', dynamoEngine: 'dynalite' });
  });

  it('defaults to the local stack in .tillstream on dynalite', () => {
    // Act
    const settings = settingsFromOptions({}, {});

    // Assess
    expect(settings).toMatchObject({ target: 'local', stateDir: '.tillstream', dynamoEngine: 'dynalite' });
  });

  it('reports a bad engine or environment value as bad usage', () => {
    // Act
    const badFlag = () => settingsFromOptions({ dynamodb: 'cassandra' }, {});
    const badEnv = () => settingsFromOptions({}, { TILLSTREAM_TARGET: 'gcp' });

    // Assess
    for (const attempt of [badFlag, badEnv]) {
      expect(attempt).toThrow(CliError);
      try {
        attempt();
      } catch (error) {
        expect((error as CliError).exitCode).toBe(ExitCode.BadUsage);
      }
    }
  });
});

describe('openContext on AWS', () => {
  const documents = mockClient(DynamoDBDocumentClient);
  afterEach(() => documents.reset());

  it('creates clients for the configured region without starting any emulator', async () => {
    // Prepare
    documents.on(GetCommand).resolves({});

    // Act
    const context = await openContext({ aws: true }, { env: { AWS_REGION: 'eu-central-1' } });

    // Assess
    expect(context.stack).toBeUndefined();
    expect(context.settings.target).toBe('aws');
    expect(await context.clients.dynamo.config.region()).toBe('eu-central-1');
    expect(context.names.ordersStream).toBe('tillstream-orders');
    expect(context.names.aggregatesTable).toBe('tillstream-aggregates');
    await context.close();
    await context.close();
  });

  it('names the live table generation that a rebuild switched to, reading the pointer in the base state table', async () => {
    // Prepare
    documents.on(GetCommand).resolves({ Item: { pk: 'control#generation', sk: 'live', live: 2 } });

    // Act
    const context = await openContext({ aws: true }, { env: { AWS_REGION: 'eu-central-1' } });

    // Assess
    expect(context.names).toMatchObject({
      aggregatesTable: 'tillstream-aggregates-g2',
      ledgerTable: 'tillstream-ledger-g2',
      stateTable: 'tillstream-state-g2',
      ordersStream: 'tillstream-orders',
    });
    expect(context.baseNames.aggregatesTable).toBe('tillstream-aggregates');
    expect(documents.commandCalls(GetCommand)[0]!.args[0].input).toMatchObject({
      TableName: 'tillstream-state',
      ConsistentRead: true,
    });
    await context.close();
  });

  it('refuses --fresh, which only means something for the local stack', async () => {
    // Act
    const opening = openContext({ aws: true, fresh: true }, { env: {} });

    // Assess
    await expect(opening).rejects.toThrow(/--fresh only applies to the embedded local stack/);
    await expect(opening).rejects.toMatchObject({ exitCode: ExitCode.BadUsage });
  });
});
