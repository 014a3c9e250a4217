/**
 * `send_when_gas_below`: one send as soon as the latest base fee is at most `max_base_fee_gwei`,
 * checked every `check_interval_seconds`, giving up (`expired`) at `expires_at`.
 */
import { z } from 'zod';
import { ValidationError } from '../../errors.ts';
import type { KindDefinition } from './index.ts';
import {
  addressParam, amountView, checkGasCeiling, commonInput, commonView, field, gweiParam, gweiView, intParam, parseCommon, storedCommon, timeParam, weiParam,
  type CommonParams,
} from './common.ts';

/** Stored `send_when_gas_below` params. */
export interface SendWhenGasBelowParams extends CommonParams {
  to_address: string;
  amount_wei: string;
  max_base_fee_wei: string;
  check_interval_seconds: number;
  expires_at: string | null;
}

export const sendWhenGasBelowInput = {
  to_address: z.string().describe('Recipient: 0x-prefixed 20-byte address'),
  amount_eth: z.union([z.string(), z.number()]).describe('ETH to send, decimal string'),
  max_base_fee_gwei: z.union([z.string(), z.number()]).describe('Send once the latest base fee is at most this, gwei'),
  check_interval_seconds: z.number().nullish().describe('Seconds between checks (default 30)'),
  expires_at: z.string().nullish().describe('ISO 8601 time to give up at'),
  ...commonInput,
};

export const sendWhenGasBelow: KindDefinition<SendWhenGasBelowParams> = {
  kind: 'send_when_gas_below',
  summary: 'one send as soon as the base fee is at or below a ceiling',
  input: sendWhenGasBelowInput,
  parse(input, now) {
    const amount = weiParam('amount_eth', input.amount_eth);
    const expiresAt = input.expires_at === undefined || input.expires_at === null ? null : timeParam('expires_at', input.expires_at);
    if (expiresAt !== null && Date.parse(expiresAt) <= now.getTime()) throw new ValidationError(field('expires_at'), 'must be in the future');
    return {
      to_address: addressParam('to_address', input.to_address),
      amount_wei: amount,
      max_base_fee_wei: gweiParam('max_base_fee_gwei', input.max_base_fee_gwei),
      check_interval_seconds: input.check_interval_seconds === undefined || input.check_interval_seconds === null ? 30 : intParam('check_interval_seconds', input.check_interval_seconds, 1, 86_400),
      expires_at: expiresAt,
      ...parseCommon(input, BigInt(amount), now),
    };
  },
  stored: (p) => ({
    to_address: String(p.to_address),
    amount_wei: String(p.amount_wei),
    max_base_fee_wei: String(p.max_base_fee_wei),
    check_interval_seconds: Number(p.check_interval_seconds),
    expires_at: typeof p.expires_at === 'string' ? p.expires_at : null,
    ...storedCommon(p),
  }),
  sends: (p) => [{ to: p.to_address, valueWei: BigInt(p.amount_wei) }],
  firstSlot: (_p, now) => now,
  gate(p, _slot, now, facts) {
    if (p.expires_at !== null && now.getTime() >= Date.parse(p.expires_at)) return { action: 'end', reason: 'expired', detail: `expires_at ${p.expires_at} passed before the base fee came down` };
    return checkGasCeiling(p.max_base_fee_wei, facts.baseFeePerGas);
  },
  next(p, _slot, now, outcome) {
    if (outcome === 'sent') return 'sent';
    const next = now.getTime() + p.check_interval_seconds * 1000;
    // One last check at expires_at, which then ends the strategy.
    return new Date(p.expires_at === null ? next : Math.min(next, Date.parse(p.expires_at)));
  },
  view: (p) => ({
    to_address: p.to_address,
    amount: amountView(p.amount_wei),
    max_base_fee_gwei: gweiView(p.max_base_fee_wei),
    check_interval_seconds: p.check_interval_seconds,
    expires_at: p.expires_at,
    ...commonView(p),
  }),
};
