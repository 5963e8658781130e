/**
 * The dashboard on Node: `startDashboard` serves the app on loopback by default; on any other
 * interface it refuses to start without a bearer token (CONTRACT.md §4). `tillstream dashboard`
 * and `tillstream up` start it this way.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { AwsClients } from '../../shared/aws/clients.js';
import type { Settings } from '../../shared/config.js';
import type { ResourceNames } from '../../shared/resources.js';
import { createDashboardApp, LiveUpdates } from './api.js';
import { buildDashboardAssets } from './assets.js';
import { DashboardConfigError } from './errors.js';
import { ReadModel } from './read-model.js';

export const DEFAULT_DASHBOARD_HOST = '127.0.0.1';
export const DEFAULT_DASHBOARD_PORT = 8787;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

export interface DashboardOptions {
  readonly clients: Pick<AwsClients, 'doc' | 's3'>;
  readonly names: ResourceNames;
  readonly settings?: Settings;
  /** 0 picks a free port. @default 8787 */
  readonly port?: number;
  /** @default `127.0.0.1` */
  readonly host?: string;
  /** Bearer token (`TILLSTREAM_DASHBOARD_TOKEN`): required on any non-loopback host. */
  readonly token?: string | undefined;
  /** Milliseconds between reads of the shard checkpoints for live updates. @default 1000 */
  readonly refreshMs?: number;
}

export interface RunningDashboard {
  /** `http://host:port/` */
  readonly url: string;
  readonly port: number;
  /** Ends the event streams and stops the server. Idempotent. */
  close(): Promise<void>;
}

/** True when `host` only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || host.startsWith('127.');
}

/**
 * Refuses a binding that is invalid, or reachable from other machines without a token.
 *
 * @throws DashboardConfigError naming the setting at fault.
 */
export function checkDashboardBinding(host: string, port: number, token: string | undefined): void {
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new DashboardConfigError(`port must be an integer in [0, 65535] (given ${port})`, 'port');
  }
  if (!isLoopback(host) && (token === undefined || token === '')) {
    throw new DashboardConfigError(
      `the dashboard would listen on ${host}, reachable from other machines: set TILLSTREAM_DASHBOARD_TOKEN (a bearer token) or bind to 127.0.0.1`,
      'host',
    );
  }
}

/**
 * Starts the dashboard.
 *
 * @throws DashboardConfigError when the host is not loopback and no token is given, or the port is invalid.
 * @example
 * const dashboard = await startDashboard({ clients, names, port: 0 });
 * console.log(dashboard.url);
 * await dashboard.close();
 */
export async function startDashboard(options: DashboardOptions): Promise<RunningDashboard> {
  const host = options.host ?? DEFAULT_DASHBOARD_HOST;
  const port = options.port ?? DEFAULT_DASHBOARD_PORT;
  const token = options.token === '' ? undefined : options.token;
  checkDashboardBinding(host, port, token);
  const model = new ReadModel({ doc: options.clients.doc, s3: options.clients.s3, names: options.names });
  const live = new LiveUpdates(() => model.shardStates(), options.refreshMs ?? 1000);
  const closing = new AbortController();
  const assets = await buildDashboardAssets();
  const app = createDashboardApp({ model, token, live, assets, closing: closing.signal });

  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const started = serve({ fetch: app.fetch, port, hostname: host }, () => resolve(started));
    started.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${address.port}/`,
    port: address.port,
    close() {
      closed ??= (async () => {
        closing.abort();
        live.stop();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          if ('closeIdleConnections' in server) server.closeIdleConnections();
        });
      })();
      return closed;
    },
  };
}
