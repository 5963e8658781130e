import { type Agent, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterEach, describe, expect, it, vi } from 'vitest';
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

    it('marks DynamoDB and Kinesis requests in the form the emulators check without signing them; signs S3 requests', async () => {
      // Prepare: one server answers all three clients and keeps each request's headers
      const seen: { target: string; authorization: string; date: string }[] = [];
      const server = createServer((request, response) => {
        seen.push({
          target: String(request.headers['x-amz-target'] ?? request.url),
          authorization: String(request.headers.authorization),
          date: String(request.headers['x-amz-date']),
        });
        const json = request.headers['x-amz-target'] !== undefined;
        response.setHeader('content-type', json ? 'application/x-amz-json-1.1' : 'application/xml');
        response.end(
          json
            ? '{"TableNames":[],"StreamNames":[],"HasMoreStreams":false}'
            : '<ListAllMyBucketsResult><Buckets></Buckets></ListAllMyBucketsResult>',
        );
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const { dynamo, kinesis, s3 } = open({
        kind: 'local',
        endpoints: { dynamodb: base, kinesis: base, s3: base },
      });

      try {
        // Act
        await dynamo.send(new ListTablesCommand({}));
        await kinesis.send(new ListStreamsCommand({}));
        await s3.send(new ListBucketsCommand({}));

        // Assess: a signature's parts (what dynalite and kinesalite require), scoped to the service
        const [dynamoRequest, kinesisRequest, s3Request] = seen;
        expect(dynamoRequest?.target).toBe('DynamoDB_20120810.ListTables');
        expect(dynamoRequest?.authorization).toMatch(
          /^AWS4-HMAC-SHA256 Credential=S3RVER\/\d{8}\/us-east-1\/dynamodb\/aws4_request, SignedHeaders=[^,]+, Signature=0$/,
        );
        expect(kinesisRequest?.target).toBe('Kinesis_20131202.ListStreams');
        expect(kinesisRequest?.authorization).toMatch(
          /Credential=S3RVER\/\d{8}\/us-east-1\/kinesis\/aws4_request/,
        );
        for (const request of [dynamoRequest, kinesisRequest]) {
          expect(request?.date).toMatch(/^\d{8}T\d{6}Z$/);
        }
        // s3rver verifies signatures: S3 requests carry a real one (64 hex digits)
        expect(s3Request?.authorization).toMatch(
          /\/us-east-1\/s3\/aws4_request, SignedHeaders=.*, Signature=[0-9a-f]{64}$/,
        );
      } finally {
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

    it('signs every request with SigV4', async () => {
      // Prepare: credentials and an endpoint from the environment, as the Lambda handler tests run
      let authorization = '';
      const server = createServer((request, response) => {
        authorization = String(request.headers.authorization);
        response.setHeader('content-type', 'application/x-amz-json-1.0');
        response.end('{"TableNames":[]}');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
      vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
      vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', `http://127.0.0.1:${(server.address() as AddressInfo).port}`);

      try {
        // Act
        const { dynamo } = open({ kind: 'aws', region: 'eu-west-1' });
        await dynamo.send(new ListTablesCommand({}));

        // Assess
        expect(authorization).toMatch(/Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/dynamodb\/aws4_request/);
        expect(authorization).toMatch(/Signature=[0-9a-f]{64}$/);
      } finally {
        vi.unstubAllEnvs();
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    });
  });
});
