/**
 * Shutdown signals for long-running commands: the first SIGINT or SIGTERM asks for a clean stop
 * (emulators close their stores, so no acknowledged write is lost); a second one while stopping
 * exits at once.
 */

/** The signals that ask a long-running command to stop. */
export const ShutdownSignals = ['SIGINT', 'SIGTERM'] as const;
export type ShutdownSignal = (typeof ShutdownSignals)[number];

/** Exit code of a forced exit (a second signal during shutdown): 128 + SIGINT. */
const FORCED_EXIT_CODE = 130;

export interface ShutdownWatch {
  /** Resolves with the first shutdown signal received. */
  readonly received: Promise<ShutdownSignal>;
  /** Removes the handlers; the default signal behaviour applies again. */
  dispose(): void;
}

/**
 * Watches for SIGINT and SIGTERM. While watched, the process no longer dies on the first one;
 * the caller stops its work when `received` resolves, then calls `dispose`.
 *
 * @example
 * ```ts
 * const shutdown = watchShutdownSignals((signal) => log(`${signal}: stopping`));
 * await shutdown.received;
 * await stack.stop();
 * shutdown.dispose();
 * ```
 */
export function watchShutdownSignals(onSignal?: (signal: ShutdownSignal) => void): ShutdownWatch {
  let resolveReceived: (signal: ShutdownSignal) => void = () => {};
  const received = new Promise<ShutdownSignal>((resolve) => {
    resolveReceived = resolve;
  });
  let stopping = false;
  const handler = (signal: ShutdownSignal) => {
    if (stopping) {
      process.stderr.write(`tillstream: ${signal} again, exiting without a clean stop\n`);
      process.exit(FORCED_EXIT_CODE);
    }
    stopping = true;
    onSignal?.(signal);
    resolveReceived(signal);
  };
  for (const signal of ShutdownSignals) process.on(signal, handler);
  return {
    received,
    dispose() {
      for (const signal of ShutdownSignals) process.off(signal, handler);
    },
  };
}
