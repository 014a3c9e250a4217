/**
 * Enforces the policy on sends inside the database transaction that records them, under the
 * wallet's row lock: the rolling spend is read where no other send of the wallet can slip in,
 * so parallel sends never exceed a cap, whichever process makes them.
 */
import type { Transaction } from 'kysely';
import type { CoreContext } from '../context.ts';
import type { Db } from '../db/connect.ts';
import type { Database, WalletRow } from '../db/types.ts';
import { PolicyError } from '../errors.ts';
import { policyLayers, spentInWindows } from './effective.ts';
import { evaluateSends, type PolicyDecision } from './evaluate.ts';
import { compilePolicy } from './schema.ts';

/**
 * Decides sends of `wallet`. Under its lock (held by `trx`) the answer is exact; through a plain
 * `Db` (a simulation) it is what the decision would be now.
 * @param opts.approved - a human approved these sends: approval rules are skipped.
 * @returns the decision (the rolling windows are only read when a cap applies).
 */
export async function decideSends(
  ctx: CoreContext,
  trx: Db | Transaction<Database>,
  wallet: WalletRow,
  sends: Array<{ to: string; valueWei: bigint }>,
  opts: { approved?: boolean; now?: Date } = {},
): Promise<PolicyDecision> {
  const now = opts.now ?? new Date();
  const { effective } = await policyLayers(ctx, wallet.id, trx);
  const policy = compilePolicy(effective);
  const spent = policy.spendCap24hWei !== null || policy.spendCap7dWei !== null ? await spentInWindows(trx, wallet.id, now) : { spent24hWei: 0n, spent7dWei: 0n };
  return evaluateSends(policy, { chainId: Number(wallet.chain_id), sends, ...spent, now, approved: opts.approved ?? false });
}

/**
 * Like {@link decideSends}, but throws unless the sends are allowed.
 * @throws {PolicyError} `POLICY_*` (denied; `details.rule` names the rule) or `APPROVAL_REQUIRED`
 *   (a human must approve; `details.rule` is `approval_threshold_eth` or `quiet_hours`).
 */
export async function enforceSendPolicy(
  ctx: CoreContext,
  trx: Transaction<Database>,
  wallet: WalletRow,
  sends: Array<{ to: string; valueWei: bigint }>,
  opts: { approved?: boolean; now?: Date } = {},
): Promise<void> {
  const d = await decideSends(ctx, trx, wallet, sends, opts);
  if (d.decision === 'allow') return;
  throw new PolicyError(d.code, d.message, { rule: d.rule, decision: d.decision, ...d.details });
}
