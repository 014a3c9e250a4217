/**
 * One tick of one strategy: the only path by which a strategy sends, used by the worker's
 * `strategy-tick` jobs and by `tick_strategy`.
 *
 * Sequence, with no lock held: read the strategy and the EIP-1559 fees (with the latest base
 * fee); unless the kind's gate already decides (ended, not due, expired, gas above the ceiling),
 * read the wallet's chain facts too (balance, pending nonce, a gas limit per send). Then, in one
 * database transaction, lock the strategy row, check that the slot is still the strategy's
 * pending one and has no run yet, lock the wallet row, read what pending transactions reserve and
 * what the strategy sent in the last 24 hours, run the kind's pure decision
 * (`kinds/index.ts` `decide`), and record the outcome: for a send, the
 * `strategy_runs` row, the signed transactions (nonces under the wallet lock, a `tx-monitor` job
 * each), the strategy's counters and next slot, and an audit row, all committed together. Only
 * then is anything broadcast.
 *
 * Under the strategy lock the tick also checks the strategy's responsible key (pause.ts): when
 * it is revoked or expired the strategy is paused instead (no run, one audit row), so nothing is
 * sent between a revocation or expiry and the sweep. A run that sends counts as one call of that
 * key naming the wallet against the policy file's rate limits, inside this transaction; over a
 * limit it becomes a `failed` run with `RATE_LIMITED`.
 *
 * Exactly once: `strategy_runs (strategy_id, slot_at)` is unique and written in the same
 * transaction as the send, so whichever of two workers, a retried job or a manual tick gets the
 * strategy lock first runs the slot and the others find it taken. A process killed before commit
 * leaves nothing (Postgres rolls back; pg-boss retries the job); killed after commit, the run and
 * its `queued` transactions are recorded and the tx-monitor broadcasts them.
 */
import { sql, type Transaction, type Updateable } from 'kysely';
import type { CoreContext } from '../context.ts';
import type { Database, PolicyDecisionKind, StrategiesTable, StrategyRow, StrategyRunRow, TransactionRow, WalletRow } from '../db/types.ts';
import { ConflictError, PolicyError, toVaultPilotError } from '../errors.ts';
import { refusalDecision } from '../policy/decision.ts';
import { formatEth } from '../money.ts';
import { recordAudit } from '../audit/log.ts';
import { strategyTickLag, strategyTicks, transactionsByStatus } from '../metrics.ts';
import { broadcastRecorded, lockWallet, readSendSnapshot, recordSends, transferGas, type SendSnapshot } from '../transactions/transfer.ts';
import { decide, gate, kindOf, type ChainFacts, type Decision, type PlannedSend } from './kinds/index.ts';
import type { Eip1559Fees } from '../chain/client.ts';
import type { CommonParams } from './kinds/common.ts';
import { testPause } from '../test-hooks.ts';
import { consumeRateLimits } from '../policy/rate-limit.ts';
import { pauseLockedStrategy, responsibleKeyInvalidity, WORKER_ACTOR } from './pause.ts';
import { cancelScheduledTicksIn } from './dispatch.ts';

/**
 * What a tick did. `stale`: the slot was no longer the strategy's (run elsewhere, stopped,
 * edited); `paused`: its responsible key was revoked or expired, so it was paused, not run.
 */
export type TickOutcome = 'sent' | 'skipped' | 'failed' | 'ended' | 'paused' | 'stale' | 'dry_run';

/** The result of {@link runTick}. */
export interface TickResult {
  outcome: TickOutcome;
  /** The decision (also for dry runs); absent when stale or when the chain could not be read. */
  decision?: Decision;
  run: StrategyRunRow | null;
  /** Transactions sent by this tick, after their broadcast. */
  transactions: TransactionRow[];
  /** The strategy after the tick. */
  strategy: StrategyRow | null;
}

/** Which slot a tick runs and on whose behalf. */
export interface TickRequest {
  /** `schedule`: the worker runs `slot`; `manual`: `tick_strategy` claims the due slot, if any. */
  source: 'schedule' | 'manual';
  /** The slot (scheduled ticks only). */
  slot?: Date;
  /** Decide and report, write and send nothing (manual ticks only). */
  dryRun?: boolean;
  /** Clock (tests pass a fixed one). */
  now?: () => Date;
}

type Trx = Transaction<Database>;

/** Strategy + wallet as a tick reads them. */
interface Loaded {
  strategy: StrategyRow;
  wallet: WalletRow;
}

async function load(db: CoreContext['db'] | Trx, strategyId: string, lock: boolean): Promise<StrategyRow | undefined> {
  let q = db.selectFrom('strategies').selectAll().where('id', '=', strategyId).where('deleted_at', 'is', null);
  if (lock) q = q.forUpdate();
  return q.executeTakeFirst();
}

/** Facts from the chain, read before any lock. */
interface Prefetched {
  snap: SendSnapshot;
  gasLimits: bigint[];
}

async function prefetch(ctx: CoreContext, wallet: WalletRow, sends: PlannedSend[], fees: Eip1559Fees): Promise<Prefetched> {
  const [snap, gasLimits] = await Promise.all([
    readSendSnapshot(ctx, wallet.address, fees),
    Promise.all(sends.map((s) => transferGas(ctx, wallet.address, s.to, s.valueWei))),
  ]);
  return { snap, gasLimits };
}

/** Wei the strategy's sent runs moved in the 24 hours before `now`. */
async function spentSince(trx: Trx, strategyId: string, since: Date): Promise<bigint> {
  const row = await trx
    .selectFrom('strategy_runs')
    .select(sql<string>`coalesce(sum(amount_wei), 0)::text`.as('spent'))
    .where('strategy_id', '=', strategyId)
    .where('outcome', '=', 'sent')
    .where('created_at', '>', since)
    .executeTakeFirstOrThrow();
  return BigInt(row.spent);
}

/** The slot a locked strategy's tick runs, or why it does not. */
function slotFor(strategy: StrategyRow, req: TickRequest, now: Date): { slot: Date; due: boolean } | 'stale' {
  const pending = strategy.next_run_at;
  if (req.source === 'schedule') {
    if (strategy.status !== 'active' || !pending || !req.slot || pending.getTime() !== req.slot.getTime()) return 'stale';
    return { slot: pending, due: true };
  }
  // A manual tick claims the pending slot when it is due, the same slot the worker would run.
  if (pending && pending.getTime() <= now.getTime()) return { slot: pending, due: true };
  return { slot: now, due: false };
}

/** Fields of the strategy row that change after a run. */
function afterRun(
  strategy: StrategyRow,
  params: CommonParams,
  slot: Date,
  now: Date,
  outcome: 'sent' | 'skipped' | 'failed',
  due: boolean,
  sentWei: bigint,
): Updateable<StrategiesTable> {
  const def = kindOf(strategy.kind);
  const counters = {
    runs_sent: strategy.runs_sent + (outcome === 'sent' ? 1 : 0),
    runs_skipped: strategy.runs_skipped + (outcome === 'skipped' ? 1 : 0),
    runs_failed: strategy.runs_failed + (outcome === 'failed' ? 1 : 0),
    spent_total_wei: (BigInt(strategy.spent_total_wei) + sentWei).toString(),
    last_run_at: now,
    updated_at: now,
  };
  if (!due) return counters; // a manual tick before the slot leaves the schedule alone
  const next = def.next(params, slot, now, outcome);
  if (typeof next === 'string') return { ...counters, status: 'completed', next_run_at: null, end_reason: next };
  if (params.max_runs !== null && counters.runs_sent >= params.max_runs) return { ...counters, status: 'completed', next_run_at: null, end_reason: 'max_runs' };
  if (params.ends_at !== null && next.getTime() >= Date.parse(params.ends_at)) return { ...counters, status: 'completed', next_run_at: null, end_reason: 'ends_at' };
  return { ...counters, next_run_at: next };
}

function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === '23505';
}

/**
 * The audit row of a tick, in the tick's transaction: a scheduled tick's own `worker` row; a
 * manual tick commits the row of the tool call or REST write that made it (`ctx.audit`).
 */
async function auditTick(
  ctx: CoreContext,
  trx: Trx,
  loaded: Loaded,
  req: TickRequest,
  slot: Date,
  outcome: TickOutcome,
  extra: Record<string, unknown>,
  errorCode?: string,
  decision: { decision?: PolicyDecisionKind; rule?: string } = {},
): Promise<void> {
  if (req.source !== 'schedule') {
    await ctx.audit?.commit(trx, { response: { outcome, ...extra }, agentId: loaded.wallet.agent_id, walletId: loaded.wallet.id, decision: decision.decision ?? null, rule: decision.rule ?? null });
    return;
  }
  await recordAudit(trx, {
    tenantId: loaded.strategy.tenant_id,
    kind: 'worker',
    action: 'strategy_tick',
    principal: 'worker',
    agentId: loaded.wallet.agent_id,
    walletId: loaded.wallet.id,
    status: outcome === 'failed' ? 'error' : 'ok',
    errorCode: errorCode ?? null,
    ...decision,
    request: { strategy_id: loaded.strategy.id, label: loaded.strategy.label, kind: loaded.strategy.kind, slot: slot.toISOString() },
    response: { outcome, ...extra },
  });
}

/**
 * Runs one tick of `strategyId` (see the module comment).
 *
 * @returns what happened; a scheduled tick never throws for a refusal or an outage of the chain
 *   or key provider: it records a `failed` run instead, so the slot is never silently lost.
 * @throws {ConflictError} `STRATEGY_NOT_ACTIVE` for a manual, non-dry tick of a strategy that is
 *   not running; database errors (the caller, pg-boss, retries the job).
 */
export async function runTick(ctx: CoreContext, strategyId: string, req: TickRequest): Promise<TickResult> {
  const clock = req.now ?? (() => new Date());
  const first = await load(ctx.db, strategyId, false);
  if (!first) return { outcome: 'stale', run: null, transactions: [], strategy: null };
  if (req.source === 'schedule' && (first.status !== 'active' || first.next_run_at?.getTime() !== req.slot?.getTime())) {
    return { outcome: 'stale', run: null, transactions: [], strategy: first };
  }
  if (req.source === 'manual' && !req.dryRun && first.status !== 'active') {
    throw new ConflictError('STRATEGY_NOT_ACTIVE', `strategy "${first.label}" is ${first.status}; start it with start_strategy first, or tick with dry_run=true to see what it would do`);
  }
  const wallet = await ctx.db.selectFrom('wallets').selectAll().where('id', '=', first.wallet_id).executeTakeFirstOrThrow();
  const loaded: Loaded = { strategy: first, wallet };
  const def = kindOf(first.kind);
  const params = def.stored(first.params);
  const sends = def.sends(params);
  // One clock reading for the whole tick; a scheduled slot is never judged before it is due
  // (the database's clock released the job; this process's may lag it by a few ms).
  const started = clock();
  const at = req.source === 'schedule' && req.slot && req.slot > started ? req.slot : started;

  // The base fee first: a tick its gate decides (gas above the ceiling, not due, expired, ended)
  // reads nothing else from the chain.
  let fees: Eip1559Fees;
  let facts: Prefetched | null = null;
  try {
    fees = await ctx.chain.getFees();
    const pending = first.next_run_at;
    const due = req.source === 'schedule' || (pending !== null && pending.getTime() <= at.getTime());
    if (due && !gate(def, params, pending ?? at, at, { baseFeePerGas: fees.baseFeePerGas, runsSent: first.runs_sent })) facts = await prefetch(ctx, wallet, sends, fees);
  } catch (err) {
    return recordFailure(ctx, loaded, req, at, err);
  }

  let sent: TransactionRow[] = [];
  let result: TickResult;
  try {
    result = await ctx.db.transaction().execute(async (trx) => {
      const strategy = await load(trx, strategyId, true);
      const slotted = strategy ? slotFor(strategy, req, at) : 'stale';
      if (!strategy || slotted === 'stale') return { outcome: 'stale', run: null, transactions: [], strategy: strategy ?? null } satisfies TickResult;
      const { slot, due } = slotted;
      const now = at;
      loaded.strategy = strategy;
      // The key that answers for the strategy must still be valid now (a fresh reading: `now` may
      // be the slot, or the start of the chain reads), under the lock a revocation also takes:
      // otherwise pause instead of running (a dry run only reports it).
      const invalid = strategy.status === 'active' ? await responsibleKeyInvalidity(trx, strategy.created_by_key_id, clock()) : null;
      if (invalid) {
        if (req.dryRun) return { outcome: 'paused', run: null, transactions: [], strategy } satisfies TickResult;
        const paused = await pauseLockedStrategy(trx, strategy, wallet.agent_id, invalid, WORKER_ACTOR, now);
        // A manual tick leaves the scheduled slot's job behind; a scheduled tick is that job.
        if (req.source === 'manual') await cancelScheduledTicksIn(ctx.boss, trx, [strategy.scheduled_job_id]);
        return { outcome: 'paused', run: null, transactions: [], strategy: paused } satisfies TickResult;
      }
      const current = def.stored(strategy.params); // edited since the first read? use what is locked
      if (JSON.stringify(current) !== JSON.stringify(params)) return { outcome: 'stale', run: null, transactions: [], strategy } satisfies TickResult;

      const gated = due ? gate(def, params, slot, now, { baseFeePerGas: fees.baseFeePerGas, runsSent: strategy.runs_sent }) : null;
      let decision: Decision;
      // Set once the wallet is locked and its facts read: only then can the decision be a send.
      let ready: { facts: Prefetched; locked: { nextNonce: number; reservedWei: bigint } } | null = null;
      if (!due) {
        decision = { action: 'skip', reason: 'not_due', detail: `the next run is due at ${strategy.next_run_at?.toISOString() ?? 'no time (not scheduled)'}` };
      } else if (gated) {
        decision = gated;
      } else if (!facts) {
        // Another tick changed the strategy between the first read and the lock.
        return { outcome: 'stale', run: null, transactions: [], strategy } satisfies TickResult;
      } else {
        const locked = await lockWallet(ctx, trx, wallet.id);
        ready = { facts, locked };
        const chainFacts: ChainFacts = {
          maxFeePerGas: facts.snap.fees.maxFeePerGas,
          gasLimits: facts.gasLimits,
          balanceWei: facts.snap.balance,
          reservedWei: locked.reservedWei,
          spent24hWei: await spentSince(trx, strategy.id, new Date(now.getTime() - 24 * 3600 * 1000)),
        };
        decision = decide(def, params, slot, now, { ...chainFacts, baseFeePerGas: fees.baseFeePerGas, runsSent: strategy.runs_sent });
      }
      if (req.dryRun) return { outcome: 'dry_run', decision, run: null, transactions: [], strategy } satisfies TickResult;

      if (decision.action === 'end') {
        const [updated] = await trx
          .updateTable('strategies')
          .set({ status: 'completed', next_run_at: null, end_reason: decision.reason, updated_at: now })
          .where('id', '=', strategy.id)
          .returningAll()
          .execute();
        await auditTick(ctx, trx, loaded, req, slot, 'ended', { reason: decision.reason, detail: decision.detail });
        return { outcome: 'ended', decision, run: null, transactions: [], strategy: updated! } satisfies TickResult;
      }

      if (decision.action === 'send') checkConfirmedAmounts(ctx, strategy, decision.sends);
      const outcome = decision.action === 'send' ? 'sent' : 'skipped';
      const run = await trx
        .insertInto('strategy_runs')
        .values({
          tenant_id: strategy.tenant_id,
          strategy_id: strategy.id,
          slot_at: slot,
          source: req.source,
          outcome,
          reason: decision.action === 'skip' ? decision.reason : null,
          detail: decision.action === 'skip' ? decision.detail : `sent ${formatEth(decision.totalWei)} ETH in ${decision.sends.length} transaction(s)`,
          amount_wei: decision.action === 'send' ? decision.totalWei.toString() : '0',
          started_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();

      let finalRun = run;
      if (decision.action === 'send') {
        if (!ready) throw new Error('a send decision without the wallet facts');
        const { facts: f, locked } = ready;
        sent = await recordSends(
          ctx,
          trx,
          wallet,
          decision.sends.map((s, i) => ({ to: s.to, valueWei: s.valueWei, gasLimit: f.gasLimits[i]! })),
          f.snap,
          { tenantId: strategy.tenant_id, source: 'strategy', strategyRunId: run.id, locked },
        );
        // One run, one call of the responsible key naming the wallet (rate_limits.default and
        // .agents.<agent_id>), counted in this transaction so a rolled-back tick consumes
        // nothing; counted last, so the counter rows stay locked only until the commit. Over a
        // limit this throws RATE_LIMITED and the run is recorded as failed (recordFailure).
        await consumeRateLimits(ctx, { tenantId: strategy.tenant_id, keyId: strategy.created_by_key_id, tool: null, agentId: wallet.agent_id }, now, trx);
        finalRun = await trx.updateTable('strategy_runs').set({ transaction_ids: sent.map((t) => t.id) }).where('id', '=', run.id).returningAll().executeTakeFirstOrThrow();
      }
      const [updated] = await trx
        .updateTable('strategies')
        .set(afterRun(strategy, params, slot, now, outcome, due, decision.action === 'send' ? decision.totalWei : 0n))
        .where('id', '=', strategy.id)
        .returningAll()
        .execute();
      await auditTick(ctx, trx, loaded, req, slot, outcome, {
        run_id: run.id,
        reason: finalRun.reason,
        detail: finalRun.detail,
        transactions: sent.map((t) => ({ id: t.id, tx_hash: t.tx_hash, to_address: t.to_address, value_wei: t.value_wei })),
      }, undefined, outcome === 'sent' ? { decision: 'allow' } : {});
      return { outcome, decision, run: finalRun, transactions: sent, strategy: updated! } satisfies TickResult;
    });
  } catch (err) {
    if (isUniqueViolation(err)) return { outcome: 'stale', run: null, transactions: [], strategy: null };
    return recordFailure(ctx, loaded, req, at, err);
  }

  if (sent.length > 0) {
    transactionsByStatus.inc({ status: 'queued' }, sent.length);
    await testPause(ctx, 'before broadcast', { strategyId, runId: result.run?.id });
    // Broadcast in nonce order; a failed broadcast is the tx-monitor's to retry.
    const broadcast: TransactionRow[] = [];
    for (const tx of sent) {
      const view = await broadcastRecorded(ctx, tx.id, tx.raw_tx, wallet.agent_id);
      broadcast.push({ ...tx, status: view.status });
    }
    result.transactions = broadcast;
  }
  observe(result, first.kind, req);
  return result;
}

/** Counts the tick and, for scheduled ones, how late it ran. */
function observe(result: TickResult, kind: string, req: TickRequest): void {
  if (result.outcome === 'stale' || result.outcome === 'dry_run') return;
  strategyTicks.inc({ kind, result: result.outcome });
  if (req.source === 'schedule' && req.slot && result.run) strategyTickLag.observe({ kind }, Math.max(0, result.run.started_at.getTime() - req.slot.getTime()) / 1000);
}

/**
 * Refuses a send above `MAX_TX_ETH` unless a human confirmed it when the strategy was set up
 * (AgentVault's spend gate, applied to unattended sends).
 * @throws {PolicyError} `CONFIRMATION_REQUIRED`.
 */
function checkConfirmedAmounts(ctx: CoreContext, strategy: StrategyRow, sends: PlannedSend[]): void {
  const max = ctx.config.maxTxWei;
  const over = sends.find((s) => s.valueWei > max);
  if (over && !strategy.confirmed_above_max) {
    throw new PolicyError('CONFIRMATION_REQUIRED', `a send of ${formatEth(over.valueWei)} ETH is above MAX_TX_ETH (${formatEth(max)}) and no confirmation code was given for this strategy; update it with confirmation_code`);
  }
}

/**
 * Records a `failed` run for a tick that could not complete (chain or key provider outage, a
 * refusal at send time), under the strategy lock and only if the slot is still pending, and
 * moves the strategy to its next slot (one-shots retry).
 * @throws database errors (the job is then retried by pg-boss).
 */
async function recordFailure(ctx: CoreContext, loaded: Loaded, req: TickRequest, now: Date, err: unknown): Promise<TickResult> {
  const e = toVaultPilotError(err);
  if (e.code === 'INTERNAL') ctx.logger.error({ err, strategyId: loaded.strategy.id }, 'strategy tick failed');
  else ctx.logger.warn({ strategyId: loaded.strategy.id, code: e.code, err: e.message }, 'strategy tick failed');
  if (req.dryRun) throw e;
  const result = await ctx.db.transaction().execute(async (trx) => {
    const strategy = await load(trx, loaded.strategy.id, true);
    const slotted = strategy ? slotFor(strategy, req, now) : 'stale';
    if (!strategy || slotted === 'stale') return { outcome: 'stale', run: null, transactions: [], strategy: strategy ?? null } satisfies TickResult;
    const def = kindOf(strategy.kind);
    const params = def.stored(strategy.params);
    const run = await trx
      .insertInto('strategy_runs')
      .values({
        tenant_id: strategy.tenant_id,
        strategy_id: strategy.id,
        slot_at: slotted.slot,
        source: req.source,
        outcome: 'failed',
        error_code: e.code,
        detail: e.message.slice(0, 500),
        started_at: now,
      })
      .onConflict((oc) => oc.columns(['strategy_id', 'slot_at']).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!run) return { outcome: 'stale', run: null, transactions: [], strategy } satisfies TickResult;
    const [updated] = await trx
      .updateTable('strategies')
      .set(afterRun(strategy, params, slotted.slot, now, 'failed', slotted.due, 0n))
      .where('id', '=', strategy.id)
      .returningAll()
      .execute();
    await auditTick(ctx, trx, { ...loaded, strategy }, req, slotted.slot, 'failed', { run_id: run.id, error: { code: e.code, message: e.message } }, e.code, refusalDecision(e));
    return { outcome: 'failed', run, transactions: [], strategy: updated! } satisfies TickResult;
  });
  observe(result, loaded.strategy.kind, req);
  return result;
}
