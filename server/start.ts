/**
 * Starts the HTTP server over an opened core: bootstrap admin key, app, listener. Used by
 * `server/main.ts` and by the tests (which start real servers on port 0).
 */
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import type { CoreContext } from '../core/context.ts';
import { openCore } from '../core/runtime.ts';
import { bootstrapAdminKey } from '../core/auth/api-keys.ts';
import { enableProcessMetrics } from '../core/metrics.ts';
import { buildApp } from './app.ts';
import { refusalAuditor } from './auth.ts';

/** A running server. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  ctx: CoreContext;
  /** The admin key generated at first start (no key configured, none in the database), else undefined. */
  generatedAdminKey: string | undefined;
  close: () => Promise<void>;
}

/**
 * Opens the core and listens on `config.host:config.port` (0 picks a free port).
 * @throws {ConfigError} | errors from {@link openCore}.
 */
export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  const core = await openCore(config, logger, 'server');
  enableProcessMetrics();
  const boot = await bootstrapAdminKey(core.ctx.db, config.adminApiKey);
  const { app, closeSessions } = buildApp(core.ctx);
  const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ctx: core.ctx,
    generatedAdminKey: boot.generatedKey,
    close: async () => {
      await closeSessions();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      // The open window of aggregated refusal rows, while the database is still there.
      await refusalAuditor(core.ctx).flush();
      await core.close();
    },
  };
}
