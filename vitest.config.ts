import { defineConfig } from 'vitest/config';

// s3rver encrypts ListObjectsV2 continuation tokens with DES, which Node 20's OpenSSL 3 only
// offers through the legacy provider (DESIGN.md, "Local stack").
const execArgv = ['--openssl-legacy-provider'];
// Silence the SDK's notice that its 2027 releases need Node 22 (the lockfile pins today's).
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

export default defineConfig({
  test: {
    globalSetup: ['test/support/temp-root.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'test/unit/**/*.test.ts',
            'aggregates/**/*.test.ts',
            'shared/**/*.test.ts',
            'ingest/**/*.test.ts',
            'processors/**/*.test.ts',
          ],
          exclude: ['**/*.int.test.ts', 'node_modules/**'],
          setupFiles: ['test/support/fast-check-seed.ts'],
          pool: 'forks',
          execArgv,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', '**/*.int.test.ts'],
          exclude: ['node_modules/**'],
          pool: 'forks',
          execArgv,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
