/**
 * Starts the worker over an opened core: pg-boss queue handlers, and a small HTTP listener on
 * `WORKER_METRICS_PORT` for `/healthz` and `/metrics` (behind `METRICS_TOKEN` when set). Used by
 * `worker/main.ts` and the tests.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import type { CoreContext } from '../core/context.ts';
import { openCore } from '../core/runtime.ts';
import { METRICS_UNAUTHORIZED_BODY, enableProcessMetrics, metricsAuthorized, registry } from '../core/metrics.ts';
import { registerTxMonitor } from './jobs/tx-monitor.ts';
import { registerStrategyTick } from './jobs/strategy-tick.ts';
import { registerApprovalExecute } from './jobs/approval-execute.ts';
import { startRateLimitPrune } from './jobs/rate-limit-prune.ts';
import { startAuditSealer } from './jobs/audit-seal.ts';
import { startKeyExpirySweep } from './jobs/key-expiry.ts';

/** A running worker. */
export interface RunningWorker {
  ctx: CoreContext;
  /** Base URL of the metrics listener. */
  metricsUrl: string;
  close: () => Promise<void>;
}

/** Opens the core, registers every queue's handler and starts the metrics listener. */
export async function startWorker(config: Config, logger: Logger): Promise<RunningWorker> {
  const core = await openCore(config, logger, 'worker');
  enableProcessMetrics();
  await registerTxMonitor(core.ctx, core.ctx.boss);
  const stopScheduler = await registerStrategyTick(core.ctx, core.ctx.boss);
  const stopExpirySweep = await registerApprovalExecute(core.ctx, core.ctx.boss);
  const stopPrune = startRateLimitPrune(core.ctx);
  const stopSealer = startAuditSealer(core.ctx);
  const stopKeySweep = startKeyExpirySweep(core.ctx);

  const http = createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else if (req.url === '/metrics') {
      // METRICS_TOKEN, when set, as on the server's /metrics (no audit row: it is not a key).
      if (!metricsAuthorized(req.headers.authorization, config.metricsToken)) {
        res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="metrics"' }).end(METRICS_UNAUTHORIZED_BODY);
        return;
      }
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"NOT_FOUND","message":"the worker serves /healthz and /metrics","details":null}}');
    }
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.workerMetricsPort, config.host, resolve);
  });
  const { port } = http.address() as AddressInfo;
  return {
    ctx: core.ctx,
    metricsUrl: `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`,
    close: async () => {
      await stopScheduler();
      await stopExpirySweep();
      await stopKeySweep();
      stopPrune();
      await stopSealer();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await core.close();
    },
  };
}
