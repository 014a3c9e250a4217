/**
 * Verifies the audit log's hash chains (chain.ts): walks each chain in id order, page by page
 * (never the whole log in memory), recomputes every row's hash and checks each row names its
 * predecessor. The first broken row of a chain is reported:
 * - `hash_mismatch`: the row's content no longer matches its hash, so it was edited;
 * - `prev_hash_mismatch`: the row does not name the row before it, so a row between them was
 *   deleted (or one was inserted); a chain whose first row does not start at 64 zeros lost its
 *   first rows.
 * Deleting the newest rows of a chain leaves a shorter valid chain: compare `head` with a copy
 * kept elsewhere (docs/audit-log.md).
 */
import type { Db } from '../db/connect.ts';
import type { AuditEventRow } from '../db/types.ts';
import { GENESIS_HASH, rowHash } from './chain.ts';

/** The first broken row of a chain. */
export interface ChainBreak {
  /** `audit_events.id` of the row. */
  id: string;
  problem: 'hash_mismatch' | 'prev_hash_mismatch';
  /** What broke, in words. */
  message: string;
  /** The hash the row should have (`hash_mismatch`) or should name as `prev_hash` (`prev_hash_mismatch`). */
  expected: string;
  /** What the row stores. */
  found: string;
}

/** The result of walking one chain. */
export interface ChainReport {
  /** The chain's tenant, `null` for the unscoped chain (refused authentications). */
  tenantId: string | null;
  /** Rows checked (up to and including a broken one). */
  rows: number;
  /** The newest row's id and hash when the chain is intact (null when empty or broken). */
  headId: string | null;
  head: string | null;
  broken: ChainBreak | null;
}

/**
 * Walks one chain.
 * @param tenantId - the tenant, or `null` for the unscoped chain.
 * @param pageSize - rows read per query (default 1000).
 */
export async function verifyChain(db: Db, tenantId: string | null, pageSize = 1000): Promise<ChainReport> {
  let expectedPrev = GENESIS_HASH;
  let lastId: string | null = null;
  let rows = 0;
  for (;;) {
    let q = db
      .selectFrom('audit_events')
      .selectAll()
      .where((eb) => (tenantId === null ? eb('tenant_id', 'is', null) : eb('tenant_id', '=', tenantId)));
    if (lastId !== null) q = q.where('id', '>', lastId);
    const page: AuditEventRow[] = await q.orderBy('id', 'asc').limit(pageSize).execute();
    if (page.length === 0) break;
    for (const row of page) {
      rows += 1;
      const broken = check(row, expectedPrev, lastId);
      if (broken) return { tenantId, rows, headId: null, head: null, broken };
      expectedPrev = row.hash;
      lastId = row.id;
    }
    if (page.length < pageSize) break;
  }
  return { tenantId, rows, headId: lastId, head: rows === 0 ? null : expectedPrev, broken: null };
}

function check(row: AuditEventRow, expectedPrev: string, previousId: string | null): ChainBreak | null {
  const computed = rowHash(row);
  if (computed !== row.hash) {
    return {
      id: row.id,
      problem: 'hash_mismatch',
      message: `row ${row.id} was edited after it was written: its content does not match its hash`,
      expected: computed,
      found: row.hash,
    };
  }
  if (row.prev_hash !== expectedPrev) {
    return {
      id: row.id,
      problem: 'prev_hash_mismatch',
      message:
        previousId === null
          ? `row ${row.id} is the first of its chain but does not start it (prev_hash is not 64 zeros): earlier rows were deleted`
          : `row ${row.id} does not follow row ${previousId}: a row between them was deleted, or one was inserted`,
      expected: expectedPrev,
      found: row.prev_hash,
    };
  }
  return null;
}

/**
 * Verifies every chain (each tenant's and the unscoped one), or one tenant's.
 * @param options.tenantId - only this tenant's chain (`null`: only the unscoped chain).
 * @returns one report per chain that has rows (the requested one even when empty), and `ok`.
 */
export async function verifyAuditLog(db: Db, options: { tenantId?: string | null; pageSize?: number } = {}): Promise<{ ok: boolean; chains: ChainReport[] }> {
  const tenantIds: Array<string | null> =
    options.tenantId !== undefined ? [options.tenantId] : [...(await db.selectFrom('tenants').select('id').orderBy('created_at').orderBy('id').execute()).map((t) => t.id), null];
  const chains: ChainReport[] = [];
  for (const tenantId of tenantIds) {
    const report = await verifyChain(db, tenantId, options.pageSize);
    if (report.rows > 0 || options.tenantId !== undefined) chains.push(report);
  }
  return { ok: chains.every((c) => c.broken === null), chains };
}
