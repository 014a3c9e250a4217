/**
 * Authentication middleware. `/mcp`, `/sse`, `/messages` and `/api` take
 * `Authorization: Bearer <api key>`; `/api` also takes the admin UI's session cookie.
 * A refusal is a 401 JSON error, counted in `vaultpilot_auth_refusals_total{reason}` and folded
 * into an aggregated `auth` audit row per source per minute (core/audit/refusals.ts); the
 * presented secret is never logged or stored. A valid key used from
 * outside its IP scope (`allowed_ips`) is a 403 `FORBIDDEN` with `details.rule` `scope.ips`,
 * audited (kind `auth`) in the key's tenant.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import type { CoreContext } from '../core/context.ts';
import { authenticateApiKey, authenticateSession, type Principal } from '../core/auth/api-keys.ts';
import { recordAudit } from '../core/audit/log.ts';
import { RefusalAuditor, classifyPresentedKey, type RefusalReason } from '../core/audit/refusals.ts';
import { checkIpScope } from '../core/auth/scopes.ts';
import { AuthError, ForbiddenError } from '../core/errors.ts';
import type { AppEnv } from './env.ts';
import { refuseCrossSiteWrite } from './middleware/csrf/index.ts';

/** Name of the admin UI session cookie (HttpOnly, SameSite=Strict). */
export const SESSION_COOKIE = 'vp_session';

/** The caller's IP address: the socket's peer, or the forwarded client behind `TRUSTED_PROXIES` (set per request in app.ts). */
export function clientIp(c: Context<AppEnv>): string | null {
  return c.get('clientIp') ?? c.env?.incoming?.socket?.remoteAddress ?? null;
}

/** Extracts the bearer token, or `null`. */
export function bearerToken(c: Context<AppEnv>): string | null {
  const header = c.req.header('authorization');
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : null;
}

const auditors = new WeakMap<CoreContext, RefusalAuditor>();

/** The process's refusal auditor for `core` (core/audit/refusals.ts). */
export function refusalAuditor(core: CoreContext): RefusalAuditor {
  let auditor = auditors.get(core);
  if (!auditor) {
    auditor = new RefusalAuditor(core.db, core.logger);
    auditors.set(core, auditor);
  }
  return auditor;
}

/**
 * Counts a refused request and folds it into its source's aggregated `auth` audit row
 * (core/audit/refusals.ts: one row per source and chain per minute, the path cut), then returns
 * the 401 response. A presented key that exists (revoked or expired) is counted in its own
 * tenant's row under its visible id, so that tenant sees it and no other does. Without a bearer
 * key, a session cookie that was sent makes the reason `bad_session`, else `no_key`.
 */
async function refuse(core: CoreContext, c: Context<AppEnv>, presented: string | null, message?: string): Promise<Response> {
  const err = new AuthError(message);
  const known = presented ? await classifyPresentedKey(core.db, presented) : null;
  const reason: RefusalReason = known?.reason ?? (getCookie(c, SESSION_COOKIE) ? 'bad_session' : 'no_key');
  refusalAuditor(core).record({
    reason,
    method: c.req.method,
    path: c.req.path,
    ip: clientIp(c),
    key: known?.key ?? null,
    keyId: known?.keyId ?? null,
    requestId: c.get('requestId'),
  });
  c.header('WWW-Authenticate', 'Bearer realm="vaultpilot"');
  return c.json({ error: { code: err.code, message: err.message, details: null } }, 401);
}

/**
 * Checks the key's IP scope against the request's source address.
 * @returns `null` when allowed, else the 403 response (after writing its `auth` audit row).
 */
export async function refuseOutsideIpScope(core: CoreContext, c: Context<AppEnv>, principal: Principal): Promise<Response | null> {
  const ip = clientIp(c);
  try {
    checkIpScope(principal, ip);
    return null;
  } catch (err) {
    if (!(err instanceof ForbiddenError)) throw err;
    await recordAudit(core.db, {
      tenantId: principal.tenantId,
      kind: 'auth',
      action: `${c.req.method} ${c.req.path}`,
      principal: principal.keyPrefix,
      status: 'refused',
      errorCode: err.code,
      decision: 'deny',
      rule: 'scope.ips',
      response: { error: { code: err.code, message: err.message, details: err.details ?? null } },
      requestId: c.get('requestId'),
      ip,
    }).catch((auditErr: unknown) => core.logger.error({ err: auditErr }, 'audit write failed'));
    return c.json({ error: { code: err.code, message: err.message, details: err.details ?? null } }, 403);
  }
}

/**
 * Requires a valid API key (bearer) — or, with `allowSession`, the admin UI session cookie —
 * used from inside the key's IP scope. Sets `principal` on success.
 */
export function requireAuth(core: CoreContext, opts: { allowSession?: boolean } = {}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = bearerToken(c);
    let principal: Principal | null = null;
    if (token) {
      principal = await authenticateApiKey(core.db, token);
      if (!principal) return refuse(core, c, token);
    } else if (opts.allowSession) {
      const cookie = getCookie(c, SESSION_COOKIE);
      if (cookie) principal = await authenticateSession(core.db, cookie);
      if (!principal) return refuse(core, c, null, cookie ? 'the session has expired; sign in again' : undefined);
      // The cookie rides along on same-site requests from other origins: writes need an allowed
      // Origin and JSON (server/middleware/csrf).
      const crossSite = await refuseCrossSiteWrite(core, c, principal);
      if (crossSite) return crossSite;
    } else {
      return refuse(core, c, null);
    }
    const outside = await refuseOutsideIpScope(core, c, principal);
    if (outside) return outside;
    c.set('principal', principal);
    await next();
  };
}
