/**
 * Request body limits, mounted before authentication (server/app.ts) so an oversized request is
 * refused before anything reads a credential or writes a row:
 * - `/api/session` (sign-in carries only `{"api_key"}`): {@link SESSION_BODY_LIMIT} (8 KiB);
 * - every other `/api` route: {@link API_BODY_LIMIT} (1 MiB);
 * - `/mcp` and `/messages`: {@link MCP_BODY_LIMIT} (1 MiB; the MCP SDK's own limit is 4 MiB).
 *
 * Built on hono's `bodyLimit` (`hono/body-limit`): a `Content-Length` over the limit is refused
 * from the header alone, without reading the body; a chunked body (no `Content-Length`) is read
 * only up to the limit and refused as soon as it passes it, then handed on as a buffered request
 * (`c.req.raw`). Node's HTTP parser never delivers more than a `Content-Length` declares, and
 * the 413 carries `Connection: close`, so the server closes the connection instead of reading
 * what a refused client still sends: nothing past the limit is read or held in memory.
 */
import type { MiddlewareHandler } from 'hono';
import { bodyLimit as honoBodyLimit } from 'hono/body-limit';
import { RequestRefusedError } from '../../../core/errors.ts';
import type { AppEnv } from '../../env.ts';

/** Body limit of `POST /api/session`, bytes. */
export const SESSION_BODY_LIMIT = 8 * 1024;
/** Body limit of every other REST route, bytes. */
export const API_BODY_LIMIT = 1024 * 1024;
/** Body limit of `POST /mcp` and `POST /messages`, bytes. */
export const MCP_BODY_LIMIT = 1024 * 1024;

/** `1048576` → `1 MiB`, `8192` → `8 KiB`. */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

/** Options of {@link bodyLimit}. */
export interface BodyLimitOptions {
  /** Largest body accepted, bytes. */
  maxBytes: number;
  /**
   * The refusal's shape: `rest` is `{"error":{"code":"PAYLOAD_TOO_LARGE","message","details"}}`,
   * `jsonrpc` is `{"jsonrpc":"2.0","error":{"code":-32000,"message","data"},"id":null}` (MCP).
   */
  format: 'rest' | 'jsonrpc';
  /** What the limit is for, in the message: `sign-in (POST /api/session)`, `a REST request`. */
  what: string;
}

/**
 * Refuses a request whose body is over `maxBytes` with a 413 (`PAYLOAD_TOO_LARGE`,
 * `details: { limit_bytes }`, `Connection: close`), before any later middleware runs. Requests without a body (GET)
 * pass untouched. Source: RFC 9110 section 15.5.14 (413 Content Too Large).
 * @returns the middleware; it throws nothing (the refusal is a response).
 */
export function bodyLimit(opts: BodyLimitOptions): MiddlewareHandler<AppEnv> {
  const limit = formatBytes(opts.maxBytes);
  return honoBodyLimit({
    maxSize: opts.maxBytes,
    onError: (c) => {
      const err = new RequestRefusedError('PAYLOAD_TOO_LARGE', `the request body is larger than ${limit}, the limit for ${opts.what}; send a smaller body`, { limit_bytes: opts.maxBytes });
      // The rest of the body is not wanted: close the connection rather than read it (RFC 9110
      // section 15.5.14), so a client streaming 300 MB stops at once and never reuses the socket.
      const headers = { Connection: 'close' };
      return opts.format === 'rest'
        ? c.json({ error: { code: err.code, message: err.message, details: err.details ?? null } }, 413, headers)
        : c.json({ jsonrpc: '2.0', error: { code: -32000, message: `Payload Too Large: ${err.message}`, data: { code: err.code, limit_bytes: opts.maxBytes } }, id: null }, 413, headers);
    },
  }) as MiddlewareHandler<AppEnv>;
}
