/**
 * Builds the Hono app: request ids and access logs, then every route group mounted in one place.
 */
import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import type { CoreContext } from '../core/context.ts';
import type { AppEnv } from './env.ts';
import { requireAuth } from './auth.ts';
import { clientAddress } from '../core/auth/client-ip.ts';
import { authorizeApi } from './authorize/index.ts';
import { keyRoutes } from './api/keys.ts';
import { tenantRoutes } from './api/tenants.ts';
import { healthRoutes } from './health.ts';
import { mcpRoutes } from './mcp/transports.ts';
import { errorResponse } from './api/errors.ts';
import { sessionRoutes } from './api/session.ts';
import { walletRoutes } from './api/wallets.ts';
import { transactionRoutes } from './api/transactions.ts';
import { eventRoutes } from './api/events.ts';
import { strategyRoutes } from './api/strategies.ts';
import { approvalRoutes } from './api/approvals.ts';
import { openApiRoutes } from './api/openapi.ts';
import { adminRoutes } from './admin.ts';
import { API_BODY_LIMIT, MCP_BODY_LIMIT, SESSION_BODY_LIMIT, bodyLimit } from './middleware/body-limit/index.ts';
import { signInGuard } from './middleware/csrf/index.ts';
import { dnsRebindingGuard } from './middleware/dns-rebinding/index.ts';
import { detectTls } from './middleware/request-origin/index.ts';
import { securityHeaders } from './middleware/secure-headers/index.ts';
import { storableInput } from './middleware/storable-input/index.ts';
import { closeOnUnreadBody } from './middleware/unread-body/index.ts';

/** The app and what a graceful shutdown must close (open SSE sessions). */
export interface BuiltApp {
  app: Hono<AppEnv>;
  closeSessions: () => Promise<void>;
}

/** Builds the HTTP app over an opened core. */
export function buildApp(core: CoreContext): BuiltApp {
  const app = new Hono<AppEnv>();

  app.use('*', async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && /^[\w.-]{1,100}$/.test(incoming) ? incoming : randomUUID();
    c.set('requestId', requestId);
    c.set('clientIp', clientAddress(c.env?.incoming?.socket?.remoteAddress ?? null, c.req.header('x-forwarded-for'), core.config.trustedProxies));
    const started = performance.now();
    await next();
    // Responses written straight to the socket (HTTP+SSE) have no headers left to set.
    if (!c.res.headers.has('x-hono-already-sent')) c.header('X-Request-Id', requestId);
    if (c.req.path !== '/healthz' && c.req.path !== '/metrics') {
      // The path is the client's to choose: a bounded prefix is logged, never kilobytes of it.
      const path = c.req.path.length > 200 ? `${c.req.path.slice(0, 200)}…` : c.req.path;
      core.logger.info({ requestId, method: c.req.method, path, status: c.res.status, ms: Math.round(performance.now() - started) }, 'request');
    }
  });

  // The HTTP edge (docs/security.md#http-edge): TLS as a trusted proxy reports it, response
  // headers on /api and /admin, Host/Origin and body limits on MCP before authentication.
  app.use('*', detectTls(core.config));
  app.use('*', closeOnUnreadBody());
  app.use('/api/*', securityHeaders());
  app.use('/admin/*', securityHeaders());
  const rebinding = dnsRebindingGuard(core.config);
  const mcpBodyLimit = bodyLimit({ maxBytes: MCP_BODY_LIMIT, format: 'jsonrpc', what: 'an MCP message' });
  app.use('/mcp', rebinding, mcpBodyLimit);
  app.use('/sse', rebinding);
  app.use('/messages', rebinding, mcpBodyLimit);

  app.route('/', healthRoutes(core));
  const mcp = mcpRoutes(core);
  app.route('/', mcp.routes);

  const api = new Hono<AppEnv>();
  // Paths and query strings Postgres cannot store are refused before any route reads them.
  api.use('*', storableInput());
  // Body limits before authentication; sign-in's cross-site rules before its body is read.
  api.post('/session', signInGuard(core), bodyLimit({ maxBytes: SESSION_BODY_LIMIT, format: 'rest', what: 'sign-in (POST /api/session)' }));
  api.use('*', bodyLimit({ maxBytes: API_BODY_LIMIT, format: 'rest', what: 'a REST request' }));
  api.route('/session', sessionRoutes(core));
  api.route('/openapi.json', openApiRoutes());
  api.use('*', requireAuth(core, { allowSession: true }));
  // The role matrix on every route below (server/authorize); wallet scopes are core's.
  api.use('*', authorizeApi(core));
  api.route('/keys', keyRoutes(core));
  api.route('/tenants', tenantRoutes(core));
  api.route('/wallets', walletRoutes(core));
  api.route('/transactions', transactionRoutes(core));
  api.route('/strategies', strategyRoutes(core));
  api.route('/approvals', approvalRoutes(core));
  api.route('/events', eventRoutes(core));
  app.route('/api', api);

  app.route('/admin', adminRoutes());
  app.get('/', (c) => c.redirect('/admin/'));

  app.notFound((c) => c.json({ error: { code: 'NOT_FOUND', message: `no route for ${c.req.method} ${c.req.path}`, details: null } }, 404));
  app.onError((err, c) => errorResponse(c, err, core.logger));
  return { app, closeSessions: mcp.closeSessions };
}
