/**
 * Wallets: one EOA per (tenant, agent_id). The private key is generated here, wrapped by the
 * key provider at once, and exists in plaintext only inside {@link withSigner} for one signing
 * call.
 */
import { randomBytes } from 'node:crypto';
import { SigningKey, Wallet, computeAddress, hexlify } from 'ethers';
import { KeyProviderError, type WrapContext } from '../../keyproviders/index.ts';
import type { CoreContext } from '../context.ts';
import type { Principal } from '../auth/api-keys.ts';
import type { WalletRow } from '../db/types.ts';
import { NotFoundError, UpstreamError, ValidationError } from '../errors.ts';
import { ethAmount, type EthAmount } from '../money.ts';
import { olderThan, toPage } from '../db/pagination.ts';

const AGENT_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/;

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
    created_at: row.created_at.toISOString(),
  };
}

function wrapContext(row: { tenant_id: string; address: string }): WrapContext {
  return { tenantId: row.tenant_id, address: row.address };
}

/** Maps a key provider failure to the coded error agents see. */
export function keyProviderFailure(err: unknown): never {
  if (err instanceof KeyProviderError) {
    throw new UpstreamError(err.code, err.code === 'KEY_PROVIDER_DENIED'
      ? 'the key provider refused to unwrap this wallet key (wrong key or tampered ciphertext)'
      : 'the key provider is unavailable; retry later');
  }
  throw err;
}

/**
 * Creates the agent's wallet, or returns the existing one (AgentVault's `spin_up_wallet` is
 * safe to call again).
 * @returns the wallet and whether this call created it.
 * @throws {ValidationError} bad `agent_id`; {@link UpstreamError} when the key provider fails
 *   (no row is written then).
 */
export async function createWallet(ctx: CoreContext, principal: Principal, agentIdInput: unknown): Promise<{ wallet: WalletView; created: boolean }> {
  const agentId = parseAgentId(agentIdInput);
  const existing = await findWallet(ctx, principal, agentId);
  if (existing) return { wallet: walletView(existing), created: false };

  const privateKey = randomBytes(32);
  let address: string;
  try {
    address = computeAddress(new SigningKey(hexlify(privateKey)).publicKey);
  } catch {
    // Out of the secp256k1 range (probability ~2^-128): draw again.
    return createWallet(ctx, principal, agentId);
  }
  const wrapped = await ctx.keys.wrap(privateKey, { tenantId: principal.tenantId, address }).catch(keyProviderFailure);
  privateKey.fill(0);

  const inserted = await ctx.db
    .insertInto('wallets')
    .values({
      tenant_id: principal.tenantId,
      agent_id: agentId,
      address,
      chain_id: ctx.chain.chainId,
      key_provider: wrapped.provider,
      key_ref: wrapped.keyRef,
      key_version: wrapped.keyVersion,
      wrapped_key: wrapped.ciphertext,
      next_nonce: 0,
    })
    .onConflict((oc) => oc.columns(['tenant_id', 'agent_id']).doNothing())
    .returningAll()
    .executeTakeFirst();
  if (inserted) return { wallet: walletView(inserted), created: true };
  // A concurrent call created it first.
  return { wallet: walletView((await findWallet(ctx, principal, agentId))!), created: false };
}

/** Finds the caller's wallet by agent id, or `undefined`. */
export async function findWallet(ctx: CoreContext, principal: Principal, agentId: string): Promise<WalletRow | undefined> {
  return ctx.db
    .selectFrom('wallets')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .where('agent_id', '=', agentId)
    .executeTakeFirst();
}

/**
 * The caller's wallet by agent id.
 * @throws {ValidationError} bad `agent_id`; {@link NotFoundError} `WALLET_NOT_FOUND`.
 */
export async function getWalletByAgent(ctx: CoreContext, principal: Principal, agentIdInput: unknown): Promise<WalletRow> {
  const agentId = parseAgentId(agentIdInput);
  const row = await findWallet(ctx, principal, agentId);
  if (!row) throw new NotFoundError('WALLET_NOT_FOUND', `no wallet for agent_id "${agentId}"; create one with spin_up_wallet`);
  return row;
}

/**
 * The caller's wallet by id.
 * @throws {NotFoundError} `WALLET_NOT_FOUND` (also for another tenant's id or a malformed id).
 */
export async function getWalletById(ctx: CoreContext, principal: Principal, id: string): Promise<WalletRow> {
  const row = /^[0-9a-f-]{36}$/i.test(id)
    ? await ctx.db.selectFrom('wallets').selectAll().where('tenant_id', '=', principal.tenantId).where('id', '=', id).executeTakeFirst()
    : undefined;
  if (!row) throw new NotFoundError('WALLET_NOT_FOUND', `no wallet with id "${id}"`);
  return row;
}

/**
 * Lists the caller's wallets, newest first, keyset-paginated.
 * @param cursor - `next_cursor` of the previous page.
 */
export async function listWallets(ctx: CoreContext, principal: Principal, opts: { limit: number; cursor?: string }): Promise<{ wallets: WalletView[]; next_cursor: string | null }> {
  let q = ctx.db.selectFrom('wallets').selectAll().where('tenant_id', '=', principal.tenantId);
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
export async function withSigner<T>(ctx: CoreContext, row: WalletRow, fn: (signer: Wallet) => Promise<T>): Promise<T> {
  const key = await ctx.keys
    .unwrap({ provider: row.key_provider as 'fernet', keyRef: row.key_ref, keyVersion: row.key_version, ciphertext: row.wrapped_key }, wrapContext(row))
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
