/**
 * Authentication middleware. `/mcp`, `/sse`, `/messages` and `/api` take
 * `Authorization: Bearer <api key>`; `/api` also takes the admin UI's session cookie.
 * A refusal is a 401 JSON error and one `auth` audit row (no tenant, the key's visible id only
 * when it has our format); the presented secret is never logged or stored.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import type { CoreContext } from '../core/context.ts';
import { authenticateApiKey, authenticateSession, keyPrefixOf, type Principal } from '../core/auth/api-keys.ts';
import { recordAudit } from '../core/audit/log.ts';
import { AuthError } from '../core/errors.ts';
import type { AppEnv } from './env.ts';

/** Name of the admin UI session cookie (HttpOnly, SameSite=Strict). */
export const SESSION_COOKIE = 'vp_session';

/** The caller's IP address as the socket reports it. */
export function clientIp(c: Context<AppEnv>): string | null {
  return c.env?.incoming?.socket?.remoteAddress ?? null;
}

/** Extracts the bearer token, or `null`. */
export function bearerToken(c: Context<AppEnv>): string | null {
  const header = c.req.header('authorization');
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : null;
}

/** Writes the `auth` audit row for a refused request and returns the 401 response. */
async function refuse(core: CoreContext, c: Context<AppEnv>, presented: string | null, message?: string): Promise<Response> {
  const err = new AuthError(message);
  await recordAudit(core.db, {
    tenantId: null,
    kind: 'auth',
    action: `${c.req.method} ${c.req.path}`,
    principal: presented && /^vp_[0-9a-f]{8}_/.test(presented) ? keyPrefixOf(presented) : null,
    status: 'refused',
    errorCode: err.code,
    requestId: c.get('requestId'),
    ip: clientIp(c),
  }).catch((auditErr: unknown) => core.logger.error({ err: auditErr }, 'audit write failed'));
  c.header('WWW-Authenticate', 'Bearer realm="vaultpilot"');
  return c.json({ error: { code: err.code, message: err.message, details: null } }, 401);
}

/**
 * Requires a valid API key (bearer) — or, with `allowSession`, the admin UI session cookie.
 * Sets `principal` on success.
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
    } else {
      return refuse(core, c, null);
    }
    c.set('principal', principal);
    await next();
  };
}
