/**
 * The dashboard's JSON API as a Lambda (behind a function URL or API Gateway), through Hono's AWS
 * Lambda adapter. Responses are buffered there, so the page refreshes by short polling instead of
 * server-sent events. Set `TILLSTREAM_DASHBOARD_TOKEN` (or put IAM auth on the function URL).
 */
import { handle } from 'hono/aws-lambda';
import { createClients } from '../../shared/aws/clients.js';
import { loadSettings } from '../../shared/config.js';
import { liveGenerationResolver, READER_GENERATION_TTL_MS } from '../../shared/generation.js';
import { resourceNames } from '../../shared/resources.js';
import { createDashboardApp } from './api.js';
import { ReadModel } from './read-model.js';

const settings = loadSettings();
const clients = createClients({ kind: 'aws', region: settings.region });
// A warm container re-reads the generation pointer at most every 30 s (one GetItem).
const liveGeneration = liveGenerationResolver(
  clients.doc,
  resourceNames(settings, process.env),
  READER_GENERATION_TTL_MS,
);

type Handler = ReturnType<typeof handle>;
let current: { generation: number; handler: Handler } | undefined;

async function handlerOfLiveGeneration(): Promise<Handler> {
  const live = await liveGeneration();
  if (current?.generation !== live.generation) {
    const app = createDashboardApp({
      model: new ReadModel({ doc: clients.doc, s3: clients.s3, names: live.names }),
      token: process.env['TILLSTREAM_DASHBOARD_TOKEN'] || undefined,
    });
    current = { generation: live.generation, handler: handle(app) };
  }
  return current.handler;
}

/** The Lambda entry point: the app of the live table generation (`shared/generation.ts`). */
export const handler: Handler = async (event, context) => (await handlerOfLiveGeneration())(event, context);
