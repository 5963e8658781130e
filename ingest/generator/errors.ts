/** A generator input that cannot be honoured (bad option, bad profile), with what was given. */
export class GeneratorError extends Error {
  override name = 'GeneratorError';
}
