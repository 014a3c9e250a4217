/**
 * Admin UI sessions: `POST /api/session {"api_key"}` signs in and sets the HttpOnly,
 * SameSite=Strict session cookie; `GET` returns the signed-in principal with its role, scopes
 * and the actions the role allows (core/auth/roles.ts; `tenants.manage` only for the host operator,
 * an owner key of the default tenant), so the UI shows only what it may do;
 * `DELETE` signs out. Sign-in and sign-out are audited; the key is never stored or logged. A key
 * with an IP scope signs in only from inside it. Every role may use these routes.
 */
import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { CoreContext } from '../../core/context.ts';
import { SESSION_TTL_MS, authenticateApiKey, createSession, deleteSession, type Principal } from '../../core/auth/api-keys.ts';
import { recordAudit } from '../../core/audit/log.ts';
import { classifyPresentedKey } from '../../core/audit/refusals.ts';
import { AuthError, ValidationError } from '../../core/errors.ts';
import type { AppEnv } from '../env.ts';
import { SESSION_COOKIE, clientIp, refusalAuditor, refuseOutsideIpScope, requireAuth } from '../auth.ts';
import { permissionsOf } from '../../core/auth/roles.ts';
import { isHostOperator } from '../../core/tenants.ts';

async function principalBody(core: CoreContext, p: Principal) {
  const hostOperator = await isHostOperator(core.db, p);
  return {
    principal: {
      key_id: p.keyPrefix,
      name: p.name,
      role: p.role,
      tenant_id: p.tenantId,
      scopes: { tools: p.scopes.tools, wallets: p.scopes.wallets, ips: p.scopes.ips },
      permissions: permissionsOf(p.role, { hostOperator }),
    },
  };
}

/** Session routes, mounted under `/api/session`. */
export function sessionRoutes(core: CoreContext): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.post('/', async (c) => {
    const body = (await c.req.json().catch(() => null)) as { api_key?: unknown } | null;
    if (!body || typeof body.api_key !== 'string' || body.api_key === '') {
      throw new ValidationError('api_key', 'send a JSON body {"api_key": "<your key>"}');
    }
    const principal = await authenticateApiKey(core.db, body.api_key);
    if (!principal) {
      // Counted and folded into the source's aggregated refusal row (a revoked or expired key's
      // in its tenant's chain), like every other refusal without a valid key.
      const presented = await classifyPresentedKey(core.db, body.api_key);
      refusalAuditor(core).record({ reason: 'sign_in_failed', method: 'POST', path: '/api/session', ip: clientIp(c), key: presented.key, keyId: presented.keyId, requestId: c.get('requestId') });
      throw new AuthError('that API key is not valid (unknown, revoked or expired)');
    }
    const outside = await refuseOutsideIpScope(core, c, principal);
    if (outside) return outside;
    const audit = { tenantId: principal.tenantId, kind: 'api_write' as const, action: 'POST /api/session', principal: principal.keyPrefix, status: 'ok' as const, requestId: c.get('requestId'), ip: clientIp(c) };
    // The session and its audit row commit together.
    const token = await core.db.transaction().execute(async (trx) => {
      const made = await createSession(trx, principal);
      await recordAudit(trx, audit);
      return made;
    });
    setCookie(c, SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: 'Strict',
      path: '/',
      // Over TLS, directly or per a trusted proxy's X-Forwarded-Proto (server/middleware/request-origin).
      secure: c.get('tls') === true,
      maxAge: Math.floor(SESSION_TTL_MS / 1000),
    });
    return c.json(await principalBody(core, principal));
  });

  routes.get('/', requireAuth(core, { allowSession: true }), async (c) => c.json(await principalBody(core, c.get('principal'))));

  routes.delete('/', requireAuth(core, { allowSession: true }), async (c) => {
    const token = getCookie(c, SESSION_COOKIE);
    const p = c.get('principal');
    await core.db.transaction().execute(async (trx) => {
      if (token) await deleteSession(trx, token);
      await recordAudit(trx, { tenantId: p.tenantId, kind: 'api_write', action: 'DELETE /api/session', principal: p.keyPrefix, status: 'ok', requestId: c.get('requestId'), ip: clientIp(c) });
    });
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.body(null, 204);
  });
  return routes;
}
