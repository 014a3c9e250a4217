/**
 * Wallet tools (AgentVault names): `spin_up_wallet`, `list_wallets`, `query_balance`.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { createWallet, getWalletByAgent, listWallets, walletBalance, walletView } from '../../core/wallets/service.ts';
import { registerTool, type ToolSession } from './tool.ts';
import { agentIdArg, ethAmountOut, walletOut } from './schemas.ts';

/** Registers the wallet tools on `server` for `session`. */
export function registerWalletTools(server: McpServer, session: ToolSession): void {
  const { core, principal } = session;

  registerTool(
    server,
    session,
    {
      name: 'spin_up_wallet',
      title: 'Create a wallet',
      description:
        'Creates an EVM wallet (a new private key, wrapped by the key provider and never shown) for agent_id and returns its address. Calling it again for the same agent_id returns the existing wallet.',
      input: { agent_id: agentIdArg },
      output: { wallet: walletOut, created: z.boolean().describe('false when the wallet already existed') },
      annotations: { title: 'Create a wallet', readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async (args, ctx) => {
      const { wallet, created } = await createWallet(ctx, principal, args.agent_id);
      return {
        result: { wallet, created },
        summary: `${created ? 'Created' : 'Existing'} wallet for ${wallet.agent_id}: ${wallet.address} (chainId ${wallet.chain_id})`,
        walletId: wallet.id,
      };
    },
  );

  registerTool(
    server,
    session,
    {
      name: 'list_wallets',
      title: 'List wallets',
      description: 'Lists the wallets this API key\'s tenant holds (agent_id and address), newest first. Pass next_cursor back as cursor for the next page.',
      input: {
        limit: z.number().int().min(1).max(200).optional().describe('Page size, 1-200 (default 100)'),
        cursor: z.string().optional().describe('next_cursor from the previous page'),
      },
      output: { wallets: z.array(walletOut), next_cursor: z.string().nullable() },
      annotations: { title: 'List wallets', readOnlyHint: true, openWorldHint: false },
    },
    async (args) => {
      const page = await listWallets(core, principal, { limit: args.limit ?? 100, ...(args.cursor ? { cursor: args.cursor } : {}) });
      return {
        result: page,
        summary: page.wallets.length === 0 ? 'No wallets yet; create one with spin_up_wallet.' : page.wallets.map((w) => `${w.agent_id}: ${w.address}`).join('\n'),
      };
    },
  );

  registerTool(
    server,
    session,
    {
      name: 'query_balance',
      title: 'Query balance',
      description: 'Reads the native ETH balance of agent_id\'s wallet from the chain (latest block).',
      input: { agent_id: agentIdArg },
      output: { agent_id: z.string(), address: z.string(), chain_id: z.number().int(), balance: ethAmountOut, balance_eth: z.string(), balance_wei: z.string() },
      annotations: { title: 'Query balance', readOnlyHint: true, openWorldHint: true },
    },
    async (args) => {
      const row = await getWalletByAgent(core, principal, args.agent_id);
      const balance = await walletBalance(core, row);
      const w = walletView(row);
      return {
        result: { agent_id: w.agent_id, address: w.address, chain_id: w.chain_id, balance, balance_eth: balance.eth, balance_wei: balance.wei },
        summary: `${w.agent_id} (${w.address}) holds ${balance.eth} ETH`,
        walletId: w.id,
      };
    },
  );
}
