/**
 * The floor for MCP tool calls: a minimal Hono + @hono/node-server app that serves MCP Streamable
 * HTTP the way VaultPilot's `/mcp` does (stateless: a new `McpServer` and
 * `WebStandardStreamableHTTPServerTransport` per POST, JSON responses, 405 for GET/DELETE) with
 * one tool, `noop`, that returns a constant. No auth, no database, no chain: what is left is the
 * SDK, the transport, Hono and HTTP on loopback.
 */
import type { AddressInfo } from 'node:net';
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { z } from 'zod';

/** A running no-op MCP server. */
export interface NoopMcpServer {
  /** MCP endpoint, e.g. `http://127.0.0.1:41234/mcp`. */
  url: URL;
  close: () => Promise<void>;
}

/** Builds the per-request server: one constant tool with input and output schemas. */
export function createNoopMcpServer(): McpServer {
  const server = new McpServer({ name: 'bench-noop', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.registerTool(
    'noop',
    {
      title: 'No-op',
      description: 'Returns a constant; the benchmark floor for one MCP tool call.',
      inputSchema: { agent_id: z.string().describe('Ignored') },
      outputSchema: { ok: z.boolean() },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async () => ({ content: [{ type: 'text', text: 'ok' }], structuredContent: { ok: true } }),
  );
  return server;
}

/** Starts the no-op MCP app on a free loopback port. */
export async function startNoopMcpServer(): Promise<NoopMcpServer> {
  const app = new Hono();
  app.post('/mcp', async (c) => {
    const server = createNoopMcpServer();
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    await server.connect(transport);
    try {
      return await transport.handleRequest(c.req.raw);
    } finally {
      await server.close();
    }
  });
  const notAllowed = () => Response.json({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed' }, id: null }, { status: 405, headers: { Allow: 'POST' } });
  app.get('/mcp', notAllowed);
  app.delete('/mcp', notAllowed);

  const http = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => {
    http.once('listening', resolve);
    http.once('error', reject);
  });
  const { port } = http.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/mcp`),
    close: () =>
      new Promise<void>((resolve) => {
        http.close(() => resolve());
        (http as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}
