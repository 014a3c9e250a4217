/**
 * Response security headers for `/api` and `/admin`, mounted in server/app.ts. hono's
 * `secureHeaders` (`hono/secure-headers`) sets its defaults (`X-Content-Type-Options: nosniff`,
 * `Referrer-Policy: no-referrer`, `Cross-Origin-Opener-Policy` and `Cross-Origin-Resource-Policy:
 * same-origin`, `Origin-Agent-Cluster`, `X-DNS-Prefetch-Control: off`, …) with
 * `X-Frame-Options: DENY` and, where a response has none, `Content-Security-Policy:
 * default-src 'none'; frame-ancestors 'none'` (nothing in a JSON answer may load or be framed;
 * OWASP REST Security Cheat Sheet). Headers a route set itself win: the admin UI keeps its own
 * CSP (server/admin.ts). `Strict-Transport-Security: max-age=31536000` is added only when the
 * request arrived over TLS (the `tls` variable, server/middleware/request-origin), since a user
 * agent ignores it over plain HTTP (RFC 6797 section 7.2) and a plain-HTTP deployment must not be
 * pinned to HTTPS by a forged `X-Forwarded-Proto`.
 */
import type { MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import type { AppEnv } from '../../env.ts';

/** The HSTS value sent over TLS: one year, this host only (RFC 6797 section 6.1). */
export const HSTS = 'max-age=31536000';

/** The CSP of a response that did not set one: nothing to load, never framed. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'";

/**
 * The middleware: sets the headers above after the route answered, keeping any it set itself.
 * Not for responses written straight to the socket (HTTP+SSE), which have no headers left.
 * Throws nothing.
 */
export function securityHeaders(): MiddlewareHandler<AppEnv> {
  const base = secureHeaders({
    strictTransportSecurity: false,
    xFrameOptions: 'DENY',
    overwrite: false,
  });
  return async (c, next) => {
    await base(c, next);
    if (!c.res.headers.has('Content-Security-Policy')) c.res.headers.set('Content-Security-Policy', API_CSP);
    if (c.get('tls') === true) c.res.headers.set('Strict-Transport-Security', HSTS);
  };
}
