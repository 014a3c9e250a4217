/**
 * Deletes rate-limit counters whose window has ended (core/policy/rate-limit.ts), once a minute,
 * so the table holds only live windows. Any number of workers may run it: deleting ended rows
 * is idempotent.
 */
import type { CoreContext } from '../../core/context.ts';
import { pruneRateLimitCounters } from '../../core/policy/rate-limit.ts';

const PRUNE_INTERVAL_MS = 60_000;

/** Starts the periodic prune; returns a function that stops it. */
export function startRateLimitPrune(ctx: CoreContext): () => void {
  const timer = setInterval(() => {
    pruneRateLimitCounters(ctx.db).catch((err: unknown) => ctx.logger.warn({ err }, 'rate-limit counter prune failed'));
  }, PRUNE_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
