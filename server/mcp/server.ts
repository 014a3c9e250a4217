/**
 * Builds the MCP server for one caller: an `McpServer` with every tool group registered for the
 * caller's principal. Streamable HTTP builds one per request (stateless); HTTP+SSE one per
 * session.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { serveToolCalls, type ToolSession } from './tool.ts';
import { registerWalletTools } from './wallet-tools.ts';
import { registerTransferTools } from './transfer-tools.ts';
import { registerChainTools } from './chain-tools.ts';
import { registerToolkitTools } from './toolkit-tools.ts';
import { registerStrategyTools } from './strategy-tools.ts';
import { registerApprovalTools } from './approval-tools.ts';
import { registerPolicyTools } from './policy-tools.ts';

/** Server name and version announced in the MCP `initialize` result. */
export const SERVER_INFO = { name: 'vaultpilot', version: '0.1.0' } as const;

/** Creates an MCP server with all VaultPilot tools bound to `session`. */
export function createMcpServer(session: ToolSession): McpServer {
  const server = new McpServer(SERVER_INFO, {
    capabilities: { tools: {} },
    instructions:
      'VaultPilot holds EVM wallets for agents. Create one with spin_up_wallet, check funds with query_balance, check a send with simulate_transfer, send with execute_transfer and follow it with get_transaction. For conditional sends use dca_once, send_when_gas_below, scheduled_send_once (persist=true makes a strategy when the condition does not hold yet) or micro_tip_equal / micro_tip_amounts; for recurring sends create a strategy (create_strategy_dca, create_strategy), which the server runs and records: watch it with strategy_status, control it with start_strategy, stop_strategy, update_strategy, delete_strategy, tick_strategy. A send that needs a human comes back as pending_approval with an approval_id: a person approves or rejects it in VaultPilot; poll get_approval_status (about once a minute) until it is executed (with the tx hash), rejected, expired or failed, and do not resend meanwhile; list_approvals lists them. get_policy shows the guardrails of a wallet (per-send maximum, rolling spend caps and what is left of them, allowed and denied destinations, chains, approval threshold, quiet hours, rate limits): check it before planning sends; only a human owner or admin can change a policy, in VaultPilot. Amounts are decimal ETH strings, gas ceilings gwei. Errors start with a stable CODE.',
  });
  registerWalletTools(server, session);
  registerTransferTools(server, session);
  registerChainTools(server, session);
  registerToolkitTools(server, session);
  registerStrategyTools(server, session);
  registerApprovalTools(server, session);
  registerPolicyTools(server, session);
  serveToolCalls(server);
  return server;
}
