#!/usr/bin/env node
// The `tillstream` command. s3rver (the local S3) needs Node's legacy OpenSSL provider for paged
// ListObjectsV2, and that can only be set when Node starts: re-run once with it when it is missing.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const LEGACY = '--openssl-legacy-provider';
// The SDK's notice that releases after January 2027 need Node 22 is for upgrades, not for users of a
// pinned lockfile; the README says Node 22 is recommended.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const hasLegacy = process.execArgv.includes(LEGACY) || (process.env.NODE_OPTIONS ?? '').includes(LEGACY);

if (!hasLegacy) {
  const child = spawn(
    process.execPath,
    [LEGACY, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  // The terminal sends SIGINT to both processes; the child shuts down cleanly and we exit with it.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      if (signal !== 'SIGINT') child.kill(signal);
    });
  }
  child.on('exit', (code, signal) => {
    process.exit(code ?? (signal ? 128 + 1 : 1));
  });
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('./main.ts');
  process.exitCode = await main(process.argv);
}
