/**
 * The dashboard's JSON API as a Lambda (behind a function URL or API Gateway), through Hono's AWS
 * Lambda adapter. Responses are buffered there, so the page refreshes by short polling instead of
 * server-sent events. Set `TILLSTREAM_DASHBOARD_TOKEN` (or put IAM auth on the function URL).
 */
import { handle } from 'hono/aws-lambda';
import { createClients } from '../../shared/aws/clients.js';
import { loadSettings } from '../../shared/config.js';
import { generationNames, readLiveGeneration } from '../../shared/generation.js';
import { resourceNames } from '../../shared/resources.js';
import { createDashboardApp } from './api.js';
import { ReadModel } from './read-model.js';

const settings = loadSettings();
const clients = createClients({ kind: 'aws', region: settings.region });
const baseNames = resourceNames(settings, process.env);
/** A warm container re-reads the generation pointer at most this often (one GetItem). */
const GENERATION_TTL_MS = 30_000;

type Handler = ReturnType<typeof handle>;
let current: { generation: number; readAtMs: number; handler: Handler } | undefined;

async function handlerOfLiveGeneration(): Promise<Handler> {
  const now = Date.now();
  if (current !== undefined && now - current.readAtMs < GENERATION_TTL_MS) return current.handler;
  const generation = await readLiveGeneration(clients.doc, baseNames);
  if (current?.generation !== generation) {
    const app = createDashboardApp({
      model: new ReadModel({
        doc: clients.doc,
        s3: clients.s3,
        names: generationNames(baseNames, generation),
      }),
      token: process.env['TILLSTREAM_DASHBOARD_TOKEN'] || undefined,
    });
    current = { generation, readAtMs: now, handler: handle(app) };
  } else {
    current = { ...current, readAtMs: now };
  }
  return current.handler;
}

/** The Lambda entry point: the app of the live table generation (`shared/generation.ts`). */
export const handler: Handler = async (event, context) => (await handlerOfLiveGeneration())(event, context);
