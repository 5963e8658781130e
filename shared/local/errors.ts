/** Errors of the embedded local stack. */

/** The local stack could not start or stop; `component` names the emulator at fault. */
export class LocalStackError extends Error {
  override name = 'LocalStackError';
  constructor(
    message: string,
    readonly component: 'dynamodb' | 'kinesis' | 's3' | 'state-dir',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** `--dynamodb local-jar` was asked for but no usable `java` is on the PATH. */
export class JavaMissingError extends LocalStackError {
  override name = 'JavaMissingError';
  constructor(options?: ErrorOptions) {
    super(
      "DynamoDB Local (--dynamodb local-jar) needs Java 17 or newer, but 'java' was not found on the PATH. " +
        'Install a JRE (e.g. apt-get install openjdk-17-jre-headless) or use --dynamodb dynalite.',
      'dynamodb',
      options,
    );
  }
}
