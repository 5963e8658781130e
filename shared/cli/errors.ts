/** Exit codes of every command (CONTRACT.md §4). */
export const ExitCode = { Success: 0, Failure: 1, BadUsage: 2 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI reports as one line (no stack) with its exit code. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.Failure,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
