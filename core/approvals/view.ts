/**
 * Reading approvals: the public view of an `approvals` row (with its wallet and, once executed,
 * its transaction) and tenant-scoped lookups and listing.
 *
 * A `pending` row whose `expires_at` has passed is reported as `expired` even before the
 * worker's sweep ({@link expireApprovals} in service.ts) has marked it so: what the caller sees
 * never depends on when the sweep last ran.
 */
import { sql, type Transaction } from 'kysely';
import type { CoreContext } from '../context.ts';
import type { Principal } from '../auth/api-keys.ts';
import type { ApprovalKind, ApprovalRow, ApprovalStatus, Database, ExportFormat } from '../db/types.ts';
import type { Db } from '../db/connect.ts';
import { NotFoundError } from '../errors.ts';
import { checkWalletScope } from '../auth/scopes.ts';
import { ethAmount, type EthAmount } from '../money.ts';
import { olderThan, toPage } from '../db/pagination.ts';
import { transactionView, type TransactionView } from '../transactions/view.ts';

/** Every state of an approval, in the order of its life (docs/approvals.md, "States"). */
export const APPROVAL_STATUSES = ['pending', 'approved', 'rejected', 'expired', 'executed', 'failed', 'cancelled'] as const satisfies readonly ApprovalStatus[];

/** What an approval can be for (docs/approvals.md): a send, or a wallet's key material leaving. */
export const APPROVAL_KINDS = ['send', 'key_export'] as const satisfies readonly ApprovalKind[];

/** An approval as tools and REST return it (snake_case JSON; times ISO 8601 UTC). */
export interface ApprovalView {
  approval_id: string;
  /** `send`: a transfer waiting for a human; `key_export`: an owner asked for the wallet's key material (four eyes). */
  kind: ApprovalKind;
  /** `pending` → `approved` → `executed` | `failed`, or `rejected` | `expired`. */
  status: ApprovalStatus;
  agent_id: string;
  wallet_id: string;
  from_address: string;
  /** The recipient of a `send`; null for a `key_export`. */
  to_address: string | null;
  chain_id: number;
  /** The amount of a `send`; null for a `key_export`. */
  amount: EthAmount | null;
  /** The format a `key_export` hands out (`keystore` or `private_key`); null for a `send`. */
  export_format: ExportFormat | null;
  /** What the agent said the send is for (execute_transfer's `reason`), or null. */
  reason: string | null;
  /** The policy rule that asked for a human (e.g. `approval_threshold_eth`) and its message. */
  rule: string;
  rule_message: string;
  /** Where the send was asked for: `mcp`, `api`, `worker`, `strategy`. */
  source: string;
  /** Visible id (`vp_…`) of the key that asked for the send. */
  requested_by: string | null;
  /** Visible id of the key that approved or rejected it. */
  decided_by: string | null;
  decided_at: string | null;
  decision_note: string | null;
  expires_at: string;
  created_at: string;
  updated_at: string;
  /** The transaction the approved send became (status `executed`), else null. */
  transaction_id: string | null;
  transaction: TransactionView | null;
  /** Why an approved send could not be made (status `failed`): a stable code and its message. */
  error_code: string | null;
  error_message: string | null;
}

/** A row joined with what its view needs from the wallet. */
export type ApprovalJoined = ApprovalRow & { from_address: string; chain_id: string };

type Reader = Db | Transaction<Database>;

/** The status a caller sees: a `pending` row past `expires_at` is `expired`. */
export function effectiveStatus(row: Pick<ApprovalRow, 'status' | 'expires_at'>, now = new Date()): ApprovalStatus {
  return row.status === 'pending' && row.expires_at.getTime() <= now.getTime() ? 'expired' : row.status;
}

/** Maps a joined row (and its transaction, when executed) to its view. */
export function approvalView(row: ApprovalJoined, tx: TransactionView | null, now = new Date()): ApprovalView {
  return {
    approval_id: row.id,
    kind: row.kind,
    status: effectiveStatus(row, now),
    agent_id: row.agent_id,
    wallet_id: row.wallet_id,
    from_address: row.from_address,
    to_address: row.to_address,
    chain_id: Number(row.chain_id),
    amount: row.value_wei === null ? null : ethAmount(BigInt(row.value_wei)),
    export_format: row.export_format,
    reason: row.reason,
    rule: row.rule,
    rule_message: row.rule_message,
    source: row.source,
    requested_by: row.requested_by,
    decided_by: row.decided_by,
    decided_at: row.decided_at?.toISOString() ?? null,
    decision_note: row.decision_note,
    expires_at: row.expires_at.toISOString(),
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    transaction_id: row.transaction_id,
    transaction: tx,
    error_code: row.error_code,
    error_message: row.error_message,
  };
}

function baseQuery(db: Reader, tenantId: string) {
  return db
    .selectFrom('approvals as a')
    .innerJoin('wallets as w', 'w.id', 'a.wallet_id')
    .selectAll('a')
    .select(['w.address as from_address', 'w.chain_id'])
    .where('a.tenant_id', '=', tenantId);
}

/** Builds the views of joined rows, loading their transactions in one query. */
export async function approvalViews(db: Reader, rows: ApprovalJoined[]): Promise<ApprovalView[]> {
  const ids = rows.flatMap((r) => (r.transaction_id ? [r.transaction_id] : []));
  const txs = ids.length === 0 ? [] : await db.selectFrom('transactions').selectAll().where('id', 'in', ids).execute();
  const byId = new Map(txs.map((t) => [t.id, t]));
  const now = new Date();
  return rows.map((r) => {
    const tx = r.transaction_id ? byId.get(r.transaction_id) : undefined;
    return approvalView(r, tx ? transactionView({ ...tx, agent_id: r.agent_id }) : null, now);
  });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Loads one approval of `tenantId` as a joined row; `lock` takes `SELECT … FOR UPDATE OF a` (on
 * the approval row only) in `db`, which must then be a transaction.
 * @throws {NotFoundError} `APPROVAL_NOT_FOUND` for an unknown id, another tenant's, or a
 *   string that is not a uuid.
 */
export async function loadApproval(db: Reader, tenantId: string, id: unknown, lock = false): Promise<ApprovalJoined> {
  if (typeof id !== 'string' || !UUID.test(id)) {
    throw new NotFoundError('APPROVAL_NOT_FOUND', 'no such approval: approval_id is the uuid that execute_transfer returned with status pending_approval');
  }
  let q = baseQuery(db, tenantId).where('a.id', '=', id);
  if (lock) q = q.forUpdate('a');
  const row = await q.executeTakeFirst();
  if (!row) throw new NotFoundError('APPROVAL_NOT_FOUND', `no approval "${id}" for this tenant`);
  return row;
}

/** The view of one approval by id, within `tenantId` (no tenant check beyond that). */
export async function approvalById(db: Reader, tenantId: string, id: string): Promise<ApprovalView> {
  const [view] = await approvalViews(db, [await loadApproval(db, tenantId, id)]);
  return view!;
}

/**
 * One of the caller's approvals, by id.
 * @returns its view; a pending one past its expiry reads `expired`.
 * @throws {NotFoundError} `APPROVAL_NOT_FOUND` (unknown id, another tenant's, not a uuid) |
 *   {@link ForbiddenError} `scope.wallets` when the key may not use the approval's wallet.
 */
export async function getApproval(ctx: CoreContext, principal: Principal, id: unknown): Promise<ApprovalView> {
  const row = await loadApproval(ctx.db, principal.tenantId, id);
  checkWalletScope(principal, row.agent_id);
  const [view] = await approvalViews(ctx.db, [row]);
  return view!;
}

/** Filters of {@link listApprovals}. */
export interface ApprovalQuery {
  /** As the caller sees it: `pending` leaves out rows past expiry, `expired` includes them. */
  status?: ApprovalStatus;
  walletId?: string;
  cursor?: string;
  /** Page size, 1-200. */
  limit: number;
}

/**
 * Lists the caller's approvals, newest first, keyset-paginated on (created_at, id).
 * @throws {ValidationError} `cursor` that is not one of ours.
 */
export async function listApprovals(ctx: CoreContext, principal: Principal, q: ApprovalQuery): Promise<{ approvals: ApprovalView[]; next_cursor: string | null }> {
  // A key limited to some wallets sees only their approvals.
  const scope = principal.scopes.wallets;
  if (scope !== null && scope.length === 0) return { approvals: [], next_cursor: null };
  let query = baseQuery(ctx.db, principal.tenantId);
  if (scope !== null) query = query.where('a.agent_id', 'in', scope);
  if (q.status === 'pending') {
    query = query.where('a.status', '=', 'pending').where('a.expires_at', '>', sql<Date>`now()`);
  } else if (q.status === 'expired') {
    query = query.where((eb) => eb.or([eb('a.status', '=', 'expired'), eb.and([eb('a.status', '=', 'pending'), eb('a.expires_at', '<=', sql<Date>`now()`)])]));
  } else if (q.status) {
    query = query.where('a.status', '=', q.status);
  }
  if (q.walletId) query = query.where('a.wallet_id', '=', q.walletId);
  if (q.cursor) query = query.where(olderThan('a.created_at', 'a.id', q.cursor));
  const rows = await query.orderBy('a.created_at', 'desc').orderBy('a.id', 'desc').limit(q.limit + 1).execute();
  const { page, next_cursor } = toPage(rows, q.limit);
  return { approvals: await approvalViews(ctx.db, page), next_cursor };
}
