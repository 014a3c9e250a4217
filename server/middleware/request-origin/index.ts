/**
 * Which scheme a request arrived over and which origin it addresses, for the other edge checks
 * (cross-site writes, DNS rebinding, the session cookie's `Secure` flag, HSTS):
 * - {@link detectTls} (mounted once on `*` in server/app.ts) sets the `tls` context variable;
 * - {@link serverOrigin} is the server's own origin as this request names it (scheme + `Host`);
 * - {@link isAllowedOrigin} says whether an `Origin` header is that origin or one of
 *   `ALLOWED_ORIGINS`.
 *
 * `X-Forwarded-Proto` counts only from a trusted proxy (`TRUSTED_PROXIES`, the same rule as
 * core/auth/client-ip.ts for `X-Forwarded-For`): from anyone else it is the client's own claim.
 */
import type { Socket } from 'node:net';
import type { Context, MiddlewareHandler } from 'hono';
import type { Config } from '../../../core/config.ts';
import { ipInCidrs } from '../../../core/auth/scopes.ts';
import type { AppEnv } from '../../env.ts';

/** What {@link requestIsTls} looks at. */
export interface TlsFacts {
  /** The socket is a TLS socket (`tls.TLSSocket#encrypted`). */
  encrypted: boolean;
  /** The socket's peer address, `null` when unknown. */
  peer: string | null;
  /** The `X-Forwarded-Proto` header, `undefined` when absent. */
  forwardedProto: string | undefined;
  /** CIDRs of trusted proxies (`TRUSTED_PROXIES`). */
  trustedProxies: readonly string[];
}

/**
 * Whether a request arrived over TLS: the socket is encrypted, or the peer is a trusted proxy and
 * its `X-Forwarded-Proto` says `https`. With a list (`https, http`), the leftmost value counts, as
 * in Express's `req.protocol`: the proxy that faces the client must set the header, not append to
 * a value the client sent. Never throws.
 */
export function requestIsTls(facts: TlsFacts): boolean {
  if (facts.encrypted) return true;
  if (facts.peer === null || facts.forwardedProto === undefined || facts.trustedProxies.length === 0) return false;
  if (!ipInCidrs(facts.peer, facts.trustedProxies)) return false;
  return facts.forwardedProto.split(',')[0]!.trim().toLowerCase() === 'https';
}

/**
 * Middleware: sets the `tls` context variable (see {@link requestIsTls}) from the Node socket
 * (`c.env.incoming.socket`). Without Node bindings (`app.request()` in unit tests, other
 * runtimes) the request URL's scheme decides. Never refuses anything and throws nothing.
 * `X-Forwarded-Proto` is the de-facto header (RFC 7239's `Forwarded: proto=` is its standard
 * form, not read here).
 */
export function detectTls(config: Pick<Config, 'trustedProxies'>): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const socket = c.env?.incoming?.socket as (Socket & { encrypted?: boolean }) | undefined;
    const tls = socket
      ? requestIsTls({ encrypted: socket.encrypted === true, peer: socket.remoteAddress ?? null, forwardedProto: c.req.header('x-forwarded-proto'), trustedProxies: config.trustedProxies })
      : new URL(c.req.url).protocol === 'https:';
    c.set('tls', tls);
    await next();
  };
}

// A Host header: a DNS name or IPv4 address, or a bracketed IPv6 address, with an optional port.
const HOST_HEADER = /^(?:[a-z0-9_.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

/**
 * Parses a `Host` header (RFC 9110 section 7.2: `host [ ":" port ]`).
 * @returns `{ name, host }`: `name` lowercase without port or IPv6 brackets (`::1`), `host` as an
 *   origin carries it (`[::1]:8080`); `null` when the header is absent or not a plain host.
 */
export function parseHost(header: string | undefined): { name: string; host: string } | null {
  if (!header || !HOST_HEADER.test(header)) return null;
  try {
    const u = new URL(`http://${header}`);
    return { name: u.hostname.replace(/^\[|\]$/g, ''), host: u.host };
  } catch {
    return null;
  }
}

/**
 * The server's own origin as this request addresses it: `https` when the request arrived over
 * TLS (the `tls` variable, {@link detectTls}), else `http`, and the `Host` header, serialized as
 * a browser serializes an origin (lowercase, default port dropped: `http://127.0.0.1:8080`).
 * @returns `null` when `Host` is absent or malformed.
 */
export function serverOrigin(c: Context<AppEnv>): string | null {
  const host = parseHost(c.req.header('host'));
  if (!host) return null;
  return new URL(`${c.get('tls') === true ? 'https' : 'http'}://${host.host}`).origin;
}

/**
 * Whether an `Origin` header value (Fetch standard, "Origin header"; RFC 6454) is the server's own
 * origin ({@link serverOrigin}) or listed in `ALLOWED_ORIGINS`. The opaque origin `null` (sandboxed
 * frames, `file:`, privacy-redirected requests) and anything that is not exactly a serialized
 * http(s) origin are not allowed. Never throws.
 */
export function isAllowedOrigin(origin: string, c: Context<AppEnv>, config: Pick<Config, 'allowedOrigins'>): boolean {
  let serialized: string;
  try {
    const u = new URL(origin);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
    serialized = u.origin;
  } catch {
    return false;
  }
  if (serialized !== origin) return false;
  return serialized === serverOrigin(c) || config.allowedOrigins.includes(serialized);
}

/** An attacker-chosen header value, cut to 200 characters (plus `…`) to quote in an error or an audit row. */
export function quoteHeader(value: string): string {
  return value.length > 200 ? `${value.slice(0, 200)}…` : value;
}
