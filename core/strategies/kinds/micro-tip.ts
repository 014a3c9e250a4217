/**
 * `micro_tip`: one run pays several recipients, either an equal split of `total_eth` over
 * `recipients` or explicit `items` (`[{to_address, amount_eth}]`). All transfers of a run are
 * recorded in one database transaction with consecutive nonces, so a run pays everyone or no
 * one. Without `interval_seconds`/`cron` it runs once (at `run_at`, default when started).
 */
import { z } from 'zod';
import { ValidationError } from '../../errors.ts';
import { formatEth } from '../../money.ts';
import type { KindDefinition } from './index.ts';
import { addressParam, amountView, commonInput, commonView, field, parseCommon, storedCommon, timeParam, weiParam, type CommonParams } from './common.ts';
import { firstOccurrence, nextOccurrence, parseRecurrence, type Recurrence } from './schedule.ts';
import { RETRY_SECONDS } from './scheduled-send.ts';

/** Most recipients in one run. */
export const MAX_RECIPIENTS = 50;

/** Stored `micro_tip` params: each recipient's amount in wei (an equal split is stored resolved). */
export interface MicroTipParams extends CommonParams, Recurrence {
  split: 'equal' | 'amounts';
  items: Array<{ to_address: string; amount_wei: string }>;
  run_at: string | null;
}

export const microTipInput = {
  recipients: z.array(z.string()).nullish().describe('Equal split: recipient addresses (with total_eth)'),
  total_eth: z.union([z.string(), z.number()]).nullish().describe('Equal split: ETH shared by all recipients per run'),
  items: z.array(z.object({ to_address: z.string(), amount_eth: z.union([z.string(), z.number()]) })).nullish().describe('Explicit amounts: [{to_address, amount_eth}]'),
  interval_seconds: z.number().nullish().describe('Repeat every this many seconds (default: run once)'),
  cron: z.string().nullish().describe('Repeat on this cron expression instead'),
  timezone: z.string().nullish().describe('IANA time zone of cron (default UTC)'),
  run_at: z.string().nullish().describe('ISO 8601 time of the (first) run (default: when started)'),
  ...commonInput,
};

/**
 * Splits `total` wei over `n` recipients: each gets `total / n`, and the first `total mod n`
 * get one wei more, so the parts add up to exactly `total`.
 */
export function equalSplit(total: bigint, n: number): bigint[] {
  const base = total / BigInt(n);
  const rest = Number(total % BigInt(n));
  return Array.from({ length: n }, (_, i) => base + (i < rest ? 1n : 0n));
}

export const microTip: KindDefinition<MicroTipParams> = {
  kind: 'micro_tip',
  summary: 'one run pays several recipients (equal split of a total, or explicit amounts)',
  input: microTipInput,
  parse(input, now) {
    const set = (v: unknown) => v !== undefined && v !== null;
    let split: MicroTipParams['split'];
    let items: MicroTipParams['items'];
    if (set(input.items)) {
      if (set(input.recipients) || set(input.total_eth)) throw new ValidationError(field('items'), 'give either items or recipients with total_eth, not both');
      const list = input.items as Array<Record<string, unknown>>;
      if (!Array.isArray(list) || list.length === 0 || list.length > MAX_RECIPIENTS) throw new ValidationError(field('items'), `must list 1 to ${MAX_RECIPIENTS} recipients`);
      split = 'amounts';
      items = list.map((it, i) => ({ to_address: addressParam(`items[${i}].to_address`, it.to_address), amount_wei: weiParam(`items[${i}].amount_eth`, it.amount_eth) }));
    } else {
      const list = input.recipients as unknown[];
      if (!Array.isArray(list) || list.length === 0 || list.length > MAX_RECIPIENTS) throw new ValidationError(field('recipients'), `must list 1 to ${MAX_RECIPIENTS} addresses (or give items)`);
      if (!set(input.total_eth)) throw new ValidationError(field('total_eth'), 'is required with recipients: the ETH shared by all of them');
      const total = BigInt(weiParam('total_eth', input.total_eth));
      if (total < BigInt(list.length)) throw new ValidationError(field('total_eth'), `is too small to give each of ${list.length} recipients at least 1 wei`, 'INVALID_AMOUNT');
      const addresses = list.map((a, i) => addressParam(`recipients[${i}]`, a));
      split = 'equal';
      items = equalSplit(total, addresses.length).map((wei, i) => ({ to_address: addresses[i]!, amount_wei: wei.toString() }));
    }
    const seen = new Set<string>();
    for (const [i, it] of items.entries()) {
      if (seen.has(it.to_address)) throw new ValidationError(field(split === 'equal' ? `recipients[${i}]` : `items[${i}].to_address`), `${it.to_address} is listed twice`, 'INVALID_ADDRESS');
      seen.add(it.to_address);
    }
    const recurrence = parseRecurrence(input, false) ?? { interval_seconds: null, cron: null, timezone: null };
    const total = items.reduce((s, it) => s + BigInt(it.amount_wei), 0n);
    return {
      split,
      items,
      ...recurrence,
      run_at: set(input.run_at) ? timeParam('run_at', input.run_at) : null,
      ...parseCommon(input, total, now),
    };
  },
  stored(p) {
    const s = (v: unknown) => (typeof v === 'string' ? v : null);
    return {
      split: p.split === 'equal' ? 'equal' : 'amounts',
      items: (p.items as Array<{ to_address: string; amount_wei: string }>).map((it) => ({ to_address: String(it.to_address), amount_wei: String(it.amount_wei) })),
      interval_seconds: typeof p.interval_seconds === 'number' ? p.interval_seconds : null,
      cron: s(p.cron),
      timezone: s(p.timezone),
      run_at: s(p.run_at),
      ...storedCommon(p),
    };
  },
  sends: (p) => p.items.map((it) => ({ to: it.to_address, valueWei: BigInt(it.amount_wei) })),
  firstSlot(p, now) {
    const from = p.run_at !== null && Date.parse(p.run_at) > now.getTime() ? new Date(p.run_at) : now;
    return p.interval_seconds === null && p.cron === null ? from : firstOccurrence(p, from);
  },
  gate: (p, _slot, now) => (p.run_at !== null && now.getTime() < Date.parse(p.run_at) ? { action: 'skip', reason: 'not_due', detail: `run_at ${p.run_at} has not come yet` } : null),
  next(p, slot, now, outcome) {
    const recurring = p.interval_seconds !== null || p.cron !== null;
    if (recurring) return nextOccurrence(p, slot, now);
    if (outcome === 'sent') return 'sent';
    return new Date(Math.max(p.run_at === null ? 0 : Date.parse(p.run_at), now.getTime() + RETRY_SECONDS * 1000));
  },
  view: (p) => ({
    split: p.split,
    items: p.items.map((it) => ({ to_address: it.to_address, amount: amountView(it.amount_wei) })),
    total: amountView(p.items.reduce((s, it) => s + BigInt(it.amount_wei), 0n).toString()),
    interval_seconds: p.interval_seconds,
    cron: p.cron,
    timezone: p.timezone,
    run_at: p.run_at,
    ...commonView(p),
  }),
};

/** One line describing a run's payees, for summaries. */
export function describeItems(p: MicroTipParams): string {
  return p.items.map((it) => `${formatEth(BigInt(it.amount_wei))} ETH to ${it.to_address}`).join(', ');
}
