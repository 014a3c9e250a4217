/**
 * Wallets: one EOA per (tenant, agent_id). The private key is generated here, wrapped by the
 * key provider at once, and exists in plaintext only inside {@link withSigner} for one signing
 * call.
 */
import { randomBytes } from 'node:crypto';
import { SigningKey, Wallet, computeAddress, hexlify } from 'ethers';
import { KeyProviderError, type ProviderName, type WrapContext, type WrappedKey } from '../../keyproviders/index.ts';
import type { CoreContext } from '../context.ts';
import type { Principal } from '../auth/api-keys.ts';
import type { WalletOrigin, WalletRow } from '../db/types.ts';
import { ConflictError, NotFoundError, UpstreamError, ValidationError } from '../errors.ts';
import { ethAmount, type EthAmount } from '../money.ts';
import { olderThan, toPage } from '../db/pagination.ts';
import { isUuid } from '../validation/uuid.ts';
import { checkWalletScope } from '../auth/scopes.ts';
import { auditedTransaction, type AuditScope } from '../audit/scope.ts';
import type { Transaction } from 'kysely';
import type { Database } from '../db/types.ts';

const AGENT_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/;

/** Whether `value` is a well-formed agent id (what {@link parseAgentId} accepts). */
export function isAgentId(value: unknown): value is string {
  return typeof value === 'string' && AGENT_ID_RE.test(value);
}

/**
 * Validates an AgentVault-style agent id.
 * @throws {ValidationError} `INVALID_INPUT` naming `agent_id`.
 */
export function parseAgentId(value: unknown): string {
  if (typeof value !== 'string' || !AGENT_ID_RE.test(value)) {
    throw new ValidationError('agent_id', 'must be 1-128 characters of letters, digits and _ . : @ -, starting with a letter or digit');
  }
  return value;
}

/** A wallet as tools and REST return it (no key material). */
export interface WalletView {
  id: string;
  agent_id: string;
  address: string;
  chain_id: number;
  key_provider: string;
  /** How the key arrived: generated here or imported (private_key, mnemonic, keystore, agentvault). */
  origin: string;
  created_at: string;
}

/** Maps a row to its public view. */
export function walletView(row: WalletRow): WalletView {
  return {
    id: row.id,
    agent_id: row.agent_id,
    address: row.address,
    chain_id: Number(row.chain_id),
    key_provider: row.key_provider,
    origin: row.origin,
    created_at: row.created_at.toISOString(),
  };
}

/** What storing a wallet needs: the database, the key ring and the chain's id (a CLI has no job queue). */
export interface WalletStore {
  /** The call's audit row, committed with the wallet's insert (core/audit/scope.ts). */
  audit?: AuditScope;
  db: CoreContext['db'];
  keys: CoreContext['keys'];
  chain: { chainId: number };
}

/** The context a wallet's key is bound to (tenant and address). */
export function wrapContext(row: { tenant_id: string; address: string }): WrapContext {
  return { tenantId: row.tenant_id, address: row.address };
}

/** The wrapped key recorded on a wallet row. */
export function wrappedKeyOf(row: Pick<WalletRow, 'key_provider' | 'key_ref' | 'key_version' | 'wrapped_key'>): WrappedKey {
  return { provider: row.key_provider as ProviderName, keyRef: row.key_ref, keyVersion: row.key_version, ciphertext: row.wrapped_key };
}

/**
 * Maps a key provider failure to the coded error agents see, naming the provider (its messages
 * carry no key material by contract).
 * @throws {UpstreamError} `KEY_PROVIDER_UNAVAILABLE` | `KEY_PROVIDER_DENIED`; anything else is rethrown.
 */
export function keyProviderFailure(err: unknown): never {
  if (err instanceof KeyProviderError) {
    const which = err.provider ? `key provider "${err.provider}"` : 'key provider';
    throw new UpstreamError(
      err.code,
      err.code === 'KEY_PROVIDER_DENIED'
        ? `the ${which} refused: ${err.message}`
        : `the ${which} is unavailable, retry later: ${err.message}`,
    );
  }
  throw err;
}

/** The 0x address a 32-byte secp256k1 private key controls, or `undefined` if it is not a valid key. */
export function addressOfKey(privateKey: Uint8Array): string | undefined {
  if (privateKey.length !== 32) return undefined;
  try {
    return computeAddress(new SigningKey(hexlify(privateKey)).publicKey);
  } catch {
    return undefined;
  }
}

/**
 * Wraps `privateKey` with the active provider and inserts the wallet row; the key bytes are the
 * caller's to zero. Nothing is written when wrapping fails.
 * @returns the new row, or `undefined` when the agent id or the address is already taken here.
 * @throws {UpstreamError} when the key provider fails.
 */
async function insertWallet(ctx: WalletStore, tenantId: string, agentId: string, privateKey: Uint8Array, address: string, origin: WalletOrigin, nextNonce = 0): Promise<WalletRow | undefined> {
  const wrapped = await ctx.keys.wrap(privateKey, { tenantId, address }).catch(keyProviderFailure);
  const insert = (trx: Transaction<Database>) =>
    trx
    .insertInto('wallets')
    .values({
      tenant_id: tenantId,
      agent_id: agentId,
      address,
      chain_id: ctx.chain.chainId,
      key_provider: wrapped.provider,
      key_ref: wrapped.keyRef,
      key_version: wrapped.keyVersion,
      wrapped_key: wrapped.ciphertext,
      next_nonce: nextNonce,
      origin,
    })
    .onConflict((oc) => oc.doNothing())
    .returningAll()
    .executeTakeFirst();
  // The audit row commits with the insert; a lost race (no row) wrote nothing to audit here.
  return auditedTransaction(ctx.db, ctx.audit, insert, (row) => (row ? { response: { wallet: walletView(row) }, agentId, walletId: row.id } : null));
}

/**
 * Creates the agent's wallet, or returns the existing one (AgentVault's `spin_up_wallet` is
 * safe to call again). A principal with a wallet scope may only create the wallets it names.
 * @returns the wallet and whether this call created it.
 * @throws {ValidationError} bad `agent_id`; {@link ForbiddenError} `scope.wallets`;
 *   {@link UpstreamError} when the key provider fails (no row is written then).
 */
export async function createWallet(ctx: WalletStore, principal: Pick<Principal, 'tenantId'> & Partial<Pick<Principal, 'scopes'>>, agentIdInput: unknown): Promise<{ wallet: WalletView; created: boolean }> {
  const agentId = parseAgentId(agentIdInput);
  if (principal.scopes) checkWalletScope({ scopes: principal.scopes }, agentId);
  const existing = await findWallet(ctx, principal, agentId);
  if (existing) return { wallet: walletView(existing), created: false };

  let privateKey = randomBytes(32);
  let address = addressOfKey(privateKey);
  // Out of the secp256k1 range (probability ~2^-128): draw again.
  while (address === undefined) {
    privateKey = randomBytes(32);
    address = addressOfKey(privateKey);
  }
  try {
    const inserted = await insertWallet(ctx, principal.tenantId, agentId, privateKey, address, 'generated');
    if (inserted) return { wallet: walletView(inserted), created: true };
  } finally {
    privateKey.fill(0);
  }
  // A concurrent call created it first.
  return { wallet: walletView((await findWallet(ctx, principal, agentId))!), created: false };
}

/**
 * Stores an existing private key as the agent's new wallet in `tenantId` (imports). Refuses to
 * replace a wallet: an agent's key never changes under it, and one address belongs to one agent.
 * @param privateKey 32 bytes; the caller zeroes them afterwards.
 * @param options `nextNonce` seeds the nonce (AgentVault's `last_nonce`); the chain's count wins when higher.
 * @throws {ValidationError} bad `agent_id` or not a valid secp256k1 key (field `private_key`);
 *   {@link ConflictError} `WALLET_EXISTS` when the agent has a wallet or the address is another
 *   agent's; {@link UpstreamError} when the key provider fails (nothing is written then).
 */
export async function importWallet(ctx: WalletStore, tenantId: string, agentIdInput: unknown, privateKey: Uint8Array, origin: Exclude<WalletOrigin, 'generated'>, options: { nextNonce?: number } = {}): Promise<WalletView> {
  const agentId = parseAgentId(agentIdInput);
  const address = addressOfKey(privateKey);
  if (address === undefined) throw new ValidationError('private_key', 'is not a valid secp256k1 private key (32 bytes, 0 < key < curve order)');
  const clash = async () => {
    const taken = await ctx.db
      .selectFrom('wallets')
      .select(['agent_id', 'address'])
      .where('tenant_id', '=', tenantId)
      .where((eb) => eb.or([eb('agent_id', '=', agentId), eb.and([eb('chain_id', '=', String(ctx.chain.chainId)), eb('address', '=', address)])]))
      .executeTakeFirst();
    if (!taken) return undefined;
    return taken.agent_id === agentId
      ? new ConflictError('WALLET_EXISTS', `agent_id "${agentId}" already has a wallet (${taken.address}); an agent's key is never replaced, import under a new agent_id`)
      : new ConflictError('WALLET_EXISTS', `address ${address} is already the wallet of agent_id "${taken.agent_id}"`);
  };
  const before = await clash();
  if (before) throw before;
  const inserted = await insertWallet(ctx, tenantId, agentId, privateKey, address, origin, options.nextNonce ?? 0);
  if (inserted) return walletView(inserted);
  // Lost a race with a concurrent create or import.
  throw (await clash()) ?? new ConflictError('WALLET_EXISTS', `agent_id "${agentId}" already has a wallet`);
}

/** Finds the caller's wallet by agent id, or `undefined`. */
export async function findWallet(ctx: Pick<CoreContext, 'db'>, principal: Pick<Principal, 'tenantId'>, agentId: string): Promise<WalletRow | undefined> {
  return ctx.db
    .selectFrom('wallets')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .where('agent_id', '=', agentId)
    .executeTakeFirst();
}

/**
 * The caller's wallet by agent id, within the key's wallet scope.
 * @throws {ValidationError} bad `agent_id`; {@link ForbiddenError} `FORBIDDEN` (`scope.wallets`)
 *   for a wallet outside the key's scope; {@link NotFoundError} `WALLET_NOT_FOUND`.
 */
export async function getWalletByAgent(ctx: Pick<CoreContext, 'db'>, principal: Principal, agentIdInput: unknown): Promise<WalletRow> {
  const agentId = parseAgentId(agentIdInput);
  checkWalletScope(principal, agentId);
  const row = await findWallet(ctx, principal, agentId);
  if (!row) throw new NotFoundError('WALLET_NOT_FOUND', `no wallet for agent_id "${agentId}"; create one with spin_up_wallet`);
  return row;
}

/**
 * The caller's wallet by id, within the key's wallet scope.
 * @throws {NotFoundError} `WALLET_NOT_FOUND` (also for another tenant's id or a malformed id);
 *   {@link ForbiddenError} `FORBIDDEN` (`scope.wallets`) for a wallet outside the key's scope.
 */
export async function getWalletById(ctx: Pick<CoreContext, 'db'>, principal: Principal, id: string): Promise<WalletRow> {
  const row = isUuid(id)
    ? await ctx.db.selectFrom('wallets').selectAll().where('tenant_id', '=', principal.tenantId).where('id', '=', id).executeTakeFirst()
    : undefined;
  if (!row) throw new NotFoundError('WALLET_NOT_FOUND', `no wallet with id "${id}"`);
  checkWalletScope(principal, row.agent_id);
  return row;
}

/**
 * Lists the caller's wallets, newest first, keyset-paginated; a key with a wallet scope sees
 * only the wallets it names.
 * @param cursor - `next_cursor` of the previous page.
 */
export async function listWallets(ctx: CoreContext, principal: Principal, opts: { limit: number; cursor?: string }): Promise<{ wallets: WalletView[]; next_cursor: string | null }> {
  const scope = principal.scopes.wallets;
  if (scope !== null && scope.length === 0) return { wallets: [], next_cursor: null };
  let q = ctx.db.selectFrom('wallets').selectAll().where('tenant_id', '=', principal.tenantId);
  if (scope !== null) q = q.where('agent_id', 'in', scope);
  if (opts.cursor) q = q.where(olderThan('created_at', 'id', opts.cursor));
  const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(opts.limit + 1).execute();
  const { page, next_cursor } = toPage(rows, opts.limit);
  return { wallets: page.map(walletView), next_cursor };
}

/** Balance of a wallet in wei and ETH, read from the chain. */
export async function walletBalance(ctx: CoreContext, row: WalletRow): Promise<EthAmount> {
  return ethAmount(await ctx.chain.getBalance(row.address));
}

/**
 * Unwraps the wallet's key, runs `fn` with an ethers `Wallet`, and zeroes the key bytes after.
 * Also checks the key still derives the recorded address, so a mixed-up ciphertext can never
 * sign for the wrong wallet.
 * @throws {UpstreamError} `KEY_PROVIDER_UNAVAILABLE` | `KEY_PROVIDER_DENIED`.
 */
export async function withSigner<T>(ctx: Pick<CoreContext, 'keys'>, row: WalletRow, fn: (signer: Wallet) => Promise<T>): Promise<T> {
  const key = await ctx.keys
    .unwrap(wrappedKeyOf(row), wrapContext(row))
    .catch(keyProviderFailure);
  try {
    const signer = new Wallet(hexlify(key));
    if (signer.address !== row.address) {
      throw new UpstreamError('KEY_PROVIDER_DENIED', 'the unwrapped key does not match the wallet address');
    }
    return await fn(signer);
  } finally {
    // ethers keeps its own copy as a string, which JS cannot wipe; the bytes we hold we can.
    key.fill(0);
  }
}
