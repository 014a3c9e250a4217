/**
 * What every strategy kind shares: the stored guardrail params (`daily_cap`, `max_runs`,
 * `ends_at`, `min_balance_reserve`), the chain facts a decision sees, the decision and skip
 * reason types, and the parsers that turn user input (decimal ETH, gwei, ISO 8601 times) into
 * stored values (wei as decimal strings), each error naming `params.<field>` and its rule.
 */
import { z } from 'zod';
import { ValidationError } from '../../errors.ts';
import { decimalToUnits, ethAmount, formatEth, formatGwei, numberToDecimal, parseAddress, parseEthAmount, type EthAmount } from '../../money.ts';

/** Skip reason codes recorded on `skipped` runs; stable strings agents and dashboards branch on. */
export const SKIP_REASONS = ['gas_above_ceiling', 'daily_cap', 'reserve', 'not_due', 'insufficient_funds'] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

/** Why a strategy completed: its one send went out, `max_runs` sends were made, `ends_at` passed, or it expired unsent. */
export type EndReason = 'sent' | 'max_runs' | 'ends_at' | 'expired';

/** Guardrails every kind accepts, stored (amounts in wei, times ISO 8601 UTC). */
export interface CommonParams {
  daily_cap_wei: string | null;
  max_runs: number | null;
  ends_at: string | null;
  min_balance_reserve_wei: string | null;
}

/** One planned send. */
export interface PlannedSend {
  to: string;
  valueWei: bigint;
}

/**
 * What the chain and the database say about the wallet at decision time (read by the engine,
 * under the strategy and wallet locks for the database parts).
 */
export interface ChainFacts {
  /** The max fee per gas a send would be signed with (EIP-1559 `maxFeePerGas`). */
  maxFeePerGas: bigint;
  /** Gas limit of each planned send, in the order of `sends()`. */
  gasLimits: bigint[];
  balanceWei: bigint;
  /** What this wallet's unmined transactions may still spend (value + gas limit × max fee). */
  reservedWei: bigint;
  /** Wei this strategy sent in the 24 hours before `now`. */
  spent24hWei: bigint;
}

/** What a kind's gate sees: the clock's facts and the chain's latest base fee, no wallet. */
export interface GateFacts {
  /** The latest block's EIP-1559 base fee, wei per gas. */
  baseFeePerGas: bigint;
  /** Sent runs so far. */
  runsSent: number;
}

/** The outcome of a decision: send the planned sends, skip with a reason, or end the strategy. */
export type Decision =
  | { action: 'send'; sends: PlannedSend[]; totalWei: bigint; maxFeeWei: bigint }
  | { action: 'skip'; reason: SkipReason; detail: string }
  | { action: 'end'; reason: EndReason; detail: string };

/** `params.<name>`: how errors name a strategy parameter. */
export const field = (name: string): string => `params.${name}`;

/** Zod shape of the common guardrails as users give them (decimal ETH strings; numbers accepted). */
export const commonInput = {
  daily_cap_eth: z.union([z.string(), z.number()]).nullish().describe('Most ETH this strategy may send in any rolling 24 hours (decimal string)'),
  max_runs: z.number().nullish().describe('Stop after this many sends (positive integer)'),
  ends_at: z.string().nullish().describe('ISO 8601 time after which the strategy stops running'),
  min_balance_reserve_eth: z.union([z.string(), z.number()]).nullish().describe('Never leave the wallet below this many ETH (decimal string)'),
};

/** Parses a decimal ETH amount into wei as a string. @throws {ValidationError} `INVALID_AMOUNT` naming the field. */
export function weiParam(name: string, value: unknown): string {
  return parseEthAmount(field(name), value).toString();
}

/** Parses a decimal gwei amount (at most 9 decimals) into wei as a string. @throws {ValidationError} `INVALID_AMOUNT`. */
export function gweiParam(name: string, value: unknown): string {
  const text = typeof value === 'number' && Number.isFinite(value) ? numberToDecimal(value) : typeof value === 'string' ? value.trim() : '';
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) throw new ValidationError(field(name), 'must be a positive decimal number of gwei such as "30"', 'INVALID_AMOUNT');
  if ((m[2] ?? '').length > 9) throw new ValidationError(field(name), 'has more than 9 decimals (1 wei = 0.000000001 gwei)', 'INVALID_AMOUNT');
  const wei = decimalToUnits(m[1]!, m[2] ?? '', 9);
  if (wei === null) throw new ValidationError(field(name), 'is more than 2^256 - 1 wei', 'INVALID_AMOUNT');
  if (wei === 0n) throw new ValidationError(field(name), 'must be greater than zero', 'INVALID_AMOUNT');
  return wei.toString();
}

/** Parses a positive whole number within `max`. @throws {ValidationError} `INVALID_INPUT`. */
export function intParam(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(field(name), `must be a whole number from ${min} to ${max}`);
  }
  return value;
}

/** Parses an ISO 8601 time with a zone (`Z` or an offset). @throws {ValidationError} `INVALID_INPUT`. */
export function timeParam(name: string, value: unknown): string {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(value.trim()) || Number.isNaN(Date.parse(value))) {
    throw new ValidationError(field(name), 'must be an ISO 8601 time with a time zone, such as "2026-12-24T18:00:00Z"');
  }
  return new Date(value).toISOString();
}

/** Parses a recipient address. @throws {ValidationError} `INVALID_ADDRESS`. */
export function addressParam(name: string, value: unknown): string {
  return parseAddress(field(name), value);
}

/**
 * Parses the common guardrails.
 * @param perRunWei - the most one run sends, checked against `daily_cap_eth`.
 * @throws {ValidationError} naming the field: bad amounts, `max_runs` not a positive integer,
 *   `ends_at` not a time in the future, or a daily cap below what one run sends.
 */
export function parseCommon(input: Record<string, unknown>, perRunWei: bigint, now: Date): CommonParams {
  const set = (v: unknown) => v !== undefined && v !== null;
  const daily = set(input.daily_cap_eth) ? weiParam('daily_cap_eth', input.daily_cap_eth) : null;
  if (daily !== null && BigInt(daily) < perRunWei) {
    throw new ValidationError(field('daily_cap_eth'), `is ${formatEth(BigInt(daily))} ETH, below the ${formatEth(perRunWei)} ETH one run sends, so the strategy could never send; raise the cap or lower the amount`, 'INVALID_AMOUNT');
  }
  const endsAt = set(input.ends_at) ? timeParam('ends_at', input.ends_at) : null;
  if (endsAt !== null && Date.parse(endsAt) <= now.getTime()) throw new ValidationError(field('ends_at'), 'must be in the future');
  return {
    daily_cap_wei: daily,
    max_runs: set(input.max_runs) ? intParam('max_runs', input.max_runs, 1, 1_000_000) : null,
    ends_at: endsAt,
    min_balance_reserve_wei: set(input.min_balance_reserve_eth) ? weiParam('min_balance_reserve_eth', input.min_balance_reserve_eth) : null,
  };
}

/** The common guardrails as tools and REST show them. */
export function commonView(p: CommonParams): Record<string, unknown> {
  return {
    daily_cap: p.daily_cap_wei === null ? null : ethAmount(BigInt(p.daily_cap_wei)),
    max_runs: p.max_runs,
    ends_at: p.ends_at,
    min_balance_reserve: p.min_balance_reserve_wei === null ? null : ethAmount(BigInt(p.min_balance_reserve_wei)),
  };
}

/** Common params from a stored row (older rows, such as AgentVault imports, lack some fields). */
export function storedCommon(p: Record<string, unknown>): CommonParams {
  const s = (v: unknown) => (typeof v === 'string' ? v : null);
  return {
    daily_cap_wei: s(p.daily_cap_wei),
    max_runs: typeof p.max_runs === 'number' ? p.max_runs : null,
    ends_at: s(p.ends_at),
    min_balance_reserve_wei: s(p.min_balance_reserve_wei),
  };
}

/** A gas ceiling as shown: gwei text. */
export function gweiView(wei: string | null): string | null {
  return wei === null ? null : formatGwei(BigInt(wei));
}

/** `{eth, wei}` of a stored wei string. */
export function amountView(wei: string): EthAmount {
  return ethAmount(BigInt(wei));
}

/**
 * The end conditions every kind shares: `ends_at` passed, `max_runs` sends made.
 * @returns the end decision, or `null` to go on.
 */
export function checkEnd(p: CommonParams, now: Date, runsSent: number): Decision | null {
  if (p.ends_at !== null && now.getTime() >= Date.parse(p.ends_at)) return { action: 'end', reason: 'ends_at', detail: `ends_at ${p.ends_at} has passed` };
  if (p.max_runs !== null && runsSent >= p.max_runs) return { action: 'end', reason: 'max_runs', detail: `max_runs ${p.max_runs} sends made` };
  return null;
}

/**
 * The wallet guardrails every kind applies before sending, in order: daily cap, funds (amount
 * plus the most the fees can cost, after what pending transactions reserve), balance reserve.
 * @returns the send decision, or the skip.
 */
export function checkFunds(p: CommonParams, sends: PlannedSend[], facts: ChainFacts): Decision {
  const total = sends.reduce((sum, s) => sum + s.valueWei, 0n);
  if (p.daily_cap_wei !== null && facts.spent24hWei + total > BigInt(p.daily_cap_wei)) {
    return { action: 'skip', reason: 'daily_cap', detail: `sending ${formatEth(total)} ETH would bring the last 24 hours to ${formatEth(facts.spent24hWei + total)} ETH, above daily_cap ${formatEth(BigInt(p.daily_cap_wei))} ETH` };
  }
  const maxFee = facts.gasLimits.reduce((sum, g) => sum + g, 0n) * facts.maxFeePerGas;
  const available = facts.balanceWei - facts.reservedWei;
  if (available < total + maxFee) {
    return { action: 'skip', reason: 'insufficient_funds', detail: `needs ${formatEth(total + maxFee)} ETH (amount plus the most the fees can cost), ${formatEth(available > 0n ? available : 0n)} ETH available` };
  }
  if (p.min_balance_reserve_wei !== null && available - total - maxFee < BigInt(p.min_balance_reserve_wei)) {
    return { action: 'skip', reason: 'reserve', detail: `sending would leave less than min_balance_reserve ${formatEth(BigInt(p.min_balance_reserve_wei))} ETH in the wallet` };
  }
  return { action: 'send', sends, totalWei: total, maxFeeWei: maxFee };
}

/** Skips when the latest base fee is above `ceilingWei` (null: no ceiling). */
export function checkGasCeiling(ceilingWei: string | null, baseFeePerGas: bigint): Decision | null {
  if (ceilingWei === null || baseFeePerGas <= BigInt(ceilingWei)) return null;
  return { action: 'skip', reason: 'gas_above_ceiling', detail: `base fee ${formatGwei(baseFeePerGas)} gwei is above max_base_fee ${formatGwei(BigInt(ceilingWei))} gwei` };
}
