/**
 * A strategy answers for its responsible key: the key that created it, or last resumed it
 * (`created_by_key_id`, shown as `created_by`). When that key is revoked or expires, the strategy
 * must stop sending at once, not whenever someone notices: its active strategies become `paused`
 * (`paused_reason` `key_revoked` | `key_expired`), with the next slot cleared and its tick job
 * cancelled, and one audit row each, in the caller's transaction (the revocation's, the expiry
 * sweep's, or the tick's own under the strategy lock). A valid key resumes one with
 * start_strategy and becomes responsible for it. Imported strategies have no key and are never
 * paused this way.
 */
import type { Transaction } from 'kysely';
import type { PgBoss } from 'pg-boss';
import type { Database, StrategyRow } from '../db/types.ts';
import { recordAudit } from '../audit/log.ts';
import { cancelScheduledTicksIn } from './dispatch.ts';

type Trx = Transaction<Database>;

/** Why a strategy was paused. */
export type PauseReason = 'key_revoked' | 'key_expired';

/** Who pauses, as its audit rows name it: a REST write's key, the CLI, or the worker. */
export interface PauseActor {
  kind: 'api_write' | 'cli' | 'worker';
  /** Visible key id (`vp_…`), `cli` or `worker`. */
  principal: string;
}

/** The worker as an actor (expiry sweep, ticks). */
export const WORKER_ACTOR: PauseActor = { kind: 'worker', principal: 'worker' };

/**
 * Why a key can no longer answer for what it set in motion, or `null` while it is valid.
 * A missing row (never the case: strategies reference the key) counts as revoked.
 */
export function keyInvalidity(key: { revoked_at: Date | null; expires_at: Date | null } | undefined, now = new Date()): PauseReason | null {
  if (!key || key.revoked_at) return 'key_revoked';
  if (key.expires_at && key.expires_at.getTime() <= now.getTime()) return 'key_expired';
  return null;
}

/**
 * Why a strategy's responsible key is no longer valid, or `null` (valid, or no key: imported).
 * Reads without locking the key: a revocation locks the key and then each strategy, a tick the
 * strategy and then reads the key, so the two serialize on the strategy row and never deadlock.
 */
export async function responsibleKeyInvalidity(trx: Trx, keyId: string | null, now = new Date()): Promise<PauseReason | null> {
  if (keyId === null) return null;
  const key = await trx.selectFrom('api_keys').select(['revoked_at', 'expires_at']).where('id', '=', keyId).executeTakeFirst();
  return keyInvalidity(key, now);
}

/**
 * Pauses one strategy whose row the caller has locked (`FOR UPDATE`), and audits it
 * (`strategy_pause`). Its tick job is the caller's to cancel (see {@link pauseStrategiesOfKey}).
 * @returns the strategy as paused.
 * @throws database errors (the caller's transaction then rolls back).
 */
export async function pauseLockedStrategy(trx: Trx, strategy: StrategyRow, agentId: string, reason: PauseReason, actor: PauseActor, now = new Date()): Promise<StrategyRow> {
  const updated = await trx
    .updateTable('strategies')
    .set({ status: 'paused', paused_reason: reason, next_run_at: null, scheduled_slot_at: null, scheduled_job_id: null, updated_at: now })
    .where('id', '=', strategy.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  await recordAudit(trx, {
    tenantId: strategy.tenant_id,
    kind: actor.kind,
    action: 'strategy_pause',
    principal: actor.principal,
    agentId,
    walletId: strategy.wallet_id,
    status: 'ok',
    request: { strategy_id: strategy.id, label: strategy.label, created_by: strategy.created_by, reason },
    response: { status: 'paused', paused_reason: reason, cancelled_slot: strategy.next_run_at?.toISOString() ?? null },
  });
  return updated;
}

/**
 * Pauses every active strategy the key answers for, in the caller's transaction: status
 * `paused`, `paused_reason`, the next slot cleared, one audit row each, and (with `boss`) their
 * pending tick jobs cancelled in that same transaction. Without `boss` (the CLI) a job stays
 * queued and, when it runs, finds its strategy paused under the lock and does nothing.
 * @returns the strategies paused.
 * @throws database errors (the caller's transaction then rolls back).
 */
export async function pauseStrategiesOfKey(trx: Trx, boss: PgBoss | null, keyId: string, reason: PauseReason, actor: PauseActor, now = new Date()): Promise<StrategyRow[]> {
  // Row locks in id order, so two pausers of one key never deadlock.
  const rows = await trx
    .selectFrom('strategies')
    .selectAll()
    .where('created_by_key_id', '=', keyId)
    .where('status', '=', 'active')
    .where('deleted_at', 'is', null)
    .orderBy('id')
    .forUpdate()
    .execute();
  if (rows.length === 0) return [];
  const wallets = await trx.selectFrom('wallets').select(['id', 'agent_id']).where('id', 'in', [...new Set(rows.map((r) => r.wallet_id))]).execute();
  const agentOf = new Map(wallets.map((w) => [w.id, w.agent_id]));
  const paused: StrategyRow[] = [];
  for (const row of rows) paused.push(await pauseLockedStrategy(trx, row, agentOf.get(row.wallet_id) ?? '', reason, actor, now));
  if (boss) await cancelScheduledTicksIn(boss, trx, rows.map((r) => r.scheduled_job_id));
  return paused;
}
