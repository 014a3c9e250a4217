/**
 * `strategy-tick` queue: runs one slot of one strategy (`core/strategies/engine.ts`), and the
 * scheduler loop that enqueues due slots (`core/strategies/dispatch.ts`) every half second.
 * A tick that finds its slot taken, stopped or edited does nothing; database errors throw, and
 * pg-boss retries the job.
 */
import type { PgBoss, Job } from 'pg-boss';
import type { CoreContext } from '../../core/context.ts';
import { QUEUES, type StrategyTickJob } from '../../core/jobs/queue.ts';
import { jobsHandled } from '../../core/metrics.ts';
import { runTick } from '../../core/strategies/engine.ts';
import { enqueueDueSlots, refreshActiveGauge } from '../../core/strategies/dispatch.ts';

/** Ticks run at once per worker process. */
const CONCURRENCY = 8;
/** Milliseconds between sweeps for due slots. */
const SWEEP_MS = 500;

/** Handles one `strategy-tick` job. */
export async function handleStrategyTick(ctx: CoreContext, job: Job<StrategyTickJob>): Promise<void> {
  try {
    await runTick(ctx, job.data.strategyId, { source: 'schedule', slot: new Date(job.data.slot) });
    jobsHandled.inc({ queue: QUEUES.strategyTick, outcome: 'ok' });
  } catch (err) {
    jobsHandled.inc({ queue: QUEUES.strategyTick, outcome: 'error' });
    throw err;
  }
}

/**
 * Registers the queue's handler and starts the scheduler loop.
 * @returns a function that stops the loop (and waits for a running sweep).
 */
export async function registerStrategyTick(ctx: CoreContext, boss: PgBoss): Promise<() => Promise<void>> {
  await boss.work<StrategyTickJob>(QUEUES.strategyTick, { batchSize: 1, localConcurrency: CONCURRENCY, pollingIntervalSeconds: 0.5 }, async ([job]) => {
    if (job) await handleStrategyTick(ctx, job);
  });
  let stopped = false;
  let sweeps = 0;
  let running: Promise<void> = Promise.resolve();
  const loop = async () => {
    while (!stopped) {
      running = (async () => {
        try {
          await enqueueDueSlots(ctx);
          if (sweeps++ % 10 === 0) await refreshActiveGauge(ctx);
        } catch (err) {
          ctx.logger.warn({ err }, 'strategy scheduler sweep failed; retrying');
        }
      })();
      await running;
      if (!stopped) await new Promise((r) => setTimeout(r, SWEEP_MS));
    }
  };
  void loop();
  return async () => {
    stopped = true;
    await running;
  };
}
