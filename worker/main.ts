/**
 * Worker process entry (`npm run worker`): runs the pg-boss queues until SIGINT/SIGTERM, then
 * stops taking jobs, lets running ones finish (up to 5 s) and exits.
 */
import { loadConfig } from '../core/config.ts';
import { ConfigError } from '../core/errors.ts';
import { createLogger } from '../core/logger.ts';
import { startWorker } from './start.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`vaultpilot worker: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger('worker', config.logLevel);
  let running;
  try {
    running = await startWorker(config, logger);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`vaultpilot worker: ${err.message}\n`);
      process.exit(1);
    }
    logger.fatal({ err }, 'worker failed to start');
    process.exit(1);
  }
  logger.info({ metrics: `${running.metricsUrl}/metrics` }, 'worker running');
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await running.close().catch((err: unknown) => logger.error({ err }, 'shutdown error'));
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

await main();
