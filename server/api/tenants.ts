/**
 * Tenant routes, mounted under `/api/tenants`, for the host operator only: owner keys of the
 * default tenant (core/tenants.ts `requireHostOperator`; any other key gets 403 `FORBIDDEN`,
 * `rule: 'role'`, audited). `GET /` lists every tenant with its live key and wallet counts (as
 * `vaultpilot tenants list` does); `POST /` creates a tenant and its first owner key in one
 * database transaction, the key in the response's `api_key`, once, and redacted in the audit row
 * (`api_write`, in the host operator's tenant, refusals included).
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { CoreContext } from '../../core/context.ts';
import { createTenantWithOwner, listTenants, requireHostOperator } from '../../core/tenants.ts';
import type { AppEnv } from '../env.ts';
import { requireCheck } from '../authorize/index.ts';
import { parseBody } from './errors.ts';
import { audited } from './audited.ts';

// Types are checked by core (with field-naming errors); this only refuses unknown fields.
const createBody = z.strictObject({
  name: z.unknown(),
  owner_key_name: z.unknown().optional(),
  owner_key_expires_at: z.unknown().optional(),
});

/** Tenant routes, mounted under `/api/tenants`. */
export function tenantRoutes(core: CoreContext): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  // The role (owner) is checked by the /api guard (`tenants.manage`); this adds the default tenant.
  routes.use('*', requireCheck(core, (c) => requireHostOperator(core.db, c.get('principal'))));

  routes.get('/', async (c) => c.json({ tenants: await listTenants(core.db) }));

  routes.post('/', async (c) => {
    const out = await audited(core, c, 'POST /api/tenants', async (record, ctx) => {
      const body = await parseBody(c, createBody);
      record.request = body;
      const created = await createTenantWithOwner(core.db, c.get('principal'), {
        name: body.name,
        ownerKeyName: body.owner_key_name,
        ownerKeyExpiresAt: body.owner_key_expires_at,
      }, ctx.audit);
      // `api_key` is a secret field name: the audit row keeps "[redacted]", the caller the key.
      return { tenant: created.tenant, key: created.key, api_key: created.apiKey };
    });
    return c.json(out, 201);
  });
  return routes;
}
