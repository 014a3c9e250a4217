/**
 * DNS rebinding protection for MCP (`/mcp`, `/sse`, `/messages`), mounted before authentication.
 * A page on `evil.example` whose name is re-pointed at this server's address reaches it with
 * `Host: evil.example` and `Origin: http://evil.example`, as same-origin as far as the browser
 * is concerned. The MCP specification (Transports, Streamable HTTP, "Security Warning") says
 * servers MUST validate the `Origin` header and SHOULD bind to localhost only when run locally, so:
 * - the `Host` header's name (port ignored) must be a loopback name (`localhost`, `*.localhost`,
 *   `127.x.x.x`, `::1`) when `ALLOWED_HOSTS` is empty (configuration then requires a loopback
 *   `HOST`), or one of `ALLOWED_HOSTS` otherwise (loopback names only if listed);
 * - an `Origin` header, when present, must be the server's own origin (scheme + that `Host`) or
 *   one of `ALLOWED_ORIGINS`. MCP clients that are not browsers send none.
 * A refusal is 403 with a JSON-RPC error (`{"jsonrpc":"2.0","error":{"code":-32000,"message",
 * "data":{"code":"HOST_NOT_ALLOWED"|"ORIGIN_NOT_ALLOWED"}},"id":null}`), before any credential is
 * read, and writes nothing.
 *
 * The MCP SDK 1.32 has its own checks (`enableDnsRebindingProtection` with `allowedHosts` and
 * `allowedOrigins` on both server transports, and an Express `hostHeaderValidation` middleware),
 * but the transport options compare the whole `Host` including its port, run only when a message
 * is posted (not on `GET /sse`) and after authentication, and the middleware is Express's; so
 * this one middleware serves the three routes, with the SDK middleware's port-agnostic parsing.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { isLoopbackHost, type Config } from '../../../core/config.ts';
import { RequestRefusedError } from '../../../core/errors.ts';
import type { AppEnv } from '../../env.ts';
import { isAllowedOrigin, parseHost, quoteHeader, serverOrigin } from '../request-origin/index.ts';

/**
 * Whether a `Host` name (lowercase, no port, no IPv6 brackets) may address this server: a
 * loopback name when `allowedHosts` is empty, else a member of `allowedHosts` (whose entries may
 * bracket an IPv6 address).
 */
export function isAllowedHostName(name: string, allowedHosts: readonly string[]): boolean {
  if (allowedHosts.length === 0) return isLoopbackHost(name);
  return allowedHosts.some((h) => h.replace(/^\[|\]$/g, '') === name);
}

/**
 * Checks a request's `Host` and `Origin` against the rules above.
 * @returns `null` when both are allowed, else the {@link RequestRefusedError}: `HOST_NOT_ALLOWED`
 *   or `ORIGIN_NOT_ALLOWED` (both 403), with `details` naming the refused value.
 */
export function hostOriginRefusal(c: Context<AppEnv>, config: Pick<Config, 'allowedHosts' | 'allowedOrigins'>): RequestRefusedError | null {
  const header = c.req.header('host');
  const host = parseHost(header);
  if (!host || !isAllowedHostName(host.name, config.allowedHosts)) {
    const shown = header === undefined ? 'none' : quoteHeader(header);
    const allowed = config.allowedHosts.length > 0 ? config.allowedHosts.join(', ') : 'loopback names only (localhost, 127.0.0.1, ::1)';
    return new RequestRefusedError(
      'HOST_NOT_ALLOWED',
      `Host ${shown} is not a name this server answers MCP requests for (allowed: ${allowed}); connect with one of those names, or add the name to ALLOWED_HOSTS`,
      { host: header === undefined ? null : quoteHeader(header), allowed_hosts: config.allowedHosts },
    );
  }
  const origin = c.req.header('origin');
  if (origin !== undefined && !isAllowedOrigin(origin, c, config)) {
    return new RequestRefusedError(
      'ORIGIN_NOT_ALLOWED',
      `Origin ${quoteHeader(origin)} may not call MCP on this server (allowed: ${[serverOrigin(c), ...config.allowedOrigins].filter(Boolean).join(', ')}); to let a browser page of that origin connect, add it to ALLOWED_ORIGINS`,
      { origin: quoteHeader(origin), allowed_origins: config.allowedOrigins },
    );
  }
  return null;
}

/**
 * Middleware for `/mcp`, `/sse` and `/messages`: answers 403 with a JSON-RPC error when
 * {@link hostOriginRefusal} refuses, else passes the request on. Throws nothing.
 */
export function dnsRebindingGuard(config: Pick<Config, 'allowedHosts' | 'allowedOrigins'>): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const err = hostOriginRefusal(c, config);
    if (!err) return next();
    return c.json({ jsonrpc: '2.0', error: { code: -32000, message: `Forbidden: ${err.message}`, data: { code: err.code, ...err.details } }, id: null }, 403);
  };
}
