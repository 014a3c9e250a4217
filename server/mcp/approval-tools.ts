/**
 * Approval tools: `get_approval_status(approval_id)` and `list_approvals(status?)`, both read
 * only. A send that needs a human comes back from execute_transfer as `pending_approval` with an
 * `approval_id`; the agent polls get_approval_status until the approval is `executed` (with the
 * transaction and its hash), `rejected`, `expired` or `failed`. Deciding happens in VaultPilot
 * (admin UI or REST, by another key), never through a tool.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { APPROVAL_KINDS, APPROVAL_STATUSES, getApproval, listApprovals, type ApprovalView } from '../../core/approvals/service.ts';
import { registerTool, type ToolSession } from './tool.ts';
import { ethAmountOut, transactionOut } from './schemas.ts';

/** Output schema of an approval (core/approvals/view.ts ApprovalView), shared with execute_transfer's pending result. */
export const approvalOut = z.object({
  approval_id: z.string().describe('Pass to get_approval_status'),
  kind: z.enum(APPROVAL_KINDS).describe('send: a transfer waiting for a human; key_export: an owner key asked for the wallet\'s key material, which another owner must approve'),
  status: z
    .enum(APPROVAL_STATUSES)
    .describe('pending: waiting for a human; approved: being sent by the worker; executed: sent (see transaction); rejected; expired: nobody decided before expires_at; failed: approved but refused at execution (see error_code); cancelled: the requesting key was revoked or expired before a decision (error_code KEY_REVOKED or KEY_EXPIRED)'),
  agent_id: z.string(),
  wallet_id: z.string(),
  from_address: z.string(),
  to_address: z.string().nullable().describe('Recipient of a send; null for a key_export'),
  chain_id: z.number().int(),
  amount: ethAmountOut.nullable().describe('Amount of a send; null for a key_export'),
  export_format: z.enum(['keystore', 'private_key']).nullable().describe('What a key_export hands out; null for a send'),
  reason: z.string().nullable().describe('What the agent said the send is for'),
  rule: z.string().describe('The policy rule that asked for a human, e.g. approval_threshold_eth or quiet_hours'),
  rule_message: z.string(),
  source: z.string().describe('Where the send was asked for: mcp, api, worker, strategy'),
  requested_by: z.string().nullable().describe('Visible id of the key that asked (vp_...)'),
  decided_by: z.string().nullable().describe('Visible id of the key that approved or rejected'),
  decided_at: z.string().nullable().describe('ISO 8601'),
  decision_note: z.string().nullable().describe('The human\'s note, if any'),
  expires_at: z.string().describe('ISO 8601; a pending approval not decided by then expires'),
  created_at: z.string(),
  updated_at: z.string(),
  transaction_id: z.string().nullable(),
  transaction: transactionOut.nullable().describe('The transaction once executed (follow it with get_transaction)'),
  error_code: z.string().nullable().describe('Why an approved send failed at execution, e.g. INSUFFICIENT_FUNDS, POLICY_SPEND_LIMIT'),
  error_message: z.string().nullable(),
});

/** The one line of a key export's approval: the requester collects it by calling the export tool again with approval_id. */
function keyExportSummary(a: ApprovalView): string {
  const what = `export of ${a.agent_id}'s key as a ${a.export_format === 'private_key' ? 'plaintext private key' : 'keystore'}`;
  switch (a.status) {
    case 'pending':
      return `Approval ${a.approval_id} (${what}) is pending: another owner key must approve it in VaultPilot before ${a.expires_at}. Nothing was exported.`;
    case 'approved':
      return `Approval ${a.approval_id} (${what}) was approved by ${a.decided_by ?? 'an owner'}: the key that asked collects it by calling the export again with approval_id ${a.approval_id} before ${a.expires_at}.`;
    case 'executed':
      return `Approval ${a.approval_id} (${what}) was collected; it cannot be used again.`;
    default:
      return `Approval ${a.approval_id} (${what}) is ${a.status}${a.decision_note ? `: "${a.decision_note}"` : ''}. Nothing was exported.`;
  }
}

/** One line an agent can act on: what happened and what to do next. */
export function approvalSummary(a: ApprovalView): string {
  if (a.kind === 'key_export') return keyExportSummary(a);
  const what = `${a.amount?.eth ?? '?'} ETH from ${a.agent_id} to ${a.to_address}`;
  switch (a.status) {
    case 'pending': {
      const secs = Math.max(0, Math.round((Date.parse(a.expires_at) - Date.now()) / 1000));
      return `Approval ${a.approval_id} (${what}) is pending: a human must approve it in VaultPilot (rule ${a.rule}). It expires at ${a.expires_at} (in ${secs} s). Poll get_approval_status again in a minute or so; do not send it again meanwhile.`;
    }
    case 'approved':
      return `Approval ${a.approval_id} (${what}) was approved by ${a.decided_by ?? 'a human'}; the worker is sending it now. Poll get_approval_status again in a few seconds for the transaction.`;
    case 'executed':
      return `Approval ${a.approval_id} (${what}) was approved by ${a.decided_by ?? 'a human'} and sent: tx ${a.transaction?.tx_hash ?? a.transaction_id} (${a.transaction?.status ?? 'recorded'}). Follow it with get_transaction.`;
    case 'rejected':
      return `Approval ${a.approval_id} (${what}) was rejected by ${a.decided_by ?? 'a human'}${a.decision_note ? `: "${a.decision_note}"` : ''}. Nothing was sent; do not retry the same send without asking the human.`;
    case 'expired':
      return `Approval ${a.approval_id} (${what}) expired at ${a.expires_at} without a decision. Nothing was sent; call execute_transfer again to ask anew.`;
    case 'failed':
      return `Approval ${a.approval_id} (${what}) was approved but the send was refused at execution: ${a.error_code}: ${a.error_message}. Nothing was sent.`;
    case 'cancelled':
      return `Approval ${a.approval_id} (${what}) was cancelled: ${a.error_message ?? 'the key that asked for it is no longer valid'} (${a.error_code ?? 'KEY_REVOKED'}). Nothing was sent; ask again with a valid key.`;
  }
}

/** Registers the approval tools on `server` for `session`. */
export function registerApprovalTools(server: McpServer, session: ToolSession): void {
  const { core, principal } = session;
  const readOnly = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;

  registerTool(
    server,
    session,
    {
      name: 'get_approval_status',
      title: 'Approval status',
      description:
        'The state of a send that needed human approval (execute_transfer returned status pending_approval with this approval_id): pending (a human has not decided; poll again, about once a minute), approved (being sent), executed (sent: transaction carries the tx hash), rejected (with the human\'s note), expired (nobody decided before expires_at; nothing sent), failed (approved, but refused at execution, with error_code) or cancelled (the key that asked was revoked or expired first; nothing sent). Humans decide in VaultPilot, not here.',
      input: { approval_id: z.string().describe('The approval_id execute_transfer returned (a uuid)') },
      output: { approval: approvalOut },
      annotations: { title: 'Approval status', ...readOnly },
    },
    async (args) => {
      const approval = await getApproval(core, principal, args.approval_id);
      return { result: { approval }, summary: approvalSummary(approval), walletId: approval.wallet_id, agentId: approval.agent_id };
    },
  );

  registerTool(
    server,
    session,
    {
      name: 'list_approvals',
      title: 'List approvals',
      description: 'Lists this tenant\'s sends that needed human approval, newest first, optionally only those in one status (pending ones are waiting for a human). Pass next_cursor back as cursor for the next page.',
      input: {
        status: z.enum(APPROVAL_STATUSES).optional().describe('Only approvals in this state'),
        limit: z.number().int().min(1).max(200).optional().describe('Page size, 1-200 (default 50)'),
        cursor: z.string().optional().describe('next_cursor from the previous page'),
      },
      output: { approvals: z.array(approvalOut), next_cursor: z.string().nullable() },
      annotations: { title: 'List approvals', ...readOnly },
    },
    async (args) => {
      const page = await listApprovals(core, principal, { limit: args.limit ?? 50, ...(args.status ? { status: args.status } : {}), ...(args.cursor ? { cursor: args.cursor } : {}) });
      return {
        result: page,
        summary:
          page.approvals.length === 0
            ? `No approvals${args.status ? ` with status ${args.status}` : ''}.`
            : page.approvals
                .map((a) => (a.kind === 'key_export' ? `${a.approval_id}: ${a.status}, ${a.export_format} export of ${a.agent_id}'s key` : `${a.approval_id}: ${a.status}, ${a.amount?.eth} ETH from ${a.agent_id} to ${a.to_address}${a.transaction ? `, tx ${a.transaction.tx_hash}` : ''}`))
                .join('\n'),
      };
    },
  );
}
