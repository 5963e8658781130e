/** Loopback listening helpers shared by the emulators. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';

/** Every emulator binds here only: the local stack is never reachable from the network. */
export const LOOPBACK = '127.0.0.1';

/** Listens on a free loopback port and resolves to it. */
export function listenOnFreePort(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * A loopback port that was free a moment ago, for a child process that cannot report the port it
 * bound. Another process may take it in between; the caller's readiness check catches that.
 */
export async function reserveFreePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, LOOPBACK, () => resolve());
  });
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Closes a server (its own `close`, which the emulators wrap to close their stores) and its idle sockets. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeIdleConnections();
  });
}
