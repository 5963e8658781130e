import { describe, expect, it } from 'vitest';
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
  it('creates clients for the configured region without starting any emulator', async () => {
    // Act
    const context = await openContext({ aws: true }, { env: { AWS_REGION: 'eu-central-1' } });

    // Assess
    expect(context.stack).toBeUndefined();
    expect(context.settings.target).toBe('aws');
    expect(await context.clients.dynamo.config.region()).toBe('eu-central-1');
    expect(context.names.ordersStream).toBe('tillstream-orders');
    await context.close();
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
