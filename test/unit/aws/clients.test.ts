import { type Agent, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterEach, describe, expect, it } from 'vitest';
import { type AwsClients, createClients, MAX_ATTEMPTS, MAX_SOCKETS } from '../../../shared/aws/clients.js';

const endpoints = {
  dynamodb: 'http://127.0.0.1:4001',
  kinesis: 'http://127.0.0.1:4002',
  s3: 'http://127.0.0.1:4003',
} as const;

describe('createClients', () => {
  const opened: AwsClients[] = [];
  const open = (...args: Parameters<typeof createClients>) => {
    const clients = createClients(...args);
    opened.push(clients);
    return clients;
  };
  afterEach(() => {
    for (const clients of opened.splice(0)) clients.destroy();
  });

  describe('local target', () => {
    it('configures S3 for s3rver: path style, checksums only when required, S3RVER credentials', async () => {
      // Act
      const { s3 } = open({ kind: 'local', endpoints });

      // Assess
      expect(s3.config.forcePathStyle).toBe(true);
      expect(await s3.config.requestChecksumCalculation()).toBe('WHEN_REQUIRED');
      expect(await s3.config.responseChecksumValidation()).toBe('WHEN_REQUIRED');
      const credentials = await s3.config.credentials();
      expect([credentials.accessKeyId, credentials.secretAccessKey]).toEqual(['S3RVER', 'S3RVER']);
      expect(await s3.config.region()).toBe('us-east-1');
    });

    it('points each client at its emulator and gives Kinesis an HTTP/1.1 handler', async () => {
      // Act
      const { dynamo, kinesis, s3 } = open({ kind: 'local', endpoints });

      // Assess
      expect(kinesis.config.requestHandler).toBeInstanceOf(NodeHttpHandler);
      expect(dynamo.config.requestHandler).toBeInstanceOf(NodeHttpHandler);
      expect(s3.config.requestHandler).toBeInstanceOf(NodeHttpHandler);
      for (const [client, port] of [
        [dynamo, 4001],
        [kinesis, 4002],
        [s3, 4003],
      ] as const) {
        const endpoint = await client.config.endpoint?.();
        expect(endpoint).toMatchObject({ hostname: '127.0.0.1', port, protocol: 'http:' });
      }
      expect(await kinesis.config.maxAttempts()).toBe(MAX_ATTEMPTS.local);
    });

    it('keeps sockets alive with room for 32 concurrent requests', async () => {
      // Prepare: the handler resolves its agents on the first request
      const server = createServer((_request, response) => {
        response.setHeader('content-type', 'application/x-amz-json-1.0');
        response.end('{"TableNames":[]}');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as AddressInfo).port;
      const { dynamo } = open({
        kind: 'local',
        endpoints: { ...endpoints, dynamodb: `http://127.0.0.1:${port}` },
      });

      try {
        // Act
        const answer = await dynamo.send(new ListTablesCommand({}));

        // Assess
        expect(answer.TableNames).toEqual([]);
        const handler = dynamo.config.requestHandler as NodeHttpHandler;
        const agent = handler.httpHandlerConfigs().httpAgent as Agent & { keepAlive?: boolean };
        expect(agent.maxSockets).toBe(MAX_SOCKETS);
        expect(agent.maxSockets).toBeGreaterThanOrEqual(32);
        expect(agent.keepAlive).toBe(true);
      } finally {
        dynamo.destroy();
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it('drops undefined attributes and refuses class instances in the document client', () => {
      // Act
      const { doc } = open({ kind: 'local', endpoints });

      // Assess
      expect(doc.config.translateConfig?.marshallOptions).toEqual({
        removeUndefinedValues: true,
        convertClassInstanceToMap: false,
      });
    });
  });

  describe('aws target', () => {
    it('uses the given region, the default endpoints and credential chain, and S3 defaults', async () => {
      // Act
      const { dynamo, kinesis, s3 } = open({ kind: 'aws', region: 'eu-west-1' });

      // Assess
      for (const client of [dynamo, kinesis, s3]) {
        expect(await client.config.region()).toBe('eu-west-1');
        expect(client.config.endpoint).toBeUndefined();
        expect(await client.config.maxAttempts()).toBe(MAX_ATTEMPTS.aws);
      }
      expect(s3.config.forcePathStyle).toBe(false);
      expect(await s3.config.requestChecksumCalculation()).toBe('WHEN_SUPPORTED');
      expect(kinesis.config.requestHandler).toBeInstanceOf(NodeHttpHandler);
    });
  });
});
