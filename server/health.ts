/**
 * Operations endpoints: `/healthz` (process up), `/readyz` (database, chain RPC and key provider
 * reachable; 503 when any is not), `/metrics` (Prometheus text) and, for the host operator,
 * `GET /api/readiness` (the same checks with their detail).
 *
 * `/readyz` is anonymous, so it says only ok or failing per check: a detail can hold a key ARN,
 * a Vault address or an IAM error, and the checks call KMS, Vault and the RPC provider. Results
 * are cached for {@link READINESS_CACHE_MS} and concurrent callers share the check in flight, so
 * a flood costs at most one upstream round per period. Operators get the detail in the log,
 * once per state change of a check (never per request), and from `GET /api/readiness`.
 * `/metrics` takes `Authorization: Bearer <METRICS_TOKEN>` when that is set.
 */
import { Hono, type Context } from 'hono';
import { sql } from 'kysely';
import type { CoreContext } from '../core/context.ts';
import type { Logger } from '../core/logger.ts';
import type { ProviderHealth } from '../keyproviders/index.ts';
import { DEFAULT_TENANT } from '../core/auth/api-keys.ts';
import { ForbiddenError } from '../core/errors.ts';
import { METRICS_UNAUTHORIZED_BODY, metricsAuthorized, registry } from '../core/metrics.ts';
import type { AppEnv } from './env.ts';
import { requireAuth } from './auth.ts';
import { requireCheck } from './authorize/index.ts';

/** How long a readiness result is reused, in ms. */
export const READINESS_CACHE_MS = 5_000;
/** Longest a single check may take before it counts as failing, in ms. */
export const CHECK_TIMEOUT_MS = 10_000;

/** One dependency's readiness. `detail` is for operators only (it can name keys and hosts). */
export interface Check {
  ok: boolean;
  detail: string;
}

/** The names of the checks, in the order they are shown. */
export type CheckName = 'database' | 'chain' | 'key_provider';

/** A full readiness result, with every detail. */
export interface Readiness {
  ready: boolean;
  /** When the checks ran (results are reused for {@link READINESS_CACHE_MS}). */
  checkedAt: Date;
  checks: Record<CheckName, Check>;
  key_providers: ProviderHealth[];
}

/**
 * Cuts a detail to 200 characters and reduces every URL in it to scheme and host, since RPC and
 * Vault URLs can carry credentials in their user info, path or query.
 */
export function scrubDetail(detail: string): string {
  return detail.replace(/\b([a-z][a-z0-9+.-]*:\/\/)(?:[^\s/?#@]*@)?([^\s/?#]+)[^\s,;)]*/gi, '$1$2').slice(0, 200);
}

/** Resolves to `fn`'s value, or to `fallback` when it takes longer than `ms`. */
async function within<T>(ms: number, fn: () => Promise<T>, fallback: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback()), ms);
  });
  try {
    return await Promise.race([fn(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function timed(fn: () => Promise<string>): Promise<Check> {
  try {
    return await within<Check>(CHECK_TIMEOUT_MS, async () => ({ ok: true, detail: await fn() }), () => ({ ok: false, detail: `timed out after ${CHECK_TIMEOUT_MS} ms` }));
  } catch (err) {
    return { ok: false, detail: scrubDetail(err instanceof Error ? err.message : 'failed') };
  }
}

/** Every configured provider as failing with `why` (the key ring did not answer as a whole). */
function allFailing(core: CoreContext, why: string): ProviderHealth[] {
  return core.keys.names.map((provider, i) => ({ provider, active: i === 0, ok: false, detail: `${provider}: ${why}` }));
}

/**
 * Checks the database, the chain and every configured key provider concurrently, uncached (one
 * round trip to each; use {@link ReadinessProbe} for anything a caller can repeat). Never throws:
 * a failing or slow dependency is a failing check.
 */
export async function readiness(core: CoreContext): Promise<Readiness> {
  const [database, chain, keyProvider] = await Promise.all([
    timed(async () => {
      await sql`select 1`.execute(core.db);
      return 'reachable';
    }),
    timed(async () => `chainId ${core.chain.chainId}, block ${await core.chain.getBlockNumber()}`),
    // KeyRing.health never throws by contract; a slow or broken provider still only fails its check.
    within(CHECK_TIMEOUT_MS, () => core.keys.health(), () => allFailing(core, `timed out after ${CHECK_TIMEOUT_MS} ms`)).catch(() => allFailing(core, 'health check failed')),
  ]);
  // Every configured provider must answer: wallets wrapped by a reader are as live as new ones.
  const providers = keyProvider.map((p) => ({ ...p, detail: scrubDetail(p.detail) }));
  const key_provider: Check = {
    ok: providers.every((p) => p.ok),
    detail: providers
      .map((p) => `${p.provider}${p.active ? ' (active)' : ''}: ${p.ok ? 'ok' : 'FAILING'}: ${p.detail.replace(`${p.provider}: `, '')}`)
      .join('; '),
  };
  return { ready: database.ok && chain.ok && key_provider.ok, checkedAt: new Date(), checks: { database, chain, key_provider }, key_providers: providers };
}

/**
 * Cached, single-flight readiness: {@link get} reuses a result younger than `ttlMs`, and callers
 * arriving while a check runs wait for that one. Logs each check's detail when its state changes
 * (the first result included), never per request.
 */
export class ReadinessProbe {
  readonly #run: () => Promise<Readiness>;
  readonly #logger: Logger;
  readonly #ttlMs: number;
  #last: Readiness | undefined;
  #inFlight: Promise<Readiness> | undefined;

  /**
   * @param run the uncached check (normally `() => readiness(core)`); must not throw.
   * @param logger where state changes are logged.
   * @param ttlMs how long a result is reused, in ms (default {@link READINESS_CACHE_MS}).
   */
  constructor(run: () => Promise<Readiness>, logger: Logger, ttlMs = READINESS_CACHE_MS) {
    this.#run = run;
    this.#logger = logger;
    this.#ttlMs = ttlMs;
  }

  /** The latest result, checking again when it is older than the cache period. */
  get(): Promise<Readiness> {
    if (this.#last && Date.now() - this.#last.checkedAt.getTime() < this.#ttlMs) return Promise.resolve(this.#last);
    this.#inFlight ??= this.#run()
      .then((result) => {
        this.#logChanges(this.#last, result);
        this.#last = result;
        return result;
      })
      .finally(() => {
        this.#inFlight = undefined;
      });
    return this.#inFlight;
  }

  #logChanges(before: Readiness | undefined, after: Readiness): void {
    for (const [name, check] of Object.entries(after.checks) as Array<[CheckName, Check]>) {
      const was = before?.checks[name];
      if (was && was.ok === check.ok) continue;
      const line = { check: name, ok: check.ok, detail: check.detail };
      if (check.ok) this.#logger.info(line, was ? `readiness: ${name} is ok again` : `readiness: ${name} ok`);
      else this.#logger.warn(line, `readiness: ${name} is failing`);
    }
  }
}

/** `GET /readyz`'s body: the overall status and ok per check, nothing else. */
function publicBody(r: Readiness) {
  return {
    status: r.ready ? 'ready' : 'not_ready',
    checks: { database: { ok: r.checks.database.ok }, chain: { ok: r.checks.chain.ok }, key_provider: { ok: r.checks.key_provider.ok } },
  };
}

/**
 * Only owner and admin keys of the default tenant (the host operator's) see readiness details:
 * they name infrastructure every tenant shares.
 * @throws {ForbiddenError} `FORBIDDEN` (`rule: 'role'`) for any other key.
 */
async function requireHostAdmin(core: CoreContext, c: Context<AppEnv>): Promise<void> {
  const p = c.get('principal');
  const tenant = ['owner', 'admin'].includes(p.role) ? await core.db.selectFrom('tenants').select('name').where('id', '=', p.tenantId).executeTakeFirst() : undefined;
  if (tenant?.name !== DEFAULT_TENANT) {
    throw new ForbiddenError(`only owner and admin keys of the "${DEFAULT_TENANT}" tenant (the host operator) may read readiness details; GET /readyz shows ok or failing to anyone`, { rule: 'role', role: p.role });
  }
}

/**
 * Serves the Prometheus registry, or the 401 JSON error when `METRICS_TOKEN` is set and the
 * request does not carry it (no audit row).
 */
export async function metricsResponse(authorization?: string, token?: string): Promise<Response> {
  if (!metricsAuthorized(authorization, token)) {
    return new Response(METRICS_UNAUTHORIZED_BODY, { status: 401, headers: { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="metrics"' } });
  }
  return new Response(await registry.metrics(), { headers: { 'content-type': registry.contentType } });
}

/** `/healthz`, `/readyz`, `/metrics` and `GET /api/readiness` (bearer key or session, host operator's owner or admin). */
export function healthRoutes(core: CoreContext): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  const probe = new ReadinessProbe(() => readiness(core), core.logger);
  routes.get('/healthz', (c) => c.json({ status: 'ok' }));
  routes.get('/readyz', async (c) => {
    const r = await probe.get();
    c.header('Cache-Control', 'no-store');
    return c.json(publicBody(r), r.ready ? 200 : 503);
  });
  routes.get('/metrics', (c) => metricsResponse(c.req.header('authorization'), core.config.metricsToken));
  routes.get('/api/readiness', requireAuth(core, { allowSession: true }), requireCheck(core, (c) => requireHostAdmin(core, c)), async (c) => {
    const r = await probe.get();
    c.header('Cache-Control', 'no-store');
    return c.json({ ...publicBody(r), checked_at: r.checkedAt.toISOString(), checks: r.checks, key_providers: r.key_providers });
  });
  return routes;
}
