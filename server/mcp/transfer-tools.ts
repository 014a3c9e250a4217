/**
 * Transfer tools: `simulate_transfer`, `execute_transfer` (AgentVault names and arguments) and
 * `get_transaction`.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { executeTransfer, simulateTransfer, type TransferSimulation } from '../../core/transactions/transfer.ts';
import { getTransaction } from '../../core/transactions/view.ts';
import { registerTool, type ToolSession } from './tool.ts';
import { addressArg, agentIdArg, amountEthArg, ethAmountOut, transactionOut } from './schemas.ts';

const simulationOut = z.object({
  would_succeed: z.boolean(),
  reason: z.string().nullable().describe('INSUFFICIENT_FUNDS or CONFIRMATION_REQUIRED when it would fail'),
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
  const verdict = s.would_succeed ? 'would succeed' : `would fail (${s.reason})`;
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
        'Sends amount_eth of native ETH from agent_id\'s wallet to to_address and returns the recorded transaction (status broadcast once the node accepted it; follow it with get_transaction). Amounts above the server\'s MAX_TX_ETH need confirmation_code, which a human must give you. dry_run=true only simulates.',
      input: {
        ...transferInput,
        confirmation_code: z.string().optional().describe('Required above MAX_TX_ETH; ask a human for it'),
        dry_run: z.boolean().optional().describe('true: simulate only, nothing is signed or sent'),
      },
      output: {
        dry_run: z.boolean(),
        transaction: transactionOut.optional().describe('The recorded transaction (absent for dry runs)'),
        simulation: simulationOut.optional().describe('The simulation (dry runs only)'),
      },
      annotations: { title: 'Send ETH', readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    },
    async (args) => {
      if (args.dry_run) {
        const sim = await simulateTransfer(core, principal, args);
        return { result: { dry_run: true, simulation: sim }, summary: `Dry run, nothing sent. ${simulationSummary(sim)}` };
      }
      const tx = await executeTransfer(core, principal, args, 'mcp');
      return {
        result: { dry_run: false, transaction: tx },
        summary: `Transfer of ${tx.value_eth} ETH to ${tx.to_address}: ${tx.status}, nonce ${tx.nonce}, hash ${tx.tx_hash}${tx.error ? ` (${tx.error})` : ''}`,
        walletId: tx.wallet_id,
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
