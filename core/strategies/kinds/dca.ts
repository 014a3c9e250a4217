/**
 * `dca`: send `amount_eth` to `to_address` every `interval_seconds` (or on a `cron` expression in
 * a `timezone`), optionally only when the latest base fee is at most `max_base_fee_gwei`. A slot
 * skipped for gas, cap, reserve or funds is not retried: the next slot comes as scheduled.
 */
import { z } from 'zod';
import { ValidationError } from '../../errors.ts';
import type { KindDefinition } from './index.ts';
import {
  addressParam, amountView, checkGasCeiling, commonInput, commonView, field, gweiParam, gweiView, parseCommon, storedCommon, timeParam, weiParam,
  type CommonParams,
} from './common.ts';
import { firstOccurrence, nextOccurrence, parseRecurrence, type Recurrence } from './schedule.ts';

/** Stored `dca` params. */
export interface DcaParams extends CommonParams, Recurrence {
  to_address: string;
  amount_wei: string;
  max_base_fee_wei: string | null;
  /** First slot (default: when started). */
  start_at: string | null;
}

export const dcaInput = {
  to_address: z.string().describe('Recipient: 0x-prefixed 20-byte address'),
  amount_eth: z.union([z.string(), z.number()]).describe('ETH per run, decimal string such as "0.01"'),
  interval_seconds: z.number().nullish().describe('Seconds between runs (give this or cron)'),
  cron: z.string().nullish().describe('Cron expression, 5 fields (or 6 with seconds), instead of interval_seconds'),
  timezone: z.string().nullish().describe('IANA time zone of cron (default UTC)'),
  max_base_fee_gwei: z.union([z.string(), z.number()]).nullish().describe('Only send when the latest base fee is at most this, gwei'),
  start_at: z.string().nullish().describe('ISO 8601 time of the first run (default: when started)'),
  ...commonInput,
};

export const dca: KindDefinition<DcaParams> = {
  kind: 'dca',
  summary: 'send a fixed amount on an interval or cron schedule, optionally under a gas ceiling',
  input: dcaInput,
  parse(input, now) {
    const amount = weiParam('amount_eth', input.amount_eth);
    const recurrence = parseRecurrence(input, true)!;
    const startAt = input.start_at === undefined || input.start_at === null ? null : timeParam('start_at', input.start_at);
    if (startAt !== null && Date.parse(startAt) < now.getTime() - 60_000) throw new ValidationError(field('start_at'), 'must not be in the past');
    return {
      to_address: addressParam('to_address', input.to_address),
      amount_wei: amount,
      ...recurrence,
      max_base_fee_wei: input.max_base_fee_gwei === undefined || input.max_base_fee_gwei === null ? null : gweiParam('max_base_fee_gwei', input.max_base_fee_gwei),
      start_at: startAt,
      ...parseCommon(input, BigInt(amount), now),
    };
  },
  stored(p) {
    const s = (v: unknown) => (typeof v === 'string' ? v : null);
    return {
      to_address: String(p.to_address),
      amount_wei: String(p.amount_wei),
      interval_seconds: typeof p.interval_seconds === 'number' ? p.interval_seconds : null,
      cron: s(p.cron),
      timezone: s(p.timezone),
      max_base_fee_wei: s(p.max_base_fee_wei),
      start_at: s(p.start_at),
      ...storedCommon(p),
    };
  },
  sends: (p) => [{ to: p.to_address, valueWei: BigInt(p.amount_wei) }],
  firstSlot(p, now) {
    const from = p.start_at !== null && Date.parse(p.start_at) > now.getTime() ? new Date(p.start_at) : now;
    return firstOccurrence(p, from);
  },
  gate: (p, _slot, _now, facts) => checkGasCeiling(p.max_base_fee_wei, facts.baseFeePerGas),
  next: (p, slot, now) => nextOccurrence(p, slot, now),
  view: (p) => ({
    to_address: p.to_address,
    amount: amountView(p.amount_wei),
    interval_seconds: p.interval_seconds,
    cron: p.cron,
    timezone: p.timezone,
    max_base_fee_gwei: gweiView(p.max_base_fee_wei),
    start_at: p.start_at,
    ...commonView(p),
  }),
};
