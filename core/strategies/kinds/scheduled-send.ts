/**
 * `scheduled_send`: one send of `amount_eth` to `to_address` at `run_at`. A run before `run_at`
 * (a manual tick) skips `not_due`; a run skipped for cap, reserve or funds is retried every
 * `RETRY_SECONDS` until it goes out or `ends_at` passes.
 */
import { z } from 'zod';
import type { KindDefinition } from './index.ts';
import { addressParam, amountView, commonInput, commonView, parseCommon, storedCommon, timeParam, weiParam, type CommonParams } from './common.ts';

/** Seconds between retries of a one-shot send that could not go out. */
export const RETRY_SECONDS = 60;

/** Stored `scheduled_send` params. */
export interface ScheduledSendParams extends CommonParams {
  to_address: string;
  amount_wei: string;
  run_at: string;
}

export const scheduledSendInput = {
  to_address: z.string().describe('Recipient: 0x-prefixed 20-byte address'),
  amount_eth: z.union([z.string(), z.number()]).describe('ETH to send, decimal string'),
  run_at: z.string().describe('ISO 8601 time of the send, with a time zone'),
  ...commonInput,
};

export const scheduledSend: KindDefinition<ScheduledSendParams> = {
  kind: 'scheduled_send',
  summary: 'one send at run_at',
  input: scheduledSendInput,
  parse(input, now) {
    const amount = weiParam('amount_eth', input.amount_eth);
    return {
      to_address: addressParam('to_address', input.to_address),
      amount_wei: amount,
      run_at: timeParam('run_at', input.run_at),
      ...parseCommon(input, BigInt(amount), now),
    };
  },
  stored: (p) => ({ to_address: String(p.to_address), amount_wei: String(p.amount_wei), run_at: String(p.run_at), ...storedCommon(p) }),
  sends: (p) => [{ to: p.to_address, valueWei: BigInt(p.amount_wei) }],
  firstSlot: (p, now) => new Date(Math.max(Date.parse(p.run_at), now.getTime())),
  gate: (p, _slot, now) => (now.getTime() < Date.parse(p.run_at) ? { action: 'skip', reason: 'not_due', detail: `run_at ${p.run_at} has not come yet` } : null),
  next(p, _slot, now, outcome) {
    if (outcome === 'sent') return 'sent';
    return new Date(Math.max(Date.parse(p.run_at), now.getTime() + RETRY_SECONDS * 1000));
  },
  view: (p) => ({ to_address: p.to_address, amount: amountView(p.amount_wei), run_at: p.run_at, ...commonView(p) }),
};
