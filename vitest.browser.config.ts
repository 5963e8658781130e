import { defineConfig } from 'vitest/config';

// The browser tests drive Debian's Chromium (/usr/bin/chromium) through playwright-core: their own
// command (`npm run test:browser`), never part of the default projects. s3rver needs the legacy
// OpenSSL provider (see vitest.config.ts).
// Silence the SDK's notice that its 2027 releases need Node 22 (the lockfile pins today's).
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    exclude: ['node_modules/**'],
    pool: 'forks',
    execArgv: ['--openssl-legacy-provider'],
    testTimeout: 180_000,
    hookTimeout: 300_000,
  },
});
