/** `GET /api/events`: the tenant's audit log, newest first, filterable, cursor-paginated. */
import { Hono } from 'hono';
import { z } from 'zod';
import type { CoreContext } from '../../core/context.ts';
import { listAuditEvents } from '../../core/audit/log.ts';
import type { AppEnv } from '../env.ts';
import { limitParam, parseQuery, uuidParam } from './errors.ts';

/** Event routes, mounted under `/api/events`. */
export function eventRoutes(core: CoreContext): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.get('/', async (c) => {
    const q = parseQuery(
      c,
      z.object({
        limit: limitParam,
        cursor: z.string().regex(/^\d+$/, 'must be a cursor returned by this API').optional(),
        wallet_id: uuidParam.optional(),
        agent_id: z.string().max(128).optional(),
        action: z.string().max(200).optional(),
        status: z.enum(['ok', 'error', 'refused'], { message: 'must be ok, error or refused' }).optional(),
        kind: z.enum(['tool_call', 'api_write', 'auth', 'cli'], { message: 'must be tool_call, api_write, auth or cli' }).optional(),
      }),
    );
    const { limit, cursor, wallet_id, agent_id, action, status, kind } = q;
    return c.json(
      await listAuditEvents(core.db, c.get('principal').tenantId, {
        limit,
        includeUnscoped: ['owner', 'admin'].includes(c.get('principal').role),
        ...(cursor ? { cursor } : {}),
        ...(wallet_id ? { walletId: wallet_id } : {}),
        ...(agent_id ? { agentId: agent_id } : {}),
        ...(action ? { action } : {}),
        ...(status ? { status } : {}),
        ...(kind ? { kind } : {}),
      }),
    );
  });
  return routes;
}
