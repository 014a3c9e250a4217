/**
 * REST authorization: the role matrix (core/auth/roles.ts) applied to `/api`, after
 * authentication (server/auth.ts). Two middlewares:
 * - {@link authorizeApi}, mounted once on `/api` after `requireAuth`, maps every request to an
 *   action by method and path ({@link restAction}) and refuses it when the role may not take
 *   it, so a route added later is covered by default (reads are `api.read`, writes `api.write`);
 * - {@link requireRole}`(action)` for a route or group that needs a specific action
 *   (`keys.manage` on `/api/keys`, `policies.write` on policy writes);
 * - {@link requireCheck}`(check)` for a condition beyond the role (`/api/tenants`: an owner key of
 *   the default tenant, core/tenants.ts `requireHostOperator`), refused and audited the same way.
 * `/api/session` and `/api/openapi.json` are mounted before both and open to every role. A
 * refusal is a 403 `FORBIDDEN` with `details: { rule: 'role', role, action }`, and one audit row
 * (`api_write` for a write, `auth` for a read). Wallet scopes are enforced in core, where every
 * lookup of a wallet or strategy goes through.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { CoreContext } from '../../core/context.ts';
import { recordAudit } from '../../core/audit/log.ts';
import { requireAction, type Action } from '../../core/auth/roles.ts';
import { ForbiddenError } from '../../core/errors.ts';
import type { AppEnv } from '../env.ts';
import { clientIp } from '../auth.ts';

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The action a REST request needs, from its method and full path (`/api/...`):
 * `/api/keys…` → `keys.manage`; `/api/tenants…` → `tenants.manage`; reads of `/api/events…` → `audit.export`; writes under
 * `/api/approvals` → `approvals.decide`; writes to a `…/policy` or `/api/policies…` path →
 * `policies.write`; any other read → `api.read`, any other write → `api.write`.
 */
export function restAction(method: string, path: string): Action {
  const read = READ_METHODS.has(method.toUpperCase());
  const p = path.replace(/\/+$/, '');
  if (p === '/api/keys' || p.startsWith('/api/keys/')) return 'keys.manage';
  if (p === '/api/tenants' || p.startsWith('/api/tenants/')) return 'tenants.manage';
  if (read && (p === '/api/events' || p.startsWith('/api/events/'))) return 'audit.export';
  if (!read && p.startsWith('/api/approvals/')) return 'approvals.decide';
  if (!read && (/\/polic(y|ies)(\/|$)/.test(p))) return 'policies.write';
  return read ? 'api.read' : 'api.write';
}

/** Records the refusal and throws it (the app's error handler answers 403). */
async function refuse(core: CoreContext, c: Context<AppEnv>, err: ForbiddenError): Promise<never> {
  const principal = c.get('principal');
  await recordAudit(core.db, {
    tenantId: principal.tenantId,
    kind: READ_METHODS.has(c.req.method) ? 'auth' : 'api_write',
    action: `${c.req.method} ${c.req.path}`,
    principal: principal.keyPrefix,
    status: 'refused',
    errorCode: err.code,
    decision: 'deny',
    rule: typeof err.details?.rule === 'string' ? err.details.rule : 'role',
    response: { error: { code: err.code, message: err.message, details: err.details ?? null } },
    requestId: c.get('requestId'),
    ip: clientIp(c),
  }).catch((auditErr: unknown) => core.logger.error({ err: auditErr, requestId: c.get('requestId') }, 'audit write failed'));
  throw err;
}

/**
 * Refuses the request unless the principal's role may take `action` (a fixed action, or one
 * computed from the request).
 * @throws {ForbiddenError} `FORBIDDEN` (`rule: 'role'`), answered as a 403 by the app.
 */
export function requireRole(core: CoreContext, action: Action | ((c: Context<AppEnv>) => Action)): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const needed = typeof action === 'function' ? action(c) : action;
    try {
      requireAction(c.get('principal').role, needed);
    } catch (err) {
      if (err instanceof ForbiddenError) await refuse(core, c, err);
      throw err;
    }
    await next();
  };
}

/**
 * Refuses the request unless `check` (given the request's context) resolves: for conditions the
 * role alone does not decide. A {@link ForbiddenError} it throws is audited like a role refusal
 * and answered 403; any other error propagates as it is.
 */
export function requireCheck(core: CoreContext, check: (c: Context<AppEnv>) => Promise<void> | void): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    try {
      await check(c);
    } catch (err) {
      if (err instanceof ForbiddenError) await refuse(core, c, err);
      throw err;
    }
    await next();
  };
}

/** The default guard of `/api`: {@link requireRole} with the action {@link restAction} names. */
export function authorizeApi(core: CoreContext): MiddlewareHandler<AppEnv> {
  return requireRole(core, (c) => restAction(c.req.method, c.req.path));
}
