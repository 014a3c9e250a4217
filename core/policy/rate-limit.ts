/**
 * Rate limits of MCP tool calls, counted in Postgres so every server replica shares them.
 *
 * The policy file's `rate_limits` (AgentVault's section, read as is) gives up to three limits
 * for a call, each its own counter per tenant:
 * - `default`: every tool call of one API key;
 * - `tools.<name>`: calls of that tool by one API key;
 * - `agents.<agent_id>`: calls naming that wallet, whichever key makes them.
 * Windows are fixed (aligned to multiples of `window_seconds` since the Unix epoch). A call
 * increments each of its counters in ONE transaction, in a fixed order, and rolls back if any is
 * over its limit: concurrent calls serialize on the counter rows, exactly `max_calls` of them
 * pass in a window, and a refused call consumes nothing.
 *
 * Strategy sends count too (core/strategies/engine.ts): each run that would send is one call of
 * the strategy's responsible key (`default`) naming its wallet (`agents.<agent_id>`), counted
 * inside the tick's own transaction, so a tick that rolls back consumes nothing.
 */
import { sql, type Transaction } from 'kysely';
import type { CoreContext } from '../context.ts';
import type { Db } from '../db/connect.ts';
import type { Database } from '../db/types.ts';
import { PolicyError } from '../errors.ts';
import type { RateLimit, RateLimits } from './schema.ts';

/** The call being counted. */
export interface RateLimitedCall {
  tenantId: string;
  /** The calling key; `null` for a strategy without one (imported): no per-key counter then. */
  keyId: string | null;
  /** The tool called; `null` for a strategy send (no per-tool counter). */
  tool: string | null;
  /** The wallet the call names (`agent_id` argument), if any. */
  agentId: string | null;
}

interface Counter {
  /** The rule that set it: `rate_limits.default`, `rate_limits.tools.<name>`, `rate_limits.agents.<id>`. */
  rule: string;
  counter: string;
  limit: RateLimit;
}

/** The counters that apply to `call` under `limits`, in lock order. */
export function countersFor(limits: RateLimits, call: RateLimitedCall): Counter[] {
  const out: Counter[] = [];
  if (limits.default && call.keyId !== null) out.push({ rule: 'rate_limits.default', counter: `key:${call.keyId}`, limit: limits.default });
  const tool = call.tool !== null ? limits.tools?.[call.tool] : undefined;
  if (tool) out.push({ rule: `rate_limits.tools.${call.tool}`, counter: `tool:${call.tool}:key:${call.keyId}`, limit: tool });
  const agent = call.agentId !== null ? limits.agents?.[call.agentId] : undefined;
  if (agent) out.push({ rule: `rate_limits.agents.${call.agentId}`, counter: `agent:${call.agentId}`, limit: agent });
  for (const c of out) c.counter += `:${c.limit.window_seconds}s`;
  return out.sort((a, b) => (a.counter < b.counter ? -1 : a.counter > b.counter ? 1 : 0));
}

/** Thrown inside the counting transaction to roll it back. */
class OverLimit extends Error {
  readonly counter: Counter;
  readonly windowEnd: Date;
  constructor(counter: Counter, windowEnd: Date) {
    super('over limit');
    this.counter = counter;
    this.windowEnd = windowEnd;
  }
}

/**
 * Counts one call against every limit that applies to it.
 * @param db - a transaction to count inside it (a strategy tick): the increments then commit or
 *   roll back with it; a refusal rolls back to a savepoint first, so the caller's transaction is
 *   left as it was. Default: a transaction of its own on `ctx.db`.
 * @throws {PolicyError} `RATE_LIMITED` (HTTP 429) naming the rule, its limit and when the window
 *   resets (`retry_after_seconds`); nothing is counted then.
 */
export async function consumeRateLimits(ctx: CoreContext, call: RateLimitedCall, now = new Date(), db?: Transaction<Database>): Promise<void> {
  const counters = countersFor(ctx.policy.rateLimits, call);
  if (counters.length === 0) return;
  const count = async (trx: Transaction<Database>) => {
    for (const c of counters) {
      const windowMs = c.limit.window_seconds * 1000;
      const start = new Date(Math.floor(now.getTime() / windowMs) * windowMs);
      const row = await trx
        .insertInto('rate_limit_counters')
        .values({ tenant_id: call.tenantId, counter: c.counter, window_start: start, window_seconds: c.limit.window_seconds, calls: 1 })
        .onConflict((oc) => oc.columns(['tenant_id', 'counter', 'window_start']).doUpdateSet({ calls: sql`rate_limit_counters.calls + 1` }))
        .returning('calls')
        .executeTakeFirstOrThrow();
      if (row.calls > c.limit.max_calls) throw new OverLimit(c, new Date(start.getTime() + windowMs));
    }
  };
  try {
    if (!db) {
      await ctx.db.transaction().execute(count);
    } else {
      await sql`savepoint rate_limits`.execute(db);
      try {
        await count(db);
      } catch (err) {
        await sql`rollback to savepoint rate_limits`.execute(db);
        throw err;
      }
      await sql`release savepoint rate_limits`.execute(db);
    }
  } catch (err) {
    if (!(err instanceof OverLimit)) throw err;
    const { rule, limit } = err.counter;
    const retryAfter = Math.max(1, Math.ceil((err.windowEnd.getTime() - now.getTime()) / 1000));
    throw new PolicyError('RATE_LIMITED', `rate limit ${rule} reached: at most ${limit.max_calls} calls per ${limit.window_seconds} s; retry in ${retryAfter} s`, {
      rule,
      max_calls: limit.max_calls,
      window_seconds: limit.window_seconds,
      retry_after_seconds: retryAfter,
    });
  }
}

/**
 * Deletes counters whose window ended more than a minute ago (the worker runs it periodically).
 * @returns how many rows were deleted.
 */
export async function pruneRateLimitCounters(db: Db, now = new Date()): Promise<number> {
  const res = await db
    .deleteFrom('rate_limit_counters')
    .where(sql<boolean>`window_start + make_interval(secs => window_seconds) < ${new Date(now.getTime() - 60_000)}`)
    .executeTakeFirst();
  return Number(res.numDeletedRows);
}
