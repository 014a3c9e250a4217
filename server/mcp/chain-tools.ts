/**
 * Chain tools: `provider_status` and, when a faucet is configured, `request_faucet_funds`.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { faucetEnabled, payFromFaucet } from '../../core/chain/faucet.ts';
import { formatEth, formatGwei, parseEthAmount } from '../../core/money.ts';
import { getWalletByAgent } from '../../core/wallets/service.ts';
import { registerTool, type ToolSession } from './tool.ts';
import { agentIdArg, amountEthArg, ethAmountOut } from './schemas.ts';

/** Registers the chain tools on `server` for `session`. */
export function registerChainTools(server: McpServer, session: ToolSession): void {
  const { core, principal } = session;

  registerTool(
    server,
    session,
    {
      name: 'provider_status',
      title: 'Chain status',
      description: 'Reports the connected chain: chainId, latest block, EIP-1559 base fee (gwei), and which RPC endpoint is in use.',
      input: {},
      output: {
        chain_id: z.number().int(),
        latest_block_number: z.number().int(),
        base_fee_per_gas_gwei: z.string().nullable(),
        rpc_endpoint_index: z.number().int().describe('0-based position in RPC_URLS of the endpoint in use'),
        rpc_endpoints: z.number().int(),
        faucet_available: z.boolean(),
      },
      annotations: { title: 'Chain status', readOnlyHint: true, openWorldHint: true },
    },
    async () => {
      const s = await core.chain.status();
      const baseFee = s.baseFeePerGasWei === null ? null : formatGwei(s.baseFeePerGasWei);
      return {
        result: {
          chain_id: s.chainId,
          latest_block_number: s.blockNumber,
          base_fee_per_gas_gwei: baseFee,
          rpc_endpoint_index: s.endpoint,
          rpc_endpoints: s.endpoints,
          faucet_available: faucetEnabled(core),
        },
        summary: `chainId ${s.chainId}, block ${s.blockNumber}, base fee ${baseFee ?? 'n/a'} gwei (RPC endpoint ${s.endpoint + 1} of ${s.endpoints})`,
      };
    },
  );

  if (!faucetEnabled(core)) return;
  registerTool(
    server,
    session,
    {
      name: 'request_faucet_funds',
      title: 'Request test ETH',
      description: `Funds agent_id's wallet from this server's test-network faucet (at most ${formatEth(core.config.faucetMaxWei)} ETH per call) and waits for the payment to be mined.`,
      input: { agent_id: agentIdArg, amount_eth: amountEthArg.optional().describe(`ETH to request, decimal string (default and maximum ${formatEth(core.config.faucetMaxWei)})`) },
      output: {
        agent_id: z.string(),
        tx_hash: z.string(),
        from_address: z.string(),
        to_address: z.string(),
        amount: ethAmountOut,
        block_number: z.number().int().nullable(),
      },
      annotations: { title: 'Request test ETH', readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    async (args) => {
      const amount = args.amount_eth === undefined ? undefined : parseEthAmount('amount_eth', args.amount_eth);
      const wallet = await getWalletByAgent(core, principal, args.agent_id);
      const paid = await payFromFaucet(core, wallet.address, amount);
      return {
        result: { agent_id: wallet.agent_id, ...paid },
        summary: `Faucet sent ${paid.amount.eth} ETH to ${wallet.agent_id} (${wallet.address}), tx ${paid.tx_hash}`,
        walletId: wallet.id,
      };
    },
  );
}
