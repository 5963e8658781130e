import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadDriveKey } from '../../../ingest/lambda.js';

const secrets = mockClient(SecretsManagerClient);
const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:drive-key';

describe('the poller Lambda reads the Drive key from Secrets Manager', () => {
  beforeEach(() => secrets.reset());

  it('returns the service-account key of the secret', async () => {
    // Prepare
    secrets.on(GetSecretValueCommand, { SecretId: arn }).resolves({
      SecretString: JSON.stringify({
        type: 'service_account',
        client_email: 'poller@x.iam.gserviceaccount.com',
        private_key: 'KEY',
      }),
    });
    // Act
    const key = await loadDriveKey(new SecretsManagerClient({ region: 'us-east-1' }), arn);
    // Assess
    expect(key).toEqual({ client_email: 'poller@x.iam.gserviceaccount.com', private_key: 'KEY' });
  });

  it('needs no secret when none is configured', async () => {
    await expect(
      loadDriveKey(new SecretsManagerClient({ region: 'us-east-1' }), undefined),
    ).resolves.toBeUndefined();
    expect(secrets.calls()).toHaveLength(0);
  });

  it('says what to do when the secret is empty or not a key, without echoing it', async () => {
    secrets.on(GetSecretValueCommand).resolvesOnce({}).resolvesOnce({ SecretString: 'not json SECRET' });
    const client = new SecretsManagerClient({ region: 'us-east-1' });
    await expect(loadDriveKey(client, arn)).rejects.toThrow(/holds no key yet/);
    const failure = await loadDriveKey(client, arn).catch((error: Error) => error);
    expect(String(failure)).toMatch(/is not JSON/);
    expect(String(failure)).not.toContain('SECRET');
  });
});
