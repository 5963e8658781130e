/**
 * The nightly compaction as an AWS Lambda on an EventBridge schedule in the chain's zone: the
 * snapshot of yesterday plus the recent snapshots late files restated (`runNightly`). It emits
 * `SnapshotsWritten`, whose absence for a day raises the missed-snapshot alarm.
 */
import { createClients } from '../../shared/aws/clients.js';
import { createObservability, MetricName, MetricUnit, ServiceName } from '../../shared/aws/powertools.js';
import { loadSettings } from '../../shared/config.js';
import { resolveLiveNames } from '../../shared/generation.js';
import { resourceNames } from '../../shared/resources.js';
import { codeVersion } from '../pipeline/version.js';
import { type NightlyResult, runNightly } from './job.js';

const { logger, metrics } = createObservability(ServiceName.Compaction);

/** The Lambda entry point: the scheduled event carries nothing the run needs. */
export async function handler(): Promise<NightlyResult> {
  const settings = loadSettings(process.env);
  const clients = createClients({ kind: 'aws', region: settings.region });
  try {
    // The live table generation (a rebuild may have switched it since the last night).
    const names = await resolveLiveNames(clients.doc, resourceNames(settings, process.env));
    const result = await runNightly(clients, names, {
      nowMs: Date.now(),
      chainTimeZone: settings.chainTimeZone,
      codeVersion: codeVersion(process.env),
      log: (message) => logger.info(message),
    });
    metrics.addMetric(MetricName.SnapshotsWritten, MetricUnit.Count, result.published.length);
    logger.info('nightly compaction done', {
      asOf: result.asOf,
      published: result.published.map((manifest) => `${manifest.snapshotDate}/${manifest.runId}`),
      unchanged: result.unchanged,
    });
    return result;
  } finally {
    metrics.publishStoredMetrics();
    clients.destroy();
  }
}
