/**
 * The strategy kinds. A decision is pure, `(params, slot, now, chain facts) → send |
 * skip(reason) | end(reason)` ({@link decide}), in two steps: first what needs only the clock
 * and the latest base fee (the shared end conditions, then the kind's gate: not due, expired,
 * gas above the ceiling), so a gated tick reads nothing else from the chain ({@link gate}); then
 * the wallet guardrails every kind shares (daily cap, funds, reserve). Each kind also has its zod
 * input shape, its parser (user units → stored wei strings, errors naming `params.<field>`) and
 * its recurrence. Nothing here touches the database, the chain or the clock: the engine
 * (`../engine.ts`) supplies all three.
 */
import type { z } from 'zod';
import { ValidationError } from '../../errors.ts';
import { checkEnd, checkFunds, type ChainFacts, type CommonParams, type Decision, type EndReason, type GateFacts, type PlannedSend } from './common.ts';
import { dca } from './dca.ts';
import { scheduledSend } from './scheduled-send.ts';
import { sendWhenGasBelow } from './send-when-gas-below.ts';
import { microTip } from './micro-tip.ts';

export type { ChainFacts, Decision, EndReason, GateFacts, PlannedSend, SkipReason } from './common.ts';
export { SKIP_REASONS } from './common.ts';

/** Strategy kind names. */
export const KIND_NAMES = ['dca', 'scheduled_send', 'send_when_gas_below', 'micro_tip'] as const;
export type KindName = (typeof KIND_NAMES)[number];

/** One strategy kind: parse and store its params, plan its sends, decide, and schedule. */
export interface KindDefinition<P extends CommonParams> {
  kind: KindName;
  summary: string;
  /** Zod shape of the user-facing params (descriptions carry the units). */
  input: z.ZodRawShape;
  /**
   * Validates user params and converts them to the stored form.
   * @throws {ValidationError} naming `params.<field>` and its rule.
   */
  parse(input: Record<string, unknown>, now: Date): P;
  /** Reads stored params (as written by `parse`, or by the AgentVault import). */
  stored(raw: Record<string, unknown>): P;
  /** The sends one run makes. */
  sends(p: P): PlannedSend[];
  /** The first slot when the strategy is started at `now`. */
  firstSlot(p: P, now: Date): Date;
  /** The kind's own conditions for the run of `slot` at `now` (not due, expired, gas), or `null` to go on. */
  gate(p: P, slot: Date, now: Date, facts: GateFacts): Decision | null;
  /** After a run of `slot`: the next slot, or why the strategy is done. */
  next(p: P, slot: Date, now: Date, outcome: 'sent' | 'skipped' | 'failed'): Date | EndReason;
  /** Params as tools and REST show them (decimal ETH and gwei). */
  view(p: P): Record<string, unknown>;
}

const KINDS: Record<KindName, KindDefinition<CommonParams>> = {
  dca: dca as unknown as KindDefinition<CommonParams>,
  scheduled_send: scheduledSend as unknown as KindDefinition<CommonParams>,
  send_when_gas_below: sendWhenGasBelow as unknown as KindDefinition<CommonParams>,
  micro_tip: microTip as unknown as KindDefinition<CommonParams>,
};

/**
 * The definition of a kind.
 * @throws {ValidationError} `kind` when it is not one of {@link KIND_NAMES}.
 */
export function kindOf(kind: unknown): KindDefinition<CommonParams> {
  if (typeof kind === 'string' && Object.hasOwn(KINDS, kind)) return KINDS[kind as KindName];
  throw new ValidationError('kind', `must be one of ${KIND_NAMES.join(', ')} (got ${JSON.stringify(kind)?.slice(0, 40)})`);
}

/**
 * Validates user params for `kind`: a JSON object with only that kind's fields, each by its rule.
 * @throws {ValidationError} naming `params` or `params.<field>`.
 */
export function parseParams(kind: KindDefinition<CommonParams>, params: unknown, now: Date): CommonParams {
  if (params === null || typeof params !== 'object' || Array.isArray(params)) throw new ValidationError('params', `must be an object with the ${kind.kind} parameters`);
  const allowed = Object.keys(kind.input);
  const stray = Object.keys(params).find((k) => !allowed.includes(k));
  if (stray) throw new ValidationError(`params.${stray}`, `is not a parameter of kind ${kind.kind} (it takes ${allowed.join(', ')})`);
  return kind.parse(params as Record<string, unknown>, now);
}

/**
 * The part of a decision that needs no wallet facts: `ends_at`/`max_runs`, then the kind's gate.
 * @returns the skip or end decision, or `null` when the wallet guardrails decide.
 */
export function gate(kind: KindDefinition<CommonParams>, p: CommonParams, slot: Date, now: Date, facts: GateFacts): Decision | null {
  return checkEnd(p, now, facts.runsSent) ?? kind.gate(p, slot, now, facts);
}

/** The whole pure decision for the run of `slot` at `now`: {@link gate}, then daily cap, funds and reserve. */
export function decide(kind: KindDefinition<CommonParams>, p: CommonParams, slot: Date, now: Date, facts: GateFacts & ChainFacts): Decision {
  return gate(kind, p, slot, now, facts) ?? checkFunds(p, kind.sends(p), facts);
}
