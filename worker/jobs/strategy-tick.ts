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

/**
 * Fetchers per worker process (pg-boss `localConcurrency`), each taking `BATCH` jobs per fetch and
 * fetching again at once while fetches come back full (`burstWhenBatchFull`). pg-boss otherwise
 * waits out its polling interval (0.5 s at least) after every fetch, which capped a worker at
 * 16 ticks/s with one job per fetch (bench/strategies.ts, docs/performance.md, "Strategies").
 */
const FETCHERS = 8;
const BATCH = 4;
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
  await boss.work<StrategyTickJob>(
    QUEUES.strategyTick,
    { batchSize: BATCH, localConcurrency: FETCHERS, pollingIntervalSeconds: 0.5, burstWhenBatchFull: true },
    async (jobs) => {
      // One after another; if one fails the whole batch is retried, and the ticks that ran
      // already find their slot taken and do nothing. (Per-job results would double the
      // database time of a tick: their completion statement is that expensive.)
      let failure: unknown;
      for (const job of jobs) await handleStrategyTick(ctx, job).catch((err: unknown) => (failure ??= err));
      if (failure !== undefined) throw failure;
    },
  );
  let stopped = false;
  let sweeps = 0;
  let running: Promise<void> = Promise.resolve();
  const loop = async () => {
    while (!stopped) {
      running = (async () => {
        try {
          // Every tenth sweep (5 s) also re-enqueues lost slots and refreshes the gauge.
          const slow = sweeps++ % 10 === 0;
          await enqueueDueSlots(ctx, { requeueLost: slow });
          if (slow) await refreshActiveGauge(ctx);
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
