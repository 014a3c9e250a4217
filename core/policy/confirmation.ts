/**
 * Confirmation codes (`TX_CONFIRM_CODE` above `MAX_TX_ETH`, AgentVault's spend gate; `EXPORT_CODE`
 * for plaintext key export) against guessing (docs/security.md):
 * - a code is checked only at the last step before the action it unlocks (after every other
 *   rule has passed), so no answer but that action tells whether it was right; simulations
 *   never check it;
 * - every wrong code is a `confirmation_failures` row, counted per key and per wallet over a
 *   sliding 15-minute window; the 5th wrong code, and every attempt while 5 are in the window,
 *   is refused with `CONFIRMATION_LOCKED` (HTTP 429, `retry_after_seconds`), before the code is
 *   compared, so a locked-out attempt writes nothing and tells nothing;
 * - attempts of one key, and on one wallet, are serialized (transaction-scoped advisory locks)
 *   and the check runs in the caller's transaction, so parallel guesses cannot all slip under
 *   the limit.
 * Codes are compared over SHA-256 digests in constant time; no message, log or audit row holds one.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import type { Database } from '../db/types.ts';
import type { Db } from '../db/connect.ts';
import { PolicyError } from '../errors.ts';

/** Wrong codes a key, or a wallet, may give within {@link CODE_FAILURE_WINDOW_MS}. */
export const CODE_FAILURE_LIMIT = 5;
/** The sliding window wrong codes are counted over, in ms (15 minutes). */
export const CODE_FAILURE_WINDOW_MS = 15 * 60 * 1000;

/** Which code: `tx_confirm` (TX_CONFIRM_CODE) or `export` (EXPORT_CODE). */
export type CodeKind = 'tx_confirm' | 'export';

/** Who tries a code, for which wallet. */
export interface CodeAttempt {
  kind: CodeKind;
  tenantId: string;
  keyId: string;
  /** The wallet the code would unlock an action on; null when none. */
  walletId: string | null;
}

/** Why a code is asked for, in words ("amount_eth 0.5 is above MAX_TX_ETH (0.1)"), and the refusal's details (never a code). */
export interface CodePurpose {
  why: string;
  details?: Record<string, unknown>;
}

/** What {@link tryCode} found; a refusal is thrown by the caller after its transaction commits. */
export type CodeCheck = { ok: true } | { ok: false; refusal: PolicyError };

/** Whether `given` equals `expected`, compared over SHA-256 digests in constant time. */
export function sameCode(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** The name of a code's variable and argument, for messages. */
const NAMES: Record<CodeKind, { variable: string; argument: string }> = {
  tx_confirm: { variable: 'TX_CONFIRM_CODE', argument: 'confirmation_code' },
  export: { variable: 'EXPORT_CODE', argument: 'confirmation_code' },
};

/** Wrong codes of this kind by the key, and on the wallet, within the window, and when the oldest leaves it. */
async function recentFailures(db: Db | Transaction<Database>, a: CodeAttempt, since: Date): Promise<{ count: number; oldest: Date | null }> {
  const row = await db
    .selectFrom('confirmation_failures')
    .select([sql<string>`count(*)::text`.as('count'), sql<Date | null>`min(failed_at)`.as('oldest')])
    .where('code', '=', a.kind)
    .where('failed_at', '>', since)
    .where((eb) => (a.walletId === null ? eb('key_id', '=', a.keyId) : eb.or([eb('key_id', '=', a.keyId), eb('wallet_id', '=', a.walletId)])))
    .executeTakeFirstOrThrow();
  return { count: Number(row.count), oldest: row.oldest };
}

function locked(a: CodeAttempt, oldest: Date | null, now: Date): PolicyError {
  const until = (oldest ?? now).getTime() + CODE_FAILURE_WINDOW_MS;
  const retry = Math.max(1, Math.ceil((until - now.getTime()) / 1000));
  return new PolicyError('CONFIRMATION_LOCKED', `too many wrong confirmation codes for this key or wallet: ${CODE_FAILURE_LIMIT} within ${CODE_FAILURE_WINDOW_MS / 60_000} minutes; no code is checked until ${retry} s from now. Ask a human for the current ${NAMES[a.kind].variable}`, {
    rule: 'confirmation_code',
    retry_after_seconds: retry,
    limit: CODE_FAILURE_LIMIT,
    window_seconds: CODE_FAILURE_WINDOW_MS / 1000,
  });
}

/**
 * Checks a code inside `trx` (see the module comment). A wrong code's failure row is written in
 * `trx`, so the caller must COMMIT `trx` (having written nothing else) and then throw the
 * refusal; a missing code is not a guess and counts nothing.
 *
 * @param expected - the configured code; `undefined` refuses every attempt (nothing to unlock).
 * @param purpose - why the code is asked for, for the refusal's message and details.
 * @returns `{ok: true}`, or the refusal to throw: `CONFIRMATION_REQUIRED` (missing or wrong, with
 *   `details.rule` `confirmation_code`) or `CONFIRMATION_LOCKED`.
 */
export async function tryCode(trx: Transaction<Database>, a: CodeAttempt, given: unknown, expected: string | undefined, purpose: CodePurpose, now = new Date()): Promise<CodeCheck> {
  const names = NAMES[a.kind];
  const details = { ...purpose.details, rule: 'confirmation_code' };
  if (expected === undefined) {
    return { ok: false, refusal: new PolicyError('CONFIRMATION_REQUIRED', `${purpose.why}, and this server has no ${names.variable} configured, so it is refused`, details) };
  }
  if (given === undefined || given === null || given === '') {
    return { ok: false, refusal: new PolicyError('CONFIRMATION_REQUIRED', `${purpose.why}: ask a human for the confirmation code (${names.variable}) and pass it as ${names.argument}`, details) };
  }
  // One key's attempts run one at a time in every process, and so do one wallet's (always in
  // this order: key, then wallet), so parallel guesses see each other's failures.
  await sql`select pg_advisory_xact_lock(hashtext(${`vaultpilot.confirm.key:${a.keyId}`}))`.execute(trx);
  if (a.walletId !== null) await sql`select pg_advisory_xact_lock(hashtext(${`vaultpilot.confirm.wallet:${a.walletId}`}))`.execute(trx);
  const since = new Date(now.getTime() - CODE_FAILURE_WINDOW_MS);
  const before = await recentFailures(trx, a, since);
  if (before.count >= CODE_FAILURE_LIMIT) return { ok: false, refusal: locked(a, before.oldest, now) };
  if (typeof given === 'string' && sameCode(given, expected)) return { ok: true };
  await trx.insertInto('confirmation_failures').values({ tenant_id: a.tenantId, key_id: a.keyId, wallet_id: a.walletId, code: a.kind, failed_at: now }).execute();
  if (before.count + 1 >= CODE_FAILURE_LIMIT) return { ok: false, refusal: locked(a, before.oldest ?? now, now) };
  return { ok: false, refusal: new PolicyError('CONFIRMATION_REQUIRED', `${purpose.why}, and ${names.argument} is wrong; ask a human for the current code`, details) };
}

/**
 * {@link tryCode} in a transaction of its own, for callers with nothing else to write at that
 * point (strategy set-up, key export): the failure row commits, then the refusal is thrown.
 * @throws {PolicyError} `CONFIRMATION_REQUIRED` | `CONFIRMATION_LOCKED`.
 */
export async function checkCode(db: Db, a: CodeAttempt, given: unknown, expected: string | undefined, purpose: CodePurpose): Promise<void> {
  const check = await db.transaction().execute((trx) => tryCode(trx, a, given, expected, purpose));
  if (!check.ok) throw check.refusal;
}

/**
 * Deletes failure rows older than the window (the worker runs it with the rate-limit prune).
 * @returns how many rows were deleted.
 */
export async function pruneCodeFailures(db: Db, now = new Date()): Promise<number> {
  const res = await db.deleteFrom('confirmation_failures').where('failed_at', '<', new Date(now.getTime() - CODE_FAILURE_WINDOW_MS)).executeTakeFirst();
  return Number(res.numDeletedRows);
}
