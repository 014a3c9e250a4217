/**
 * Cancelling approvals whose requesting key can no longer answer for them: when that key is
 * revoked or expires, its pending approvals become `cancelled` (`error_code` `KEY_REVOKED` |
 * `KEY_EXPIRED`), each with an `approval_cancel` audit row, in the caller's transaction (the
 * revocation's, the expiry sweep's, or a decision's that found the key gone, decide.ts). Nothing
 * is sent for a cancelled approval; the agent must ask again with a valid key.
 */
import type { Transaction } from 'kysely';
import type { Database } from '../db/types.ts';
import { recordAudit } from '../audit/log.ts';
import { formatEth } from '../money.ts';
import type { PauseActor, PauseReason } from '../strategies/pause.ts';

type Trx = Transaction<Database>;

/** The stable code a cancelled approval carries in `error_code`. */
export function cancelCode(reason: PauseReason): 'KEY_REVOKED' | 'KEY_EXPIRED' {
  return reason === 'key_revoked' ? 'KEY_REVOKED' : 'KEY_EXPIRED';
}

/** The `error_message` of a cancelled approval (`requested_by` names the key). */
export function cancelMessage(reason: PauseReason): string {
  return `the key that asked for this was ${reason === 'key_revoked' ? 'revoked' : 'past its expiry'} before a decision; nothing was sent, ask again with a valid key`;
}

/**
 * Cancels pending, unexpired approvals in the caller's transaction and audits each
 * (`approval_cancel`, no secrets: the recipient, amount or export format, and the requester).
 * @param where - which ones: a requesting key's (`keyId`) or one approval (`approvalId`).
 * @returns how many were cancelled (a row no longer pending is left alone).
 * @throws database errors (the caller's transaction then rolls back).
 */
export async function cancelPendingApprovals(
  trx: Trx,
  where: { keyId: string } | { approvalId: string },
  reason: PauseReason,
  actor: PauseActor,
  now = new Date(),
): Promise<number> {
  let q = trx
    .updateTable('approvals')
    .set({ status: 'cancelled', error_code: cancelCode(reason), error_message: cancelMessage(reason), updated_at: now })
    .where('status', '=', 'pending')
    // Past its expiry it is expired, not cancelled: the expiry sweep records that.
    .where('expires_at', '>', now);
  q = 'keyId' in where ? q.where('requested_by_key_id', '=', where.keyId) : q.where('id', '=', where.approvalId);
  const rows = await q.returningAll().execute();
  for (const a of rows) {
    await recordAudit(trx, {
      tenantId: a.tenant_id,
      kind: actor.kind,
      action: 'approval_cancel',
      principal: actor.principal,
      agentId: a.agent_id,
      walletId: a.wallet_id,
      status: 'ok',
      request: { approval_id: a.id, reason },
      response: {
        status: 'cancelled',
        error_code: cancelCode(reason),
        requested_by: a.requested_by,
        kind: a.kind,
        to_address: a.to_address,
        amount_eth: a.value_wei === null ? null : formatEth(BigInt(a.value_wei)),
        export_format: a.export_format,
      },
    });
  }
  return rows.length;
}
