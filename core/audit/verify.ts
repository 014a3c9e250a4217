/**
 * Verifies the audit log's hash chains (chain.ts): walks each chain's sealed rows in
 * `chain_seq` order, page by page (never the whole log in memory), recomputes every row's hash
 * and checks each row names its predecessor at the next position. The first broken row of a
 * chain is reported:
 * - `hash_mismatch`: the row's content no longer matches its hash, so it was edited;
 * - `prev_hash_mismatch`: the row does not name the row before it, or does not sit at the next
 *   position, so a row between them was deleted (or one was inserted); a chain whose first row
 *   does not start at position 1 with 64 zeros lost its first rows.
 * Deleting the newest rows of a chain leaves a shorter valid chain: compare `head` with a copy
 * kept elsewhere (docs/audit-log.md). Rows not sealed yet (seal.ts) are counted, not verified.
 */
import { sql } from 'kysely';
import type { Db } from '../db/connect.ts';
import type { AuditEventRow } from '../db/types.ts';
import { GENESIS_HASH, rowHash } from './chain.ts';
import { unsealedCount } from './seal.ts';

/** A sealed row: its chain columns are set. */
type SealedRow = AuditEventRow & { chain_seq: string; prev_hash: string; hash: string };

const NIL_UUID = '00000000-0000-0000-0000-000000000000';

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
  /** Rows written but not sealed yet (the worker seals them within a second). */
  unsealed: number;
}

/**
 * Walks one chain.
 * @param tenantId - the tenant, or `null` for the unscoped chain.
 * @param pageSize - rows read per query (default 1000).
 */
export async function verifyChain(db: Db, tenantId: string | null, pageSize = 1000): Promise<ChainReport> {
  let expectedPrev = GENESIS_HASH;
  let lastSeq = 0n;
  let lastId: string | null = null;
  let rows = 0;
  const unsealed = await unsealedCount(db, tenantId);
  for (;;) {
    // The expression of the audit_events_chain_seq index: one range scan per page.
    const page = await sql<SealedRow>`
      select * from audit_events
      where coalesce(tenant_id, ${NIL_UUID}::uuid) = ${tenantId ?? NIL_UUID}::uuid and chain_seq > ${lastSeq.toString()}::bigint
      order by chain_seq limit ${pageSize}
    `.execute(db);
    if (page.rows.length === 0) break;
    for (const row of page.rows) {
      rows += 1;
      const broken = check(row, expectedPrev, lastSeq, lastId);
      if (broken) return { tenantId, rows, headId: null, head: null, broken, unsealed };
      expectedPrev = row.hash;
      lastSeq = BigInt(row.chain_seq);
      lastId = row.id;
    }
    if (page.rows.length < pageSize) break;
  }
  return { tenantId, rows, headId: lastId, head: rows === 0 ? null : expectedPrev, broken: null, unsealed };
}

function check(row: SealedRow, expectedPrev: string, previousSeq: bigint, previousId: string | null): ChainBreak | null {
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
  if (row.prev_hash !== expectedPrev || BigInt(row.chain_seq) !== previousSeq + 1n) {
    return {
      id: row.id,
      problem: 'prev_hash_mismatch',
      message:
        previousId === null
          ? `row ${row.id} is the first of its chain but does not start it (position ${row.chain_seq}, prev_hash ${row.prev_hash === GENESIS_HASH ? 'of a first row' : 'not 64 zeros'}): earlier rows were deleted`
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
