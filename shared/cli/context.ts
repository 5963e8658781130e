/**
 * What every command needs, from the global options: settings (defaults < environment < flags),
 * the SDK clients for the chosen target, resource names, and for the local target the running
 * stack with its resources bootstrapped.
 */

import { bootstrapLocalResources } from '../aws/bootstrap.js';
import { type AwsClients, createClients } from '../aws/clients.js';
import { ConfigError, DynamoEngine, loadSettings, type Settings, Target } from '../config.js';
import { resolveLiveNames } from '../generation.js';
import type { LocalStack } from '../local/stack.js';
import { type ResourceNames, resourceNames } from '../resources.js';
import { CliError, ExitCode } from './errors.js';
import type { GlobalOptions } from './main.js';

export interface CliContext {
  readonly settings: Settings;
  readonly clients: AwsClients;
  /** The names of the live table generation (`shared/generation.ts`): what every command reads and writes. */
  readonly names: ResourceNames;
  /** Generation 0's names: the control table (generation pointer, poller lease) and `rebuild`'s base. */
  readonly baseNames: ResourceNames;
  /** The embedded emulators when the target is local. */
  readonly stack?: LocalStack;
  /** Destroys the clients and stops the local stack. Idempotent. */
  close(): Promise<void>;
}

/** Settings from the environment with the global CLI flags on top. */
export function settingsFromOptions(
  options: GlobalOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Settings {
  const overrides: { -readonly [K in keyof Settings]?: Settings[K] } = {};
  if (options.aws) overrides.target = Target.Aws;
  if (options.stateDir) overrides.stateDir = options.stateDir;
  if (options.dynamodb) {
    const engines: readonly string[] = Object.values(DynamoEngine);
    if (!engines.includes(options.dynamodb)) {
      throw new CliError(
        `--dynamodb must be one of ${engines.join(', ')} (given ${JSON.stringify(options.dynamodb)})`,
        ExitCode.BadUsage,
      );
    }
    overrides.dynamoEngine = options.dynamodb as DynamoEngine;
  }
  try {
    return loadSettings(env, overrides);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message, ExitCode.BadUsage, { cause: error });
    throw error;
  }
}

/**
 * Opens the context for a command: on the local target, starts the embedded stack (wiped first
 * with `--fresh`) and bootstraps its resources; on AWS, only creates clients (the CDK app owns the
 * resources there).
 *
 * @example
 * ```ts
 * const context = await openContext(command.optsWithGlobals<GlobalOptions>());
 * try {
 *   await pollOnce(context.clients, context.names, context.settings);
 * } finally {
 *   await context.close();
 * }
 * ```
 */
export async function openContext(
  options: GlobalOptions,
  io: {
    readonly env?: Readonly<Record<string, string | undefined>>;
    readonly log?: (message: string) => void;
  } = {},
): Promise<CliContext> {
  const env = io.env ?? process.env;
  const settings = settingsFromOptions(options, env);
  const names = resourceNames(settings, env);

  if (settings.target === Target.Aws) {
    if (options.fresh) {
      throw new CliError('--fresh only applies to the embedded local stack, not to --aws', ExitCode.BadUsage);
    }
    const clients = createClients({ kind: 'aws', region: settings.region });
    let live: ResourceNames;
    try {
      // As the deployed Lambdas do: the generation a rebuild made live (README, "Rebuilding from the raw layer").
      live = await resolveLiveNames(clients.doc, names);
    } catch (error) {
      clients.destroy();
      throw error;
    }
    let closed = false;
    return {
      settings,
      clients,
      names: live,
      baseNames: names,
      async close() {
        if (closed) return;
        closed = true;
        clients.destroy();
      },
    };
  }

  // Loaded only for the local target: the emulators are local-only dependencies.
  const [{ startLocalStack }, { LocalStackError }] = await Promise.all([
    import('../local/stack.js'),
    import('../local/errors.js'),
  ]);
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      stateDir: settings.stateDir,
      fresh: options.fresh ?? false,
      dynamoEngine: settings.dynamoEngine,
      shardCount: settings.shardCount,
      ...(io.log ? { log: io.log } : {}),
    });
  } catch (error) {
    if (error instanceof LocalStackError)
      throw new CliError(error.message, ExitCode.Failure, { cause: error });
    throw error;
  }
  try {
    await bootstrapLocalResources(stack.endpoints, names, {
      shardCount: settings.shardCount,
      ...(io.log ? { log: io.log } : {}),
    });
  } catch (error) {
    await stack.stop();
    throw error;
  }
  const clients = createClients({ kind: 'local', endpoints: stack.endpoints });
  let live: ResourceNames;
  try {
    live = await resolveLiveNames(clients.doc, names);
  } catch (error) {
    clients.destroy();
    await stack.stop();
    throw error;
  }
  let closed = false;
  return {
    settings,
    clients,
    names: live,
    baseNames: names,
    stack,
    async close() {
      if (closed) return;
      closed = true;
      clients.destroy();
      await stack.stop();
    },
  };
}
