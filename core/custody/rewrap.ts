/**
 * Key rotation and provider migration: moves wallet keys to another provider, or to the newest
 * key or key version of the same provider, batch by batch.
 *
 * Guarantees:
 * - Each batch is one database transaction that locks its wallet rows (`FOR UPDATE`, so a
 *   transfer signing with one of them waits), replaces the wrapped keys and writes one audit row
 *   per wallet. A crash at any point leaves every row either on its old ciphertext (which the old
 *   provider still opens) or on its new, verified one; re-running continues where it stopped,
 *   because it selects only the wallets not yet on the target key.
 * - Before a row is changed, the unwrapped key must derive the wallet's address, and the new
 *   ciphertext must unwrap to the same key. A wallet that fails is left as it was and reported.
 * - A provider that is unavailable stops the run (the current batch rolls back): nothing is
 *   half-moved, and running the command again resumes.
 */
import { sql, type Transaction } from 'kysely';
import { KeyProviderError, type KeyRing, type ProviderName, type WrappedKey } from '../../keyproviders/index.ts';
import type { Db } from '../db/connect.ts';
import type { Database, WalletRow } from '../db/types.ts';
import { recordAudit } from '../audit/log.ts';
import { addressOfKey, wrapContext, wrappedKeyOf } from '../wallets/service.ts';
import { UpstreamError } from '../errors.ts';

/** What a rewrap needs: the database and the key ring (source and target providers configured). */
export interface RewrapContext {
  db: Db;
  keys: KeyRing;
}

/** Options of {@link rewrapWallets}. */
export interface RewrapOptions {
  /** The provider to move keys to; it must be configured (it need not be the active one). */
  to: ProviderName;
  /** Only this tenant's wallets (default: every tenant). */
  tenantId?: string;
  /** Wallets per database transaction (1-1000). */
  batchSize: number;
  /** Check every wallet (unwrap and address) without writing anything. */
  dryRun: boolean;
  /** Who runs it, for the audit log (e.g. `cli`). */
  principal: string;
  /** Called after each committed (or, in a dry run, checked) batch. */
  onBatch?: (progress: RewrapProgress) => void;
}

/** Progress after one batch. */
export interface RewrapProgress {
  batch: number;
  /** Wallets moved (or, in a dry run, that would move) in this batch. */
  moved: number;
  /** Wallets moved so far in this run. */
  movedTotal: number;
  failedTotal: number;
  /** Wallets that still need moving, excluding failures, after this batch. */
  remaining: number;
}

/** A wallet that could not be moved, and why (no key material). */
export interface RewrapFailure {
  walletId: string;
  agentId: string;
  address: string;
  code: 'KEY_PROVIDER_DENIED' | 'ADDRESS_MISMATCH' | 'VERIFY_FAILED';
  message: string;
}

/** The outcome of {@link rewrapWallets}. */
export interface RewrapReport {
  target: { provider: ProviderName; keyRef: string; keyVersion: string };
  dryRun: boolean;
  /** Wallets in scope when the run started. */
  total: number;
  /** Already on the target key and version when the run started. */
  alreadyCurrent: number;
  /** Moved by this run (in a dry run: would be moved). */
  moved: number;
  failed: RewrapFailure[];
  batches: number;
}

type Target = RewrapReport['target'];

/** Rows in scope that are not yet on the target key, in id order after `afterId`, excluding `skip`. */
function pending(db: Db | Transaction<Database>, target: Target, tenantId: string | undefined, skip: string[], afterId: string | null) {
  return db
    .selectFrom('wallets')
    .where((eb) =>
      eb.or([eb('key_provider', '!=', target.provider), eb('key_ref', '!=', target.keyRef), eb('key_version', '!=', target.keyVersion)]),
    )
    .$if(tenantId !== undefined, (q) => q.where('tenant_id', '=', tenantId!))
    .$if(skip.length > 0, (q) => q.where('id', 'not in', skip))
    .$if(afterId !== null, (q) => q.where('id', '>', afterId!));
}

function denied(row: WalletRow, code: RewrapFailure['code'], message: string): RewrapFailure {
  return { walletId: row.id, agentId: row.agent_id, address: row.address, code, message };
}

/**
 * Produces the wallet's new wrapped key under `target`, verified, or a failure.
 * Vault-to-same-Vault-key moves use transit `rewrap`, so the plaintext never leaves Vault for the
 * re-encryption itself; the verification still unwraps once.
 * @throws {KeyProviderError} `KEY_PROVIDER_UNAVAILABLE` (stops the run).
 */
async function moveOne(ring: KeyRing, row: WalletRow, target: Target, dryRun: boolean): Promise<WrappedKey | RewrapFailure | 'checked'> {
  const context = wrapContext(row);
  const provider = ring.provider(target.provider);
  let key: Uint8Array | undefined;
  let back: Uint8Array | undefined;
  try {
    key = await ring.unwrap(wrappedKeyOf(row), context);
    if (addressOfKey(key) !== row.address) return denied(row, 'ADDRESS_MISMATCH', 'the unwrapped key does not derive the wallet address; left unchanged');
    if (dryRun) return 'checked';
    const sameKey = row.key_provider === target.provider && row.key_ref === target.keyRef;
    const next = sameKey && provider.rewrap ? await provider.rewrap(wrappedKeyOf(row), context) : await provider.wrap(key, context);
    back = await provider.unwrap(next, context);
    if (Buffer.compare(back, key) !== 0) return denied(row, 'VERIFY_FAILED', `the new ${target.provider} ciphertext does not unwrap to the same key; left unchanged`);
    return next;
  } catch (err) {
    if (err instanceof KeyProviderError && err.code === 'KEY_PROVIDER_DENIED') return denied(row, 'KEY_PROVIDER_DENIED', err.message);
    throw err;
  } finally {
    key?.fill(0);
    back?.fill(0);
  }
}

/**
 * Moves every wallet in scope to `options.to`'s current key and version.
 *
 * @returns counts and the wallets that could not be moved (each left on its old, working key).
 * @throws {UpstreamError} `KEY_PROVIDER_UNAVAILABLE` when a provider cannot be reached: the
 *   batch in progress is rolled back and earlier batches stay committed, so a re-run resumes;
 *   `KEY_PROVIDER_UNAVAILABLE` also when the target is not configured.
 */
export async function rewrapWallets(ctx: RewrapContext, options: RewrapOptions): Promise<RewrapReport> {
  let target: Target;
  try {
    const provider = ctx.keys.provider(options.to);
    target = { provider: provider.name, ...(await provider.current()) };
  } catch (err) {
    throw asUpstream(err);
  }

  const counts = await ctx.db
    .selectFrom('wallets')
    .select(({ fn }) => fn.countAll<string>().as('n'))
    .$if(options.tenantId !== undefined, (q) => q.where('tenant_id', '=', options.tenantId!))
    .executeTakeFirstOrThrow();
  const remainingAtStart = await pending(ctx.db, target, options.tenantId, [], null)
    .select(({ fn }) => fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  const report: RewrapReport = {
    target,
    dryRun: options.dryRun,
    total: Number(counts.n),
    alreadyCurrent: Number(counts.n) - Number(remainingAtStart.n),
    moved: 0,
    failed: [],
    batches: 0,
  };
  let remaining = Number(remainingAtStart.n);
  let afterId: string | null = null;

  for (;;) {
    const failedIds = report.failed.map((f) => f.walletId);
    const batch = await ctx.db.transaction().execute(async (trx) => {
      // A dry run changes nothing, so it pages by id; a real run re-selects what is still pending.
      const rows = await pending(trx, target, options.tenantId, failedIds, options.dryRun ? afterId : null)
        .selectAll()
        .orderBy('id')
        .limit(options.batchSize)
        .$if(!options.dryRun, (q) => q.forUpdate())
        .execute();
      let moved = 0;
      const failures: RewrapFailure[] = [];
      for (const row of rows) {
        const outcome = await moveOne(ctx.keys, row, target, options.dryRun).catch((err: unknown) => {
          throw asUpstream(err);
        });
        if (outcome === 'checked') {
          moved += 1;
          continue;
        }
        if ('walletId' in outcome) {
          failures.push(outcome);
          await audit(trx, options, row, target, 'error', outcome.code, outcome.message);
          continue;
        }
        await trx
          .updateTable('wallets')
          .set({
            key_provider: outcome.provider,
            key_ref: outcome.keyRef,
            key_version: outcome.keyVersion,
            wrapped_key: outcome.ciphertext,
            key_updated_at: sql<Date>`now()`,
          })
          .where('id', '=', row.id)
          .execute();
        await audit(trx, options, row, target, 'ok');
        moved += 1;
      }
      return { rows, moved, failures };
    });
    if (batch.rows.length === 0) break;
    afterId = batch.rows[batch.rows.length - 1]!.id;
    report.batches += 1;
    report.moved += batch.moved;
    report.failed.push(...batch.failures);
    remaining -= batch.rows.length;
    options.onBatch?.({
      batch: report.batches,
      moved: batch.moved,
      movedTotal: report.moved,
      failedTotal: report.failed.length,
      remaining: Math.max(remaining, 0),
    });
  }

  if (!options.dryRun) {
    await recordAudit(ctx.db, {
      tenantId: options.tenantId ?? null,
      kind: 'cli',
      action: 'keys.rewrap',
      principal: options.principal,
      status: report.failed.length === 0 ? 'ok' : 'error',
      errorCode: report.failed.length === 0 ? null : 'REWRAP_INCOMPLETE',
      request: { to: options.to, tenant_id: options.tenantId ?? null, batch: options.batchSize },
      response: { target, total: report.total, already_current: report.alreadyCurrent, moved: report.moved, failed: report.failed.length, batches: report.batches },
    });
  }
  return report;
}

/** One audit row per wallet moved or refused, in the batch's transaction. */
async function audit(trx: Transaction<Database>, options: RewrapOptions, row: WalletRow, target: Target, status: 'ok' | 'error', code?: string, message?: string): Promise<void> {
  await recordAudit(trx, {
    tenantId: row.tenant_id,
    kind: 'cli',
    action: 'keys.rewrap.wallet',
    principal: options.principal,
    agentId: row.agent_id,
    walletId: row.id,
    status,
    errorCode: code ?? null,
    request: { from: { provider: row.key_provider, key_ref: row.key_ref, key_version: row.key_version }, to: target },
    response: message ? { error: message } : { address: row.address },
  });
}

function asUpstream(err: unknown): unknown {
  if (err instanceof KeyProviderError) {
    return new UpstreamError(err.code, `${err.provider ? `key provider "${err.provider}": ` : ''}${err.message}`);
  }
  return err;
}
