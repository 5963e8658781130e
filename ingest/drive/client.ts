/** Builds the Drive v3 client from the environment (CONTRACT.md §4). */
import { auth, drive, type drive_v3 } from '@googleapis/drive';
import { SourceError } from '../errors.js';

export const DRIVE_READONLY_SCOPE = 'https://www.googleapis.com/auth/drive.readonly';

/** Where the credentials come from. */
export interface DriveClientOptions {
  /** A ready OAuth access token (e.g. `gcloud auth print-access-token`). */
  readonly accessToken?: string;
  /** Path of a service-account key file. */
  readonly keyFile?: string;
  /** A service-account key already read (on AWS: from Secrets Manager). */
  readonly serviceAccountKey?: ServiceAccountKey;
  /** A Drive-compatible API root (tests, proxies). @default Google's */
  readonly rootUrl?: string;
}

/** The fields of a Google service-account JSON key that authentication uses. */
export interface ServiceAccountKey {
  readonly client_email: string;
  readonly private_key: string;
}

/** Parses a service-account JSON key, naming what is wrong without echoing the secret. */
export function parseServiceAccountKey(text: string, origin: string): ServiceAccountKey {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new SourceError(`${origin} is not JSON: it must hold a Google service-account key file`, 'drive');
  }
  const key = parsed as Partial<ServiceAccountKey> | null;
  if (typeof key?.client_email !== 'string' || typeof key.private_key !== 'string') {
    throw new SourceError(`${origin} lacks client_email or private_key: not a service-account key`, 'drive');
  }
  return { client_email: key.client_email, private_key: key.private_key };
}

/** Options from `TILLSTREAM_DRIVE_ACCESS_TOKEN`, `GOOGLE_APPLICATION_CREDENTIALS`, `TILLSTREAM_DRIVE_ROOT_URL`. */
export function driveOptionsFromEnv(env: Readonly<Record<string, string | undefined>>): DriveClientOptions {
  const pick = (name: string): string | undefined => (env[name] === '' ? undefined : env[name]);
  const accessToken = pick('TILLSTREAM_DRIVE_ACCESS_TOKEN');
  const keyFile = pick('GOOGLE_APPLICATION_CREDENTIALS');
  const rootUrl = pick('TILLSTREAM_DRIVE_ROOT_URL');
  return {
    ...(accessToken === undefined ? {} : { accessToken }),
    ...(keyFile === undefined ? {} : { keyFile }),
    ...(rootUrl === undefined ? {} : { rootUrl }),
  };
}

/**
 * A Drive v3 client. The root URL goes to the client itself: the global `rootUrl` option is not
 * honoured by the generated methods.
 *
 * @example
 * const client = createDriveClient({ accessToken: 'ya29…', rootUrl: 'http://127.0.0.1:9000/' });
 */
export function createDriveClient(options: DriveClientOptions): drive_v3.Drive {
  let authClient: InstanceType<typeof auth.OAuth2> | InstanceType<typeof auth.GoogleAuth>;
  if (options.accessToken !== undefined) {
    const oauth = new auth.OAuth2();
    oauth.setCredentials({ access_token: options.accessToken });
    authClient = oauth;
  } else if (options.serviceAccountKey !== undefined) {
    authClient = new auth.GoogleAuth({
      credentials: { ...options.serviceAccountKey },
      scopes: [DRIVE_READONLY_SCOPE],
    });
  } else if (options.keyFile !== undefined) {
    authClient = new auth.GoogleAuth({ keyFile: options.keyFile, scopes: [DRIVE_READONLY_SCOPE] });
  } else {
    throw new SourceError(
      'Drive needs credentials: set TILLSTREAM_DRIVE_ACCESS_TOKEN or GOOGLE_APPLICATION_CREDENTIALS',
      'drive',
    );
  }
  const rootUrl = options.rootUrl === undefined ? undefined : options.rootUrl.replace(/\/?$/, '/');
  return drive({ version: 'v3', auth: authClient, ...(rootUrl === undefined ? {} : { rootUrl }) });
}
