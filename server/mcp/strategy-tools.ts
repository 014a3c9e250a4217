/**
 * Strategy tools (AgentVault names and arguments): the stateful lifecycle — `create_strategy_dca`,
 * `create_strategy` (any kind), `start_strategy`, `stop_strategy`, `update_strategy`,
 * `delete_strategy`, `strategy_status`, `list_strategies`, `tick_strategy` — and the one-shot
 * tools that act now when their condition holds: `send_when_gas_below`, `dca_once`,
 * `scheduled_send_once`, `micro_tip_equal`, `micro_tip_amounts`.
 *
 * Annotations: everything that can move funds (create, start, update, tick, the one-shots) is
 * destructive; `delete_strategy` is destructive too (the strategy is gone, its runs stay in
 * history); `stop_strategy` is idempotent.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import {
  createStrategy, deleteStrategy, listStrategies, startStrategy, stopStrategy, strategyStatus, tickStrategy, updateStrategy,
  type ManualTickView, type StrategyView,
} from '../../core/strategies/service.ts';
import { dcaOnce, microTipAmounts, microTipEqual, scheduledSendOnce, sendWhenGasBelowOnce, withArgNames, type OneShotResult } from '../../core/strategies/one-shot.ts';
import { KIND_NAMES, kindOf } from '../../core/strategies/kinds/index.ts';
import { commonInput } from '../../core/strategies/kinds/common.ts';
import { MAX_RECIPIENTS } from '../../core/strategies/kinds/micro-tip.ts';
import { registerTool, type ToolSession } from './tool.ts';
import { addressArg, agentIdArg, amountEthArg, ethAmountOut, transactionOut } from './schemas.ts';

const labelArg = z.string().describe('The strategy\'s label: its name, unique among this tenant\'s strategies (1-100 printable characters)');
const codeArg = z.string().optional().describe('Needed when one send is above the server\'s MAX_TX_ETH: the TX_CONFIRM_CODE a human gives you (never stored)');
const dryRunArg = z.boolean().optional().describe('true: check the condition and simulate; nothing is signed, sent or stored');
const gweiArg = (what: string) => z.union([z.string(), z.number()]).describe(`${what}, in gwei as a decimal string such as "30" (at most 9 decimals)`);
const optEth = (what: string) => amountEthArg.optional().describe(`${what}, decimal ETH string such as "0.5"`);

const strategyOut = z.object({
  id: z.string(),
  label: z.string(),
  kind: z.string().describe(KIND_NAMES.join(' | ')),
  agent_id: z.string(),
  wallet_id: z.string(),
  from_address: z.string(),
  status: z.enum(['active', 'stopped', 'completed', 'paused']).describe('paused: its responsible key (created_by) was revoked or expired; start_strategy with a valid key resumes it under that key'),
  end_reason: z.string().nullable().describe('Why a completed strategy ended: sent, max_runs, ends_at, expired'),
  paused_reason: z.string().nullable().describe('Why a paused strategy was paused: key_revoked or key_expired'),
  created_by: z.string().nullable().describe('Visible id (vp_…) of the responsible key: the one that created the strategy or last resumed it; null for an imported strategy'),
  params: z.record(z.string(), z.unknown()).describe('The kind\'s params: amounts as {eth, wei}, gas ceilings in gwei, times ISO 8601'),
  next_run_at: z.string().nullable().describe('ISO 8601 time the next run is due; null unless active'),
  last_run_at: z.string().nullable(),
  runs: z.object({ sent: z.number().int(), skipped: z.number().int(), failed: z.number().int() }),
  spent_24h: ethAmountOut.describe('Sent in the rolling 24 hours'),
  spent_total: ethAmountOut.describe('Sent ever'),
  origin: z.string().describe('created, or agentvault for an imported strategy'),
  created_at: z.string(),
  updated_at: z.string(),
});

const runOut = z.object({
  id: z.string(),
  strategy_id: z.string(),
  slot_at: z.string().describe('The scheduled time this run was for (ISO 8601)'),
  source: z.enum(['schedule', 'manual']),
  outcome: z.enum(['sent', 'skipped', 'failed']),
  reason: z.string().nullable().describe('Skip reason: gas_above_ceiling, daily_cap, reserve, not_due, insufficient_funds'),
  error_code: z.string().nullable().describe('Coded error of a failed run: RATE_LIMITED (a rate limit of the wallet or the responsible key), a POLICY_* code, APPROVAL_REQUIRED, RPC_UNAVAILABLE, …'),
  detail: z.string().nullable(),
  amount: ethAmountOut,
  transactions: z.array(z.object({ id: z.string(), tx_hash: z.string(), to_address: z.string(), value_eth: z.string(), status: z.string() })),
  started_at: z.string(),
  created_at: z.string(),
});

const tickOut = {
  outcome: z.enum(['sent', 'skipped', 'failed', 'ended', 'paused', 'stale', 'dry_run']).describe('stale: the slot was taken by another tick meanwhile; paused: the responsible key was revoked or expired, so the strategy was paused instead'),
  dry_run: z.boolean(),
  decision: z
    .object({
      action: z.enum(['send', 'skip', 'end']),
      reason: z.string().nullable(),
      detail: z.string().nullable(),
      sends: z.array(z.object({ to_address: z.string(), amount: ethAmountOut })),
    })
    .nullable(),
  run: runOut.nullable().describe('The strategy_runs row this tick wrote (null for dry runs)'),
  strategy: strategyOut,
};

const oneShotOut = {
  action: z.enum(['sent', 'skipped', 'persisted', 'simulated']).describe('sent: broadcast now; skipped: condition not met, nothing written; persisted: condition not met, a strategy was created to send later; simulated: dry run'),
  reason: z.enum(['gas_above_ceiling', 'not_due']).nullable().describe('Why nothing was sent now (skipped, persisted)'),
  detail: z.string(),
  dry_run: z.boolean(),
  agent_id: z.string(),
  wallet_id: z.string(),
  from_address: z.string(),
  sends: z.array(z.object({ to_address: z.string(), amount: ethAmountOut })),
  total: ethAmountOut,
  base_fee_gwei: z.string().nullable().describe('The latest block\'s base fee, gwei (tools with a gas ceiling)'),
  max_base_fee_gwei: z.string().nullable(),
  send_at: z.string().nullable().describe('scheduled_send_once: the send time, ISO 8601 UTC'),
  seconds_until_due: z.number().int().nullable(),
  transactions: z.array(transactionOut).describe('The transactions sent (action sent)'),
  simulation: z
    .object({
      would_succeed: z.boolean(),
      reason: z.string().nullable().describe('Why it would be refused: INSUFFICIENT_FUNDS, CONFIRMATION_REQUIRED, a POLICY_* code or APPROVAL_REQUIRED'),
      policy: z
        .object({ decision: z.enum(['allow', 'deny', 'require_approval']), rule: z.string().nullable(), message: z.string().nullable() })
        .describe("The wallet policy's decision on these sends"),
      balance: ethAmountOut,
      available: ethAmountOut.describe('Balance minus what pending transactions may still spend'),
      gas_limits: z.array(z.string()).describe('Gas units per send'),
      max_fee_per_gas_gwei: z.string(),
      max_priority_fee_per_gas_gwei: z.string(),
      max_fee: ethAmountOut.describe('Most the fees can cost'),
      max_total: ethAmountOut.describe('Amounts plus the most the fees can cost'),
      requires_confirmation: z.boolean(),
    })
    .nullable()
    .describe('Dry runs whose condition holds'),
  strategy: strategyOut.nullable().describe('The strategy created (action persisted)'),
};

/** Each kind's params, for the description of `create_strategy`, from the kinds' own zod shapes. */
function kindParamsHelp(): string {
  const common = Object.keys(commonInput);
  const describe = (name: string, schema: z.ZodType) => `${name}${schema.safeParse(undefined).success ? '?' : ''} (${schema.description ?? ''})`;
  const kinds = KIND_NAMES.map((k) => {
    const def = kindOf(k);
    const fields = Object.entries(def.input).filter(([n]) => !common.includes(n)).map(([n, s]) => describe(n, s as z.ZodType));
    return `${k}: ${def.summary}. Params: ${fields.join('; ')}.`;
  });
  const guards = Object.entries(commonInput).map(([n, s]) => describe(n, s as z.ZodType));
  return `${kinds.join('\n')}\nEvery kind also takes: ${guards.join('; ')}.`;
}

function strategySummary(s: StrategyView): string {
  const next = s.next_run_at ? `, next run ${s.next_run_at}` : s.end_reason ? ` (${s.end_reason})` : '';
  return `Strategy "${s.label}" (${s.kind}, ${s.agent_id}): ${s.status}${next}; runs sent ${s.runs.sent}, skipped ${s.runs.skipped}, failed ${s.runs.failed}; spent ${s.spent_total.eth} ETH (${s.spent_24h.eth} in 24 h)`;
}

function tickSummary(t: ManualTickView): string {
  const d = t.decision;
  const why = d ? (d.action === 'send' ? `send ${d.sends.map((s) => `${s.amount.eth} ETH to ${s.to_address}`).join(', ')}` : `${d.action} (${d.reason}): ${d.detail}`) : 'no decision';
  const txs = t.run?.transactions.length ? `; tx ${t.run.transactions.map((x) => x.tx_hash).join(', ')}` : '';
  return `${t.dry_run ? 'Dry run of' : 'Tick of'} "${t.strategy.label}": ${t.outcome}; decision: ${why}${txs}`;
}

function oneShotSummary(r: OneShotResult): string {
  const txs = r.transactions.length ? ` Tx: ${r.transactions.map((t) => t.tx_hash).join(', ')}` : '';
  return `${r.action}${r.reason ? ` (${r.reason})` : ''}: ${r.detail}.${txs}`;
}

/** Puts the defined values of `args` under `keys` into a params object (undefined keys omitted). */
function pick(args: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => args[k] !== undefined).map((k) => [k, args[k]]));
}

const DCA_PARAM_KEYS = ['to_address', 'amount_eth', 'interval_seconds', 'cron', 'timezone', 'max_base_fee_gwei', 'start_at', 'daily_cap_eth', 'max_runs', 'ends_at', 'min_balance_reserve_eth'] as const;

/** Registers the strategy tools on `server` for `session`. */
export function registerStrategyTools(server: McpServer, session: ToolSession): void {
  const { core, principal } = session;
  const moves = { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true } as const;
  const strategyResult = (strategy: StrategyView) => ({ result: { strategy }, summary: strategySummary(strategy), walletId: strategy.wallet_id, agentId: strategy.agent_id });

  registerTool(
    server,
    session,
    {
      name: 'create_strategy_dca',
      title: 'Create a DCA strategy',
      description:
        'Creates (and by default starts) a dollar-cost-averaging strategy: the worker sends amount_eth from agent_id\'s wallet to to_address every interval_seconds (or on a cron schedule), skipping a run when the base fee is above max_base_fee_gwei, when the rolling-24h total would pass daily_cap_eth, or when it would leave less than min_balance_reserve_eth. Every run is recorded (strategy_status). Per-run amounts above MAX_TX_ETH need confirmation_code once, here.',
      input: {
        label: labelArg,
        agent_id: agentIdArg,
        to_address: addressArg('Recipient of every run'),
        amount_eth: amountEthArg.describe('ETH per run, decimal string such as "0.01"'),
        interval_seconds: z.number().optional().describe('Seconds between runs (whole number, 1 to 31622400); give this or cron'),
        max_base_fee_gwei: gweiArg('Only send when the latest base fee is at most this').optional(),
        daily_cap_eth: optEth('Most ETH this strategy may send in any rolling 24 hours (at least amount_eth)'),
        cron: z.string().optional().describe('Cron expression instead of interval_seconds: 5 fields (minute hour day month weekday), or 6 with seconds first, e.g. "0 9 * * 1-5"'),
        timezone: z.string().optional().describe('IANA time zone of cron, e.g. "Europe/Berlin" (default UTC)'),
        start_at: z.string().optional().describe('ISO 8601 time of the first run, with a zone (default: now)'),
        max_runs: z.number().optional().describe('Complete after this many sends (positive whole number)'),
        ends_at: z.string().optional().describe('ISO 8601 time after which the strategy completes'),
        min_balance_reserve_eth: optEth('Never leave the wallet below this many ETH'),
        start: z.boolean().optional().describe('Start at once (default true); false creates it stopped'),
        confirmation_code: codeArg,
      },
      output: { strategy: strategyOut },
      annotations: { title: 'Create a DCA strategy', ...moves },
    },
    async (args, ctx) => {
      const strategy = await withArgNames(() =>
        createStrategy(ctx, principal, {
          kind: 'dca',
          label: args.label,
          agent_id: args.agent_id,
          params: pick(args, DCA_PARAM_KEYS),
          start: args.start !== false,
          confirmation_code: args.confirmation_code,
        }),
      );
      return strategyResult(strategy);
    },
  );

  registerTool(
    server,
    session,
    {
      name: 'create_strategy',
      title: 'Create a strategy',
      description: `Creates (and by default starts) a strategy of any kind; the worker runs it and records every run. Amounts are decimal ETH strings, gas ceilings gwei, times ISO 8601 with a zone. Errors name params.<field>.\n${kindParamsHelp()}`,
      input: {
        kind: z.string().describe(`Strategy kind: ${KIND_NAMES.join(', ')}`),
        label: labelArg,
        agent_id: agentIdArg,
        params: z.record(z.string(), z.unknown()).describe('The kind\'s params (see the tool description); unknown fields are refused'),
        start: z.boolean().optional().describe('Start at once (default true); false creates it stopped'),
        confirmation_code: codeArg,
      },
      output: { strategy: strategyOut },
      annotations: { title: 'Create a strategy', ...moves },
    },
    async (args, ctx) => strategyResult(await createStrategy(ctx, principal, { ...args, start: args.start !== false })),
  );

  registerTool(
    server,
    session,
    {
      name: 'start_strategy',
      title: 'Start a strategy',
      description: 'Starts (or resumes) a stopped or paused strategy; its first run is scheduled from now. Resuming a paused one (its responsible key was revoked or expired) makes your key responsible for it (created_by): it answers for the sends from now on. Starting an active one changes nothing; a completed one cannot be restarted (STRATEGY_COMPLETED).',
      input: { label: labelArg },
      output: { strategy: strategyOut },
      annotations: { title: 'Start a strategy', ...moves },
    },
    async (args, ctx) => strategyResult(await startStrategy(ctx, principal, { label: args.label })),
  );

  registerTool(
    server,
    session,
    {
      name: 'stop_strategy',
      title: 'Stop a strategy',
      description: 'Stops a strategy and cancels its pending run (a run already in progress finishes). start_strategy resumes it.',
      input: { label: labelArg },
      output: { strategy: strategyOut },
      annotations: { title: 'Stop a strategy', readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async (args, ctx) => strategyResult(await stopStrategy(ctx, principal, { label: args.label })),
  );

  registerTool(
    server,
    session,
    {
      name: 'update_strategy',
      title: 'Update a strategy',
      description: 'Replaces ALL of a strategy\'s params (validated as at creation; see create_strategy for each kind\'s fields) and reschedules it when it is running. Amounts above MAX_TX_ETH need confirmation_code.',
      input: {
        label: labelArg,
        params: z.record(z.string(), z.unknown()).describe('The complete new params of the strategy\'s kind'),
        confirmation_code: codeArg,
      },
      output: { strategy: strategyOut },
      annotations: { title: 'Update a strategy', ...moves, idempotentHint: true },
    },
    async (args, ctx) => strategyResult(await updateStrategy(ctx, principal, { label: args.label }, { params: args.params, confirmation_code: args.confirmation_code })),
  );

  registerTool(
    server,
    session,
    {
      name: 'delete_strategy',
      title: 'Delete a strategy',
      description: 'Stops a strategy and deletes it; its runs and transactions stay in the history, and the label becomes free. Returns the strategy as it was.',
      input: { label: labelArg },
      output: { strategy: strategyOut },
      annotations: { title: 'Delete a strategy', readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    },
    async (args, ctx) => {
      const strategy = await deleteStrategy(ctx, principal, { label: args.label });
      return { ...strategyResult(strategy), summary: `Deleted strategy "${strategy.label}" (${strategy.kind}, ${strategy.agent_id}); ${strategy.runs.sent} sent runs stay in history` };
    },
  );

  registerTool(
    server,
    session,
    {
      name: 'strategy_status',
      title: 'Strategy status',
      description: 'A strategy\'s config, state (active, stopped, completed, paused with paused_reason), responsible key (created_by), next run, run counts, ETH spent (24 h and total), and its last 10 runs with their outcome (sent, skipped with a reason, failed with a code) and transactions.',
      input: { label: labelArg },
      output: { strategy: strategyOut, last_runs: z.array(runOut).describe('Newest first') },
      annotations: { title: 'Strategy status', readOnlyHint: true, openWorldHint: false },
    },
    async (args) => {
      const out = await strategyStatus(core, principal, { label: args.label });
      const last = out.last_runs[0];
      return {
        result: out,
        summary: `${strategySummary(out.strategy)}${last ? `; last run ${last.outcome}${last.reason ? ` (${last.reason})` : ''} at ${last.started_at}` : '; no runs yet'}`,
        walletId: out.strategy.wallet_id,
        agentId: out.strategy.agent_id,
      };
    },
  );

  registerTool(
    server,
    session,
    {
      name: 'list_strategies',
      title: 'List strategies',
      description: 'Lists this tenant\'s strategies, newest first, optionally one agent\'s or one status only. Pass next_cursor back as cursor for the next page.',
      input: {
        agent_id: agentIdArg.optional().describe('Only this agent\'s strategies'),
        status: z.enum(['active', 'stopped', 'completed', 'paused']).optional().describe('Only strategies in this state'),
        limit: z.number().int().min(1).max(200).optional().describe('Page size, 1-200 (default 100)'),
        cursor: z.string().optional().describe('next_cursor from the previous page'),
      },
      output: { strategies: z.array(strategyOut), next_cursor: z.string().nullable() },
      annotations: { title: 'List strategies', readOnlyHint: true, openWorldHint: false },
    },
    async (args) => {
      const page = await listStrategies(core, principal, {
        limit: args.limit ?? 100,
        ...(args.agent_id !== undefined ? { agent_id: args.agent_id } : {}),
        ...(args.status ? { status: args.status } : {}),
        ...(args.cursor ? { cursor: args.cursor } : {}),
      });
      return {
        result: page,
        summary: page.strategies.length === 0 ? 'No strategies; create one with create_strategy_dca or create_strategy.' : page.strategies.map((s) => `${s.label}: ${s.kind} for ${s.agent_id}, ${s.status}`).join('\n'),
      };
    },
  );

  registerTool(
    server,
    session,
    {
      name: 'tick_strategy',
      title: 'Run a strategy now',
      description: 'Runs one tick of an active strategy now, through the same path as the worker: a due run is claimed and made (sent or skipped with a reason, recorded in strategy_status); before it is due the tick is recorded as skipped (not_due). dry_run=true only shows the decision and writes nothing (also for a stopped strategy).',
      input: { label: labelArg, dry_run: dryRunArg },
      output: tickOut,
      annotations: { title: 'Run a strategy now', ...moves },
    },
    async (args, ctx) => {
      const out = await tickStrategy(ctx, principal, { label: args.label }, { dryRun: args.dry_run === true });
      return { result: out, summary: tickSummary(out), walletId: out.strategy.wallet_id, agentId: out.strategy.agent_id };
    },
  );

  // One-shot tools: act now when the condition holds, otherwise say why (or persist a strategy).

  const send = { agent_id: agentIdArg, to_address: addressArg('Recipient'), amount_eth: amountEthArg };
  const oneShot = (r: OneShotResult) => ({ result: r, summary: oneShotSummary(r), agentId: r.agent_id, walletId: r.wallet_id });

  registerTool(
    server,
    session,
    {
      name: 'send_when_gas_below',
      title: 'Send when gas is low',
      description:
        'Sends amount_eth to to_address now if the latest block\'s base fee is at most max_base_fee_gwei; otherwise sends nothing and returns action "skipped" with reason "gas_above_ceiling" and both fees. With persist=true (and a label) it instead creates a send_when_gas_below strategy that checks every check_interval_seconds and sends once the fee comes down (until expires_at).',
      input: {
        ...send,
        max_base_fee_gwei: gweiArg('Ceiling on the latest base fee'),
        dry_run: dryRunArg,
        confirmation_code: codeArg,
        persist: z.boolean().optional().describe('true: if the fee is too high now, create a strategy that sends once it comes down'),
        label: labelArg.optional().describe('With persist: the new strategy\'s label (1-100 characters)'),
        check_interval_seconds: z.number().optional().describe('With persist: seconds between fee checks (1-86400, default 30)'),
        expires_at: z.string().optional().describe('With persist: ISO 8601 time to give up at'),
      },
      output: oneShotOut,
      annotations: { title: 'Send when gas is low', ...moves },
    },
    async (args, ctx) => oneShot(await sendWhenGasBelowOnce(ctx, principal, args)),
  );

  registerTool(
    server,
    session,
    {
      name: 'dca_once',
      title: 'One DCA send',
      description: 'One dollar-cost-averaging send now: sends amount_eth to to_address, unless max_base_fee_gwei is given and the latest base fee is above it (then action "skipped", reason "gas_above_ceiling", nothing sent). For a schedule, use create_strategy_dca.',
      input: {
        ...send,
        max_base_fee_gwei: gweiArg('Optional ceiling on the latest base fee').optional(),
        dry_run: dryRunArg,
        confirmation_code: codeArg,
      },
      output: oneShotOut,
      annotations: { title: 'One DCA send', ...moves },
    },
    async (args, ctx) => oneShot(await dcaOnce(ctx, principal, args)),
  );

  registerTool(
    server,
    session,
    {
      name: 'scheduled_send_once',
      title: 'Send at a time',
      description:
        'Sends amount_eth to to_address now if send_at_iso has come; otherwise sends nothing and returns action "skipped", reason "not_due" with seconds_until_due. With persist=true (and a label) it instead creates a scheduled_send strategy that sends at send_at_iso.',
      input: {
        ...send,
        send_at_iso: z.string().describe('ISO 8601 send time, e.g. "2026-12-24T18:00:00Z" (without a zone it is read as UTC)'),
        dry_run: dryRunArg,
        confirmation_code: codeArg,
        persist: z.boolean().optional().describe('true: if the time has not come, create a strategy that sends then'),
        label: labelArg.optional().describe('With persist: the new strategy\'s label (1-100 characters)'),
      },
      output: oneShotOut,
      annotations: { title: 'Send at a time', ...moves },
    },
    async (args, ctx) => oneShot(await scheduledSendOnce(ctx, principal, args)),
  );

  registerTool(
    server,
    session,
    {
      name: 'micro_tip_equal',
      title: 'Tip several, equal split',
      description: `Splits total_amount_eth equally over recipients (1 to ${MAX_RECIPIENTS} distinct addresses) and pays them all now, one transaction each with consecutive nonces, recorded together: everyone is paid or no one. Leftover wei go to the first recipients, so the parts add up to exactly the total. A part above MAX_TX_ETH needs confirmation_code.`,
      input: {
        agent_id: agentIdArg,
        recipients: z.array(z.string()).describe('Recipient addresses (0x-prefixed, 20 bytes), each once'),
        total_amount_eth: amountEthArg.describe('ETH shared by all recipients, decimal string such as "0.03"'),
        dry_run: dryRunArg,
        confirmation_code: codeArg,
      },
      output: oneShotOut,
      annotations: { title: 'Tip several, equal split', ...moves },
    },
    async (args, ctx) => oneShot(await microTipEqual(ctx, principal, args)),
  );

  registerTool(
    server,
    session,
    {
      name: 'micro_tip_amounts',
      title: 'Tip several, given amounts',
      description: `Pays each address in items its own amount now (1 to ${MAX_RECIPIENTS} distinct addresses), one transaction each with consecutive nonces, recorded together: everyone is paid or no one. An amount above MAX_TX_ETH needs confirmation_code.`,
      input: {
        agent_id: agentIdArg,
        items: z.record(z.string(), z.union([z.string(), z.number()])).describe('Recipient address -> amount in ETH (decimal string), e.g. {"0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B": "0.001"}'),
        dry_run: dryRunArg,
        confirmation_code: codeArg,
      },
      output: oneShotOut,
      annotations: { title: 'Tip several, given amounts', ...moves },
    },
    async (args, ctx) => oneShot(await microTipAmounts(ctx, principal, args)),
  );
}
