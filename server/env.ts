/**
 * The Hono environment of the server: Node bindings (needed by the HTTP+SSE transport) and the
 * typed per-request variables set by middleware.
 */
import type { HttpBindings } from '@hono/node-server';
import type { Principal } from '../core/auth/api-keys.ts';

export interface AppEnv {
  Bindings: HttpBindings;
  Variables: {
    /** Set by the auth middleware. */
    principal: Principal;
    /** `X-Request-Id` from the caller, or a new uuid; echoed in the response. */
    requestId: string;
    /** The client's address: the socket's peer, or behind `TRUSTED_PROXIES` the forwarded client. */
    clientIp: string | null;
    /**
     * Whether the request reached us over TLS: on a TLS socket, or through a trusted proxy
     * (`TRUSTED_PROXIES`) that says `X-Forwarded-Proto: https` (server/middleware/request-origin).
     */
    tls: boolean;
  };
}
