/**
 * Operations endpoints, unauthenticated: `/healthz` (process up), `/readyz` (database, chain RPC
 * and key provider reachable, each named in the body; 503 when any is not) and `/metrics`
 * (Prometheus text format).
 */
import { Hono } from 'hono';
import { sql } from 'kysely';
import type { CoreContext } from '../core/context.ts';
import type { ProviderHealth } from '../keyproviders/index.ts';
import { registry } from '../core/metrics.ts';

/** One dependency's readiness. */
export interface Check {
  ok: boolean;
  detail: string;
}

async function timed(fn: () => Promise<string>): Promise<Check> {
  try {
    return { ok: true, detail: await fn() };
  } catch (err) {
    return { ok: false, detail: err instanceof Error ? err.message.slice(0, 200) : 'failed' };
  }
}

/** Checks the database, the chain and every configured key provider concurrently; `key_providers` names each one. */
export async function readiness(core: CoreContext): Promise<{ ready: boolean; checks: Record<'database' | 'chain' | 'key_provider', Check>; key_providers: ProviderHealth[] }> {
  const [database, chain, keyProvider] = await Promise.all([
    timed(async () => {
      await sql`select 1`.execute(core.db);
      return 'reachable';
    }),
    timed(async () => `chainId ${core.chain.chainId}, block ${await core.chain.getBlockNumber()}`),
    core.keys.health(),
  ]);
  // Every configured provider must answer: wallets wrapped by a reader are as live as new ones.
  const providers = keyProvider.map((p) => ({ ...p, detail: p.detail.slice(0, 200) }));
  const key_provider: Check = {
    ok: providers.every((p) => p.ok),
    detail: providers
      .map((p) => `${p.provider}${p.active ? ' (active)' : ''}: ${p.ok ? 'ok' : 'FAILING'}: ${p.detail.replace(`${p.provider}: `, '')}`)
      .join('; '),
  };
  return { ready: database.ok && chain.ok && key_provider.ok, checks: { database, chain, key_provider }, key_providers: providers };
}

/** Serves the Prometheus registry. */
export async function metricsResponse(): Promise<Response> {
  return new Response(await registry.metrics(), { headers: { 'content-type': registry.contentType } });
}

/** `/healthz`, `/readyz`, `/metrics`. */
export function healthRoutes(core: CoreContext): Hono {
  const routes = new Hono();
  routes.get('/healthz', (c) => c.json({ status: 'ok' }));
  routes.get('/readyz', async (c) => {
    const r = await readiness(core);
    return c.json({ status: r.ready ? 'ready' : 'not_ready', checks: r.checks, key_providers: r.key_providers }, r.ready ? 200 : 503);
  });
  routes.get('/metrics', () => metricsResponse());
  return routes;
}
