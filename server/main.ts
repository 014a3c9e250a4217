/**
 * Server process entry (`npm run server`, the image's default command): loads the configuration,
 * starts the HTTP server, prints where to connect, and shuts down cleanly on SIGINT/SIGTERM.
 */
import { createLogger } from '../core/logger.ts';
import { closeOnSignals, exitOnStartError, loadConfigOrExit } from '../core/process.ts';
import { startServer } from './start.ts';

async function main(): Promise<void> {
  const config = loadConfigOrExit('server');
  const logger = createLogger('server', config.logLevel);
  const running = await startServer(config, logger).catch((err: unknown) => exitOnStartError('server', err, logger));
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
  closeOnSignals(logger, running.close);
}

await main();
