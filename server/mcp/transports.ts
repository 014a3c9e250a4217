/**
 * MCP over HTTP, both transports, behind bearer-key auth:
 * - Streamable HTTP at `/mcp` (MCP 2025-03-26+), stateless: each POST gets a fresh server and
 *   transport (SDK `WebStandardStreamableHTTPServerTransport`, JSON responses), so any replica can
 *   answer. GET/DELETE (server-initiated streams, session end) are 405 in stateless mode.
 * - HTTP+SSE at `GET /sse` + `POST /messages?sessionId=…` (protocol 2024-11-05) for older
 *   clients, through the SDK's `SSEServerTransport` on @hono/node-server's Node bindings. Sessions
 *   live in this process (sticky sessions behind a load balancer), are bound to the key that
 *   opened them, and are capped per key and per process (429 `TOO_MANY_SESSIONS`); a session
 *   ends, and frees its slot, when its client disconnects.
 */
import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import type { CoreContext } from '../../core/context.ts';
import type { AppEnv } from '../env.ts';
import { clientIp, requireAuth } from '../auth.ts';
import { createMcpServer } from './server.ts';
import { BusyError } from '../../core/errors.ts';

/** Most HTTP+SSE sessions one key may hold open at once; beyond, `GET /sse` is 429 `TOO_MANY_SESSIONS`. */
export const MAX_SSE_SESSIONS_PER_KEY = 10;
/** Most HTTP+SSE sessions one server process holds open at once, every key together. */
export const MAX_SSE_SESSIONS = 1_000;

interface SseSession {
  transport: SSEServerTransport;
  keyId: string;
}

/** Routes for `/mcp`, `/sse` and `/messages`, and `closeSessions` for a graceful shutdown. */
export function mcpRoutes(core: CoreContext): { routes: Hono<AppEnv>; closeSessions: () => Promise<void> } {
  const routes = new Hono<AppEnv>();
  const sseSessions = new Map<string, SseSession>();
  /** Open sessions per key id (the count {@link MAX_SSE_SESSIONS_PER_KEY} caps). */
  const sessionsPerKey = new Map<string, number>();
  const auth = requireAuth(core);

  routes.post('/mcp', auth, async (c) => {
    const requestId = c.get('requestId');
    const server = createMcpServer({ core, principal: c.get('principal'), requestId: () => requestId, ip: clientIp(c) });
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    await server.connect(transport);
    try {
      return await transport.handleRequest(c.req.raw);
    } finally {
      // JSON responses are complete when handleRequest returns, so the pair can go.
      await server.close();
    }
  });
  const notAllowed = () =>
    Response.json(
      { jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: this server is stateless; POST JSON-RPC messages to /mcp' }, id: null },
      { status: 405, headers: { Allow: 'POST' } },
    );
  routes.get('/mcp', auth, notAllowed);
  routes.delete('/mcp', auth, notAllowed);

  routes.get('/sse', auth, async (c) => {
    const principal = c.get('principal');
    // Refused before a transport exists: an open session holds a server, a transport and a socket.
    if (sseSessions.size >= MAX_SSE_SESSIONS) {
      throw new BusyError('TOO_MANY_SESSIONS', `this server already holds its ${MAX_SSE_SESSIONS} open HTTP+SSE sessions; retry later, or use Streamable HTTP (POST /mcp), which holds none`, 30, { limit: MAX_SSE_SESSIONS, per: 'process' });
    }
    if ((sessionsPerKey.get(principal.keyId) ?? 0) >= MAX_SSE_SESSIONS_PER_KEY) {
      throw new BusyError('TOO_MANY_SESSIONS', `this key already has ${MAX_SSE_SESSIONS_PER_KEY} open HTTP+SSE sessions; close one and retry, or use Streamable HTTP (POST /mcp), which holds none`, 5, { limit: MAX_SSE_SESSIONS_PER_KEY, per: 'key' });
    }
    const transport = new SSEServerTransport('/messages', c.env.outgoing);
    const { sessionId } = transport;
    sseSessions.set(sessionId, { transport, keyId: principal.keyId });
    sessionsPerKey.set(principal.keyId, (sessionsPerKey.get(principal.keyId) ?? 0) + 1);
    let released = false;
    // Once, however the session ends: the transport closing, or the client's socket going away.
    const release = () => {
      if (released) return;
      released = true;
      sseSessions.delete(sessionId);
      const left = (sessionsPerKey.get(principal.keyId) ?? 1) - 1;
      if (left > 0) sessionsPerKey.set(principal.keyId, left);
      else sessionsPerKey.delete(principal.keyId);
    };
    transport.onclose = release;
    c.env.outgoing.once('close', release);
    try {
      const server = createMcpServer({ core, principal, requestId: () => randomUUID(), ip: clientIp(c) });
      await server.connect(transport);
    } catch (err) {
      release();
      throw err;
    }
    return RESPONSE_ALREADY_SENT;
  });

  routes.post('/messages', auth, async (c) => {
    const sessionId = c.req.query('sessionId') ?? '';
    const session = sseSessions.get(sessionId);
    // Another key's session id is answered like an unknown one, so ids cannot be probed.
    if (!session || session.keyId !== c.get('principal').keyId) {
      return c.json({ error: { code: 'NOT_FOUND', message: 'unknown or expired SSE session; open a new one with GET /sse', details: null } }, 404);
    }
    // The body as the edge's limit (server/middleware/body-limit) read it: a chunked one is
    // already buffered there, so the SDK must not read the Node stream again.
    await session.transport.handlePostMessage(c.env.incoming, c.env.outgoing, await c.req.text());
    return RESPONSE_ALREADY_SENT;
  });

  return {
    routes,
    closeSessions: async () => {
      await Promise.all([...sseSessions.values()].map((s) => s.transport.close()));
      sseSessions.clear();
      sessionsPerKey.clear();
    },
  };
}
