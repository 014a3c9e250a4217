/**
 * The audit row of one guarded call (an MCP tool call or a REST write), written exactly once.
 *
 * A write that cannot be audited does not happen. So a call that writes (a send, a wallet, a
 * strategy, an approval, a key, a policy) records its `ok` row in the SAME database transaction
 * as its write: core calls {@link AuditScope.commit} with that transaction as its last statement,
 * and if the row cannot be written the whole transaction rolls back. A send is broadcast only
 * after that commit, so the chain never sees a transaction the log does not. A call that writes
 * nothing (a read, a signature, an export handed back to the caller) gets its row from
 * {@link AuditScope.finish} before its result leaves the process; a refused or failed call gets
 * one from {@link AuditScope.fail}.
 *
 * Core reaches the scope through its context (`ctx.audit`, set per call by the transport); the
 * worker and the CLI write their own `worker` and `cli` rows and leave it unset.
 */
import type { Transaction } from 'kysely';
import type { Db } from '../db/connect.ts';
import type { Database, PolicyDecisionKind } from '../db/types.ts';
import type { VaultPilotError } from '../errors.ts';
import { recordAudit, type AuditEntry } from './log.ts';

/** Longest string of a refused call's arguments kept in its audit row, in characters. */
export const REFUSED_STRING_LENGTH = 1000;

/** What the call's `ok` row records about its result. */
export interface AuditOutcome {
  /** The result as committed (redacted by field name when stored). */
  response: unknown;
  agentId?: string | null;
  walletId?: string | null;
  /** The policy decision of a guarded send and the rule that made it. */
  decision?: PolicyDecisionKind | null;
  rule?: string | null;
  /** The tenant the row belongs to, when the write decided it (a tenant just created). */
  tenantId?: string | null;
}

/** What every row of the call shares: who, what, from where (filled in by the transport). */
export type AuditBase = Omit<AuditEntry, 'status' | 'errorCode' | 'durationMs' | 'response' | 'decision' | 'rule'>;

/** One call's audit row (see the module comment). Not shared between calls. */
export class AuditScope {
  readonly #db: Db;
  readonly #base: AuditBase;
  readonly #started = performance.now();
  #written = false;

  /**
   * @param db - the pool, for rows written outside a write's transaction.
   * @param base - tenant, kind, action, principal, request (the parsed arguments; redacted when
   *   stored), request id and client address. `agentId`/`walletId` may be filled in later.
   */
  constructor(db: Db, base: AuditBase) {
    this.#db = db;
    this.#base = { ...base };
  }

  /** Whether the call's row has been written (or is part of a transaction in progress). */
  get written(): boolean {
    return this.#written;
  }

  /** The arguments recorded for the call; `null` until a REST body parsed, so a raw body is never stored. */
  set request(value: unknown) {
    this.#base.request = value;
  }

  /** The wallet the call touches, as soon as it is known (refusals record it too). */
  setWallet(agentId: string | null | undefined, walletId?: string | null): void {
    if (agentId !== undefined && agentId !== null) this.#base.agentId = agentId;
    if (walletId !== undefined && walletId !== null) this.#base.walletId = walletId;
  }

  #okFields(outcome: AuditOutcome): Partial<AuditEntry> {
    return { response: outcome.response, decision: outcome.decision ?? null, rule: outcome.rule ?? null, ...(outcome.tenantId !== undefined ? { tenantId: outcome.tenantId } : {}) };
  }

  #entry(status: 'ok' | 'error' | 'refused', fields: Partial<AuditEntry>): AuditEntry {
    return { ...this.#base, ...fields, status, durationMs: performance.now() - this.#started };
  }

  /**
   * Writes the call's `ok` row inside `trx`, the transaction of its write. Call it last in that
   * transaction: a throw after it rolls the row back with the write, and the transport then
   * records the failure instead. A second call in the same scope is a no-op.
   * @throws database errors: the caller's transaction must then roll back (a write that cannot be
   *   audited does not happen).
   */
  async commit(trx: Transaction<Database>, outcome: AuditOutcome): Promise<void> {
    if (this.#written) return;
    this.setWallet(outcome.agentId, outcome.walletId);
    await recordAudit(trx, this.#entry('ok', this.#okFields(outcome)));
    this.#written = true;
  }

  /**
   * Writes the `ok` row of a call whose write (if any) already committed it, or that wrote
   * nothing; a no-op when {@link commit} already wrote it. Called before the result is returned.
   * @throws database errors: the caller then returns an error instead of the result.
   */
  async finish(outcome: AuditOutcome): Promise<void> {
    if (this.#written) return;
    this.setWallet(outcome.agentId, outcome.walletId);
    await recordAudit(this.#db, this.#entry('ok', this.#okFields(outcome)));
    this.#written = true;
  }

  /**
   * Writes the row of a refused (4xx: `refused`) or failed (5xx: `error`) call with its code and
   * the decision that refused it. Never throws: a failed write is logged by the caller's `onError`.
   */
  async fail(err: VaultPilotError, refusal: { decision?: PolicyDecisionKind | null; rule?: string | null }, onError: (err: unknown) => void): Promise<void> {
    const error = { code: err.code, message: err.message, details: err.details ?? null };
    // The arguments of a refused call were never vetted: long strings are cut before storing.
    await recordAudit(
      this.#db,
      this.#entry(err.status < 500 ? 'refused' : 'error', { errorCode: err.code, response: { error }, decision: refusal.decision ?? null, rule: refusal.rule ?? null, maxStringLength: REFUSED_STRING_LENGTH }),
    ).catch(onError);
  }
}

/**
 * Runs `fn` in one database transaction that also commits `scope`'s `ok` row, with the outcome
 * `outcome(result)` derives (`null`: `fn` wrote nothing after all, so no row here); without a
 * scope (worker, CLI) just the transaction.
 * @throws whatever `fn` throws, or the audit write's database error; nothing is committed then.
 */
export async function auditedTransaction<T>(db: Db, scope: AuditScope | undefined, fn: (trx: Transaction<Database>) => Promise<T>, outcome: (result: T) => AuditOutcome | null): Promise<T> {
  return db.transaction().execute(async (trx) => {
    const result = await fn(trx);
    const out = scope ? outcome(result) : null;
    if (out) await scope!.commit(trx, out);
    return result;
  });
}
