/** `tillstream stack`: the embedded local stack, bootstrapped, until SIGINT or SIGTERM. */
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../aws/clients.js';
import { watchShutdownSignals } from '../local/signals.js';
import { bucketNames, tableNames } from '../resources.js';
import { openContext } from './context.js';
import { CliError, ExitCode } from './errors.js';
import type { GlobalOptions } from './main.js';

/**
 * Starts the stack, prints its endpoints (and the environment variables that point the AWS CLI at
 * it), and stops it cleanly on the first SIGINT or SIGTERM.
 */
export async function runStackCommand(
  options: GlobalOptions,
  out: (text: string) => void = (text) => process.stdout.write(text),
): Promise<void> {
  if (options.aws) {
    throw new CliError(
      'the stack command runs the embedded local stack; it has no --aws mode',
      ExitCode.BadUsage,
    );
  }
  // Watched before the stack starts, so a signal during start-up still ends in a clean stop.
  const shutdown = watchShutdownSignals((signal) => out(`${signal}: stopping the local stack…\n`));
  try {
    const context = await openContext(options, { log: (message) => out(`${message}\n`) });
    try {
      const { stack, names } = context;
      if (!stack) throw new Error('invariant: the local target has a stack');
      const { dynamodb, kinesis, s3 } = stack.endpoints;
      out(
        [
          `tillstream local stack (${stack.dynamoEngine}), state in ${stack.stateDir}`,
          `  dynamodb  ${dynamodb}`,
          `  kinesis   ${kinesis}`,
          `  s3        ${s3}`,
          `  tables    ${tableNames(names).join(', ')}`,
          `  stream    ${names.ordersStream} (${context.settings.shardCount} shards when created)`,
          `  buckets   ${bucketNames(names).join(', ')}`,
          'For the AWS CLI (S3 needs path-style addressing):',
          `  export AWS_ENDPOINT_URL_DYNAMODB=${dynamodb} AWS_ENDPOINT_URL_KINESIS=${kinesis} AWS_ENDPOINT_URL_S3=${s3}`,
          `  export AWS_ACCESS_KEY_ID=${LOCAL_CREDENTIALS.accessKeyId} AWS_SECRET_ACCESS_KEY=${LOCAL_CREDENTIALS.secretAccessKey} AWS_REGION=${LOCAL_REGION}`,
          'Running; Ctrl-C stops it.',
          '',
        ].join('\n'),
      );
      await shutdown.received;
    } finally {
      await context.close();
    }
    out('local stack stopped\n');
  } finally {
    shutdown.dispose();
  }
}
