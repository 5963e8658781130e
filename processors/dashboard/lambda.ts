/**
 * The dashboard's JSON API as a Lambda (behind a function URL or API Gateway), through Hono's AWS
 * Lambda adapter. Responses are buffered there, so the page refreshes by short polling instead of
 * server-sent events. Set `TILLSTREAM_DASHBOARD_TOKEN` (or put IAM auth on the function URL).
 */
import { handle } from 'hono/aws-lambda';
import { createClients } from '../../shared/aws/clients.js';
import { loadSettings } from '../../shared/config.js';
import { resourceNames } from '../../shared/resources.js';
import { createDashboardApp } from './api.js';
import { ReadModel } from './read-model.js';

const settings = loadSettings();
const clients = createClients({ kind: 'aws', region: settings.region });
const app = createDashboardApp({
  model: new ReadModel({ doc: clients.doc, s3: clients.s3, names: resourceNames(settings, process.env) }),
  token: process.env['TILLSTREAM_DASHBOARD_TOKEN'] || undefined,
});

/** The Lambda entry point. */
export const handler = handle(app);
