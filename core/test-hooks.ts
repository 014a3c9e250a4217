/**
 * Crash-test pause points. With `NODE_ENV=test` and `VAULTPILOT_TEST_PAUSE_<POINT>_MS` set, the
 * process logs "test hook: paused <point>" and waits that long at the point, so a test can
 * `kill -9` it exactly there. Inert in any other environment (the variables are not read).
 */
import type { CoreContext } from './context.ts';

/** Where a send can be paused: after its nonce is taken (inside the database transaction), or after commit, before broadcast. */
export type PausePoint = 'after taking a nonce' | 'before broadcast';

const VARIABLE: Record<PausePoint, string> = {
  'after taking a nonce': 'VAULTPILOT_TEST_PAUSE_AFTER_NONCE_MS',
  'before broadcast': 'VAULTPILOT_TEST_PAUSE_BEFORE_BROADCAST_MS',
};

/** Pauses at `point` when a test asked for it (see the module comment). */
export async function testPause(ctx: CoreContext, point: PausePoint, context: Record<string, unknown>): Promise<void> {
  if (ctx.config.nodeEnv !== 'test') return;
  const ms = Number(process.env[VARIABLE[point]] ?? 0);
  if (!(ms > 0)) return;
  ctx.logger.warn(context, `test hook: paused ${point}`);
  await new Promise((r) => setTimeout(r, ms));
}
