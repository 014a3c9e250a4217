/**
 * A human's decision on a pending approval. One database transaction locks the approval row,
 * checks that it is still pending and unexpired and that the decider is not the key that asked
 * for the send, records the decision, and — for an approval — enqueues the `approval-execute`
 * job in that same transaction: an approval is never approved without its job, nor a job sent
 * for an approval that did not commit.
 */
import type { CoreContext } from '../context.ts';
import type { Principal } from '../auth/api-keys.ts';
import { ConflictError, ForbiddenError, ValidationError } from '../errors.ts';
import { enqueueApprovalExecute } from '../jobs/queue.ts';
import { checkWalletScope } from '../auth/scopes.ts';
import { requireAction } from '../auth/roles.ts';
import { approvalViews, effectiveStatus, loadApproval, type ApprovalView } from './view.ts';
import { responsibleKeyInvalidity, type PauseReason } from '../strategies/pause.ts';
import { cancelPendingApprovals } from './cancel.ts';

/** Longest decision note kept, in characters. */
export const MAX_NOTE_LENGTH = 500;

/** What a human decided. */
export type ApprovalDecision = 'approve' | 'reject';

/**
 * Refuses roles that may not decide approvals (only owner, admin and operator keys may:
 * `approvals.decide` in core/auth/roles.ts).
 * @throws {ForbiddenError} `FORBIDDEN`, `details.rule` `role`.
 */
export function assertCanDecide(principal: Principal): void {
  requireAction(principal.role, 'approvals.decide');
}

function parseNote(note: unknown): string | null {
  if (note === undefined || note === null) return null;
  if (typeof note !== 'string') throw new ValidationError('note', 'must be a string');
  const text = note.trim();
  if (text.length > MAX_NOTE_LENGTH) throw new ValidationError('note', `must be at most ${MAX_NOTE_LENGTH} characters`);
  return text === '' ? null : text;
}

/**
 * Approves or rejects one of the caller's pending approvals.
 *
 * Approve: status `approved` and an `approval-execute` job, committed together; the worker then
 * makes the send through the normal path (every limit rechecked) and the approval becomes
 * `executed` with its transaction, or `failed` with a code. Reject: status `rejected`; nothing is
 * sent. The route or tool layer audits the decision (`api_write`).
 *
 * @param note - optional, at most 500 characters, shown to the agent in get_approval_status.
 * @returns the approval after the decision.
 * @throws {ForbiddenError} `FORBIDDEN` (`details.rule` `role`) for a viewer or agent key;
 *   `APPROVAL_SELF` (`details.rule` `approval.self`) when the caller's key asked for the send |
 *   `FORBIDDEN` (`scope.wallets`) for a key limited to other wallets |
 *   {@link NotFoundError} `APPROVAL_NOT_FOUND` | {@link ConflictError} `APPROVAL_NOT_PENDING`
 *   (already decided; `details.status`) or `APPROVAL_EXPIRED` | {@link ValidationError} `note`.
 *   When the requesting key has been revoked or has expired meanwhile, the approval is
 *   cancelled (committed, with its audit row) and the decision refused with
 *   `APPROVAL_NOT_PENDING` (`details.status` `cancelled`): nothing is sent for a key that is gone.
 */
export async function decideApproval(ctx: CoreContext, principal: Principal, id: unknown, decision: ApprovalDecision, note?: unknown): Promise<ApprovalView> {
  assertCanDecide(principal);
  const decisionNote = parseNote(note);
  const decided = await ctx.db.transaction().execute(async (trx) => {
    const row = await loadApproval(trx, principal.tenantId, id, true);
    checkWalletScope(principal, row.agent_id);
    const now = new Date();
    const status = effectiveStatus(row, now);
    if (status === 'expired') {
      throw new ConflictError('APPROVAL_EXPIRED', `approval ${row.id} expired at ${row.expires_at.toISOString()} without a decision; the agent must ask again`, { status, expires_at: row.expires_at.toISOString() });
    }
    if (status !== 'pending') {
      throw new ConflictError('APPROVAL_NOT_PENDING', `approval ${row.id} is ${status}${row.decided_by ? ` (decided by ${row.decided_by})` : ''}; only a pending approval can be ${decision === 'approve' ? 'approved' : 'rejected'}`, { status });
    }
    if (row.requested_by_key_id !== null && row.requested_by_key_id === principal.keyId) {
      throw new ForbiddenError(`the key that asked for this ${row.kind === 'key_export' ? 'export' : 'send'} cannot decide it; another ${row.kind === 'key_export' ? 'owner' : 'owner, admin or operator'} key must`, { rule: 'approval.self', requested_by: row.requested_by }, 'APPROVAL_SELF');
    }
    // Key material leaving is an owner's decision: four eyes means two owners.
    if (row.kind === 'key_export') requireAction(principal.role, 'wallets.export');
    // A key revoked or expired before the sweep reached it: cancel here, commit, then refuse.
    const gone = await responsibleKeyInvalidity(trx, row.requested_by_key_id, now);
    if (gone) {
      await cancelPendingApprovals(trx, { approvalId: row.id }, gone, { kind: 'api_write', principal: principal.keyPrefix }, now);
      return { cancelled: true, reason: gone, id: row.id, requestedBy: row.requested_by } as const;
    }
    const updated = await trx
      .updateTable('approvals')
      .set({
        status: decision === 'approve' ? 'approved' : 'rejected',
        decided_by_key_id: principal.keyId,
        decided_by: principal.keyPrefix,
        decided_at: now,
        decision_note: decisionNote,
        updated_at: now,
      })
      .where('id', '=', row.id)
      .where('status', '=', 'pending')
      .returningAll()
      .executeTakeFirstOrThrow();
    // A send is made by the worker; a key export is collected by the key that asked for it.
    if (decision === 'approve' && row.kind === 'send') await enqueueApprovalExecute(ctx.boss, trx, { approvalId: row.id });
    const [view] = await approvalViews(trx, [{ ...updated, from_address: row.from_address, chain_id: row.chain_id }]);
    // The decision and its audit row commit together.
    await ctx.audit?.commit(trx, { response: { approval: view }, agentId: row.agent_id, walletId: row.wallet_id });
    return { cancelled: false, view: view! } as const;
  });
  if (!decided.cancelled) return decided.view;
  throw cancelledRefusal(decided.id, decided.requestedBy, decided.reason);
}

/** The refusal of a decision on an approval cancelled because its requesting key is gone. */
function cancelledRefusal(id: string, requestedBy: string | null, reason: PauseReason): ConflictError {
  const why = reason === 'key_revoked' ? 'was revoked' : 'has expired';
  return new ConflictError('APPROVAL_NOT_PENDING', `approval ${id} is cancelled: the key that asked for it (${requestedBy ?? 'unknown'}) ${why}; nothing was sent`, { status: 'cancelled', reason });
}
