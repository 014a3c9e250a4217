/**
 * MCP over HTTP, both transports, behind bearer-key auth:
 * - Streamable HTTP at `/mcp` (MCP 2025-03-26+), stateless: each POST gets a fresh server and
 *   transport (SDK `WebStandardStreamableHTTPServerTransport`, JSON responses), so any replica can
 *   answer. GET/DELETE (server-initiated streams, session end) are 405 in stateless mode.
 * - HTTP+SSE at `GET /sse` + `POST /messages?sessionId=…` (protocol 2024-11-05) for older
 *   clients, through the SDK's `SSEServerTransport` on @hono/node-server's Node bindings. Sessions
 *   live in this process (sticky sessions behind a load balancer) and are bound to the key that
 *   opened them.
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

interface SseSession {
  transport: SSEServerTransport;
  keyId: string;
}

/** Routes for `/mcp`, `/sse` and `/messages`, and `closeSessions` for a graceful shutdown. */
export function mcpRoutes(core: CoreContext): { routes: Hono<AppEnv>; closeSessions: () => Promise<void> } {
  const routes = new Hono<AppEnv>();
  const sseSessions = new Map<string, SseSession>();
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
    const transport = new SSEServerTransport('/messages', c.env.outgoing);
    sseSessions.set(transport.sessionId, { transport, keyId: principal.keyId });
    transport.onclose = () => sseSessions.delete(transport.sessionId);
    const server = createMcpServer({ core, principal, requestId: () => randomUUID(), ip: clientIp(c) });
    await server.connect(transport);
    return RESPONSE_ALREADY_SENT;
  });

  routes.post('/messages', auth, async (c) => {
    const sessionId = c.req.query('sessionId') ?? '';
    const session = sseSessions.get(sessionId);
    // Another key's session id is answered like an unknown one, so ids cannot be probed.
    if (!session || session.keyId !== c.get('principal').keyId) {
      return c.json({ error: { code: 'NOT_FOUND', message: 'unknown or expired SSE session; open a new one with GET /sse', details: null } }, 404);
    }
    await session.transport.handlePostMessage(c.env.incoming, c.env.outgoing);
    return RESPONSE_ALREADY_SENT;
  });

  return {
    routes,
    closeSessions: async () => {
      await Promise.all([...sseSessions.values()].map((s) => s.transport.close()));
      sseSessions.clear();
    },
  };
}
