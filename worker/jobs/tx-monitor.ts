/**
 * `tx-monitor` queue: follows each transaction to a final state (see
 * `core/transactions/monitor.ts`). A step that is not final re-enqueues the job with a growing
 * delay; an RPC outage throws, and pg-boss retries the job with backoff.
 */
import type { PgBoss, Job } from 'pg-boss';
import type { CoreContext } from '../../core/context.ts';
import { QUEUES, type TxMonitorJob } from '../../core/jobs/queue.ts';
import { jobsHandled } from '../../core/metrics.ts';
import { monitorTransaction } from '../../core/transactions/monitor.ts';

interface Data extends TxMonitorJob {
  attempt?: number;
}

/** Handles one batch of `tx-monitor` jobs. */
export async function handleTxMonitor(ctx: CoreContext, boss: PgBoss, jobs: Job<Data>[]): Promise<void> {
  for (const job of jobs) {
    const attempt = job.data.attempt ?? 0;
    try {
      const outcome = await monitorTransaction(ctx, job.data.transactionId, attempt);
      if (!outcome.done) {
        await boss.send(QUEUES.txMonitor, { transactionId: job.data.transactionId, attempt: attempt + 1 }, { startAfter: outcome.delaySeconds });
      }
      jobsHandled.inc({ queue: QUEUES.txMonitor, outcome: 'ok' });
    } catch (err) {
      jobsHandled.inc({ queue: QUEUES.txMonitor, outcome: 'error' });
      throw err;
    }
  }
}

/**
 * Re-enqueues every unfinished transaction once at worker start, so nothing stays unfollowed
 * after a crash or an expired job. Duplicate jobs are harmless: each step is idempotent.
 * @returns how many were enqueued.
 */
export async function resumeUnfinished(ctx: CoreContext, boss: PgBoss): Promise<number> {
  const rows = await ctx.db.selectFrom('transactions').select('id').where('status', 'in', ['queued', 'broadcast', 'mined']).execute();
  for (const row of rows) await boss.send(QUEUES.txMonitor, { transactionId: row.id });
  return rows.length;
}

/** Registers the queue's handler on the worker. */
export async function registerTxMonitor(ctx: CoreContext, boss: PgBoss): Promise<void> {
  // Two fetchers that keep fetching while batches come back full: each sent transaction needs
  // several monitor steps, and polling alone capped the queue at 20 jobs/s.
  await boss.work<Data>(QUEUES.txMonitor, { batchSize: 10, pollingIntervalSeconds: 0.5, localConcurrency: 2, burstWhenBatchFull: true }, (jobs) => handleTxMonitor(ctx, boss, jobs));
  const resumed = await resumeUnfinished(ctx, boss);
  if (resumed > 0) ctx.logger.info({ resumed }, 'following unfinished transactions');
}
