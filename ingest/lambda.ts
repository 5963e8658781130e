/**
 * The poller as an AWS Lambda (EventBridge schedule): one poll cycle per invocation, over the
 * input named by `TILLSTREAM_INPUT` (`drive://FOLDER_ID[,ID…]` on AWS), against the deployed
 * resources named by the CDK app's environment variables.
 */
import { createClients } from '../shared/aws/clients.js';
import { loadSettings } from '../shared/config.js';
import { resourceNames } from '../shared/resources.js';
import { IngestError } from './errors.js';
import { runPollCycle } from './poll.js';
import { sourceFor } from './sources.js';
import { PollerState } from './state.js';

/** What the function returns (and logs): per-file outcomes and totals. */
export interface PollLambdaResult {
  readonly files: number;
  readonly recordsPut: number;
  readonly optionsSettled: number;
  readonly optionsOrphaned: number;
  readonly errors: readonly { readonly path: string; readonly message: string }[];
  readonly reports: readonly {
    readonly path: string;
    readonly status: string;
    readonly rowsRead: number;
    readonly rowsQuarantined: number;
  }[];
}

// Created once per container: warm invocations reuse the connections.
let clients: ReturnType<typeof createClients> | undefined;

/**
 * The Lambda handler.
 *
 * @example
 * // infra: new NodejsFunction(this, 'Poller', { entry: 'ingest/lambda.ts', handler: 'handler' })
 */
export async function handler(): Promise<PollLambdaResult> {
  const env = process.env;
  const settings = loadSettings(env);
  const names = resourceNames(settings, env);
  const input = env['TILLSTREAM_INPUT'];
  if (input === undefined || input === '') throw new IngestError('TILLSTREAM_INPUT is not set');
  clients ??= createClients({ kind: 'aws', region: settings.region });
  const state = new PollerState(clients.doc, names.stateTable);
  const result = await runPollCycle({
    clients,
    names,
    settings,
    source: sourceFor(input, state, env),
    clock: Date.now,
    log: (message) => console.warn(message),
  });
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
  console.log(JSON.stringify(summary));
  return summary;
}
