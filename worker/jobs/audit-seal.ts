/**
 * Seals new audit rows into their tenants' hash chains (core/audit/seal.ts) every 250 ms, so a
 * row is sealed well within a second of its commit. Any number of workers may run it: each chain
 * is sealed under its own advisory lock.
 */
import type { CoreContext } from '../../core/context.ts';
import { sealAuditLog } from '../../core/audit/seal.ts';

/** Milliseconds between sealing rounds. */
export const SEAL_INTERVAL_MS = 250;

/**
 * Starts the sealing loop.
 * @returns a function that stops it after sealing what is left (so a stopped worker leaves no
 *   row unsealed that it could have sealed).
 */
export function startAuditSealer(ctx: CoreContext): () => Promise<void> {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const round = () => {
    running = sealAuditLog(ctx.db)
      .then(
        () => undefined,
        (err: unknown) => ctx.logger.warn({ err }, 'audit sealing failed; retrying'),
      )
      .finally(() => {
        if (!stopped) timer = setTimeout(round, SEAL_INTERVAL_MS);
      });
  };
  round();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
    await sealAuditLog(ctx.db).catch((err: unknown) => ctx.logger.warn({ err }, 'final audit sealing failed'));
  };
}
