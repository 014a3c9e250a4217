/**
 * The key expiry sweep: once at start and then every 10 s, pauses the active strategies and
 * cancels the pending approvals of keys that are past `expires_at` (or revoked, should anything
 * have been left behind), with an audit row each (core/auth/keys.ts `retireInvalidKeys`). Any
 * number of workers may run it: each key is handled under its row lock, and a second pass finds
 * nothing left. Ticks and decisions check the key themselves, so the interval is no window in
 * which an expired key's strategy could send; it bounds how long an expired key's approval reads
 * `pending` and its strategy `active`.
 */
import type { CoreContext } from '../../core/context.ts';
import { retireInvalidKeys } from '../../core/auth/keys.ts';

/** Milliseconds between sweeps. */
export const KEY_SWEEP_MS = 10_000;

/**
 * Starts the sweep (once now, then every {@link KEY_SWEEP_MS}).
 * @returns a function that stops it and waits for a running sweep.
 */
export function startKeyExpirySweep(ctx: CoreContext): () => Promise<void> {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const sweep = () => {
    running = retireInvalidKeys(ctx)
      .then(
        () => undefined,
        (err: unknown) => ctx.logger.warn({ err }, 'key expiry sweep failed; retrying'),
      )
      .finally(() => {
        if (!stopped) timer = setTimeout(sweep, KEY_SWEEP_MS);
      });
  };
  sweep();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}
