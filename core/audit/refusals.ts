/**
 * Audit rows of refused authentication. A refusal whose key is known (revoked or expired) is
 * recorded in that key's tenant; one that matches no key belongs to no tenant and joins the
 * unscoped chain. Those writes are queued in memory and made one at a time: a flood of bad
 * credentials then holds one database connection, not the pool, and cannot starve
 * authenticated callers. Past {@link MAX_QUEUED} waiting rows, new ones are dropped (the refusal
 * is still answered) and counted (`vaultpilot_auth_audit_dropped_total`).
 */
import type { Db } from '../db/connect.ts';
import type { Logger } from '../logger.ts';
import { hashSecret } from '../auth/api-keys.ts';
import { authAuditDropped } from '../metrics.ts';
import { recordAudit, type AuditEntry } from './log.ts';

/** Most refusal rows waiting to be written before new ones are dropped. */
export const MAX_QUEUED = 10_000;

/** The tenant and visible id of a stored key (revoked and expired ones included), or `null`. */
export async function storedKeyOf(db: Db, presented: string): Promise<{ tenantId: string; keyPrefix: string } | null> {
  const row = await db.selectFrom('api_keys').select(['tenant_id', 'key_prefix']).where('key_hash', '=', hashSecret(presented)).executeTakeFirst();
  return row ? { tenantId: row.tenant_id, keyPrefix: row.key_prefix } : null;
}

/** A serial, bounded writer of refusal audit rows (one per process). */
export class RefusalAuditor {
  #tail: Promise<void> = Promise.resolve();
  #queued = 0;
  readonly #db: Db;
  readonly #logger: Logger;

  constructor(db: Db, logger: Logger) {
    this.#db = db;
    this.#logger = logger;
  }

  /**
   * Queues `entry` behind the rows already waiting.
   * @returns a promise that resolves once it is written, or at once when it was dropped; write
   *   failures are logged, never thrown.
   */
  record(entry: AuditEntry): Promise<void> {
    if (this.#queued >= MAX_QUEUED) {
      authAuditDropped.inc();
      return Promise.resolve();
    }
    this.#queued += 1;
    this.#tail = this.#tail
      .then(() => recordAudit(this.#db, entry))
      .catch((err: unknown) => this.#logger.error({ err }, 'audit write of a refused authentication failed'))
      .finally(() => {
        this.#queued -= 1;
      });
    return this.#tail;
  }
}
