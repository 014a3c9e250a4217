/**
 * `GET /api/wallets` (list, cursor-paginated) and `GET /api/wallets/:id` (with the on-chain
 * balance and the next nonce).
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { CoreContext } from '../../core/context.ts';
import { getWalletById, listWallets, walletBalance, walletView } from '../../core/wallets/service.ts';
import type { AppEnv } from '../env.ts';
import { limitParam, parseQuery } from './errors.ts';

/** Wallet routes, mounted under `/api/wallets`. */
export function walletRoutes(core: CoreContext): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.get('/', async (c) => {
    const q = parseQuery(c, z.object({ limit: limitParam, cursor: z.string().optional() }));
    return c.json(await listWallets(core, c.get('principal'), q.cursor ? { limit: q.limit, cursor: q.cursor } : { limit: q.limit }));
  });
  routes.get('/:id', async (c) => {
    const row = await getWalletById(core, c.get('principal'), c.req.param('id'));
    const balance = await walletBalance(core, row);
    return c.json({ wallet: { ...walletView(row), balance_wei: balance.wei, balance_eth: balance.eth, nonce: Number(row.next_nonce) } });
  });
  return routes;
}
