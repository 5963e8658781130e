/** The code version written into every manifest. */
import packageJson from '../../package.json' with { type: 'json' };

/** `TILLSTREAM_CODE_VERSION` (CI sets the commit), else the package version. */
export function codeVersion(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return env['TILLSTREAM_CODE_VERSION'] || packageJson.version;
}
