/**
 * The policy decision for sends: a pure function of the compiled policy and the facts, so every
 * rule and boundary is unit-testable. Rules run in a fixed order and the first that refuses
 * decides (DESIGN "Guardrails, in order"): allowed chains, denied destinations, allowed
 * destinations, per-transaction maximum, the 24 h and 7 d spend caps, quiet hours (deny), then
 * the approval threshold and quiet hours (approval). A cap is reached, not exceeded, when a send
 * brings the window's total to exactly the cap: that send is allowed.
 */
import type { CompiledPolicy, WalletPolicy } from './schema.ts';
import type { ErrorCode } from '../errors.ts';
import { formatEth } from '../money.ts';

/** What is about to be sent, and what the wallet has already sent in the rolling windows. */
export interface SendFacts {
  chainId: number;
  sends: Array<{ to: string; valueWei: bigint }>;
  /** Wei of this wallet's pending and mined sends in the last 24 hours / 7 days. */
  spent24hWei: bigint;
  spent7dWei: bigint;
  now: Date;
  /** A human already approved this send: the approval rules are skipped, every other rule applies. */
  approved: boolean;
}

/** A rule's refusal: its name (the policy field), the stable code, and an actionable message. */
export interface Refusal {
  rule: string;
  code: Extract<ErrorCode, `POLICY_${string}` | 'APPROVAL_REQUIRED'>;
  message: string;
  details: Record<string, unknown>;
}

/** allow, deny(rule, reason) or require_approval(rule). */
export type PolicyDecision =
  | { decision: 'allow' }
  | ({ decision: 'deny' } & Refusal)
  | ({ decision: 'require_approval' } & Refusal);

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/** One formatter per time zone: building an `Intl.DateTimeFormat` costs more than using it. */
const FORMATTERS = new Map<string, Intl.DateTimeFormat>();

/** Local weekday and minute of day of `now` in `timeZone` (IANA). */
function localTime(now: Date, timeZone: string): { day: number; minute: number } {
  let format = FORMATTERS.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    FORMATTERS.set(timeZone, format);
  }
  const parts = format.formatToParts(now);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const day = WEEKDAYS.indexOf(get('weekday').toLowerCase().slice(0, 3) as (typeof WEEKDAYS)[number]);
  return { day, minute: Number(get('hour')) * 60 + Number(get('minute')) };
}

const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/**
 * Whether `now` falls in the quiet hours. A window with `start` > `end` spans midnight and its
 * early-morning part belongs to the day it started on (so `days: [fri]` with 22:00-07:00 covers
 * Friday night into Saturday morning).
 */
export function inQuietHours(q: NonNullable<WalletPolicy['quiet_hours']>, now: Date): boolean {
  const { day, minute } = localTime(now, q.timezone);
  const start = minutes(q.start);
  const end = minutes(q.end);
  let startedOn = day;
  let inside: boolean;
  if (start < end) inside = minute >= start && minute < end;
  else {
    inside = minute >= start || minute < end;
    if (minute < end) startedOn = (day + 6) % 7;
  }
  return inside && (!q.days || q.days.includes(WEEKDAYS[startedOn]!));
}

const deny = (r: Refusal): PolicyDecision => ({ decision: 'deny', ...r });

/** Decides a set of sends from one wallet (one call: `execute_transfer`, a micro-tip, a strategy run). */
export function evaluateSends(p: CompiledPolicy, f: SendFacts): PolicyDecision {
  if (p.allowedChains && !p.allowedChains.includes(f.chainId)) {
    return deny({
      rule: 'allowed_chains',
      code: 'POLICY_CHAIN_NOT_ALLOWED',
      message: `this wallet is on chainId ${f.chainId}, which the policy does not allow (allowed: ${p.allowedChains.join(', ')})`,
      details: { chain_id: f.chainId, allowed_chains: p.allowedChains },
    });
  }
  for (const s of f.sends) {
    const denied = p.deniedDestinations.get(s.to.toLowerCase());
    if (denied) {
      return deny({
        rule: 'denied_destinations',
        code: 'POLICY_DESTINATION_DENIED',
        message: `to_address ${s.to}${denied.label ? ` (${denied.label})` : ''} is on the policy's denylist; sends to it are refused`,
        details: { to_address: s.to, label: denied.label ?? null },
      });
    }
    if (p.allowedDestinations && !p.allowedDestinations.has(s.to.toLowerCase())) {
      return deny({
        rule: 'allowed_destinations',
        code: 'POLICY_DESTINATION_NOT_ALLOWED',
        message: `to_address ${s.to} is not on the policy's allowlist; send only to an allowed address or ask an operator to add it`,
        details: { to_address: s.to },
      });
    }
  }
  for (const s of f.sends) {
    if (p.maxTxWei !== null && s.valueWei > p.maxTxWei) {
      return deny({
        rule: 'max_tx_eth',
        code: 'POLICY_MAX_TX',
        message: `amount_eth ${formatEth(s.valueWei)} is above the policy's per-transaction maximum of ${formatEth(p.maxTxWei)} ETH`,
        details: { amount_eth: formatEth(s.valueWei), max_tx_eth: formatEth(p.maxTxWei) },
      });
    }
  }
  const total = f.sends.reduce((sum, s) => sum + s.valueWei, 0n);
  const caps: Array<[string, bigint | null, bigint, string]> = [
    ['spend_cap_24h_eth', p.spendCap24hWei, f.spent24hWei, '24 hours'],
    ['spend_cap_7d_eth', p.spendCap7dWei, f.spent7dWei, '7 days'],
  ];
  for (const [rule, cap, spent, window] of caps) {
    if (cap !== null && spent + total > cap) {
      const left = cap > spent ? cap - spent : 0n;
      return deny({
        rule,
        code: 'POLICY_SPEND_LIMIT',
        message: `sending ${formatEth(total)} ETH would exceed the rolling ${window} spend cap of ${formatEth(cap)} ETH (already sent or pending: ${formatEth(spent)} ETH; at most ${formatEth(left)} ETH more now)`,
        details: { cap_eth: formatEth(cap), spent_eth: formatEth(spent), amount_eth: formatEth(total), remaining_eth: formatEth(left), window },
      });
    }
  }
  const quiet = p.quietHours && inQuietHours(p.quietHours, f.now) ? p.quietHours : null;
  const quietDetails = quiet ? { start: quiet.start, end: quiet.end, timezone: quiet.timezone, days: quiet.days ?? null } : {};
  if (quiet && quiet.action === 'deny') {
    return deny({
      rule: 'quiet_hours',
      code: 'POLICY_QUIET_HOURS',
      message: `sends are paused during quiet hours (${quiet.start}-${quiet.end} ${quiet.timezone}); try again after ${quiet.end}`,
      details: quietDetails,
    });
  }
  if (f.approved) return { decision: 'allow' };
  const threshold = p.approvalThresholdWei;
  const above = threshold === null ? undefined : f.sends.find((s) => s.valueWei > threshold);
  if (above && threshold !== null) {
    return {
      decision: 'require_approval',
      rule: 'approval_threshold_eth',
      code: 'APPROVAL_REQUIRED',
      message: `amount_eth ${formatEth(above.valueWei)} is above the approval threshold of ${formatEth(threshold)} ETH: a human must approve it`,
      details: { amount_eth: formatEth(above.valueWei), approval_threshold_eth: formatEth(threshold) },
    };
  }
  if (quiet) {
    return {
      decision: 'require_approval',
      rule: 'quiet_hours',
      code: 'APPROVAL_REQUIRED',
      message: `sends during quiet hours (${quiet.start}-${quiet.end} ${quiet.timezone}) need a human's approval`,
      details: quietDetails,
    };
  }
  return { decision: 'allow' };
}
