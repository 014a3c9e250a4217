/**
 * Server process entry (`npm run server`, the image's default command): loads the configuration,
 * starts the HTTP server, prints where to connect, and shuts down cleanly on SIGINT/SIGTERM.
 */
import { loadConfig } from '../core/config.ts';
import { ConfigError } from '../core/errors.ts';
import { createLogger } from '../core/logger.ts';
import { startServer } from './start.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`vaultpilot server: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger('server', config.logLevel);
  let running;
  try {
    running = await startServer(config, logger);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`vaultpilot server: ${err.message}\n`);
      process.exit(1);
    }
    logger.fatal({ err }, 'server failed to start');
    process.exit(1);
  }
  const base = running.url.replace('127.0.0.1', config.host === '0.0.0.0' ? 'HOST' : '127.0.0.1');
  process.stdout.write(
    [
      '',
      `VaultPilot server on ${running.url} (chainId ${running.ctx.chain.chainId})`,
      `  admin UI:              ${base}/admin`,
      `  MCP (Streamable HTTP): ${base}/mcp`,
      `  MCP (HTTP+SSE):        ${base}/sse`,
      '',
    ].join('\n'),
  );
  if (running.generatedAdminKey) {
    // Printed once, to the terminal only (never through the logger): only its hash is stored.
    process.stdout.write(
      [
        '======================================================================',
        ' No admin key was configured, so one was generated. It is shown ONCE:',
        `   ${running.generatedAdminKey}`,
        ' Sign in to the admin UI with it and use it as the MCP bearer key.',
        ' Set ADMIN_API_KEY to choose your own.',
        '======================================================================',
        '',
      ].join('\n'),
    );
  }
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
