/**
 * The one place that builds AWS SDK clients. Every adapter receives `AwsClients` and never learns
 * whether it talks to the embedded emulators or to AWS: that choice is the `ClientTarget` given here.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { EndpointV2, HttpRequest, RequestSigner } from '@smithy/types';

/** Base URLs (`http://127.0.0.1:PORT`) of the local emulators. */
export interface LocalEndpoints {
  readonly dynamodb: string;
  readonly kinesis: string;
  readonly s3: string;
}

/** Where the clients point: the embedded emulators, or AWS through the standard credential chain. */
export type ClientTarget =
  | { readonly kind: 'local'; readonly endpoints: LocalEndpoints }
  | { readonly kind: 'aws'; readonly region: string };

/** The SDK clients every adapter uses, created once at the edge and passed in. */
export interface AwsClients {
  readonly dynamo: DynamoDBClient;
  /** Native JS values in and out; `undefined` attributes are dropped, class instances are refused. */
  readonly doc: DynamoDBDocumentClient;
  readonly kinesis: KinesisClient;
  readonly s3: S3Client;
  /** Closes every keep-alive socket; the clients are unusable afterwards. */
  destroy(): void;
}

/**
 * Sockets per client and host. Processors and compaction run up to 32 requests at once per client;
 * the margin keeps a slow response from stalling the next request on socket acquisition.
 */
export const MAX_SOCKETS = 64;

/**
 * Attempts per request, first try included. Emulators fail deterministically, so retrying them
 * only delays the error; on AWS, throttling (hot partitions, shard write limits) is worth waiting out.
 */
export const MAX_ATTEMPTS = { local: 3, aws: 8 } as const;

/** s3rver checks signatures against these fixed credentials; dynalite, kinesalite and DynamoDB Local accept any. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/** The emulators answer for any region; one fixed region keeps DynamoDB Local's data in one place. */
export const LOCAL_REGION = 'us-east-1';

/**
 * An HTTP/1.1 handler with its own keep-alive agents. Used for every client: the Kinesis client
 * would otherwise default to HTTP/2, which the emulator does not speak, and the polling consumer
 * needs no HTTP/2-only operation (SubscribeToShard).
 */
function keepAliveHandler(): NodeHttpHandler {
  return new NodeHttpHandler({
    httpAgent: new HttpAgent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
    httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
    connectionTimeout: 5_000,
    requestTimeout: 60_000,
  });
}

/** The services whose emulators check the form of a request's signature, never its value. */
type UnverifiedService = 'dynamodb' | 'kinesis';

/**
 * A signer for dynalite, kinesalite and DynamoDB Local: they check that the `Authorization` header
 * has a signature's parts and that a date header is present, never the signature itself. Signing
 * every request (a canonical request, two hashes, four HMACs) was a fifth of the client's CPU per
 * request against them. s3rver does verify signatures, so the S3 client signs as on AWS.
 */
export function emulatorSigner(service: UnverifiedService): RequestSigner {
  const authorization =
    `AWS4-HMAC-SHA256 Credential=${LOCAL_CREDENTIALS.accessKeyId}/20000101/${LOCAL_REGION}/${service}/aws4_request, ` +
    'SignedHeaders=host;x-amz-date, Signature=0';
  return {
    async sign(request: HttpRequest): Promise<HttpRequest> {
      request.headers.authorization = authorization;
      request.headers['x-amz-date'] = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
      return request;
    },
  };
}

/**
 * The settings of a client for an emulator that does not verify signatures: its fixed endpoint,
 * resolved once (the SDK would otherwise evaluate the service's endpoint rules on every request),
 * and `emulatorSigner`. Together they cut the client's CPU per request by about 30%.
 */
function emulatorClientSettings(
  service: UnverifiedService,
  endpoint: string,
): { endpoint: string; endpointProvider: () => EndpointV2; signer: RequestSigner } {
  const resolved: EndpointV2 = { url: new URL(endpoint) };
  return { endpoint, endpointProvider: () => resolved, signer: emulatorSigner(service) };
}

/**
 * Creates the SDK clients for a target.
 *
 * @example
 * ```ts
 * const clients = createClients({ kind: 'local', endpoints: stack.endpoints });
 * await clients.doc.send(new PutCommand({ TableName: names.stateTable, Item: { pk: 'a', sk: 'b' } }));
 * clients.destroy();
 * ```
 */
export function createClients(target: ClientTarget): AwsClients {
  const common =
    target.kind === 'local'
      ? { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: MAX_ATTEMPTS.local }
      : { region: target.region, maxAttempts: MAX_ATTEMPTS.aws };
  const endpointOf = (service: keyof LocalEndpoints): { endpoint?: string } =>
    target.kind === 'local' ? { endpoint: target.endpoints[service] } : {};
  const emulatorOf = (service: UnverifiedService): Partial<ReturnType<typeof emulatorClientSettings>> =>
    target.kind === 'local' ? emulatorClientSettings(service, target.endpoints[service]) : {};

  const dynamo = new DynamoDBClient({
    ...common,
    ...emulatorOf('dynamodb'),
    retryMode: 'standard',
    requestHandler: keepAliveHandler(),
  });
  const doc = DynamoDBDocumentClient.from(dynamo, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
  const kinesis = new KinesisClient({
    ...common,
    ...emulatorOf('kinesis'),
    retryMode: 'standard',
    requestHandler: keepAliveHandler(),
  });
  const s3 = new S3Client({
    ...common,
    ...endpointOf('s3'),
    retryMode: 'standard',
    requestHandler: keepAliveHandler(),
    ...(target.kind === 'local'
      ? {
          // s3rver serves buckets by path only, and stores aws-chunked (checksummed, streamed)
          // bodies with their chunk framing: checksums only where an operation requires them.
          forcePathStyle: true,
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
        }
      : {}),
  });

  return {
    dynamo,
    doc,
    kinesis,
    s3,
    destroy() {
      doc.destroy();
      dynamo.destroy();
      kinesis.destroy();
      s3.destroy();
    },
  };
}
