/**
 * `approval-execute` queue: sends an approved send (`core/approvals/execute.ts`), and the sweep
 * that marks undecided approvals past their `APPROVAL_TTL` as `expired` every 30 s and reports
 * how many still wait (`vaultpilot_approvals_pending`). A refused
 * send marks its approval `failed` and completes the job; an upstream outage throws, pg-boss
 * retries with backoff, and the last attempt marks the approval `failed`.
 */
import type { PgBoss, Job } from 'pg-boss';
import type { CoreContext } from '../../core/context.ts';
import { APPROVAL_EXECUTE_RETRY_LIMIT, QUEUES, type ApprovalExecuteJob } from '../../core/jobs/queue.ts';
import { approvalsPending, jobsHandled } from '../../core/metrics.ts';
import { executeApproval } from '../../core/approvals/execute.ts';
import { expireApprovals } from '../../core/approvals/service.ts';

/** Milliseconds between expiry sweeps. */
export const EXPIRY_SWEEP_MS = 30_000;

/** Handles one `approval-execute` job. */
export async function handleApprovalExecute(ctx: CoreContext, job: Job<ApprovalExecuteJob>): Promise<void> {
  try {
    await executeApproval(ctx, job.data.approvalId, { finalAttempt: job.retryCount >= APPROVAL_EXECUTE_RETRY_LIMIT });
    jobsHandled.inc({ queue: QUEUES.approvalExecute, outcome: 'ok' });
  } catch (err) {
    jobsHandled.inc({ queue: QUEUES.approvalExecute, outcome: 'error' });
    throw err;
  }
}

/** Approvals still waiting for a decision (for `vaultpilot_approvals_pending`). */
async function countPending(ctx: CoreContext): Promise<number> {
  const row = await ctx.db
    .selectFrom('approvals')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('status', '=', 'pending')
    .where('expires_at', '>', new Date())
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Registers the queue's handler and starts the expiry sweep (once at start, then every 30 s).
 * @returns a function that stops the sweep (and waits for a running one).
 */
export async function registerApprovalExecute(ctx: CoreContext, boss: PgBoss): Promise<() => Promise<void>> {
  await boss.work<ApprovalExecuteJob>(QUEUES.approvalExecute, { batchSize: 1, pollingIntervalSeconds: 0.5 }, async ([job]) => {
    if (job) await handleApprovalExecute(ctx, job);
  });
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const sweep = () => {
    running = expireApprovals(ctx)
      .then(() => countPending(ctx))
      .then(
        (pending) => approvalsPending.set(pending),
        (err: unknown) => ctx.logger.warn({ err }, 'approval expiry sweep failed; retrying'),
      )
      .finally(() => {
        if (!stopped) timer = setTimeout(sweep, EXPIRY_SWEEP_MS);
      });
  };
  sweep();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}
