/** `GET /api/transactions`: the tenant's transactions, newest first, filterable, cursor-paginated. */
import { Hono } from 'hono';
import { z } from 'zod';
import type { CoreContext } from '../../core/context.ts';
import { listTransactions } from '../../core/transactions/view.ts';
import type { AppEnv } from '../env.ts';
import { limitParam, parseQuery, uuidParam } from './errors.ts';

const STATUSES = ['queued', 'broadcast', 'mined', 'confirmed', 'reverted', 'failed', 'replaced', 'cancelled'] as const;

/** Transaction routes, mounted under `/api/transactions`. */
export function transactionRoutes(core: CoreContext): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.get('/', async (c) => {
    const q = parseQuery(
      c,
      z.object({
        limit: limitParam,
        cursor: z.string().optional(),
        wallet_id: uuidParam.optional(),
        status: z.enum(STATUSES, { message: `must be one of ${STATUSES.join(', ')}` }).optional(),
      }),
    );
    return c.json(
      await listTransactions(core, c.get('principal'), {
        limit: q.limit,
        ...(q.cursor ? { cursor: q.cursor } : {}),
        ...(q.wallet_id ? { walletId: q.wallet_id } : {}),
        ...(q.status ? { status: q.status } : {}),
      }),
    );
  });
  return routes;
}
