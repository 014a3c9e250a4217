/**
 * Reading transactions: the public view of a row and tenant-scoped lookups and listing.
 */
import { sql } from 'kysely';
import type { CoreContext } from '../context.ts';
import type { Principal } from '../auth/api-keys.ts';
import type { TransactionRow, TxStatus } from '../db/types.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { formatEth, formatGwei } from '../money.ts';
import { olderThan, toPage } from '../db/pagination.ts';
import { isUuid } from '../validation/uuid.ts';

/** A transaction as tools and REST return it. Wei amounts are integer strings. */
export interface TransactionView {
  id: string;
  wallet_id: string;
  agent_id: string | null;
  chain_id: number;
  nonce: number;
  from_address: string;
  to_address: string;
  value_wei: string;
  value_eth: string;
  status: TxStatus;
  tx_hash: string;
  block_number: number | null;
  gas_limit: string;
  gas_used: string | null;
  max_fee_per_gas_gwei: string;
  max_priority_fee_per_gas_gwei: string;
  effective_gas_price_gwei: string | null;
  /** Fee paid in wei (gas used × effective gas price) once mined. */
  fee_wei: string | null;
  error: string | null;
  source: string;
  created_at: string;
  updated_at: string;
}

/** Maps a row (optionally joined with its wallet's agent id) to its view. */
export function transactionView(row: TransactionRow & { agent_id?: string | null }): TransactionView {
  const fee = row.gas_used !== null && row.effective_gas_price !== null ? BigInt(row.gas_used) * BigInt(row.effective_gas_price) : null;
  return {
    id: row.id,
    wallet_id: row.wallet_id,
    agent_id: row.agent_id ?? null,
    chain_id: Number(row.chain_id),
    nonce: Number(row.nonce),
    from_address: row.from_address,
    to_address: row.to_address,
    value_wei: row.value_wei,
    value_eth: formatEth(BigInt(row.value_wei)),
    status: row.status,
    tx_hash: row.tx_hash,
    block_number: row.block_number === null ? null : Number(row.block_number),
    gas_limit: row.gas_limit,
    gas_used: row.gas_used,
    max_fee_per_gas_gwei: formatGwei(BigInt(row.max_fee_per_gas)),
    max_priority_fee_per_gas_gwei: formatGwei(BigInt(row.max_priority_fee_per_gas)),
    effective_gas_price_gwei: row.effective_gas_price === null ? null : formatGwei(BigInt(row.effective_gas_price)),
    fee_wei: fee === null ? null : fee.toString(),
    error: row.error,
    source: row.source,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

/** The caller's transactions: its tenant's, and only its wallets' when the key has a wallet scope. */
function baseQuery(ctx: CoreContext, principal: Principal) {
  const wallets = principal.scopes.wallets;
  return ctx.db
    .selectFrom('transactions as t')
    .innerJoin('wallets as w', 'w.id', 't.wallet_id')
    .selectAll('t')
    .select('w.agent_id')
    .where('t.tenant_id', '=', principal.tenantId)
    .$if(wallets !== null, (q) => (wallets!.length === 0 ? q.where(sql<boolean>`false`) : q.where('w.agent_id', 'in', wallets!)));
}

/**
 * One of the caller's transactions, by id (uuid) or transaction hash (0x + 64 hex). A
 * transaction of a wallet outside the key's wallet scope is not found, like another tenant's.
 * @throws {ValidationError} neither form; {@link NotFoundError} `TRANSACTION_NOT_FOUND`.
 */
export async function getTransaction(ctx: CoreContext, principal: Principal, ref: { id?: unknown; tx_hash?: unknown }): Promise<TransactionView> {
  let q = baseQuery(ctx, principal);
  if (typeof ref.tx_hash === 'string' && ref.tx_hash !== '') {
    if (!/^0x[0-9a-fA-F]{64}$/.test(ref.tx_hash)) throw new ValidationError('tx_hash', 'must be 0x followed by 64 hex characters');
    q = q.where('t.tx_hash', '=', ref.tx_hash.toLowerCase());
  } else if (typeof ref.id === 'string' && ref.id !== '') {
    if (!isUuid(ref.id)) throw new ValidationError('id', 'must be a transaction id (uuid) as returned by execute_transfer');
    q = q.where('t.id', '=', ref.id);
  } else {
    throw new ValidationError('tx_hash', 'give either tx_hash or id');
  }
  const row = await q.executeTakeFirst();
  if (!row) throw new NotFoundError('TRANSACTION_NOT_FOUND', 'no such transaction for this tenant');
  return transactionView(row);
}

/** Filters for {@link listTransactions}. */
export interface TransactionQuery {
  walletId?: string;
  status?: TxStatus;
  cursor?: string;
  limit: number;
}

/**
 * Lists the caller's transactions (within the key's wallet scope), newest first,
 * keyset-paginated on (created_at, id).
 */
export async function listTransactions(ctx: CoreContext, principal: Principal, q: TransactionQuery): Promise<{ transactions: TransactionView[]; next_cursor: string | null }> {
  let query = baseQuery(ctx, principal);
  if (q.walletId) query = query.where('t.wallet_id', '=', q.walletId);
  if (q.status) query = query.where('t.status', '=', q.status);
  if (q.cursor) query = query.where(olderThan('t.created_at', 't.id', q.cursor));
  const rows = await query.orderBy('t.created_at', 'desc').orderBy('t.id', 'desc').limit(q.limit + 1).execute();
  const { page, next_cursor } = toPage(rows, q.limit);
  return { transactions: page.map(transactionView), next_cursor };
}
