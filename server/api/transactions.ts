/**
 * `GET /api/transactions`: the tenant's transactions, newest first, filterable, cursor-paginated.
 * A key with a wallet scope sees only its wallets' transactions (filtered in the query):
 * `wallet_id` must be one of them (403 `scope.wallets` otherwise).
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { CoreContext } from '../../core/context.ts';
import { listTransactions } from '../../core/transactions/view.ts';
import { getWalletById } from '../../core/wallets/service.ts';
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
    const principal = c.get('principal');
    // Checks the wallet scope (and that the wallet is the tenant's).
    if (q.wallet_id && principal.scopes.wallets !== null) await getWalletById(core, principal, q.wallet_id);
    return c.json(
      await listTransactions(core, principal, {
        limit: q.limit,
        ...(q.cursor ? { cursor: q.cursor } : {}),
        ...(q.wallet_id ? { walletId: q.wallet_id } : {}),
        ...(q.status ? { status: q.status } : {}),
      }),
    );
  });
  return routes;
}
