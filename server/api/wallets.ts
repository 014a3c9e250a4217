/**
 * `GET /api/wallets` (list, cursor-paginated), `GET /api/wallets/:id` (with the on-chain
 * balance and the next nonce), `POST /api/wallets/import` (store an existing key: private key,
 * BIP-39 mnemonic or keystore v3) and `POST /api/wallets/:id/keystore` (a keystore v3 of the
 * wallet: owner keys only, with `ALLOW_KEY_EXPORT=1` and another owner's approval; the first call
 * answers 202 with the pending approval, the call with `approval_id` 200 with the keystore,
 * core/wallets/export.ts). The two writes are audited (`api_write`) with secrets redacted,
 * refusals included. Plaintext key export is deliberately not offered over REST. A key with a wallet scope lists,
 * reads, imports and exports only the wallets it names (403 `scope.wallets` otherwise).
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { CoreContext } from '../../core/context.ts';
import { ValidationError } from '../../core/errors.ts';
import { getWalletById, listWallets, walletBalance, walletView } from '../../core/wallets/service.ts';
import { importFromKeystore, importFromMnemonic, importFromPrivateKey } from '../../core/wallets/import.ts';
import { exportWalletKey } from '../../core/wallets/export.ts';
import { checkWalletScope } from '../../core/auth/scopes.ts';
import type { AppEnv } from '../env.ts';
import { limitParam, parseBody, parseQuery } from './errors.ts';
import { audited } from './audited.ts';
import { walletPolicyRoutes } from './wallet-policy.ts';

const IMPORT_KINDS = ['private_key', 'mnemonic', 'keystore'] as const;
/** The body fields each import kind takes besides `agent_id` and `kind`. */
const KIND_FIELDS: Record<(typeof IMPORT_KINDS)[number], readonly string[]> = {
  private_key: ['private_key'],
  mnemonic: ['mnemonic', 'passphrase', 'path', 'account_index'],
  keystore: ['encrypted_json', 'password'],
};

const importBody = z.strictObject({
  agent_id: z.string('must be a string'),
  kind: z.enum(IMPORT_KINDS, 'must be "private_key", "mnemonic" or "keystore"'),
  private_key: z.string('must be a string').optional(),
  mnemonic: z.string('must be a string').optional(),
  passphrase: z.string('must be a string').optional(),
  path: z.string('must be a string').optional(),
  account_index: z.number('must be an integer').int('must be an integer').optional(),
  encrypted_json: z.union([z.string(), z.record(z.string(), z.unknown())], 'must be the keystore JSON text or object').optional(),
  password: z.string('must be a string').optional(),
});

const keystoreBody = z.strictObject({
  passphrase: z.string('must be a string'),
  approval_id: z.string('must be a string').optional(),
  reason: z.string('must be a string').optional(),
});

/** Wallet routes, mounted under `/api/wallets`. */
export function walletRoutes(core: CoreContext): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.get('/', async (c) => {
    const q = parseQuery(c, z.object({ limit: limitParam, cursor: z.string().optional() }));
    return c.json(await listWallets(core, c.get('principal'), q.cursor ? { limit: q.limit, cursor: q.cursor } : { limit: q.limit }));
  });

  routes.post('/import', async (c) => {
    const principal = c.get('principal');
    const out = await audited(core, c, 'POST /api/wallets/import', async (record, ctx) => {
      const body = await parseBody(c, importBody);
      record.request = body;
      record.agentId = body.agent_id;
      checkWalletScope(principal, body.agent_id);
      const stray = Object.keys(body).find((k) => k !== 'agent_id' && k !== 'kind' && !KIND_FIELDS[body.kind].includes(k));
      if (stray) throw new ValidationError(stray, `is not used with kind "${body.kind}" (it takes ${KIND_FIELDS[body.kind].join(', ')})`);
      if (body.kind === 'private_key') {
        const wallet = await importFromPrivateKey(ctx, principal, body);
        record.walletId = wallet.id;
        return { wallet };
      }
      if (body.kind === 'mnemonic') {
        const { wallet, derivation_path } = await importFromMnemonic(ctx, principal, body);
        record.walletId = wallet.id;
        return { wallet, derivation_path };
      }
      const wallet = await importFromKeystore(ctx, principal, body);
      record.walletId = wallet.id;
      return { wallet };
    });
    return c.json(out, 201);
  });

  routes.get('/:id', async (c) => {
    const row = await getWalletById(core, c.get('principal'), c.req.param('id'));
    const balance = await walletBalance(core, row);
    return c.json({ wallet: { ...walletView(row), balance_wei: balance.wei, balance_eth: balance.eth, nonce: Number(row.next_nonce) } });
  });

  routes.post('/:id/keystore', async (c) => {
    const out = await audited(core, c, 'POST /api/wallets/:id/keystore', async (record, ctx) => {
      const body = await parseBody(c, keystoreBody);
      record.request = body;
      const result = await exportWalletKey(ctx, c.get('principal'), {
        wallet: { id: c.req.param('id')! },
        format: 'keystore',
        passphrase: { value: body.passphrase, field: 'passphrase' },
        approvalId: body.approval_id,
        reason: body.reason,
        source: 'api',
      });
      record.agentId = result.agent_id;
      record.walletId = result.wallet_id;
      const { wallet_id: _, ...view } = result;
      return view;
    });
    // 202: nothing exported yet, another owner must approve the returned approval first.
    return c.json(out, out.status === 'pending_approval' ? 202 : 200);
  });
  // GET|PUT|DELETE /:id/policy (server/api/wallet-policy.ts).
  routes.route('/', walletPolicyRoutes(core));
  return routes;
}
