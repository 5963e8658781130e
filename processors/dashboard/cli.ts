/** `tillstream dashboard`: serves the web dashboard until SIGINT or SIGTERM. */
import { CliError, ExitCode } from '../../shared/cli/errors.js';
import type { GlobalOptions } from '../../shared/cli/main.js';
import { watchShutdownSignals } from '../../shared/local/signals.js';
import { DashboardConfigError } from './errors.js';
import {
  checkDashboardBinding,
  DEFAULT_DASHBOARD_HOST,
  DEFAULT_DASHBOARD_PORT,
  startDashboard,
} from './server.js';

export interface DashboardCommandOptions {
  readonly port?: string;
  readonly host?: string;
}

/** The port of `--port`, else `TILLSTREAM_DASHBOARD_PORT`, else 8787. */
export function dashboardPort(
  value: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): number {
  const text = value ?? env['TILLSTREAM_DASHBOARD_PORT'];
  if (text === undefined || text === '') return DEFAULT_DASHBOARD_PORT;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new CliError(
      `--port must be an integer in [0, 65535] (given ${JSON.stringify(text)})`,
      ExitCode.BadUsage,
    );
  }
  return port;
}

/**
 * Serves the dashboard over the chosen target (the embedded stack, or AWS with `--aws`) and stops
 * cleanly on the first SIGINT or SIGTERM.
 */
export async function runDashboardCommand(
  options: DashboardCommandOptions,
  globals: GlobalOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
  out: (text: string) => void = (text) => process.stdout.write(text),
): Promise<void> {
  const port = dashboardPort(options.port, env);
  const host = options.host ?? env['TILLSTREAM_DASHBOARD_HOST'] ?? DEFAULT_DASHBOARD_HOST;
  const token = env['TILLSTREAM_DASHBOARD_TOKEN'] || undefined;
  // Refused before the stack starts: a bad binding needs no emulator to be reported.
  try {
    checkDashboardBinding(host, port, token);
  } catch (error) {
    if (error instanceof DashboardConfigError)
      throw new CliError(error.message, ExitCode.BadUsage, { cause: error });
    throw error;
  }
  const shutdown = watchShutdownSignals((signal) => out(`${signal}: stopping the dashboard…\n`));
  try {
    const { openContext } = await import('../../shared/cli/context.js');
    const context = await openContext(globals);
    try {
      const dashboard = await startDashboard({
        clients: context.clients,
        names: context.names,
        settings: context.settings,
        port,
        host,
        token,
      });
      out(
        `tillstream dashboard on ${dashboard.url}${token ? ' (bearer token required)' : ''}; Ctrl-C stops it.\n`,
      );
      await shutdown.received;
      await dashboard.close();
    } finally {
      await context.close();
    }
  } finally {
    shutdown.dispose();
  }
}
