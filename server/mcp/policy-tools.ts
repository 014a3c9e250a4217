/**
 * Policy tools: `get_policy(agent_id)`, read only. An agent reads the guardrails of its wallet —
 * the effective rules and where each comes from, the rate limits on its calls, and how much of
 * the rolling spend caps is left — so it can plan sends that will pass. There is deliberately no
 * tool that changes a policy: an agent must not loosen its own guardrails; owners and admins set
 * policies over REST (`PUT /api/wallets/:id/policy`) or in the admin UI.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { getWalletPolicy, POLICY_FIELDS, type WalletPolicyView } from '../../core/policy/service.ts';
import { registerTool, type ToolSession } from './tool.ts';
import { agentIdArg, ethAmountOut } from './schemas.ts';

const eth = (what: string) => z.string().nullable().optional().describe(`${what}, decimal ETH; null: no rule`);
const destinationOut = z.object({ address: z.string().describe('Checksummed 0x address'), label: z.string().optional() });

const policyOut = z.object({
  max_tx_eth: eth('Largest single send'),
  spend_cap_24h_eth: eth('Most the wallet may send in any rolling 24 hours (pending and mined sends count)'),
  spend_cap_7d_eth: eth('Most the wallet may send in any rolling 7 days'),
  allowed_destinations: z.array(destinationOut).nullable().optional().describe('When set, sends may only go to these addresses; null: any address'),
  denied_destinations: z.array(destinationOut).nullable().optional().describe('Sends to these addresses are refused'),
  allowed_chains: z.array(z.number().int()).nullable().optional().describe('When set, only wallets on these chainIds may send'),
  approval_threshold_eth: eth('Sends above this wait for a human\'s approval'),
  quiet_hours: z
    .object({
      start: z.string().describe('HH:MM, 24-hour'),
      end: z.string().describe('HH:MM; before start: the window spans midnight'),
      timezone: z.string().describe('IANA time zone'),
      days: z.array(z.string()).optional().describe('Days the window starts on (mon..sun); absent: every day'),
      action: z.enum(['deny', 'require_approval']).describe('deny: sends are refused; require_approval: a human must approve them'),
    })
    .nullable()
    .optional()
    .describe('Hours during which sends are refused or held for a human'),
});

const rateLimitOut = z.object({ max_calls: z.number().int(), window_seconds: z.number().int() });
const sourceOut = z.enum(['wallet', 'file', 'none']);

const viewOut = {
  agent_id: z.string(),
  wallet_id: z.string(),
  effective: policyOut.describe('The rules that apply to this wallet now (every field present; null: no rule)'),
  wallet: policyOut.nullable().describe('The wallet\'s own overrides (null: none); a field left out inherits the file\'s default'),
  defaults: policyOut.describe('The policy file\'s defaults for every wallet'),
  sources: z
    .object(Object.fromEntries(POLICY_FIELDS.map((f) => [f, sourceOut])) as Record<(typeof POLICY_FIELDS)[number], typeof sourceOut>)
    .describe('Where each effective rule comes from: wallet (an override; null lifts the rule), file (the defaults) or none'),
  rate_limits: z
    .object({
      default: rateLimitOut.nullable().describe('Every tool call of one API key'),
      tools: z.record(z.string(), rateLimitOut).describe('Calls of one tool by one API key, by tool name'),
      agent: rateLimitOut.nullable().describe('Calls naming this agent_id, whichever key makes them'),
    })
    .describe('Rate limits on tool calls (at most max_calls per window_seconds; refusals are RATE_LIMITED)'),
  spent: z.object({ last_24h: ethAmountOut, last_7d: ethAmountOut }).describe('Sent or pending in the rolling windows'),
  remaining: z
    .object({ spend_cap_24h: ethAmountOut.nullable(), spend_cap_7d: ethAmountOut.nullable() })
    .describe('What the spend caps still allow now (null: no cap)'),
  policy_file: z.string().nullable().describe('The policy file in force (null: none)'),
  updated_at: z.string().nullable().describe('When the wallet\'s overrides were last set (ISO 8601)'),
  updated_by: z.string().nullable().describe('Visible id of the key that set them'),
};

const list = (d: Array<{ address: string; label?: string }>) => d.map((x) => (x.label ? `${x.address} (${x.label})` : x.address)).join(', ');

/** One paragraph an agent can plan with: each rule that applies, the spend left, the rate limits. */
export function policySummary(v: WalletPolicyView): string {
  const e = v.effective;
  const from = (f: keyof typeof v.sources) => (v.sources[f] === 'none' ? '' : ` [${v.sources[f]}]`);
  const rules: string[] = [];
  if (e.max_tx_eth !== null) rules.push(`at most ${e.max_tx_eth} ETH per send${from('max_tx_eth')}`);
  if (e.spend_cap_24h_eth !== null) rules.push(`24 h cap ${e.spend_cap_24h_eth} ETH, ${v.remaining.spend_cap_24h?.eth} ETH left${from('spend_cap_24h_eth')}`);
  if (e.spend_cap_7d_eth !== null) rules.push(`7 d cap ${e.spend_cap_7d_eth} ETH, ${v.remaining.spend_cap_7d?.eth} ETH left${from('spend_cap_7d_eth')}`);
  if (e.allowed_destinations !== null) rules.push(e.allowed_destinations.length ? `only to ${list(e.allowed_destinations)}${from('allowed_destinations')}` : `no destination allowed${from('allowed_destinations')}`);
  if (e.denied_destinations !== null) rules.push(`never to ${list(e.denied_destinations)}${from('denied_destinations')}`);
  if (e.allowed_chains !== null) rules.push(`only on chainIds ${e.allowed_chains.join(', ')}${from('allowed_chains')}`);
  if (e.approval_threshold_eth !== null) rules.push(`sends above ${e.approval_threshold_eth} ETH need a human's approval${from('approval_threshold_eth')}`);
  if (e.quiet_hours !== null) {
    const q = e.quiet_hours;
    rules.push(`quiet hours ${q.start}-${q.end} ${q.timezone}${q.days ? ` (${q.days.join(', ')})` : ''}: ${q.action === 'deny' ? 'sends refused' : 'sends need approval'}${from('quiet_hours')}`);
  }
  const r = v.rate_limits;
  const limits = [
    r.default && `${r.default.max_calls} calls per ${r.default.window_seconds} s per key`,
    r.agent && `${r.agent.max_calls} calls per ${r.agent.window_seconds} s naming ${v.agent_id}`,
    ...Object.entries(r.tools).map(([t, l]) => `${t}: ${l.max_calls} per ${l.window_seconds} s`),
  ].filter(Boolean);
  return [
    `Policy of ${v.agent_id}: ${rules.length ? rules.join('; ') : 'no spend rules'}.`,
    `Spent or pending: ${v.spent.last_24h.eth} ETH in 24 h, ${v.spent.last_7d.eth} ETH in 7 d.`,
    limits.length ? `Rate limits: ${limits.join('; ')}.` : 'No rate limits.',
    'Only an owner or admin can change this policy, in VaultPilot.',
  ].join(' ');
}

/** Registers the policy tools on `server` for `session`. */
export function registerPolicyTools(server: McpServer, session: ToolSession): void {
  const { core, principal } = session;

  registerTool(
    server,
    session,
    {
      name: 'get_policy',
      title: 'Get a wallet\'s policy',
      description:
        'Returns the guardrails of agent_id\'s wallet: the effective rules (max_tx_eth, rolling 24 h / 7 d spend caps in ETH, destination allowlist and denylist, allowed chains, approval threshold, quiet hours) with where each comes from (wallet override, policy file, none), the rate limits on tool calls naming this wallet, and what was sent in the rolling windows and what the caps still allow. Check it before planning sends: execute_transfer refuses a send that breaks a rule with a POLICY_* code. Read only: there is no tool to change a policy (an agent cannot loosen its own guardrails); ask an owner or admin, who sets it in VaultPilot.',
      input: { agent_id: agentIdArg },
      output: viewOut,
      annotations: { title: 'Get a wallet\'s policy', readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async (args) => {
      const view = await getWalletPolicy(core, principal, { agent_id: args.agent_id });
      return { result: view, summary: policySummary(view), walletId: view.wallet_id, agentId: view.agent_id };
    },
  );
}
