/**
 * The front-end bundle: `web/main.ts` and Chart.js bundled by esbuild at server start (no CDN: the
 * machine may have no internet), with the page and its stylesheet.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { DashboardAssets } from './api.js';

const webEntry = fileURLToPath(new URL('./web/main.ts', import.meta.url));
const stylesheet = fileURLToPath(new URL('./web/app.css', import.meta.url));

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tillstream dashboard</title>
<link rel="stylesheet" href="/assets/app.css">
</head>
<body>
<header class="top">
  <h1>tillstream</h1>
  <nav id="nav"></nav>
  <span id="live" class="live" data-state="connecting">connecting…</span>
</header>
<section id="filters" class="filters"></section>
<div id="status" class="status" role="status" aria-live="polite"></div>
<main id="view"></main>
<script type="module" src="/assets/app.js"></script>
</body>
</html>
`;

let built: Promise<DashboardAssets> | undefined;

/**
 * Bundles the front-end once per process (about a second the first time).
 *
 * @example
 * const assets = await buildDashboardAssets();
 * const app = createDashboardApp({ model, assets });
 */
export function buildDashboardAssets(): Promise<DashboardAssets> {
  built ??= (async () => {
    // esbuild comes with tsx, which the CLI runs on; it is not needed on Lambda (API only).
    const { build } = await import('esbuild');
    const result = await build({
      entryPoints: [webEntry],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      minify: true,
      legalComments: 'none',
      logLevel: 'silent',
    });
    const js = result.outputFiles[0]?.text;
    if (js === undefined) throw new Error('esbuild produced no bundle for the dashboard');
    return { html: PAGE, js, css: await readFile(stylesheet, 'utf8') };
  })();
  built.catch(() => {
    built = undefined;
  });
  return built;
}
