/**
 * `execute_transfer` under the policy: the transfer is sent when the policy allows it, and held
 * for a human when the policy requires approval (docs/approvals.md). A deny is an error as usual.
 */
import type { CoreContext } from '../context.ts';
import type { Principal } from '../auth/api-keys.ts';
import { PolicyError, ValidationError } from '../errors.ts';
import { parseAddress, parseEthAmount } from '../money.ts';
import { getWalletByAgent } from '../wallets/service.ts';
import { MAX_REASON_LENGTH, requestApproval, type ApprovalView } from '../approvals/service.ts';
import { auditedTransaction } from '../audit/scope.ts';
import { executeTransfer, type TransferInput, type TransferSource } from './transfer.ts';
import type { TransactionView } from './view.ts';

/** What a guarded transfer became: sent, or waiting for a human. */
export type TransferResult = { status: 'sent'; transaction: TransactionView } | { status: 'pending_approval'; approval: ApprovalView };

/** Validates the agent's optional `reason` (shown to the human who approves). */
function parseReason(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new ValidationError('reason', 'must be a string saying what the send is for');
  const text = value.trim();
  if (text.length > MAX_REASON_LENGTH) throw new ValidationError('reason', `must be at most ${MAX_REASON_LENGTH} characters`);
  return text || null;
}

/**
 * Executes a transfer, or records a pending approval when the policy's approval threshold or
 * quiet hours say a human must decide (nothing is signed then; the worker sends it once approved).
 *
 * @param input.reason - what the agent says the send is for (≤ 500 characters), shown to the approver.
 * @returns `{status: 'sent', transaction}` or `{status: 'pending_approval', approval}`.
 * @throws everything {@link executeTransfer} throws except `APPROVAL_REQUIRED`.
 */
export async function transferOrRequestApproval(
  ctx: CoreContext,
  principal: Principal,
  input: TransferInput & { reason?: unknown },
  source: TransferSource,
): Promise<TransferResult> {
  const reason = parseReason(input.reason);
  try {
    return { status: 'sent', transaction: await executeTransfer(ctx, principal, input, source) };
  } catch (err) {
    if (!(err instanceof PolicyError) || err.code !== 'APPROVAL_REQUIRED') throw err;
    const wallet = await getWalletByAgent(ctx, principal, input.agent_id);
    const rule = String(err.details?.rule ?? 'approval_threshold_eth');
    const request = {
      wallet,
      toAddress: parseAddress('to_address', input.to_address),
      valueWei: parseEthAmount('amount_eth', input.amount_eth),
      reason,
      rule,
      ruleMessage: err.message,
      source,
    };
    // The pending approval and the call's audit row commit together.
    const approval = await auditedTransaction(ctx.db, ctx.audit, (trx) => requestApproval(ctx, principal, request, trx), (view) => ({
      response: { status: 'pending_approval', approval: view },
      agentId: wallet.agent_id,
      walletId: wallet.id,
      decision: 'require_approval',
      rule,
    }));
    return { status: 'pending_approval', approval };
  }
}
