/**
 * The stack's parameters: typed, documented, defaulted and validated once, at construction time,
 * quoting the bad value (the model is `aws-lambda-event-sources/lib/stream.ts`).
 */
import { Duration, type StackProps } from 'aws-cdk-lib';
import { isValidTimeZone } from '../aggregates/time.js';

/** How the functions' code ships. */
export const CodeMode = {
  /** Zip bundles built by local esbuild (NodejsFunction, no Docker). */
  Zip: 'zip',
  /** Container images that CI built from `infra/Dockerfile` and pushed to ECR. */
  Ecr: 'ecr',
} as const;
export type CodeMode = (typeof CodeMode)[keyof typeof CodeMode];

/** Where the functions' code comes from. */
export type FunctionCodeSource =
  | { readonly mode: typeof CodeMode.Zip }
  | {
      readonly mode: typeof CodeMode.Ecr;
      /** The ECR repository CI pushes to, in the stack's account and region. */
      readonly repositoryName: string;
      /** An immutable tag (e.g. the commit sha) or a `sha256:` digest; never a moving tag such as `latest`. */
      readonly tagOrDigest: string;
    };

/** Kinesis capacity modes. */
export const StreamCapacity = { OnDemand: 'on-demand', Provisioned: 'provisioned' } as const;
export type StreamCapacity = (typeof StreamCapacity)[keyof typeof StreamCapacity];

/** The shard processor's event source mapping. */
export interface ProcessorProps {
  /** Records per invocation, 1–10,000. @default 500 */
  readonly batchSize?: number;
  /** How long Lambda gathers records before invoking, 0–300 s. @default 5 s */
  readonly maxBatchingWindow?: Duration;
  /**
   * Retries of a failing batch: −1 retries it until it succeeds or its records leave the stream;
   * 0–10,000 gives it up after that many, to the on-failure bucket. A batch given up is lost to
   * the aggregates, which may already hold part of it: only `tillstream rebuild` makes them exact
   * again (README, "When the processor fails on AWS"). @default −1
   */
  readonly retryAttempts?: number;
  /**
   * Records older than this are given up to the on-failure bucket, 60 s–7 days and at most the
   * stream retention, with the same cost as `retryAttempts`. @default none: kept until the stream
   * drops them
   */
  readonly maxRecordAge?: Duration;
  /** Memory, 128–10,240 MB. @default 1024 */
  readonly memorySize?: number;
  /** Timeout per batch, 1 s–15 min. @default 2 min */
  readonly timeout?: Duration;
}

/** Alarm thresholds. */
export interface AlarmThresholds {
  /** Oldest unread record on the stream (shard lag), in ms. @default 300,000 (5 min) */
  readonly iteratorAgeMs?: number;
  /** Processor invocations that fail, in percent of invocations over 5 min, 0–100. @default 5 */
  readonly processorErrorRatePercent?: number;
  /** Batches given up to the on-failure bucket in 5 min before the alarm fires. @default 1 */
  readonly failedBatchObjects?: number;
  /** Quarantine objects written in one hour before the alarm fires. @default 50 */
  readonly quarantineObjectsPerHour?: number;
}

/** The dashboard API (issue #6): wired only when its handler exists. */
export interface DashboardApiProps {
  /** Handler file, relative to the repository root, exporting `handler` (e.g. `dashboard/lambda.ts`). */
  readonly entry: string;
}

/** Parameters of one environment's stack. */
export interface TillstreamStackProps extends StackProps {
  /** Environment name: lowercase letters and digits, e.g. `dev`, `prod`. */
  readonly environmentName: string;
  /** Prefix of table and stream names, as in `shared/resources.ts`. @default `tillstream-<environmentName>` */
  readonly resourcePrefix?: string;
  /** Production safety: deletion protection and RETAIN on tables, longer log retention. @default environmentName === 'prod' */
  readonly protectData?: boolean;
  /** The chain's IANA time zone: the nightly schedule runs in it and `as_of` is yesterday there. @default `America/New_York` */
  readonly chainTimeZone?: string;
  /** Google Drive folder ids the poller reads (shared with the service account). @default none: the poller reports a missing input */
  readonly driveFolderIds?: readonly string[];
  /** Zip bundles or ECR images. @default zip */
  readonly code?: FunctionCodeSource;
  /** Kinesis capacity mode. @default provisioned */
  readonly streamCapacity?: StreamCapacity;
  /** Shards of a provisioned stream, 1–500. @default 2 */
  readonly shardCount?: number;
  /** How long the stream keeps records, 24 h–365 days. @default 24 h */
  readonly streamRetention?: Duration;
  /** The shard processor's event source settings. */
  readonly processor?: ProcessorProps;
  /** EventBridge Scheduler expression of the Drive poll (UTC). @default `rate(5 minutes)` */
  readonly pollSchedule?: string;
  /** EventBridge Scheduler cron of the nightly compaction, in `chainTimeZone`. @default `cron(30 3 * * ? *)` */
  readonly compactionSchedule?: string;
  /** Alarm thresholds. */
  readonly alarms?: AlarmThresholds;
  /** Alarm notifications go to this address (an SNS email subscription). @default no subscription */
  readonly alarmEmail?: string;
  /** Days the functions' logs are kept. @default 30, 90 when protectData */
  readonly logRetentionDays?: number;
  /** The dashboard API, behind an IAM-authenticated function URL. @default not deployed */
  readonly dashboardApi?: DashboardApiProps;
}

/** The processor's settings with their defaults; `maxRecordAge` stays unset when unbounded. */
export type ResolvedProcessorProps = Required<Omit<ProcessorProps, 'maxRecordAge'>> & {
  readonly maxRecordAge: Duration | undefined;
};

/** Every prop with its default applied. */
export interface ResolvedStackProps {
  readonly environmentName: string;
  readonly resourcePrefix: string;
  readonly protectData: boolean;
  readonly chainTimeZone: string;
  readonly driveFolderIds: readonly string[];
  readonly code: FunctionCodeSource;
  readonly streamCapacity: StreamCapacity;
  readonly shardCount: number;
  readonly streamRetention: Duration;
  readonly processor: ResolvedProcessorProps;
  readonly pollSchedule: string;
  readonly compactionSchedule: string;
  readonly alarms: Required<AlarmThresholds>;
  readonly alarmEmail: string | undefined;
  readonly logRetentionDays: number;
  readonly dashboardApi: DashboardApiProps | undefined;
}

/** A prop out of range, naming the prop and quoting the value given. */
export class InfraConfigError extends Error {
  override name = 'InfraConfigError';
  constructor(
    readonly prop: string,
    readonly given: unknown,
    requirement: string,
  ) {
    super(`${prop} ${requirement} (given ${JSON.stringify(given)})`);
  }
}

/** The poll runs every 5 minutes: a new file is on the dashboard within about one poll. */
const DEFAULT_POLL_SCHEDULE = 'rate(5 minutes)';
/**
 * 03:30 in the chain's zone: after midnight closes yesterday, and outside 01:00–03:00 where DST
 * transitions skip or repeat wall-clock times.
 */
const DEFAULT_COMPACTION_SCHEDULE = 'cron(30 3 * * ? *)';

/** CloudWatch Logs accepts only these retention periods. */
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 3653];

const RATE_EXPRESSION = /^rate\(([1-9]\d*) (minute|minutes|hour|hours|day|days)\)$/;
/** Six fields: minutes hours day-of-month month day-of-week year. */
const CRON_EXPRESSION = /^cron\((\S+ ){5}\S+\)$/;

function integerIn(prop: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InfraConfigError(prop, value, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

function numberIn(prop: string, value: number, min: number, max: number): number {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new InfraConfigError(prop, value, `must be a number from ${min} to ${max}`);
  }
  return value;
}

function durationIn(prop: string, value: Duration, min: Duration, max: Duration): Duration {
  const seconds = value.toSeconds();
  if (seconds < min.toSeconds() || seconds > max.toSeconds()) {
    throw new InfraConfigError(
      prop,
      value.toHumanString(),
      `must be from ${min.toHumanString()} to ${max.toHumanString()}`,
    );
  }
  return value;
}

function scheduleExpression(prop: string, value: string, allowRate: boolean): string {
  const rate = RATE_EXPRESSION.exec(value);
  if (rate !== null && allowRate) {
    const [, amount, unit] = rate;
    if ((amount === '1') !== (unit === 'minute' || unit === 'hour' || unit === 'day')) {
      throw new InfraConfigError(prop, value, 'must use a singular unit for 1 and a plural unit otherwise');
    }
    return value;
  }
  if (CRON_EXPRESSION.test(value)) return value;
  throw new InfraConfigError(
    prop,
    value,
    allowRate ? 'must be `rate(N unit)` or a six-field `cron(...)`' : 'must be a six-field `cron(...)`',
  );
}

/**
 * Applies the defaults and validates every prop.
 *
 * @throws InfraConfigError naming the first prop out of range and quoting its value.
 * @example
 * const resolved = resolveStackProps({ environmentName: 'dev', shardCount: 4 });
 */
export function resolveStackProps(props: TillstreamStackProps): ResolvedStackProps {
  const environmentName = props.environmentName;
  if (!/^[a-z][a-z0-9]{0,15}$/.test(environmentName)) {
    throw new InfraConfigError(
      'environmentName',
      environmentName,
      'must be 1–16 lowercase letters or digits, starting with a letter',
    );
  }
  const protectData = props.protectData ?? environmentName === 'prod';
  const resourcePrefix = props.resourcePrefix ?? `tillstream-${environmentName}`;
  if (!/^[a-z0-9][a-z0-9-]{1,40}$/.test(resourcePrefix)) {
    throw new InfraConfigError(
      'resourcePrefix',
      resourcePrefix,
      'must be 2–41 lowercase letters, digits or dashes',
    );
  }
  const chainTimeZone = props.chainTimeZone ?? 'America/New_York';
  if (!isValidTimeZone(chainTimeZone)) {
    throw new InfraConfigError('chainTimeZone', chainTimeZone, 'must be an IANA time zone');
  }
  const driveFolderIds = props.driveFolderIds ?? [];
  for (const folderId of driveFolderIds) {
    if (!/^[A-Za-z0-9_-]{10,100}$/.test(folderId)) {
      throw new InfraConfigError(
        'driveFolderIds',
        folderId,
        'must hold Drive folder ids (10–100 of A–Z a–z 0–9 _ -)',
      );
    }
  }
  const code = props.code ?? { mode: CodeMode.Zip };
  if (code.mode === CodeMode.Ecr) {
    if (!/^[a-z0-9][a-z0-9._/-]{1,255}$/.test(code.repositoryName)) {
      throw new InfraConfigError(
        'code.repositoryName',
        code.repositoryName,
        'must be an ECR repository name',
      );
    }
    const isDigest = /^sha256:[a-f0-9]{64}$/.test(code.tagOrDigest);
    const isTag = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(code.tagOrDigest);
    if ((!isDigest && !isTag) || code.tagOrDigest === 'latest') {
      throw new InfraConfigError(
        'code.tagOrDigest',
        code.tagOrDigest,
        'must be an immutable image tag or a sha256 digest, not `latest`',
      );
    }
  }
  const streamCapacity = props.streamCapacity ?? StreamCapacity.Provisioned;
  if (!Object.values(StreamCapacity).includes(streamCapacity)) {
    throw new InfraConfigError(
      'streamCapacity',
      streamCapacity,
      `must be one of ${Object.values(StreamCapacity).join(', ')}`,
    );
  }
  if (streamCapacity === StreamCapacity.OnDemand && props.shardCount !== undefined) {
    throw new InfraConfigError('shardCount', props.shardCount, 'applies only to a provisioned stream');
  }
  const shardCount = integerIn('shardCount', props.shardCount ?? 2, 1, 500);
  const streamRetention = durationIn(
    'streamRetention',
    props.streamRetention ?? Duration.hours(24),
    Duration.hours(24),
    Duration.days(365),
  );
  const processor: ResolvedProcessorProps = {
    batchSize: integerIn('processor.batchSize', props.processor?.batchSize ?? 500, 1, 10_000),
    maxBatchingWindow: durationIn(
      'processor.maxBatchingWindow',
      props.processor?.maxBatchingWindow ?? Duration.seconds(5),
      Duration.seconds(0),
      Duration.seconds(300),
    ),
    retryAttempts: integerIn('processor.retryAttempts', props.processor?.retryAttempts ?? -1, -1, 10_000),
    maxRecordAge:
      props.processor?.maxRecordAge === undefined
        ? undefined
        : durationIn(
            'processor.maxRecordAge',
            props.processor.maxRecordAge,
            Duration.seconds(60),
            Duration.days(7),
          ),
    memorySize: integerIn('processor.memorySize', props.processor?.memorySize ?? 1024, 128, 10_240),
    timeout: durationIn(
      'processor.timeout',
      props.processor?.timeout ?? Duration.minutes(2),
      Duration.seconds(1),
      Duration.minutes(15),
    ),
  };
  if (
    processor.maxRecordAge !== undefined &&
    processor.maxRecordAge.toSeconds() > streamRetention.toSeconds()
  ) {
    throw new InfraConfigError(
      'processor.maxRecordAge',
      processor.maxRecordAge.toHumanString(),
      `must not exceed the stream retention of ${streamRetention.toHumanString()}`,
    );
  }
  const alarms: Required<AlarmThresholds> = {
    iteratorAgeMs: integerIn(
      'alarms.iteratorAgeMs',
      props.alarms?.iteratorAgeMs ?? 300_000,
      1_000,
      7 * 86_400_000,
    ),
    processorErrorRatePercent: numberIn(
      'alarms.processorErrorRatePercent',
      props.alarms?.processorErrorRatePercent ?? 5,
      0,
      100,
    ),
    failedBatchObjects: integerIn(
      'alarms.failedBatchObjects',
      props.alarms?.failedBatchObjects ?? 1,
      1,
      1_000_000,
    ),
    quarantineObjectsPerHour: integerIn(
      'alarms.quarantineObjectsPerHour',
      props.alarms?.quarantineObjectsPerHour ?? 50,
      1,
      1_000_000,
    ),
  };
  if (props.alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(props.alarmEmail)) {
    throw new InfraConfigError('alarmEmail', props.alarmEmail, 'must be an email address');
  }
  const logRetentionDays = props.logRetentionDays ?? (protectData ? 90 : 30);
  if (!LOG_RETENTION_DAYS.includes(logRetentionDays)) {
    throw new InfraConfigError(
      'logRetentionDays',
      logRetentionDays,
      `must be one of ${LOG_RETENTION_DAYS.join(', ')}`,
    );
  }
  if (props.dashboardApi !== undefined && !/^[\w./-]+\.ts$/.test(props.dashboardApi.entry)) {
    throw new InfraConfigError(
      'dashboardApi.entry',
      props.dashboardApi.entry,
      'must be a repository-relative .ts file',
    );
  }
  return {
    environmentName,
    resourcePrefix,
    protectData,
    chainTimeZone,
    driveFolderIds,
    code,
    streamCapacity,
    shardCount,
    streamRetention,
    processor,
    pollSchedule: scheduleExpression('pollSchedule', props.pollSchedule ?? DEFAULT_POLL_SCHEDULE, true),
    compactionSchedule: scheduleExpression(
      'compactionSchedule',
      props.compactionSchedule ?? DEFAULT_COMPACTION_SCHEDULE,
      false,
    ),
    alarms,
    alarmEmail: props.alarmEmail,
    logRetentionDays,
    dashboardApi: props.dashboardApi,
  };
}
