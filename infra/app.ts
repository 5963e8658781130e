/**
 * The CDK app (`cdk.json`: `npx tsx infra/app.ts`). One stack per run, chosen by `-c env=dev|prod`;
 * see `infra/environments.ts` for the other context flags.
 */
import { App } from 'aws-cdk-lib';
import { addTillstreamStack } from './environments.js';

const app = new App();
addTillstreamStack(app);
app.synth();
