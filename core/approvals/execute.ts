/**
 * Executing an approved send (the worker's `approval-execute` job). The send goes through the
 * normal path, `sendTransfers` with `approved: true`: the policy engine skips the approval rules
 * (threshold, quiet hours in approval mode) and rechecks every deny rule and cap, and funds are
 * checked under the wallet lock as for any send.
 *
 * Exactly once: the approval is marked `executed` (guarded by `status = 'approved'`) inside the
 * same database transaction that records the signed transaction. A retried or duplicated job, or
 * two workers at once, find the approval no longer `approved`: the guard updates nothing, the
 * hook throws, and that transaction rolls back with its nonce, so nothing is sent twice.
 */
import type { CoreContext } from '../context.ts';
import type { ApprovalRow, WalletRow } from '../db/types.ts';
import { VaultPilotError, toVaultPilotError } from '../errors.ts';
import { formatEth } from '../money.ts';
import { recordAudit } from '../audit/log.ts';
import { sendTransfers } from '../transactions/transfer.ts';
import { approvalById, type ApprovalView } from './view.ts';

/** Thrown inside the send's transaction when the approval was executed elsewhere meanwhile. */
class AlreadyDecided extends Error {}

/** What {@link executeApproval} did. */
export interface ApprovalExecution {
  /** `executed`: sent; `failed`: refused (no retry); `skipped`: not `approved` (done already, or never approved). */
  outcome: 'executed' | 'failed' | 'skipped';
  approval: ApprovalView | null;
}

/** Options of {@link executeApproval}. */
export interface ExecuteOptions {
  /**
   * The job's last attempt: an upstream failure (RPC, key provider outage) then marks the
   * approval `failed` instead of throwing for another retry.
   */
  finalAttempt?: boolean;
}

/** A send approval's recipient and amount (the worker executes only sends; key exports are collected by their requester). */
function sendOf(row: ApprovalRow): { to: string; valueWei: bigint } {
  if (row.kind !== 'send' || row.to_address === null || row.value_wei === null) throw new Error(`approval ${row.id} is not a send`);
  return { to: row.to_address, valueWei: BigInt(row.value_wei) };
}

/** What every `approval_execute` audit row of `row` shares (the worker acts, not a key). */
function executionAudit(row: ApprovalRow) {
  return {
    tenantId: row.tenant_id,
    kind: 'worker' as const,
    action: 'approval_execute',
    principal: 'worker',
    agentId: row.agent_id,
    walletId: row.wallet_id,
    request: { approval_id: row.id, to_address: row.to_address, amount_eth: formatEth(sendOf(row).valueWei), decided_by: row.decided_by },
  };
}

/** Marks an `approved` approval `failed` with its code and audits it; `false` when it was no longer `approved`. */
async function markFailed(ctx: CoreContext, row: ApprovalRow, err: VaultPilotError): Promise<boolean> {
  return ctx.db.transaction().execute(async (trx) => {
    const now = new Date();
    const updated = await trx
      .updateTable('approvals')
      .set({ status: 'failed', error_code: err.code, error_message: err.message.slice(0, 1000), updated_at: now })
      .where('id', '=', row.id)
      .where('status', '=', 'approved')
      .executeTakeFirst();
    if (updated.numUpdatedRows === 0n) return false;
    await recordAudit(trx, {
      ...executionAudit(row),
      status: err.status < 500 ? 'refused' : 'error',
      errorCode: err.code,
      response: { status: 'failed', error: { code: err.code, message: err.message, details: err.details ?? null } },
    });
    return true;
  });
}

/**
 * Sends an approved send (see the module comment).
 *
 * @returns `executed` with the approval and its transaction; `failed` when the send was refused
 *   (a policy rule on recheck, `INSUFFICIENT_FUNDS`, a recipient that rejects ETH, any other 4xx
 *   code, or an upstream failure on the final attempt), recorded on the approval with its code;
 *   `skipped` when the approval is not `approved` (already executed or failed: a retried job).
 * @throws {VaultPilotError} a 5xx upstream failure (RPC or key provider unreachable) before the
 *   last attempt, so pg-boss retries the job; database errors.
 */
export async function executeApproval(ctx: CoreContext, approvalId: string, opts: ExecuteOptions = {}): Promise<ApprovalExecution> {
  const row = await ctx.db.selectFrom('approvals').selectAll().where('id', '=', approvalId).executeTakeFirst();
  if (!row || row.status !== 'approved' || row.kind !== 'send') {
    ctx.logger.info({ approvalId, status: row?.status ?? null }, 'approval not awaiting execution; nothing to do');
    return { outcome: 'skipped', approval: row ? await approvalById(ctx.db, row.tenant_id, row.id) : null };
  }
  const wallet: WalletRow = await ctx.db.selectFrom('wallets').selectAll().where('id', '=', row.wallet_id).where('tenant_id', '=', row.tenant_id).executeTakeFirstOrThrow();
  try {
    await sendTransfers(ctx, row.tenant_id, wallet, [sendOf(row)], 'worker', {
      approved: true,
      inTransaction: async (trx, rows) => {
        const now = new Date();
        const updated = await trx
          .updateTable('approvals')
          .set({ status: 'executed', transaction_id: rows[0]!.id, error_code: null, error_message: null, updated_at: now })
          .where('id', '=', row.id)
          .where('status', '=', 'approved')
          .executeTakeFirst();
        if (updated.numUpdatedRows === 0n) throw new AlreadyDecided(`approval ${row.id} is no longer approved`);
        await recordAudit(trx, {
          ...executionAudit(row),
          status: 'ok',
          response: { status: 'executed', transaction_id: rows[0]!.id, tx_hash: rows[0]!.tx_hash, nonce: Number(rows[0]!.nonce) },
        });
      },
    });
  } catch (err) {
    if (err instanceof AlreadyDecided) {
      ctx.logger.info({ approvalId }, 'approval executed by another job meanwhile; this send rolled back');
      return { outcome: 'skipped', approval: await approvalById(ctx.db, row.tenant_id, row.id) };
    }
    const e = toVaultPilotError(err);
    if (e.status >= 500 && !opts.finalAttempt) {
      ctx.logger.warn({ approvalId, code: e.code, err: e.message }, 'approved send failed upstream; the job will retry');
      throw err;
    }
    if (e.code === 'INTERNAL') ctx.logger.error({ err, approvalId }, 'approved send failed');
    const marked = await markFailed(ctx, row, e);
    ctx.logger.warn({ approvalId, code: e.code, marked }, 'approved send refused; approval failed');
    return { outcome: marked ? 'failed' : 'skipped', approval: await approvalById(ctx.db, row.tenant_id, row.id) };
  }
  ctx.logger.info({ approvalId }, 'approved send executed');
  return { outcome: 'executed', approval: await approvalById(ctx.db, row.tenant_id, row.id) };
}
