/**
 * Worker process entry (`npm run worker`): runs the pg-boss queues until SIGINT/SIGTERM, then
 * stops taking jobs, lets running ones finish (up to 5 s) and exits.
 */
import { createLogger } from '../core/logger.ts';
import { closeOnSignals, exitOnStartError, loadConfigOrExit } from '../core/process.ts';
import { startWorker } from './start.ts';

async function main(): Promise<void> {
  const config = loadConfigOrExit('worker');
  const logger = createLogger('worker', config.logLevel);
  const running = await startWorker(config, logger).catch((err: unknown) => exitOnStartError('worker', err, logger));
  logger.info({ metrics: `${running.metricsUrl}/metrics` }, 'worker running');
  closeOnSignals(logger, running.close);
}

await main();
