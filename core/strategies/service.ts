/**
 * Strategies as agents and operators manage them: create (validated by the kind's parser, nothing
 * stored on a bad field), start, stop (cancels the pending slot), update (re-validates, and
 * reschedules a running strategy), delete (stops first; runs stay in history), look up by label
 * or id, list, status with recent runs, run history, and the manual tick. Every query is scoped
 * to the caller's tenant.
 */
import { sql, type Transaction } from 'kysely';
import type { CoreContext } from '../context.ts';
import type { Principal } from '../auth/api-keys.ts';
import type { Database, StrategyRow, StrategyRunRow } from '../db/types.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { ethAmount, type EthAmount } from '../money.ts';
import { olderThan, toPage } from '../db/pagination.ts';
import { isUuid } from '../validation/uuid.ts';
import { gatePurpose, needsConfirmation } from '../transactions/transfer.ts';
import { checkCode } from '../policy/confirmation.ts';
import { getWalletByAgent, parseAgentId } from '../wallets/service.ts';
import { checkWalletScope } from '../auth/scopes.ts';
import { kindOf, parseParams, type Decision, type KindDefinition } from './kinds/index.ts';
import type { CommonParams } from './kinds/common.ts';
import { nextOccurrence, type Recurrence } from './kinds/schedule.ts';
import { runTick, type TickOutcome } from './engine.ts';
import { cancelScheduledTick } from './dispatch.ts';
import { responsibleKeyInvalidity } from './pause.ts';

/** Longest label (AgentVault's store keys are short names). */
const LABEL_MAX = 100;

/**
 * Validates a strategy label: 1-100 printable characters.
 * @throws {ValidationError} `label`.
 */
export function parseLabel(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > LABEL_MAX || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new ValidationError('label', `must be 1-${LABEL_MAX} printable characters`);
  }
  return value;
}

/** A strategy as tools and REST return it. */
export interface StrategyView {
  id: string;
  label: string;
  kind: string;
  agent_id: string;
  wallet_id: string;
  from_address: string;
  status: StrategyRow['status'];
  /** Why a completed strategy ended: `sent`, `max_runs`, `ends_at`, `expired`. */
  end_reason: string | null;
  /** Why a `paused` strategy was paused: `key_revoked` or `key_expired` (its responsible key); else null. */
  paused_reason: string | null;
  /**
   * Visible id (`vp_…`) of the responsible key: the one that created the strategy or last
   * resumed it; its revocation or expiry pauses the strategy. Null for an imported strategy.
   */
  created_by: string | null;
  /** The kind's params in decimal ETH / gwei (see docs/strategies.md). */
  params: Record<string, unknown>;
  /** When the pending slot is due (ISO 8601); null unless active. */
  next_run_at: string | null;
  last_run_at: string | null;
  runs: { sent: number; skipped: number; failed: number };
  /** Sent in the rolling 24 hours, and ever. */
  spent_24h: EthAmount;
  spent_total: EthAmount;
  origin: string;
  created_at: string;
  updated_at: string;
}

/** One tick as tools and REST return it. */
export interface StrategyRunView {
  id: string;
  strategy_id: string;
  slot_at: string;
  source: 'schedule' | 'manual';
  outcome: 'sent' | 'skipped' | 'failed';
  /** Skip reason code: `gas_above_ceiling`, `daily_cap`, `reserve`, `not_due`, `insufficient_funds`. */
  reason: string | null;
  error_code: string | null;
  detail: string | null;
  amount: EthAmount;
  transactions: Array<{ id: string; tx_hash: string; to_address: string; value_eth: string; status: string }>;
  started_at: string;
  created_at: string;
}

type Joined = StrategyRow & { agent_id: string; address: string; spent_24h: string };

function baseQuery(ctx: CoreContext, tenantId: string) {
  return ctx.db
    .selectFrom('strategies as s')
    .innerJoin('wallets as w', 'w.id', 's.wallet_id')
    .selectAll('s')
    .select(['w.agent_id', 'w.address'])
    .select(
      sql<string>`(select coalesce(sum(r.amount_wei), 0)::text from strategy_runs r where r.strategy_id = s.id and r.outcome = 'sent' and r.created_at > now() - interval '24 hours')`.as('spent_24h'),
    )
    .where('s.tenant_id', '=', tenantId)
    .where('s.deleted_at', 'is', null);
}

/** Maps a joined row to its view. */
function strategyView(row: Joined): StrategyView {
  let params: Record<string, unknown>;
  try {
    const def = kindOf(row.kind);
    params = def.view(def.stored(row.params));
  } catch {
    params = row.params; // an imported kind this version does not run: shown as stored
  }
  return {
    id: row.id,
    label: row.label,
    kind: row.kind,
    agent_id: row.agent_id,
    wallet_id: row.wallet_id,
    from_address: row.address,
    status: row.status,
    end_reason: row.end_reason,
    paused_reason: row.status === 'paused' ? row.paused_reason : null,
    created_by: row.created_by,
    params,
    next_run_at: row.next_run_at?.toISOString() ?? null,
    last_run_at: row.last_run_at?.toISOString() ?? null,
    runs: { sent: row.runs_sent, skipped: row.runs_skipped, failed: row.runs_failed },
    spent_24h: ethAmount(BigInt(row.spent_24h)),
    spent_total: ethAmount(BigInt(row.spent_total_wei)),
    origin: row.origin,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

/** How a strategy is named in a call: by label (tools) or id (REST). */
export type StrategyRef = { label: unknown } | { id: string };

async function findJoined(ctx: CoreContext, principal: Principal, ref: StrategyRef): Promise<Joined> {
  let row: Joined | undefined;
  if ('id' in ref) {
    row = isUuid(ref.id) ? await baseQuery(ctx, principal.tenantId).where('s.id', '=', ref.id).executeTakeFirst() : undefined;
    if (!row) throw new NotFoundError('STRATEGY_NOT_FOUND', `no strategy with id "${ref.id}"`);
  } else {
    const label = parseLabel(ref.label);
    row = await baseQuery(ctx, principal.tenantId).where('s.label', '=', label).executeTakeFirst();
    if (!row) throw new NotFoundError('STRATEGY_NOT_FOUND', `no strategy labelled "${label}"; list_strategies shows the labels`);
  }
  // A key limited to some wallets reaches only their strategies.
  checkWalletScope(principal, row.agent_id);
  return row;
}

/**
 * A strategy of the caller's tenant.
 * @throws {NotFoundError} `STRATEGY_NOT_FOUND` | {@link ValidationError} `label`.
 */
export async function getStrategy(ctx: CoreContext, principal: Principal, ref: StrategyRef): Promise<StrategyView> {
  return strategyView(await findJoined(ctx, principal, ref));
}

/** Arguments of {@link createStrategy}. */
export interface CreateStrategyInput {
  kind: unknown;
  label: unknown;
  agent_id: unknown;
  params: unknown;
  /** Start at once (default true). */
  start?: boolean;
  /** Needed when one send is above `MAX_TX_ETH`; never stored. */
  confirmation_code?: unknown;
}

/**
 * The spend gate at set-up time: a human confirms sends above `MAX_TX_ETH` once, for the
 * strategy. The code is checked (and a wrong one counted, core/policy/confirmation.ts) after
 * every other check of the call, so no other answer depends on it.
 * @returns whether the strategy sends above `MAX_TX_ETH` (and a right code was given).
 * @throws {PolicyError} `CONFIRMATION_REQUIRED` | `CONFIRMATION_LOCKED`.
 */
async function confirmAmounts(ctx: CoreContext, principal: Principal, walletId: string, def: KindDefinition<CommonParams>, params: CommonParams, code: unknown): Promise<boolean> {
  const largest = def.sends(params).reduce((m, s) => (s.valueWei > m ? s.valueWei : m), 0n);
  if (!needsConfirmation(ctx, largest)) return false;
  await checkCode(ctx.db, { kind: 'tx_confirm', tenantId: principal.tenantId, keyId: principal.keyId, walletId }, code, ctx.config.txConfirmCode, gatePurpose(ctx, largest));
  return true;
}

/**
 * Creates a strategy (active unless `start: false`), after validating every field. The calling
 * key becomes its responsible key (`created_by`): revoking or expiring it pauses the strategy.
 * @throws {ValidationError} naming `kind`, `label`, `agent_id` or `params.<field>` |
 *   {@link NotFoundError} `WALLET_NOT_FOUND` | {@link ConflictError} `STRATEGY_EXISTS` |
 *   {@link PolicyError} `CONFIRMATION_REQUIRED` — nothing is stored in any of these cases.
 */
export async function createStrategy(ctx: CoreContext, principal: Principal, input: CreateStrategyInput): Promise<StrategyView> {
  const def = kindOf(input.kind);
  const label = parseLabel(input.label);
  parseAgentId(input.agent_id);
  const now = new Date();
  const params = parseParams(def, input.params, now);
  const wallet = await getWalletByAgent(ctx, principal, input.agent_id);
  const start = input.start !== false;
  // A taken label is refused before the code is looked at (the insert below still guards races).
  const taken = await ctx.db.selectFrom('strategies').select('id').where('tenant_id', '=', principal.tenantId).where('label', '=', label).where('deleted_at', 'is', null).executeTakeFirst();
  if (taken) throw new ConflictError('STRATEGY_EXISTS', `a strategy labelled "${label}" exists already; pick another label or delete_strategy it first`);
  const confirmed = await confirmAmounts(ctx, principal, wallet.id, def, params, input.confirmation_code);
  return inTransaction(ctx, principal, async (trx) => {
    const inserted = await trx
      .insertInto('strategies')
      .values({
        tenant_id: principal.tenantId,
        wallet_id: wallet.id,
        label,
        kind: def.kind,
        params: JSON.stringify(params),
        status: start ? 'active' : 'stopped',
        next_run_at: start ? def.firstSlot(params, now) : null,
        confirmed_above_max: confirmed,
        created_by_key_id: principal.keyId,
        created_by: principal.keyPrefix,
      })
      .onConflict((oc) => oc.columns(['tenant_id', 'label']).where('deleted_at', 'is', null).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) throw new ConflictError('STRATEGY_EXISTS', `a strategy labelled "${label}" exists already; pick another label or delete_strategy it first`);
    return inserted.id;
  });
}

/**
 * Runs a strategy write in one transaction that returns the strategy's id (or `null`: nothing
 * was written), and commits the call's audit row there with the strategy as it is then.
 * @returns the strategy's view after the write (read in the same transaction).
 */
async function inTransaction(ctx: CoreContext, principal: Principal, write: (trx: Transaction<Database>) => Promise<string | null>, ref?: StrategyRef): Promise<StrategyView> {
  return ctx.db.transaction().execute(async (trx) => {
    const id = await write(trx);
    const view = await getStrategy({ ...ctx, db: trx }, principal, id !== null ? { id } : ref!);
    if (id !== null) await ctx.audit?.commit(trx, { response: { strategy: view }, agentId: view.agent_id, walletId: view.wallet_id });
    return view;
  });
}

/** The recurrence of recurring params (dca, repeating micro_tip), else null. */
function recurrenceOf(params: CommonParams): Recurrence | null {
  const r = params as Partial<Recurrence>;
  return (r.interval_seconds ?? null) !== null || (r.cron ?? null) !== null ? { interval_seconds: r.interval_seconds ?? null, cron: r.cron ?? null, timezone: r.timezone ?? null } : null;
}

/**
 * The next slot of an edited, running strategy: a recurring one continues its grid from the last
 * slot it ran (so an edit does not shift the cadence, and a manual tick before the slot does not
 * count), unless the new params start later; a one-shot, or one that never ran, starts afresh.
 */
async function rescheduled(trx: Transaction<Database>, strategyId: string, def: KindDefinition<CommonParams>, params: CommonParams, now: Date): Promise<Date> {
  const recurrence = recurrenceOf(params);
  const fresh = def.firstSlot(params, now);
  if (!recurrence || fresh.getTime() > now.getTime()) return fresh;
  const last = await trx
    .selectFrom('strategy_runs')
    .select(sql<Date | null>`max(slot_at)`.as('slot'))
    .where('strategy_id', '=', strategyId)
    .where((eb) => eb.or([eb('source', '=', 'schedule'), eb('reason', 'is', null), eb('reason', '!=', 'not_due')]))
    .executeTakeFirst();
  return last?.slot ? nextOccurrence(recurrence, new Date(last.slot), now) : fresh;
}

/**
 * Replaces a strategy's params (all of them, validated as at creation) and, when it is running,
 * reschedules it: a recurring strategy keeps its cadence from the last run, a one-shot moves to
 * its new time. The pending slot's job is cancelled.
 * @throws {ValidationError} | {@link NotFoundError} `STRATEGY_NOT_FOUND` | {@link PolicyError} `CONFIRMATION_REQUIRED`.
 */
export async function updateStrategy(ctx: CoreContext, principal: Principal, ref: StrategyRef, input: { params: unknown; confirmation_code?: unknown }): Promise<StrategyView> {
  const found = await findJoined(ctx, principal, ref);
  const def = kindOf(found.kind);
  const now = new Date();
  const params = parseParams(def, input.params, now);
  const confirmed = await confirmAmounts(ctx, principal, found.wallet_id, def, params, input.confirmation_code);
  let jobId: string | null = null;
  const view = await inTransaction(ctx, principal, async (trx) => {
    const row = await trx.selectFrom('strategies').selectAll().where('id', '=', found.id).where('deleted_at', 'is', null).forUpdate().executeTakeFirst();
    if (!row) throw new NotFoundError('STRATEGY_NOT_FOUND', `strategy "${found.label}" was deleted`);
    const next = row.status !== 'active' ? null : await rescheduled(trx, row.id, def, params, now);
    await trx
      .updateTable('strategies')
      .set({ params: JSON.stringify(params), next_run_at: next, scheduled_slot_at: null, scheduled_job_id: null, confirmed_above_max: confirmed, updated_at: now })
      .where('id', '=', row.id)
      .execute();
    jobId = row.scheduled_job_id;
    return row.id;
  });
  await cancelScheduledTick(ctx, jobId);
  return view;
}

/**
 * Starts (or resumes) a strategy: its first slot is computed from now. A `paused` strategy (its
 * responsible key was revoked or expired), or a stopped one whose responsible key is no longer
 * valid, is resumed under the caller's key: that key becomes responsible for it (`created_by`),
 * so the caller answers for what it sends from now on. Otherwise the responsible key stays.
 * @throws {NotFoundError} `STRATEGY_NOT_FOUND` | {@link ConflictError} `STRATEGY_COMPLETED` |
 *   {@link ValidationError} `kind` for an imported kind this version cannot run.
 */
export async function startStrategy(ctx: CoreContext, principal: Principal, ref: StrategyRef): Promise<StrategyView> {
  const found = await findJoined(ctx, principal, ref);
  if (found.status === 'active') return strategyView(found);
  if (found.status === 'completed') throw new ConflictError('STRATEGY_COMPLETED', `strategy "${found.label}" has completed (${found.end_reason}); create a new one to run it again`);
  const def = kindOf(found.kind);
  const now = new Date();
  return inTransaction(ctx, principal, async (trx) => {
    const row = await trx.selectFrom('strategies').select(['status', 'created_by_key_id']).where('id', '=', found.id).forUpdate().executeTakeFirst();
    if (!row || (row.status !== 'stopped' && row.status !== 'paused')) return null;
    const takeOver = row.status === 'paused' || (await responsibleKeyInvalidity(trx, row.created_by_key_id, now)) !== null;
    await trx
      .updateTable('strategies')
      .set({
        status: 'active',
        paused_reason: null,
        next_run_at: def.firstSlot(def.stored(found.params), now),
        scheduled_slot_at: null,
        scheduled_job_id: null,
        updated_at: now,
        ...(takeOver ? { created_by_key_id: principal.keyId, created_by: principal.keyPrefix } : {}),
      })
      .where('id', '=', found.id)
      .execute();
    return found.id;
  }, { id: found.id });
}

/**
 * Stops a strategy and cancels its pending slot (a tick already running finishes; one not yet
 * started finds the strategy stopped and does nothing).
 * @throws {NotFoundError} `STRATEGY_NOT_FOUND`.
 */
export async function stopStrategy(ctx: CoreContext, principal: Principal, ref: StrategyRef): Promise<StrategyView> {
  const found = await findJoined(ctx, principal, ref);
  let jobId: string | null = null;
  const view = await inTransaction(ctx, principal, async (trx) => {
    const row = await trx.selectFrom('strategies').select(['scheduled_job_id', 'status']).where('id', '=', found.id).forUpdate().executeTakeFirstOrThrow();
    if (row.status !== 'active') return null;
    await trx.updateTable('strategies').set({ status: 'stopped', next_run_at: null, scheduled_slot_at: null, scheduled_job_id: null, updated_at: new Date() }).where('id', '=', found.id).execute();
    jobId = row.scheduled_job_id;
    return found.id;
  }, { id: found.id });
  await cancelScheduledTick(ctx, jobId);
  return view;
}

/**
 * Deletes a strategy: stops it, then hides it (its runs and transactions stay in history; the
 * label becomes free).
 * @returns the strategy as it was when deleted.
 * @throws {NotFoundError} `STRATEGY_NOT_FOUND`.
 */
export async function deleteStrategy(ctx: CoreContext, principal: Principal, ref: StrategyRef): Promise<StrategyView> {
  const found = await findJoined(ctx, principal, ref);
  const { jobId, view } = await ctx.db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom('strategies').select(['scheduled_job_id', 'status']).where('id', '=', found.id).where('deleted_at', 'is', null).forUpdate().executeTakeFirst();
    if (!row) throw new NotFoundError('STRATEGY_NOT_FOUND', `strategy "${found.label}" was deleted already`);
    const now = new Date();
    if (row.status === 'active') await trx.updateTable('strategies').set({ status: 'stopped', next_run_at: null, scheduled_slot_at: null, scheduled_job_id: null, updated_at: now }).where('id', '=', found.id).execute();
    // The view as it was when deleted (stopped), read before it is hidden.
    const stopped = await getStrategy({ ...ctx, db: trx }, principal, { id: found.id });
    await trx.updateTable('strategies').set({ deleted_at: now, updated_at: now }).where('id', '=', found.id).execute();
    await ctx.audit?.commit(trx, { response: { strategy: stopped }, agentId: stopped.agent_id, walletId: stopped.wallet_id });
    return { jobId: row.status === 'active' ? row.scheduled_job_id : null, view: stopped };
  });
  await cancelScheduledTick(ctx, jobId);
  return view;
}

/**
 * Lists the tenant's strategies, newest first, keyset-paginated; optionally one agent's only. A
 * key with a wallet scope sees only the strategies of its wallets.
 * @throws {ValidationError} `agent_id` | `cursor`.
 */
export async function listStrategies(
  ctx: CoreContext,
  principal: Principal,
  opts: { agent_id?: unknown; status?: StrategyRow['status']; limit: number; cursor?: string },
): Promise<{ strategies: StrategyView[]; next_cursor: string | null }> {
  const scope = principal.scopes.wallets;
  if (scope !== null && scope.length === 0) return { strategies: [], next_cursor: null };
  let q = baseQuery(ctx, principal.tenantId);
  if (scope !== null) q = q.where('w.agent_id', 'in', scope);
  if (opts.agent_id !== undefined && opts.agent_id !== null) q = q.where('w.agent_id', '=', parseAgentId(opts.agent_id));
  if (opts.status) q = q.where('s.status', '=', opts.status);
  if (opts.cursor) q = q.where(olderThan('s.created_at', 's.id', opts.cursor));
  const rows = await q.orderBy('s.created_at', 'desc').orderBy('s.id', 'desc').limit(opts.limit + 1).execute();
  const { page, next_cursor } = toPage(rows, opts.limit);
  return { strategies: page.map(strategyView), next_cursor };
}

async function runViews(ctx: CoreContext, rows: StrategyRunRow[]): Promise<StrategyRunView[]> {
  const ids = rows.flatMap((r) => r.transaction_ids);
  const txs = ids.length === 0 ? [] : await ctx.db.selectFrom('transactions').select(['id', 'tx_hash', 'to_address', 'value_wei', 'status', 'nonce']).where('id', 'in', ids).execute();
  const byId = new Map(txs.map((t) => [t.id, t]));
  return rows.map((r) => ({
    id: r.id,
    strategy_id: r.strategy_id,
    slot_at: r.slot_at.toISOString(),
    source: r.source,
    outcome: r.outcome,
    reason: r.reason,
    error_code: r.error_code,
    detail: r.detail,
    amount: ethAmount(BigInt(r.amount_wei)),
    transactions: r.transaction_ids.flatMap((id) => {
      const t = byId.get(id);
      return t ? [{ id: t.id, tx_hash: t.tx_hash, to_address: t.to_address, value_eth: ethAmount(BigInt(t.value_wei)).eth, status: t.status }] : [];
    }),
    started_at: r.started_at.toISOString(),
    created_at: r.created_at.toISOString(),
  }));
}

/**
 * A strategy's runs, newest first, keyset-paginated.
 * @throws {NotFoundError} `STRATEGY_NOT_FOUND` | {@link ValidationError} `cursor`.
 */
export async function listRuns(ctx: CoreContext, principal: Principal, ref: StrategyRef, opts: { limit: number; cursor?: string }): Promise<{ runs: StrategyRunView[]; next_cursor: string | null }> {
  const s = await findJoined(ctx, principal, ref);
  let q = ctx.db.selectFrom('strategy_runs').selectAll().where('strategy_id', '=', s.id).where('tenant_id', '=', principal.tenantId);
  if (opts.cursor) q = q.where(olderThan('created_at', 'id', opts.cursor));
  const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(opts.limit + 1).execute();
  const { page, next_cursor } = toPage(rows, opts.limit);
  return { runs: await runViews(ctx, page), next_cursor };
}

/**
 * `strategy_status`: the strategy (config, state, next run, spent in the window) and its last
 * `recent` runs.
 * @throws {NotFoundError} `STRATEGY_NOT_FOUND`.
 */
export async function strategyStatus(ctx: CoreContext, principal: Principal, ref: StrategyRef, recent = 10): Promise<{ strategy: StrategyView; last_runs: StrategyRunView[] }> {
  const strategy = await getStrategy(ctx, principal, ref);
  const { runs } = await listRuns(ctx, principal, { id: strategy.id }, { limit: recent });
  return { strategy, last_runs: runs };
}

/** What `tick_strategy` reports. */
export interface ManualTickView {
  outcome: TickOutcome;
  dry_run: boolean;
  /** The decision: `send` (with the sends), `skip` or `end`, and why. */
  decision: { action: Decision['action']; reason: string | null; detail: string | null; sends: Array<{ to_address: string; amount: EthAmount }> } | null;
  run: StrategyRunView | null;
  strategy: StrategyView;
}

function decisionView(d: Decision | undefined): ManualTickView['decision'] {
  if (!d) return null;
  if (d.action === 'send') return { action: 'send', reason: null, detail: null, sends: d.sends.map((s) => ({ to_address: s.to, amount: ethAmount(s.valueWei) })) };
  return { action: d.action, reason: d.reason, detail: d.detail, sends: [] };
}

/**
 * `tick_strategy`: ticks now through the same path as the worker. A due slot is claimed (so it
 * cannot also run on the worker); before the slot the tick records `skipped(not_due)`.
 * `dry_run` decides and reports without writing or sending.
 * @throws {NotFoundError} `STRATEGY_NOT_FOUND` | {@link ConflictError} `STRATEGY_NOT_ACTIVE`.
 */
export async function tickStrategy(ctx: CoreContext, principal: Principal, ref: StrategyRef, opts: { dryRun?: boolean } = {}): Promise<ManualTickView> {
  const found = await findJoined(ctx, principal, ref);
  const result = await runTick(ctx, found.id, { source: 'manual', dryRun: opts.dryRun === true });
  const [run] = result.run ? await runViews(ctx, [result.run]) : [];
  return { outcome: result.outcome, dry_run: opts.dryRun === true, decision: decisionView(result.decision), run: run ?? null, strategy: await getStrategy(ctx, principal, { id: found.id }) };
}

