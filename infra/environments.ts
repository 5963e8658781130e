/**
 * The environments and the CDK context flags that select and tune them:
 * `-c env=dev|prod`, `-c code=zip|ecr`, `-c ecrRepository=NAME`, `-c imageTag=TAG`,
 * `-c driveFolderIds=ID[,ID…]`, `-c alarmEmail=ADDRESS`, `-c dashboardApi=false`.
 */
import { type App, Aspects, Duration } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CodeMode, type FunctionCodeSource, InfraConfigError, type TillstreamStackProps } from './props.js';
import { TillstreamStack } from './stack.js';

/** The dashboard API's Lambda handler (processors/dashboard/lambda.ts). */
export const DASHBOARD_API_ENTRY = 'processors/dashboard/lambda.ts';

export const EnvironmentName = { Dev: 'dev', Prod: 'prod' } as const;
export type EnvironmentName = (typeof EnvironmentName)[keyof typeof EnvironmentName];

/** Per-environment defaults; everything else comes from `TillstreamStackProps`' own defaults. */
export const environmentDefaults: Readonly<
  Record<EnvironmentName, Omit<TillstreamStackProps, 'environmentName' | 'code'>>
> = {
  dev: {
    shardCount: 1,
    streamRetention: Duration.hours(24),
  },
  prod: {
    shardCount: 2,
    // A week to fix a failing batch (the shard waits for it, retried) before its records leave the stream.
    streamRetention: Duration.days(7),
  },
};

/** The stack's name for an environment. */
export function stackNameFor(environmentName: string): string {
  return `Tillstream-${environmentName}`;
}

function contextString(app: App, key: string): string | undefined {
  const value: unknown = app.node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new InfraConfigError(`context ${key}`, value, 'must be a string');
  return value;
}

/** The code source the context selects. */
function codeFromContext(app: App): FunctionCodeSource {
  const mode = contextString(app, 'code') ?? CodeMode.Zip;
  if (mode === CodeMode.Zip) return { mode };
  if (mode === CodeMode.Ecr) {
    const tagOrDigest = contextString(app, 'imageTag');
    if (tagOrDigest === undefined) {
      throw new InfraConfigError('context imageTag', tagOrDigest ?? null, 'is required with -c code=ecr');
    }
    return { mode, repositoryName: contextString(app, 'ecrRepository') ?? 'tillstream', tagOrDigest };
  }
  throw new InfraConfigError('context code', mode, `must be one of ${Object.values(CodeMode).join(', ')}`);
}

/**
 * Adds the stack the context selects to `app`, with the cdk-nag AwsSolutions checks applied.
 * `env` (account/region) stays unresolved without `CDK_DEFAULT_ACCOUNT`/`CDK_DEFAULT_REGION`, so the
 * app synthesizes offline with no credentials.
 *
 * @example
 * const app = new App({ context: { env: 'prod', code: 'ecr', imageTag: 'abc123' } });
 * const stack = addTillstreamStack(app);
 */
export function addTillstreamStack(app: App): TillstreamStack {
  const environmentName = contextString(app, 'env') ?? EnvironmentName.Dev;
  if (!Object.values(EnvironmentName).includes(environmentName as EnvironmentName)) {
    throw new InfraConfigError(
      'context env',
      environmentName,
      `must be one of ${Object.values(EnvironmentName).join(', ')}`,
    );
  }
  const name = environmentName as EnvironmentName;
  const driveFolderIds = contextString(app, 'driveFolderIds')
    ?.split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  const alarmEmail = contextString(app, 'alarmEmail');
  // The dashboard's JSON API behind an IAM-authenticated function URL; `-c dashboardApi=false` leaves it out.
  const dashboardApi = contextString(app, 'dashboardApi') !== 'false';
  const account = process.env['CDK_DEFAULT_ACCOUNT'];
  const region = process.env['CDK_DEFAULT_REGION'];
  const stack = new TillstreamStack(app, stackNameFor(name), {
    ...environmentDefaults[name],
    environmentName: name,
    code: codeFromContext(app),
    ...(driveFolderIds === undefined ? {} : { driveFolderIds }),
    ...(alarmEmail === undefined ? {} : { alarmEmail }),
    ...(dashboardApi ? { dashboardApi: { entry: DASHBOARD_API_ENTRY } } : {}),
    ...(account !== undefined && region !== undefined ? { env: { account, region } } : {}),
    description: `tillstream ${name}: Drive → S3 → Kinesis → DynamoDB → S3 marts`,
    tags: { project: 'tillstream', environment: name },
  });
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  return stack;
}
