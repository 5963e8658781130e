/**
 * The rebuild's resources on AWS (issue #8): the generation tables and the rebuild stream are the
 * only resources created outside the CDK app, so they must get what the CDK app gives its own.
 */
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
  UpdateContinuousBackupsCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateStreamCommand,
  DeleteStreamCommand,
  DescribeStreamSummaryCommand,
  KinesisClient,
  StartStreamEncryptionCommand,
  ResourceNotFoundException as StreamNotFound,
} from '@aws-sdk/client-kinesis';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createGenerationTables, createRebuildStream } from '../../../processors/rebuild/tables.js';
import { generationNames } from '../../../shared/generation.js';
import { resourceNames, tableSpecs } from '../../../shared/resources.js';

const dynamoMock = mockClient(DynamoDBClient);
const kinesisMock = mockClient(KinesisClient);
const dynamo = new DynamoDBClient({ region: 'eu-west-1' });
const kinesis = new KinesisClient({ region: 'eu-west-1' });
const names = generationNames(resourceNames({ resourcePrefix: 'tillstream' }), 3);
const notFound = () => new ResourceNotFoundException({ message: 'not found', $metadata: {} });

describe('generation tables', () => {
  beforeEach(() => {
    dynamoMock.reset();
    dynamoMock.on(DeleteTableCommand).rejects(notFound());
    dynamoMock.on(CreateTableCommand).resolves({});
    dynamoMock
      .on(DescribeTableCommand)
      .resolves({ Table: { TableStatus: 'ACTIVE', GlobalSecondaryIndexes: [] } });
    dynamoMock.on(UpdateContinuousBackupsCommand).resolves({});
  });

  it('on AWS: encrypted with the AWS-managed key, tagged, and point-in-time recovery switched on', async () => {
    // Act
    await createGenerationTables(dynamo, names, { tags: { 'tillstream:generation': '3' } });

    // Assess
    const created = dynamoMock.commandCalls(CreateTableCommand).map((call) => call.args[0].input);
    expect(created.map((input) => input.TableName).sort()).toEqual(
      tableSpecs(names)
        .map((spec) => spec.name)
        .sort(),
    );
    for (const input of created) {
      expect(input.SSESpecification).toEqual({ Enabled: true, SSEType: 'KMS' });
      expect(input.Tags).toEqual([{ Key: 'tillstream:generation', Value: '3' }]);
      expect(input.BillingMode).toBe('PAY_PER_REQUEST');
    }
    const recovery = dynamoMock
      .commandCalls(UpdateContinuousBackupsCommand)
      .map((call) => call.args[0].input);
    expect(recovery.map((input) => input.TableName).sort()).toEqual(
      created.map((input) => input.TableName).sort(),
    );
    expect(
      recovery.every((input) => input.PointInTimeRecoverySpecification?.PointInTimeRecoveryEnabled),
    ).toBe(true);
  });

  it('on the emulators: plain tables, no calls the emulators lack', async () => {
    // Act
    await createGenerationTables(dynamo, names);

    // Assess
    for (const call of dynamoMock.commandCalls(CreateTableCommand)) {
      expect(call.args[0].input.SSESpecification).toBeUndefined();
      expect(call.args[0].input.Tags).toBeUndefined();
    }
    expect(dynamoMock.commandCalls(UpdateContinuousBackupsCommand)).toHaveLength(0);
  });
});

describe('the rebuild stream', () => {
  beforeEach(() => {
    kinesisMock.reset();
    kinesisMock.on(DeleteStreamCommand).rejects(new StreamNotFound({ message: 'not found', $metadata: {} }));
    kinesisMock.on(CreateStreamCommand).resolves({});
    kinesisMock.on(DescribeStreamSummaryCommand).resolves({
      StreamDescriptionSummary: {
        StreamName: 'tillstream-orders-rebuild-g3',
        StreamARN: 'arn:aws:kinesis:eu-west-1:000000000000:stream/tillstream-orders-rebuild-g3',
        StreamStatus: 'ACTIVE',
        RetentionPeriodHours: 24,
        StreamCreationTimestamp: new Date(0),
        EnhancedMonitoring: [],
        OpenShardCount: 2,
      },
    });
    kinesisMock.on(StartStreamEncryptionCommand).resolves({});
  });

  it('copies an on-demand live stream and encrypts with aws/kinesis on AWS', async () => {
    // Act
    await createRebuildStream(
      kinesis,
      'tillstream-orders-rebuild-g3',
      { onDemand: true, openShards: 4 },
      true,
    );

    // Assess
    expect(kinesisMock.commandCalls(CreateStreamCommand)[0]!.args[0].input).toEqual({
      StreamName: 'tillstream-orders-rebuild-g3',
      StreamModeDetails: { StreamMode: 'ON_DEMAND' },
    });
    expect(kinesisMock.commandCalls(StartStreamEncryptionCommand)[0]!.args[0].input).toEqual({
      StreamName: 'tillstream-orders-rebuild-g3',
      EncryptionType: 'KMS',
      KeyId: 'alias/aws/kinesis',
    });
  });

  it('copies a provisioned live stream shard for shard, unencrypted on the emulators', async () => {
    // Act
    await createRebuildStream(kinesis, 'tillstream-orders-rebuild-g3', { onDemand: false, openShards: 2 });

    // Assess
    expect(kinesisMock.commandCalls(CreateStreamCommand)[0]!.args[0].input).toEqual({
      StreamName: 'tillstream-orders-rebuild-g3',
      ShardCount: 2,
    });
    expect(kinesisMock.commandCalls(StartStreamEncryptionCommand)).toHaveLength(0);
  });
});
