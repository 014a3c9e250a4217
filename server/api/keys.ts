/**
 * API key routes, mounted under `/api/keys`, for owner and admin keys (`keys.manage`):
 * `GET /` (the tenant's keys, revoked and expired ones included; never a hash), `POST /`
 * (create; the new key is in the response's `api_key`, once, and redacted in the audit row),
 * `POST /:id/revoke` and `DELETE /:id` (revoke; `:id` is the row id or the visible id). Writes
 * are audited (`api_write`), refusals included. The rank rules (no key above your own role; only
 * owners manage owner keys) and scope narrowing live in core/auth/keys.ts.
 */
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { CoreContext } from '../../core/context.ts';
import { createApiKey, listApiKeys, revokeApiKey } from '../../core/auth/keys.ts';
import type { AppEnv } from '../env.ts';
import { requireRole } from '../authorize/index.ts';
import { parseBody } from './errors.ts';
import { audited } from './audited.ts';
import { auditedTransaction } from '../../core/audit/scope.ts';

// Types are checked by core (with field-naming errors); this only refuses unknown fields.
const createBody = z.strictObject({
  name: z.unknown(),
  role: z.unknown(),
  expires_at: z.unknown().optional(),
  allowed_tools: z.unknown().optional(),
  allowed_wallets: z.unknown().optional(),
  allowed_ips: z.unknown().optional(),
});

/** Key routes, mounted under `/api/keys`. */
export function keyRoutes(core: CoreContext): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.use('*', requireRole(core, 'keys.manage'));

  routes.get('/', async (c) => c.json({ keys: await listApiKeys(core.db, c.get('principal').tenantId) }));

  routes.post('/', async (c) => {
    const principal = c.get('principal');
    const out = await audited(core, c, 'POST /api/keys', async (record, ctx) => {
      const body = await parseBody(c, createBody);
      record.request = body;
      // The key and the call's audit row commit together.
      const created = await auditedTransaction(core.db, ctx.audit, (trx) => createApiKey(trx, principal, {
        tenantId: principal.tenantId,
        name: body.name,
        role: body.role,
        expiresAt: body.expires_at,
        allowedTools: body.allowed_tools,
        allowedWallets: body.allowed_wallets,
        allowedIps: body.allowed_ips,
      }), (made) => ({ response: { key: made.key, api_key: made.apiKey } }));
      // `api_key` is a secret field name: the audit row keeps "[redacted]", the caller the key.
      return { key: created.key, api_key: created.apiKey };
    });
    return c.json(out, 201);
  });

  const revoke = (action: string) => async (c: Context<AppEnv>) => {
    const out = await audited(core, c, action, async (record, ctx) => {
      record.request = { id: c.req.param('id') };
      // With pg-boss, so the paused strategies' queued ticks are cancelled with the revocation,
      // and the call's audit row, committed with it.
      return { key: await revokeApiKey(core.db, c.get('principal'), c.get('principal').tenantId, c.req.param('id')!, { boss: core.boss, audit: ctx.audit }) };
    });
    return c.json(out);
  };
  routes.post('/:id/revoke', revoke('POST /api/keys/:id/revoke'));
  routes.delete('/:id', revoke('DELETE /api/keys/:id'));
  return routes;
}
