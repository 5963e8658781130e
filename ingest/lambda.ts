/**
 * The poller as an AWS Lambda (EventBridge schedule): one poll cycle per invocation, over the
 * input named by `TILLSTREAM_INPUT` (`drive://FOLDER_ID[,ID…]` on AWS), against the deployed
 * resources named by the CDK app's environment variables, in the live table generation
 * (`shared/generation.ts`), resolved after the poller lease is taken: a rebuild holds the lease
 * until its generation is live, so a cycle never writes a generation that is being replaced.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createClients } from '../shared/aws/clients.js';
import { createObservability, MetricName, MetricUnit, ServiceName } from '../shared/aws/powertools.js';
import { loadSettings } from '../shared/config.js';
import { resolveLiveNames, withPollerLease } from '../shared/generation.js';
import { resourceNames } from '../shared/resources.js';
import { parseServiceAccountKey, type ServiceAccountKey } from './drive/client.js';
import { IngestError } from './errors.js';
import { boundHeapGrowth } from './heap.js';
import { runPollCycle } from './poll.js';
import { sourceFor } from './sources.js';
import { PollerState } from './state.js';
import { checkMissingUploads } from './status/uploads.js';

/** What the function returns (and logs): per-file outcomes and totals. */
export interface PollLambdaResult {
  readonly files: number;
  readonly recordsPut: number;
  readonly optionsSettled: number;
  readonly optionsOrphaned: number;
  readonly errors: readonly { readonly path: string; readonly message: string }[];
  /** Set when the cycle did not run because a backfill or a rebuild holds the poller lease. */
  readonly skipped?: string;
  readonly reports: readonly {
    readonly path: string;
    readonly status: string;
    readonly rowsRead: number;
    readonly rowsQuarantined: number;
  }[];
}

const { logger, metrics } = createObservability(ServiceName.Poller);

// Created once per container: warm invocations reuse the connections (and the Drive key).
let clients: ReturnType<typeof createClients> | undefined;
let driveKey: Promise<ServiceAccountKey | undefined> | undefined;

/**
 * The Drive service-account key from the Secrets Manager secret the CDK app creates
 * (`TILLSTREAM_DRIVE_SECRET_ARN`), or undefined when no secret is configured (a token or key file
 * in the environment then applies).
 */
export async function loadDriveKey(
  secrets: Pick<SecretsManagerClient, 'send'>,
  secretArn: string | undefined,
): Promise<ServiceAccountKey | undefined> {
  if (secretArn === undefined || secretArn === '') return undefined;
  const secret = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
  if (secret.SecretString === undefined || secret.SecretString === '') {
    throw new IngestError(
      `secret ${secretArn} holds no key yet: put the Drive service account's JSON key into it (README, "Drive folder and service account")`,
    );
  }
  return parseServiceAccountKey(secret.SecretString, `secret ${secretArn}`);
}

/**
 * The Lambda handler.
 *
 * @example
 * // infra: new NodejsFunction(this, 'Poller', { entry: 'ingest/lambda.ts', handler: 'handler' })
 */
export async function handler(): Promise<PollLambdaResult> {
  const env = process.env;
  const settings = loadSettings(env);
  const base = resourceNames(settings, env);
  const input = env['TILLSTREAM_INPUT'];
  if (input === undefined || input === '') throw new IngestError('TILLSTREAM_INPUT is not set');
  clients ??= createClients({ kind: 'aws', region: settings.region });
  const aws = clients;
  driveKey ??= loadDriveKey(
    new SecretsManagerClient({ region: settings.region }),
    env['TILLSTREAM_DRIVE_SECRET_ARN'],
  );
  const key = await driveKey;
  // The poller has the function to itself: its memory follows its small live heap (ingest/heap.ts).
  boundHeapGrowth(settings.pollHeapGrowingPercent);
  const leased = await withPollerLease(
    aws.doc,
    base,
    'poller-lambda',
    Date.now,
    async () => {
      const names = await resolveLiveNames(aws.doc, base);
      const state = new PollerState(aws.doc, names.stateTable);
      const result = await runPollCycle({
        clients: aws,
        names,
        settings,
        source: sourceFor(input, state, env, key),
        clock: Date.now,
        log: (message) => logger.info(message),
      });
      return { result, names };
    },
    // A backfill gives the lease up between turns: wait for it rather than skip the cycle.
    { waitMs: settings.pollLeaseWaitSeconds * 1000 },
  );
  if ('heldBy' in leased) {
    logger.warn('poll cycle skipped', { reason: leased.heldBy.message });
    return {
      files: 0,
      recordsPut: 0,
      optionsSettled: 0,
      optionsOrphaned: 0,
      errors: [],
      reports: [],
      skipped: leased.heldBy.message,
    };
  }
  const { result, names } = leased.result;
  const summary: PollLambdaResult = {
    files: result.reports.length,
    recordsPut: result.recordsPut,
    optionsSettled: result.optionsSettled,
    optionsOrphaned: result.optionsOrphaned,
    errors: result.errors,
    reports: result.reports.map((report) => ({
      path: report.path,
      status: report.status,
      rowsRead: report.rowsRead,
      rowsQuarantined: report.rowsQuarantined,
    })),
  };
  metrics.addMetric(MetricName.RecordsPut, MetricUnit.Count, summary.recordsPut);
  metrics.addMetric(
    MetricName.RowsQuarantined,
    MetricUnit.Count,
    summary.reports.reduce((sum, report) => sum + report.rowsQuarantined, 0),
  );
  // A poll that throws publishes nothing here: the poller-errors alarm covers it.
  const uploads = await checkMissingUploads(aws.doc, names, settings, Date.now());
  metrics.addMetric(MetricName.MissingUploads, MetricUnit.Count, uploads.missing.length);
  if (uploads.missing.length > 0) {
    logger.warn('missing uploads', {
      missing: uploads.missing.map((gap) => ({
        locationId: gap.locationId,
        localDate: gap.localDate,
        dueAt: new Date(gap.dueAtMs).toISOString(),
      })),
    });
  }
  metrics.publishStoredMetrics();
  logger.info('poll cycle done', { ...summary, missingUploads: uploads.missing.length });
  return summary;
}
