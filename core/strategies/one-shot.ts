/**
 * AgentVault's one-shot strategy tools, as plain functions: `send_when_gas_below`, `dca_once`,
 * `scheduled_send_once`, `micro_tip_equal` and `micro_tip_amounts`.
 *
 * Each validates every argument first (the parsers of core/money.ts and the strategy kinds, so
 * errors carry the same codes and name the argument), then sends NOW when its condition holds
 * (the latest base fee is at most the ceiling; `send_at_iso` has come) and otherwise returns a
 * "not sent" result saying why (`gas_above_ceiling`, `not_due`) with the numbers. With
 * `persist: true` a condition that does not hold yet creates the matching strategy
 * (`send_when_gas_below` or `scheduled_send`, labelled `label`) instead, which the worker then
 * runs. `dry_run` writes nothing: it reports the condition and a simulation of the sends.
 *
 * Sends go through the agent's transfer path: one send is `executeTransfer` (spend gate, funds
 * check, nonce under the wallet lock, signed row before broadcast); a micro tip is
 * `sendTransfers`, the same path for several sends: ONE database transaction with consecutive
 * nonces (all or nothing), broadcast after commit.
 */
import type { CoreContext } from '../context.ts';
import type { Principal } from '../auth/api-keys.ts';
import type { WalletRow } from '../db/types.ts';
import { ValidationError, type ErrorCode, type PolicyError } from '../errors.ts';
import { ethAmount, formatEth, formatGwei, parseAddress, parseEthAmount, type EthAmount } from '../money.ts';
import {
  executeTransfer, needsConfirmation, readSendSnapshot, reservedByPending, sendTransfers, transferGas, type TransferSource,
} from '../transactions/transfer.ts';
import type { TransactionView } from '../transactions/view.ts';
import { getWalletByAgent, parseAgentId } from '../wallets/service.ts';
import { gweiParam, timeParam } from './kinds/common.ts';
import { kindOf, parseParams } from './kinds/index.ts';
import { decideSends } from '../policy/enforce.ts';
import { equalSplit, MAX_RECIPIENTS } from './kinds/micro-tip.ts';
import { createStrategy, parseLabel, type StrategyView } from './service.ts';

/** Why a one-shot did not send now. */
export type NotSentReason = 'gas_above_ceiling' | 'not_due';

/** A dry run's view of the sends: what they would cost and whether they would go through. */
export interface SendsSimulation {
  would_succeed: boolean;
  /**
   * Why they would be refused: `INSUFFICIENT_FUNDS`, `FEE_CAP_EXCEEDED`, a policy code
   * (`POLICY_*`) or `APPROVAL_REQUIRED` (one-shots cannot wait for a human); null when they would go.
   */
  reason: string | null;
  /** The wallet policy's decision on these sends (docs/policies.md). */
  policy: { decision: 'allow' | 'deny' | 'require_approval'; rule: string | null; message: string | null };
  balance: EthAmount;
  /** Balance minus what the wallet's unmined transactions may still spend. */
  available: EthAmount;
  /** Gas limit of each send, in the order of `sends`. */
  gas_limits: string[];
  max_fee_per_gas_gwei: string;
  max_priority_fee_per_gas_gwei: string;
  /** Most the fees can cost: sum of gas limits × max fee per gas. */
  max_fee: EthAmount;
  /** Amounts plus the most the fees can cost. */
  max_total: EthAmount;
  /** true when one send is above `MAX_TX_ETH` and needs `confirmation_code`. */
  requires_confirmation: boolean;
}

/** What a one-shot tool returns. */
export interface OneShotResult {
  /**
   * `sent`: broadcast now (see `transactions`); `skipped`: the condition does not hold, nothing
   * written; `persisted`: the condition does not hold, a strategy was created to send later
   * (see `strategy`); `simulated`: a dry run whose condition holds (see `simulation`).
   */
  action: 'sent' | 'skipped' | 'persisted' | 'simulated';
  /** Why nothing was sent now (`skipped`, `persisted`); null otherwise. */
  reason: NotSentReason | null;
  /** What happened, in words, with the numbers. */
  detail: string;
  dry_run: boolean;
  agent_id: string;
  wallet_id: string;
  from_address: string;
  /** The sends (made, planned or simulated), amounts exact to the wei. */
  sends: Array<{ to_address: string; amount: EthAmount }>;
  total: EthAmount;
  /** The latest block's base fee when the tool has a gas ceiling, gwei; else null. */
  base_fee_gwei: string | null;
  max_base_fee_gwei: string | null;
  /** `scheduled_send_once`: the send time (ISO 8601 UTC) and, when it has not come, the seconds left. */
  send_at: string | null;
  seconds_until_due: number | null;
  transactions: TransactionView[];
  simulation: SendsSimulation | null;
  strategy: StrategyView | null;
}

/** A planned send with the argument name its errors use (`to_address`, `recipients[2]`, `items.0x…`). */
interface Send {
  to: string;
  valueWei: bigint;
  field: string;
}

/**
 * Runs `fn` and renames the fields of its {@link ValidationError}s from a strategy's
 * `params.<name>` to the tool argument `renames[name] ?? name` (e.g. `params.run_at` →
 * `send_at_iso`), so tools whose params are top-level arguments name those arguments.
 * @throws whatever `fn` throws, renamed.
 */
export async function withArgNames<T>(fn: () => Promise<T> | T, renames: Record<string, string> = {}): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof ValidationError) || !err.field.startsWith('params.')) throw err;
    const inner = err.field.slice('params.'.length);
    const m = /^([A-Za-z_]+)(.*)$/.exec(inner);
    const name = m ? (renames[m[1]!] ?? m[1]!) + m[2]! : inner;
    const message = err.message.startsWith(`${err.field}: `) ? err.message.slice(err.field.length + 2) : err.message;
    throw new ValidationError(name, message, err.code as Extract<ErrorCode, 'INVALID_INPUT' | 'INVALID_ADDRESS' | 'INVALID_AMOUNT'>);
  }
}

/** Refuses an argument that only applies with `persist: true`. */
function persistOnly(args: Record<string, unknown>, names: string[]): void {
  for (const name of names) {
    if (args[name] !== undefined && args[name] !== null) throw new ValidationError(name, 'only applies with persist: true (it configures the strategy that would be created)');
  }
}

/** `label` when persisting. @throws {ValidationError} `label` when missing or malformed. */
function persistLabel(value: unknown): string {
  if (value === undefined || value === null || value === '') throw new ValidationError('label', 'is required with persist: true: the name of the strategy to create (1-100 characters)');
  return parseLabel(value);
}

/** Says, when the condition already holds, that no strategy was needed. */
function persistNote(label: string | null): string {
  return label === null ? '' : ` (so no strategy "${label}" was created)`;
}

/** Largest single send; the spend gate applies per send. */
function largest(sends: Send[]): bigint {
  return sends.reduce((m, s) => (s.valueWei > m ? s.valueWei : m), 0n);
}

function sendsView(sends: Send[]): OneShotResult['sends'] {
  return sends.map((s) => ({ to_address: s.to, amount: ethAmount(s.valueWei) }));
}

function totalOf(sends: Send[]): bigint {
  return sends.reduce((sum, s) => sum + s.valueWei, 0n);
}

/**
 * Simulates `sends` from `wallet` without signing or writing: the rules of `simulate_transfer`
 * over all the sends together (funds for every amount plus every maximum fee; the spend gate on
 * the largest one; the wallet policy's decision, which outranks the other reasons).
 * @throws {UpstreamError} `RPC_UNAVAILABLE` | {@link ValidationError} when a recipient contract rejects ETH.
 */
async function simulateSends(ctx: CoreContext, wallet: WalletRow, sends: Send[]): Promise<SendsSimulation> {
  const [snap, reserved, decision] = await Promise.all([
    readSendSnapshot(ctx, wallet.address),
    reservedByPending(ctx, wallet.id),
    decideSends(ctx, ctx.db, wallet, sends),
  ]);
  const total = totalOf(sends);
  // Nodes refuse to estimate a transfer the balance cannot cover; a plain transfer is 21000 then.
  const gasLimits = total <= snap.balance
    ? await Promise.all(sends.map((s) => transferGas(ctx, wallet.address, s.to, s.valueWei, s.field)))
    : sends.map(() => 21_000n);
  const maxFee = gasLimits.reduce((sum, g) => sum + g, 0n) * snap.fees.maxFeePerGas;
  const available = snap.balance - reserved;
  // A simulation never checks a confirmation code: only the send it unlocks does.
  let reason: SendsSimulation['reason'] = snap.fees.maxFeePerGas > ctx.config.maxFeePerGasWei ? 'FEE_CAP_EXCEEDED' : null;
  if (available < total + maxFee) reason = 'INSUFFICIENT_FUNDS';
  if (decision.decision !== 'allow') reason = decision.code;
  return {
    would_succeed: reason === null,
    reason,
    policy: decision.decision === 'allow' ? { decision: 'allow', rule: null, message: null } : { decision: decision.decision, rule: decision.rule, message: decision.message },
    balance: ethAmount(snap.balance),
    available: ethAmount(available > 0n ? available : 0n),
    gas_limits: gasLimits.map(String),
    max_fee_per_gas_gwei: formatGwei(snap.fees.maxFeePerGas),
    max_priority_fee_per_gas_gwei: formatGwei(snap.fees.maxPriorityFeePerGas),
    max_fee: ethAmount(maxFee),
    max_total: ethAmount(total + maxFee),
    requires_confirmation: needsConfirmation(ctx, largest(sends)),
  };
}

/** The fields every result shares. */
function base(wallet: WalletRow, sends: Send[], dryRun: boolean): Omit<OneShotResult, 'action' | 'reason' | 'detail'> {
  return {
    dry_run: dryRun,
    agent_id: wallet.agent_id,
    wallet_id: wallet.id,
    from_address: wallet.address,
    sends: sendsView(sends),
    total: ethAmount(totalOf(sends)),
    base_fee_gwei: null,
    max_base_fee_gwei: null,
    send_at: null,
    seconds_until_due: null,
    transactions: [],
    simulation: null,
    strategy: null,
  };
}

/** One recipient and amount, validated under the AgentVault argument names. */
function singleSend(input: { to_address: unknown; amount_eth: unknown }): Send {
  return { to: parseAddress('to_address', input.to_address), valueWei: parseEthAmount('amount_eth', input.amount_eth), field: 'to_address' };
}

/**
 * Reads the latest block's base fee and compares it with `ceiling` (wei per gas).
 * @returns whether it is at or below, the fee fields of the result (gwei), and the comparison in words.
 * @throws {UpstreamError} `RPC_UNAVAILABLE`.
 */
async function compareBaseFee(ctx: CoreContext, ceiling: bigint): Promise<{ below: boolean; fees: { base_fee_gwei: string; max_base_fee_gwei: string }; why: string }> {
  const { baseFeePerGas } = await ctx.chain.getFees();
  const fees = { base_fee_gwei: formatGwei(baseFeePerGas), max_base_fee_gwei: formatGwei(ceiling) };
  const below = baseFeePerGas <= ceiling;
  return { below, fees, why: `base fee ${fees.base_fee_gwei} gwei is ${below ? 'at or below' : 'above'} max_base_fee_gwei ${fees.max_base_fee_gwei}` };
}

/** Sends one transfer through `executeTransfer` (or simulates it) once the condition holds. */
async function goNow(
  ctx: CoreContext,
  principal: Principal,
  wallet: WalletRow,
  send: Send,
  input: { agent_id: unknown; to_address: unknown; amount_eth: unknown; confirmation_code?: unknown; dry_run?: boolean },
  extra: Partial<OneShotResult>,
  why: string,
  source: TransferSource,
): Promise<OneShotResult> {
  const common = { ...base(wallet, [send], input.dry_run === true), ...extra };
  if (input.dry_run) {
    const simulation = await simulateSends(ctx, wallet, [send]);
    return {
      ...common,
      action: 'simulated',
      reason: null,
      detail: `dry run, nothing sent: ${why}; the send ${simulation.would_succeed ? 'would go through' : `would be refused (${simulation.reason})`}`,
      simulation,
    };
  }
  const tx = await executeTransfer(ctx, principal, { agent_id: input.agent_id, to_address: input.to_address, amount_eth: input.amount_eth, confirmation_code: input.confirmation_code }, source);
  return { ...common, action: 'sent', reason: null, detail: `${why}; sent ${tx.value_eth} ETH to ${tx.to_address} (${tx.status}, nonce ${tx.nonce})`, transactions: [tx] };
}

/** Arguments of `send_when_gas_below` (AgentVault names; `persist`, `label`, `check_interval_seconds`, `expires_at` are VaultPilot's). */
export interface SendWhenGasBelowInput {
  agent_id: unknown;
  to_address: unknown;
  amount_eth: unknown;
  /** Ceiling on the latest block's base fee, decimal gwei. */
  max_base_fee_gwei: unknown;
  dry_run?: boolean;
  confirmation_code?: unknown;
  persist?: boolean;
  label?: unknown;
  check_interval_seconds?: unknown;
  expires_at?: unknown;
}

/**
 * `send_when_gas_below`: sends `amount_eth` to `to_address` now if the latest base fee is at most
 * `max_base_fee_gwei`; else returns `skipped` (`gas_above_ceiling`, with both fees), or with
 * `persist: true` creates a `send_when_gas_below` strategy labelled `label` that checks every
 * `check_interval_seconds` (default 30) until `expires_at`.
 * @throws {ValidationError} naming the argument | {@link NotFoundError} `WALLET_NOT_FOUND` |
 *   {@link PolicyError} `CONFIRMATION_REQUIRED` or `INSUFFICIENT_FUNDS` | {@link ConflictError}
 *   `STRATEGY_EXISTS` | {@link UpstreamError} — nothing is written in these cases.
 */
export async function sendWhenGasBelowOnce(ctx: CoreContext, principal: Principal, input: SendWhenGasBelowInput, source: TransferSource = 'mcp'): Promise<OneShotResult> {
  parseAgentId(input.agent_id);
  const send = singleSend(input);
  const ceiling = BigInt(await withArgNames(() => gweiParam('max_base_fee_gwei', input.max_base_fee_gwei)));
  const params: Record<string, unknown> = { to_address: input.to_address, amount_eth: input.amount_eth, max_base_fee_gwei: input.max_base_fee_gwei };
  let label: string | null = null;
  if (input.persist) {
    label = persistLabel(input.label);
    if (input.check_interval_seconds !== undefined && input.check_interval_seconds !== null) params.check_interval_seconds = input.check_interval_seconds;
    if (input.expires_at !== undefined && input.expires_at !== null) params.expires_at = input.expires_at;
    await withArgNames(() => parseParams(kindOf('send_when_gas_below'), params, new Date()));
  } else {
    persistOnly(input as unknown as Record<string, unknown>, ['label', 'check_interval_seconds', 'expires_at']);
  }
  const wallet = await getWalletByAgent(ctx, principal, input.agent_id);

  const { below, fees, why } = await compareBaseFee(ctx, ceiling);
  if (below) return goNow(ctx, principal, wallet, send, input, fees, `${why}${persistNote(label)}`, source);
  const common = { ...base(wallet, [send], input.dry_run === true), ...fees, reason: 'gas_above_ceiling' as const };
  if (label === null) return { ...common, action: 'skipped', detail: `not sent: ${why}; call again later, or pass persist: true with a label to send automatically once it comes down` };
  if (input.dry_run) return { ...common, action: 'skipped', detail: `dry run, nothing created: ${why}; persist would create strategy "${label}" to send once it comes down` };
  const strategy = await withArgNames(() => createStrategy(ctx, principal, { kind: 'send_when_gas_below', label, agent_id: input.agent_id, params, start: true, confirmation_code: input.confirmation_code }));
  return { ...common, action: 'persisted', detail: `not sent yet: ${why}; created strategy "${strategy.label}", which sends once the base fee comes down (strategy_status shows it)`, strategy };
}

/** Arguments of `dca_once` (AgentVault names). */
export interface DcaOnceInput {
  agent_id: unknown;
  to_address: unknown;
  amount_eth: unknown;
  /** Optional ceiling on the latest base fee, decimal gwei. */
  max_base_fee_gwei?: unknown;
  dry_run?: boolean;
  confirmation_code?: unknown;
}

/**
 * `dca_once`: one DCA purchase now: sends `amount_eth` to `to_address` unless `max_base_fee_gwei`
 * is given and the latest base fee is above it (then `skipped`, `gas_above_ceiling`).
 * @throws {ValidationError} naming the argument | {@link NotFoundError} `WALLET_NOT_FOUND` |
 *   {@link PolicyError} `CONFIRMATION_REQUIRED` or `INSUFFICIENT_FUNDS` | {@link UpstreamError}.
 */
export async function dcaOnce(ctx: CoreContext, principal: Principal, input: DcaOnceInput, source: TransferSource = 'mcp'): Promise<OneShotResult> {
  parseAgentId(input.agent_id);
  const send = singleSend(input);
  const hasCeiling = input.max_base_fee_gwei !== undefined && input.max_base_fee_gwei !== null;
  const ceiling = hasCeiling ? BigInt(await withArgNames(() => gweiParam('max_base_fee_gwei', input.max_base_fee_gwei))) : null;
  const wallet = await getWalletByAgent(ctx, principal, input.agent_id);
  if (ceiling === null) return goNow(ctx, principal, wallet, send, input, {}, 'no gas ceiling given', source);

  const { below, fees, why } = await compareBaseFee(ctx, ceiling);
  if (below) return goNow(ctx, principal, wallet, send, input, fees, why, source);
  return {
    ...base(wallet, [send], input.dry_run === true),
    ...fees,
    action: 'skipped',
    reason: 'gas_above_ceiling',
    detail: `not sent: ${why}; try again later (or create_strategy_dca to buy on a schedule)`,
  };
}

/** Arguments of `scheduled_send_once` (AgentVault names; `persist` and `label` are VaultPilot's). */
export interface ScheduledSendOnceInput {
  agent_id: unknown;
  to_address: unknown;
  amount_eth: unknown;
  /** ISO 8601 time; without a zone it is read as UTC (as AgentVault does). */
  send_at_iso: unknown;
  dry_run?: boolean;
  confirmation_code?: unknown;
  persist?: boolean;
  label?: unknown;
}

/** Reads `send_at_iso`: ISO 8601, a zoneless time taken as UTC. @throws {ValidationError} `send_at_iso`. */
function parseSendAt(value: unknown): string {
  const text = typeof value === 'string' ? value.trim() : value;
  const zoned = typeof text === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text) ? `${text}Z` : text;
  try {
    return timeParam('send_at_iso', zoned);
  } catch {
    throw new ValidationError('send_at_iso', 'must be an ISO 8601 time such as "2026-12-24T18:00:00Z" (a time without a zone is read as UTC)');
  }
}

/**
 * `scheduled_send_once`: sends `amount_eth` to `to_address` now if `send_at_iso` has come; else
 * returns `skipped` (`not_due`, with `seconds_until_due`), or with `persist: true` creates a
 * `scheduled_send` strategy labelled `label` that sends at that time.
 * @throws {ValidationError} naming the argument | {@link NotFoundError} `WALLET_NOT_FOUND` |
 *   {@link PolicyError} `CONFIRMATION_REQUIRED` or `INSUFFICIENT_FUNDS` | {@link ConflictError}
 *   `STRATEGY_EXISTS` | {@link UpstreamError} — nothing is written in these cases.
 */
export async function scheduledSendOnce(ctx: CoreContext, principal: Principal, input: ScheduledSendOnceInput, source: TransferSource = 'mcp'): Promise<OneShotResult> {
  parseAgentId(input.agent_id);
  const send = singleSend(input);
  const sendAt = parseSendAt(input.send_at_iso);
  const params = { to_address: input.to_address, amount_eth: input.amount_eth, run_at: sendAt };
  let label: string | null = null;
  if (input.persist) {
    label = persistLabel(input.label);
    await withArgNames(() => parseParams(kindOf('scheduled_send'), params, new Date()), { run_at: 'send_at_iso' });
  } else {
    persistOnly(input as unknown as Record<string, unknown>, ['label']);
  }
  const wallet = await getWalletByAgent(ctx, principal, input.agent_id);

  const now = Date.now();
  const due = Date.parse(sendAt);
  if (due <= now) return goNow(ctx, principal, wallet, send, input, { send_at: sendAt, seconds_until_due: 0 }, `send_at_iso ${sendAt} has come${persistNote(label)}`, source);
  const seconds = Math.ceil((due - now) / 1000);
  const common = { ...base(wallet, [send], input.dry_run === true), send_at: sendAt, seconds_until_due: seconds, reason: 'not_due' as const };
  const why = `send_at_iso ${sendAt} is ${seconds} s away`;
  if (label === null) return { ...common, action: 'skipped', detail: `not sent: ${why}; call again then, or pass persist: true with a label to have it sent on time` };
  if (input.dry_run) return { ...common, action: 'skipped', detail: `dry run, nothing created: ${why}; persist would create strategy "${label}" to send then` };
  const strategy = await withArgNames(
    () => createStrategy(ctx, principal, { kind: 'scheduled_send', label, agent_id: input.agent_id, params, start: true, confirmation_code: input.confirmation_code }),
    { run_at: 'send_at_iso' },
  );
  return { ...common, action: 'persisted', detail: `not sent yet: ${why}; created strategy "${strategy.label}", which sends at ${sendAt}`, strategy };
}

/** Refuses a recipient listed twice (checksummed addresses compared). */
function noDuplicates(sends: Send[]): void {
  const seen = new Set<string>();
  for (const s of sends) {
    if (seen.has(s.to)) throw new ValidationError(s.field, `${s.to} is listed twice`, 'INVALID_ADDRESS');
    seen.add(s.to);
  }
}

/** Sends or simulates a validated micro tip. */
async function tip(ctx: CoreContext, principal: Principal, agentId: unknown, sends: Send[], dryRun: boolean, code: unknown, source: TransferSource): Promise<OneShotResult> {
  noDuplicates(sends);
  const wallet = await getWalletByAgent(ctx, principal, agentId);
  const common = base(wallet, sends, dryRun);
  const total = formatEth(totalOf(sends));
  if (dryRun) {
    const simulation = await simulateSends(ctx, wallet, sends);
    return {
      ...common,
      action: 'simulated',
      reason: null,
      detail: `dry run, nothing sent: ${total} ETH to ${sends.length} recipients ${simulation.would_succeed ? 'would go through' : `would be refused (${simulation.reason})`}; most the fees can cost: ${simulation.max_fee.eth} ETH`,
      simulation,
    };
  }
  const transactions = await sendTransfers(ctx, principal.tenantId, wallet, sends, source, { confirmation: { principal, code } });
  return { ...common, action: 'sent', reason: null, detail: `sent ${total} ETH to ${sends.length} recipients in ${transactions.length} transactions (nonces ${transactions[0]!.nonce}-${transactions[transactions.length - 1]!.nonce})`, transactions };
}

/** Arguments of `micro_tip_equal` (AgentVault names). */
export interface MicroTipEqualInput {
  agent_id: unknown;
  recipients: unknown;
  /** ETH shared by all recipients, decimal. */
  total_amount_eth: unknown;
  dry_run?: boolean;
  confirmation_code?: unknown;
}

/**
 * `micro_tip_equal`: splits `total_amount_eth` equally over `recipients` (1 to 50 distinct
 * addresses) and pays them all at once, all or nothing; the remainder wei go to the first
 * recipients, so the parts sum to exactly the total.
 * @throws {ValidationError} naming `recipients`, `recipients[i]` or `total_amount_eth` |
 *   {@link NotFoundError} `WALLET_NOT_FOUND` | {@link PolicyError} `CONFIRMATION_REQUIRED` (a part
 *   above `MAX_TX_ETH`) or `INSUFFICIENT_FUNDS` | {@link UpstreamError} — nothing written then.
 */
export async function microTipEqual(ctx: CoreContext, principal: Principal, input: MicroTipEqualInput, source: TransferSource = 'mcp'): Promise<OneShotResult> {
  parseAgentId(input.agent_id);
  const list = input.recipients;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_RECIPIENTS) throw new ValidationError('recipients', `must list 1 to ${MAX_RECIPIENTS} addresses`);
  const addresses = list.map((a, i) => parseAddress(`recipients[${i}]`, a));
  const total = parseEthAmount('total_amount_eth', input.total_amount_eth);
  if (total < BigInt(addresses.length)) throw new ValidationError('total_amount_eth', `is too small to give each of ${addresses.length} recipients at least 1 wei`, 'INVALID_AMOUNT');
  const parts = equalSplit(total, addresses.length);
  const sends = addresses.map((to, i) => ({ to, valueWei: parts[i]!, field: `recipients[${i}]` }));
  return tip(ctx, principal, input.agent_id, sends, input.dry_run === true, input.confirmation_code, source);
}

/** Arguments of `micro_tip_amounts` (AgentVault names). */
export interface MicroTipAmountsInput {
  agent_id: unknown;
  /** `{address: amount_eth}`. */
  items: unknown;
  dry_run?: boolean;
  confirmation_code?: unknown;
}

/**
 * `micro_tip_amounts`: pays each address in `items` (`{address: amount_eth}`, 1 to 50 distinct
 * addresses) its own amount, all at once, all or nothing.
 * @throws {ValidationError} naming `items` or `items.<address>` | {@link NotFoundError}
 *   `WALLET_NOT_FOUND` | {@link PolicyError} `CONFIRMATION_REQUIRED` (an amount above `MAX_TX_ETH`)
 *   or `INSUFFICIENT_FUNDS` | {@link UpstreamError} — nothing is written in these cases.
 */
export async function microTipAmounts(ctx: CoreContext, principal: Principal, input: MicroTipAmountsInput, source: TransferSource = 'mcp'): Promise<OneShotResult> {
  parseAgentId(input.agent_id);
  const items = input.items;
  if (items === null || typeof items !== 'object' || Array.isArray(items)) throw new ValidationError('items', 'must be an object mapping each recipient address to its amount in ETH, such as {"0xAb…": "0.001"}');
  const entries = Object.entries(items as Record<string, unknown>);
  if (entries.length === 0 || entries.length > MAX_RECIPIENTS) throw new ValidationError('items', `must list 1 to ${MAX_RECIPIENTS} recipients`);
  const sends = entries.map(([address, amount]) => {
    const name = `items.${address.slice(0, 64)}`;
    return { to: parseAddress(name, address), valueWei: parseEthAmount(name, amount), field: name };
  });
  return tip(ctx, principal, input.agent_id, sends, input.dry_run === true, input.confirmation_code, source);
}
