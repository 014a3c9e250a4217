/**
 * Human approval of sends (docs/approvals.md). When the policy engine decides that a send needs
 * a human (`PolicyError('APPROVAL_REQUIRED')`), executeTransfer records it here as a `pending`
 * approval instead of sending; an owner, admin or operator key other than the requesting one
 * approves or rejects it (decide.ts); the worker sends an approved one through the normal path,
 * every limit rechecked (execute.ts); an undecided one expires after `APPROVAL_TTL`.
 *
 * States: `pending` → `approved` → `executed` | `failed`; `pending` → `rejected` | `expired`.
 */
import type { Transaction } from 'kysely';
import type { CoreContext } from '../context.ts';
import type { Principal } from '../auth/api-keys.ts';
import type { Db } from '../db/connect.ts';
import type { Database, WalletRow } from '../db/types.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { formatEth } from '../money.ts';
import { recordAudit } from '../audit/log.ts';
import type { TransferSource } from '../transactions/transfer.ts';
import { approvalViews, type ApprovalView } from './view.ts';

export { APPROVAL_KINDS, APPROVAL_STATUSES, getApproval, listApprovals, type ApprovalQuery, type ApprovalView } from './view.ts';
export { MAX_NOTE_LENGTH, assertCanDecide, decideApproval, type ApprovalDecision } from './decide.ts';

/** Longest `reason` an agent may give for a send, in characters. */
export const MAX_REASON_LENGTH = 500;

/** A send that needs a human, as the policy engine refused it. */
export interface ApprovalRequest {
  /** The sending wallet (of the principal's tenant). */
  wallet: WalletRow;
  /** Checksummed recipient. */
  toAddress: string;
  /** Amount, in wei (> 0). */
  valueWei: bigint;
  /** What the agent says the send is for (execute_transfer's `reason`); trimmed, at most 500 characters. */
  reason: string | null;
  /** The rule that asked for a human (`PolicyError.details.rule`, e.g. `approval_threshold_eth`). */
  rule: string;
  /** The policy engine's message, shown to the deciding human. */
  ruleMessage: string;
  source: TransferSource;
}

/**
 * Records a pending approval of a send that the policy engine said needs a human; it waits for a
 * decision until now + `APPROVAL_TTL` (`ctx.config.approvalTtlMs`). Nothing is signed or sent.
 * The caller's own audit row (the `execute_transfer` tool call or the REST write) records the
 * request, with the approval in its response.
 *
 * @param principal - the requesting key: it can never decide this approval itself.
 * @param db - pass a transaction to commit the approval with other writes (default `ctx.db`).
 * @returns the new approval (status `pending`).
 * @throws {ValidationError} `reason` longer than 500 characters | {@link NotFoundError}
 *   `WALLET_NOT_FOUND` when the wallet is not the principal's tenant's.
 */
export async function requestApproval(
  ctx: CoreContext,
  principal: Principal,
  req: ApprovalRequest,
  db: Db | Transaction<Database> = ctx.db,
): Promise<ApprovalView> {
  if (req.wallet.tenant_id !== principal.tenantId) throw new NotFoundError('WALLET_NOT_FOUND', 'no such wallet for this tenant');
  const reason = req.reason === null ? null : req.reason.trim() || null;
  if (reason !== null && reason.length > MAX_REASON_LENGTH) throw new ValidationError('reason', `must be at most ${MAX_REASON_LENGTH} characters`);
  const now = new Date();
  const row = await db
    .insertInto('approvals')
    .values({
      tenant_id: principal.tenantId,
      wallet_id: req.wallet.id,
      agent_id: req.wallet.agent_id,
      to_address: req.toAddress,
      value_wei: req.valueWei.toString(),
      reason,
      rule: req.rule,
      rule_message: req.ruleMessage,
      source: req.source,
      status: 'pending',
      requested_by_key_id: principal.keyId,
      requested_by: principal.keyPrefix,
      decided_at: null,
      expires_at: new Date(now.getTime() + ctx.config.approvalTtlMs),
      created_at: now,
      updated_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  ctx.logger.info({ approvalId: row.id, agentId: row.agent_id, amountEth: formatEth(req.valueWei), rule: req.rule }, 'send waits for approval');
  const [view] = await approvalViews(db, [{ ...row, from_address: req.wallet.address, chain_id: req.wallet.chain_id }]);
  return view!;
}

/**
 * Marks every pending approval past its `expires_at` as `expired`, with one `worker` audit row
 * each, in one transaction (the worker runs it every 30 s; readers see such rows as expired
 * before that anyway).
 * @returns how many approvals expired.
 */
export async function expireApprovals(ctx: CoreContext): Promise<number> {
  return ctx.db.transaction().execute(async (trx) => {
    const now = new Date();
    const expired = await trx
      .updateTable('approvals')
      .set({ status: 'expired', updated_at: now })
      .where('status', '=', 'pending')
      .where('expires_at', '<=', now)
      .returning(['id', 'tenant_id', 'wallet_id', 'agent_id', 'to_address', 'value_wei', 'expires_at', 'requested_by'])
      .execute();
    for (const a of expired) {
      await recordAudit(trx, {
        tenantId: a.tenant_id,
        kind: 'worker',
        action: 'approval_expire',
        principal: 'worker',
        agentId: a.agent_id,
        walletId: a.wallet_id,
        status: 'ok',
        request: { approval_id: a.id },
        response: { status: 'expired', to_address: a.to_address, amount_eth: a.value_wei === null ? null : formatEth(BigInt(a.value_wei)), expires_at: a.expires_at.toISOString(), requested_by: a.requested_by },
      });
    }
    if (expired.length > 0) ctx.logger.info({ expired: expired.length }, 'approvals expired without a decision');
    return expired.length;
  });
}
