/**
 * `GET /api/wallets` (list, cursor-paginated), `GET /api/wallets/:id` (with the on-chain
 * balance and the next nonce), `POST /api/wallets/import` (store an existing key: private key,
 * BIP-39 mnemonic or keystore v3) and `POST /api/wallets/:id/keystore` (a keystore v3 of the
 * wallet). The two writes are audited (`api_write`) with secrets redacted, refusals included.
 * Plaintext key export is deliberately not offered over REST.
 */
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { CoreContext } from '../../core/context.ts';
import { recordAudit } from '../../core/audit/log.ts';
import { ValidationError, toVaultPilotError } from '../../core/errors.ts';
import { getWalletById, listWallets, walletBalance, walletView } from '../../core/wallets/service.ts';
import { importFromKeystore, importFromMnemonic, importFromPrivateKey } from '../../core/wallets/import.ts';
import { keystoreOfWallet, parseNewPassphrase } from '../../core/wallets/keystore.ts';
import type { AppEnv } from '../env.ts';
import { clientIp } from '../auth.ts';
import { limitParam, parseQuery } from './errors.ts';

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

const keystoreBody = z.strictObject({ passphrase: z.string('must be a string') });

/**
 * Reads a JSON object body and checks it against `schema`.
 * @throws {ValidationError} `INVALID_INPUT` naming the first bad field (or `body` when it is not a
 *   JSON object). Values are never echoed.
 */
async function parseBody<T extends z.ZodType>(c: Context<AppEnv>, schema: T): Promise<z.infer<T>> {
  const body: unknown = await c.req.json().catch(() => undefined);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ValidationError('body', 'must be a JSON object (Content-Type: application/json)');
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') throw new ValidationError(issue.keys[0]!, 'is not a field of this request');
  const field = String(issue.path[0] ?? 'body');
  throw new ValidationError(field, (body as Record<string, unknown>)[field] === undefined ? 'is required' : issue.message);
}

/** What the audit row of a REST write records, filled in as the handler learns it. */
interface WriteRecord {
  /** The parsed body (redacted when stored); `null` until it parsed, so a raw body is never stored. */
  request: unknown;
  agentId: string | null;
  walletId: string | null;
}

/**
 * Runs a REST write and records its `api_write` audit row, `ok` with the response or
 * `refused`/`error` with the code; secrets are redacted by field name (core/audit/log.ts).
 */
async function audited<R>(core: CoreContext, c: Context<AppEnv>, action: string, fn: (record: WriteRecord) => Promise<R>): Promise<R> {
  const principal = c.get('principal');
  const started = performance.now();
  const record: WriteRecord = { request: null, agentId: null, walletId: null };
  const base = () => ({
    tenantId: principal.tenantId,
    kind: 'api_write' as const,
    action,
    principal: principal.keyPrefix,
    agentId: record.agentId,
    walletId: record.walletId,
    request: record.request,
    requestId: c.get('requestId'),
    ip: clientIp(c),
  });
  try {
    const out = await fn(record);
    await recordAudit(core.db, { ...base(), status: 'ok', durationMs: performance.now() - started, response: out });
    return out;
  } catch (err) {
    const e = toVaultPilotError(err);
    await recordAudit(core.db, {
      ...base(),
      status: e.status < 500 ? 'refused' : 'error',
      errorCode: e.code,
      durationMs: performance.now() - started,
      response: { error: { code: e.code, message: e.message, details: e.details ?? null } },
    }).catch((auditErr: unknown) => core.logger.error({ err: auditErr, requestId: c.get('requestId') }, 'audit write failed'));
    throw err;
  }
}

/** Wallet routes, mounted under `/api/wallets`. */
export function walletRoutes(core: CoreContext): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.get('/', async (c) => {
    const q = parseQuery(c, z.object({ limit: limitParam, cursor: z.string().optional() }));
    return c.json(await listWallets(core, c.get('principal'), q.cursor ? { limit: q.limit, cursor: q.cursor } : { limit: q.limit }));
  });

  routes.post('/import', async (c) => {
    const principal = c.get('principal');
    const out = await audited(core, c, 'POST /api/wallets/import', async (record) => {
      const body = await parseBody(c, importBody);
      record.request = body;
      record.agentId = body.agent_id;
      const stray = Object.keys(body).find((k) => k !== 'agent_id' && k !== 'kind' && !KIND_FIELDS[body.kind].includes(k));
      if (stray) throw new ValidationError(stray, `is not used with kind "${body.kind}" (it takes ${KIND_FIELDS[body.kind].join(', ')})`);
      if (body.kind === 'private_key') {
        const wallet = await importFromPrivateKey(core, principal, body);
        record.walletId = wallet.id;
        return { wallet };
      }
      if (body.kind === 'mnemonic') {
        const { wallet, derivation_path } = await importFromMnemonic(core, principal, body);
        record.walletId = wallet.id;
        return { wallet, derivation_path };
      }
      const wallet = await importFromKeystore(core, principal, body);
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
    const out = await audited(core, c, 'POST /api/wallets/:id/keystore', async (record) => {
      const body = await parseBody(c, keystoreBody);
      record.request = body;
      parseNewPassphrase(body.passphrase);
      const row = await getWalletById(core, c.get('principal'), c.req.param('id'));
      record.agentId = row.agent_id;
      record.walletId = row.id;
      return keystoreOfWallet(core, row, body.passphrase);
    });
    return c.json(out);
  });
  return routes;
}
