/**
 * Cross-site request forgery (CSRF) protection for what a browser drives with the admin UI's
 * session cookie. `SameSite=Strict` keeps the cookie off requests from other *sites*, but not
 * from other *origins* of the same site (another port on the same host, a sibling subdomain), and
 * those can post forms and no-cors fetches. So every write (not GET, HEAD or OPTIONS) that a
 * browser could make with the cookie must be:
 * - from an allowed origin: the `Origin` header is the server's own origin (scheme + `Host`,
 *   server/middleware/request-origin) or listed in `ALLOWED_ORIGINS`, else 403
 *   `ORIGIN_NOT_ALLOWED`; browsers send `Origin` on every non-GET fetch and form post (Fetch
 *   standard, "append a request Origin header"), so a cookie write without one is refused too;
 * - JSON: `Content-Type: application/json`, else 415 `UNSUPPORTED_MEDIA_TYPE`. A page of
 *   another origin can only send one with a CORS preflight, which this server never grants, so
 *   no HTML form and no no-cors fetch can make such a request.
 * This is the OWASP CSRF Prevention Cheat Sheet's "verifying origin with standard headers" plus
 * its custom-header/content-type defence for APIs.
 *
 * Where it applies: {@link refuseCrossSiteWrite} is called by `requireAuth` (server/auth.ts) on
 * the cookie branch only, so every cookie-authenticated route is covered, sign-out included, and
 * bearer-key requests (not browser-driven) are not. {@link signInGuard} covers sign-in
 * (`POST /api/session`, login CSRF), where no cookie is involved yet.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { CoreContext } from '../../../core/context.ts';
import type { Config } from '../../../core/config.ts';
import type { Principal } from '../../../core/auth/api-keys.ts';
import { recordAudit } from '../../../core/audit/log.ts';
import { RequestRefusedError } from '../../../core/errors.ts';
import type { AppEnv } from '../../env.ts';
import { isAllowedOrigin, quoteHeader, serverOrigin } from '../request-origin/index.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Whether a `Content-Type` value is `application/json` (RFC 8259 section 11; parameters such as
 * `charset` allowed, case-insensitive). `application/json` is not a CORS-safelisted type (Fetch
 * standard), so only a same-origin page or a preflighted request can send it. Never throws.
 */
export function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  return value.split(';')[0]!.trim().toLowerCase() === 'application/json';
}

/** Options of {@link crossSiteWriteRefusal}. */
export interface CrossSiteRules {
  /** What is being refused, for the message: `a write with the session cookie`, `sign-in`. */
  what: string;
  /** Whether a request without an `Origin` header is refused (`true` for cookie writes). */
  originRequired: boolean;
}

/**
 * Checks a request against the cross-site write rules (see the module comment). Safe methods
 * (GET, HEAD, OPTIONS) always pass. The `Origin` is checked first, then the content type.
 * @returns `null` when the request may go on, else the {@link RequestRefusedError} to answer
 *   (returned, not thrown, so the caller can audit it first): `ORIGIN_NOT_ALLOWED` (403,
 *   `details: { rule: 'csrf.origin', origin, expected }`) or `UNSUPPORTED_MEDIA_TYPE` (415,
 *   `details: { rule: 'csrf.content_type', content_type }`).
 */
export function crossSiteWriteRefusal(c: Context<AppEnv>, config: Pick<Config, 'allowedOrigins'>, rules: CrossSiteRules): RequestRefusedError | null {
  if (SAFE_METHODS.has(c.req.method)) return null;
  const origin = c.req.header('origin');
  const own = serverOrigin(c);
  const expected = [...(own ? [own] : []), ...config.allowedOrigins];
  if (origin === undefined) {
    if (rules.originRequired) {
      return new RequestRefusedError(
        'ORIGIN_NOT_ALLOWED',
        `${rules.what} must carry an Origin header, which browsers send on every write; from a script, authenticate with "Authorization: Bearer <api key>" instead of the cookie`,
        { rule: 'csrf.origin', origin: null, expected },
      );
    }
  } else if (!isAllowedOrigin(origin, c, config)) {
    return new RequestRefusedError(
      'ORIGIN_NOT_ALLOWED',
      `${rules.what} from origin ${quoteHeader(origin)} is refused: only ${expected.join(', ') || 'this server\'s own pages'} may send it; to let a page of another origin do so, add that origin to ALLOWED_ORIGINS`,
      { rule: 'csrf.origin', origin: quoteHeader(origin), expected },
    );
  }
  const type = c.req.header('content-type');
  if (!isJsonContentType(type)) {
    return new RequestRefusedError(
      'UNSUPPORTED_MEDIA_TYPE',
      `${rules.what} must be sent with Content-Type: application/json (got ${type === undefined ? 'none' : quoteHeader(type)}), even when it has no body`,
      { rule: 'csrf.content_type', content_type: type === undefined ? null : quoteHeader(type) },
    );
  }
  return null;
}

function refusalResponse(c: Context<AppEnv>, err: RequestRefusedError): Response {
  return c.json({ error: { code: err.code, message: err.message, details: err.details ?? null } }, err.status as 403 | 415);
}

/**
 * For a request authenticated by the session cookie: refuses a write that breaks the cross-site
 * rules, before the route (and the role check) runs, so nothing changes. The refusal is audited
 * like an authorization refusal (server/authorize): an `api_write` row in the principal's tenant,
 * `status: 'refused'`, `decision: 'deny'`, `rule` `csrf.origin` or `csrf.content_type`.
 * Sources: OWASP CSRF Prevention Cheat Sheet; Fetch standard ("append a request Origin header").
 * @returns `null` when the request may go on, else the 403/415 JSON error response
 *   (`{"error":{"code","message","details"}}`). Never throws: a failed audit write is logged.
 */
export async function refuseCrossSiteWrite(core: CoreContext, c: Context<AppEnv>, principal: Principal): Promise<Response | null> {
  const err = crossSiteWriteRefusal(c, core.config, { what: 'a write with the session cookie', originRequired: true });
  if (!err) return null;
  await recordAudit(core.db, {
    tenantId: principal.tenantId,
    kind: 'api_write',
    action: `${c.req.method} ${c.req.path}`,
    principal: principal.keyPrefix,
    status: 'refused',
    errorCode: err.code,
    decision: 'deny',
    rule: String(err.details?.rule),
    response: { error: { code: err.code, message: err.message, details: err.details ?? null } },
    requestId: c.get('requestId'),
    ip: c.get('clientIp') ?? null,
  }).catch((auditErr: unknown) => core.logger.error({ err: auditErr, requestId: c.get('requestId') }, 'audit write failed'));
  return refusalResponse(c, err);
}

/**
 * Middleware for sign-in (`POST /api/session`), against login CSRF (a page of another origin
 * signing the victim's browser in with the attacker's key): the same rules as a cookie write,
 * except that a request without `Origin` passes, since it carries no ambient credential (the key
 * is in the body) and every browser sends `Origin` on a POST, so only non-browser clients omit it.
 * Checked from the headers alone, before the body is read; a refusal (403 `ORIGIN_NOT_ALLOWED`
 * or 415 `UNSUPPORTED_MEDIA_TYPE`, as {@link crossSiteWriteRefusal}) writes no row (nothing
 * identifies a principal) and is logged at `warn`. Throws nothing.
 */
export function signInGuard(core: CoreContext): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const err = crossSiteWriteRefusal(c, core.config, { what: 'sign-in (POST /api/session)', originRequired: false });
    if (!err) return next();
    core.logger.warn({ requestId: c.get('requestId'), ip: c.get('clientIp') ?? null, code: err.code, details: err.details }, 'sign-in refused by the cross-site rules');
    return refusalResponse(c, err);
  };
}
