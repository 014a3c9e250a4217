/**
 * A wallet's policy (core/policy/service.ts), mounted under `/api/wallets`:
 * - `GET /api/wallets/:id/policy`: the effective policy with the source of each rule, the
 *   wallet's overrides, the file's defaults, the rate limits that apply, and the rolling spend
 *   against the caps (every role with `api.read`);
 * - `PUT /api/wallets/:id/policy`: replaces the wallet's overrides with the body (a wallet
 *   policy object; `{}` removes them); a bad rule is a 400 naming `policy.<field>` and changes
 *   nothing;
 * - `DELETE /api/wallets/:id/policy`: removes the overrides, back to the file's defaults.
 * Writes need `policies.write` (owner, admin: the `/api` role guard and core both check) and are
 * audited (`api_write`), refusals included. Wallets are tenant scoped and within the key's wallet
 * scope.
 */
import { Hono } from 'hono';
import type { CoreContext } from '../../core/context.ts';
import { ValidationError } from '../../core/errors.ts';
import { clearWalletPolicy, getWalletPolicy, parseWalletPolicy, setWalletPolicy } from '../../core/policy/service.ts';
import { getWalletById } from '../../core/wallets/service.ts';
import type { AppEnv } from '../env.ts';
import { audited } from './audited.ts';
import { assertStorable } from '../../core/validation/storable.ts';

/** Policy routes of a wallet, mounted under `/api/wallets` (paths `/:id/policy`). */
export function walletPolicyRoutes(core: CoreContext): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.get('/:id/policy', async (c) => {
    return c.json({ policy: await getWalletPolicy(core, c.get('principal'), { id: c.req.param('id') }) });
  });

  routes.put('/:id/policy', async (c) => {
    const principal = c.get('principal');
    const out = await audited(core, c, 'PUT /api/wallets/:id/policy', async (record, ctx) => {
      const row = await getWalletById(core, principal, c.req.param('id'));
      record.agentId = row.agent_id;
      record.walletId = row.id;
      const body: unknown = await c.req.json().catch(() => {
        throw new ValidationError('policy', 'must be a JSON object of policy rules (Content-Type: application/json)');
      });
      // Only a body that validated is recorded (a raw body is never stored).
      assertStorable(body, 'policy');
      const policy = parseWalletPolicy(body);
      record.request = policy;
      return { policy: await setWalletPolicy(ctx, principal, { id: row.id }, policy) };
    });
    return c.json(out);
  });

  routes.delete('/:id/policy', async (c) => {
    const principal = c.get('principal');
    const out = await audited(core, c, 'DELETE /api/wallets/:id/policy', async (record, ctx) => {
      const row = await getWalletById(core, principal, c.req.param('id'));
      record.agentId = row.agent_id;
      record.walletId = row.id;
      return { policy: await clearWalletPolicy(ctx, principal, { id: row.id }) };
    });
    return c.json(out);
  });
  return routes;
}
