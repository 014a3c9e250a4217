/**
 * Transfer tools: `simulate_transfer`, `execute_transfer` (AgentVault names and arguments) and
 * `get_transaction`.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { simulateTransfer, type TransferSimulation } from '../../core/transactions/transfer.ts';
import { transferOrRequestApproval } from '../../core/transactions/transfer-or-approval.ts';
import { getTransaction } from '../../core/transactions/view.ts';
import { registerTool, type ToolSession } from './tool.ts';
import { addressArg, agentIdArg, amountEthArg, ethAmountOut, transactionOut } from './schemas.ts';
import { approvalOut, approvalSummary } from './approval-tools.ts';

const simulationOut = z.object({
  would_succeed: z.boolean(),
  reason: z.string().nullable().describe('Why it would not be sent now: INSUFFICIENT_FUNDS, CONFIRMATION_REQUIRED, a POLICY_* code or APPROVAL_REQUIRED'),
  policy: z
    .object({
      decision: z.enum(['allow', 'deny', 'require_approval']),
      rule: z.string().nullable().describe('The policy rule that decided (docs/policies.md)'),
      message: z.string().nullable(),
    })
    .describe("The wallet policy's decision for this send"),
  agent_id: z.string(),
  from_address: z.string(),
  to_address: z.string(),
  chain_id: z.number().int(),
  amount: ethAmountOut,
  balance: ethAmountOut,
  gas_limit: z.string().describe('Gas units'),
  max_fee_per_gas_gwei: z.string().describe('EIP-1559 max fee per gas, gwei'),
  max_priority_fee_per_gas_gwei: z.string().describe('EIP-1559 priority fee per gas, gwei'),
  max_fee: ethAmountOut.describe('Most the fee can cost: gas limit x max fee per gas'),
  max_total: ethAmountOut.describe('Amount plus the most the fee can cost'),
  requires_confirmation: z.boolean().describe('true when the amount is above MAX_TX_ETH and needs confirmation_code'),
});

function simulationSummary(s: TransferSimulation): string {
  const verdict = s.would_succeed ? 'would succeed' : s.reason === 'APPROVAL_REQUIRED' ? `would wait for a human's approval (${s.policy.rule})` : `would fail (${s.reason}${s.policy.message ? `: ${s.policy.message}` : ''})`;
  return `Simulation: sending ${s.amount.eth} ETH from ${s.agent_id} to ${s.to_address} ${verdict}; max fee ${s.max_fee.eth} ETH, balance ${s.balance.eth} ETH`;
}

const transferInput = {
  agent_id: agentIdArg,
  to_address: addressArg('Recipient'),
  amount_eth: amountEthArg,
};

/** Registers the transfer tools on `server` for `session`. */
export function registerTransferTools(server: McpServer, session: ToolSession): void {
  const { core, principal } = session;

  registerTool(
    server,
    session,
    {
      name: 'simulate_transfer',
      title: 'Simulate a transfer',
      description:
        'Checks a native ETH transfer without signing or sending: validates the arguments, estimates gas and EIP-1559 fees, and says whether the wallet can pay and whether a confirmation code would be needed.',
      input: { ...transferInput, confirmation_code: z.string().optional().describe('Checked as execute_transfer would; never echoed') },
      output: simulationOut.shape,
      annotations: { title: 'Simulate a transfer', readOnlyHint: true, openWorldHint: true },
    },
    async (args) => {
      const sim = await simulateTransfer(core, principal, args);
      return { result: sim, summary: simulationSummary(sim) };
    },
  );

  registerTool(
    server,
    session,
    {
      name: 'execute_transfer',
      title: 'Send ETH',
      description:
        'Sends amount_eth of native ETH from agent_id\'s wallet to to_address and returns the recorded transaction (status broadcast once the node accepted it; follow it with get_transaction). The wallet policy applies (get_policy shows it): a refused send returns a POLICY_* code; a send above the approval threshold returns status pending_approval with an approval_id — a human decides in VaultPilot, poll get_approval_status. Give a short reason: the approver sees it. Amounts above the server\'s MAX_TX_ETH need confirmation_code, which a human must give you. dry_run=true only simulates.',
      input: {
        ...transferInput,
        confirmation_code: z.string().optional().describe('Required above MAX_TX_ETH; ask a human for it'),
        reason: z.string().optional().describe('What the send is for, shown to the human if it needs approval (at most 500 characters)'),
        dry_run: z.boolean().optional().describe('true: simulate only, nothing is signed or sent'),
      },
      output: {
        dry_run: z.boolean(),
        status: z.enum(['sent', 'pending_approval', 'dry_run']).describe('sent: recorded and broadcast; pending_approval: waits for a human (poll get_approval_status); dry_run: simulated only'),
        transaction: transactionOut.optional().describe('The recorded transaction (status sent)'),
        approval_id: z.string().optional().describe('The approval to poll with get_approval_status (status pending_approval)'),
        approval: approvalOut.optional().describe('The pending approval: rule, message, expiry (status pending_approval)'),
        simulation: simulationOut.optional().describe('The simulation (dry runs only)'),
      },
      annotations: { title: 'Send ETH', readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    },
    async (args, ctx) => {
      if (args.dry_run) {
        const sim = await simulateTransfer(core, principal, args);
        return { result: { dry_run: true, status: 'dry_run' as const, simulation: sim }, summary: `Dry run, nothing sent. ${simulationSummary(sim)}` };
      }
      const out = await transferOrRequestApproval(ctx, principal, args, 'mcp');
      if (out.status === 'pending_approval') {
        const a = out.approval;
        return {
          result: { dry_run: false, status: 'pending_approval' as const, approval_id: a.approval_id, approval: a },
          summary: `PENDING_APPROVAL: ${a.rule_message}. Nothing was sent; a human must approve it in VaultPilot before ${a.expires_at}. Poll get_approval_status with approval_id ${a.approval_id}. ${approvalSummary(a)}`,
          walletId: a.wallet_id,
          decision: { kind: 'require_approval' as const, rule: a.rule },
        };
      }
      const tx = out.transaction;
      return {
        result: { dry_run: false, status: 'sent' as const, transaction: tx },
        summary: `Transfer of ${tx.value_eth} ETH to ${tx.to_address}: ${tx.status}, nonce ${tx.nonce}, hash ${tx.tx_hash}${tx.error ? ` (${tx.error})` : ''}`,
        walletId: tx.wallet_id,
        decision: { kind: 'allow' as const, rule: null },
      };
    },
  );

  registerTool(
    server,
    session,
    {
      name: 'get_transaction',
      title: 'Get a transaction',
      description:
        'Returns a transaction sent through VaultPilot by tx_hash or id: status (queued, broadcast, mined, confirmed, reverted, failed), nonce, block number, gas used and fee.',
      input: {
        tx_hash: z.string().optional().describe('0x-prefixed 32-byte transaction hash'),
        id: z.string().optional().describe('Transaction id returned by execute_transfer'),
      },
      output: { transaction: transactionOut },
      annotations: { title: 'Get a transaction', readOnlyHint: true, openWorldHint: false },
    },
    async (args) => {
      const tx = await getTransaction(core, principal, args);
      return {
        result: { transaction: tx },
        summary: `Transaction ${tx.tx_hash}: ${tx.status}${tx.block_number !== null ? ` in block ${tx.block_number}` : ''}, nonce ${tx.nonce}, ${tx.value_eth} ETH to ${tx.to_address}`,
        walletId: tx.wallet_id,
        agentId: tx.agent_id,
      };
    },
  );
}
