/**
 * The scheduler's sweep: finds active strategies whose pending slot is due within a short
 * look-ahead and not yet enqueued, and enqueues one `strategy-tick` job per slot (pg-boss
 * `startAfter` = the slot, `singletonKey` = strategy id + slot), recording the slot and job id on
 * the strategy in the same database transaction. Rows are taken `FOR UPDATE SKIP LOCKED`, so any
 * number of workers sweep side by side without waiting on each other or on running ticks.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import { fromKysely, type PgBoss } from 'pg-boss';
import type { CoreContext } from '../context.ts';
import type { Database } from '../db/types.ts';
import { enqueueStrategyTicks, QUEUES } from '../jobs/queue.ts';
import { strategiesActive } from '../metrics.ts';

/** How far ahead of a slot its job is enqueued, in ms (covers the sweep interval). */
const LOOKAHEAD_MS = 5_000;

/** How overdue a slot whose job has gone must be before it is enqueued again. */
const REQUEUE_AFTER = '5 minutes';

/**
 * Enqueues the due, not yet enqueued slots (at most `limit` per call).
 * @param opts.requeueLost - also enqueue again slots enqueued over {@link REQUEUE_AFTER} ago and
 *   still pending: their job was lost (failed past its retries, or deleted). A job still queued
 *   or running blocks the duplicate (exclusive policy); each such slot is retried at most every
 *   REQUEUE_AFTER. The worker asks for this every few seconds, not on every sweep.
 * @returns how many jobs were enqueued.
 */
export async function enqueueDueSlots(ctx: CoreContext, opts: { limit?: number; requeueLost?: boolean } = {}): Promise<number> {
  const limit = opts.limit ?? 2_000;
  return ctx.db.transaction().execute(async (trx) => {
    const base = () =>
      trx
        .selectFrom('strategies')
        .select(['id', 'next_run_at'])
        .where('status', '=', 'active')
        .where('deleted_at', 'is', null)
        .orderBy('next_run_at')
        .limit(limit)
        .forUpdate()
        .skipLocked();
    // Matches the partial index strategies_unscheduled.
    const due = await base()
      .where('next_run_at', '<=', new Date(Date.now() + LOOKAHEAD_MS))
      .where(sql<boolean>`scheduled_slot_at is distinct from next_run_at`)
      .execute();
    const lost = opts.requeueLost
      ? await base()
          .where(sql<boolean>`next_run_at < now() - ${REQUEUE_AFTER}::interval and updated_at < now() - ${REQUEUE_AFTER}::interval and scheduled_slot_at = next_run_at`)
          .execute()
      : [];
    const rows = [...due, ...lost];
    if (rows.length === 0) return 0;
    const jobs = rows.map((s) => ({ id: randomUUID(), data: { strategyId: s.id, slot: s.next_run_at!.toISOString() }, startAfter: s.next_run_at! }));
    const inserted = new Set(await enqueueStrategyTicks(ctx.boss, trx, jobs));
    // A slot whose job exists already (another sweep won the race, or a lost job is not lost
    // after all) is recorded as enqueued too; a re-enqueue attempt stamps updated_at.
    const values = jobs.map((j) => sql`(${j.data.strategyId}::uuid, ${j.data.slot}::timestamptz, ${inserted.has(j.id) ? j.id : null}::uuid)`);
    await sql`
      update strategies s
         set scheduled_slot_at = v.slot, scheduled_job_id = coalesce(v.job, s.scheduled_job_id),
             updated_at = case when s.scheduled_slot_at = v.slot then now() else s.updated_at end
        from (values ${sql.join(values)}) as v(id, slot, job)
       where s.id = v.id`.execute(trx);
    return inserted.size;
  });
}

/**
 * Cancels a strategy's enqueued tick job (on stop, edit or delete). Best effort: the tick itself
 * re-checks the slot under the strategy lock, so a job that escapes cancellation does nothing.
 */
export async function cancelScheduledTick(ctx: Pick<CoreContext, 'boss' | 'logger'>, jobId: string | null): Promise<void> {
  if (!jobId) return;
  await ctx.boss.cancel(QUEUES.strategyTick, jobId).catch((err: unknown) => ctx.logger.debug({ err, jobId }, 'strategy tick job not cancelled (already running or done)'));
}

/**
 * Cancels enqueued tick jobs inside the caller's database transaction (a key's revocation pauses
 * its strategies that way), so the cancellation commits or rolls back with the pause. A job
 * already running finds its strategy paused under the lock and does nothing.
 * @throws database errors (the caller's transaction then rolls back).
 */
export async function cancelScheduledTicksIn(boss: PgBoss, trx: Transaction<Database>, jobIds: Array<string | null>): Promise<void> {
  const ids = jobIds.filter((id): id is string => id !== null);
  if (ids.length === 0) return;
  await boss.cancel(QUEUES.strategyTick, ids, { db: fromKysely(trx) });
}

/** Sets the active-strategies gauge from the database (`active` only: paused and stopped ones do not run). */
export async function refreshActiveGauge(ctx: CoreContext): Promise<void> {
  const row = await ctx.db
    .selectFrom('strategies')
    .select(sql<string>`count(*)::text`.as('n'))
    .where('status', '=', 'active')
    .where('deleted_at', 'is', null)
    .executeTakeFirstOrThrow();
  strategiesActive.set(Number(row.n));
}
