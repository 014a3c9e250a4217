/**
 * Seals audit rows into their tenant's hash chain (chain.ts). Writers insert rows unsealed and
 * never wait for each other; the sealer then gives each committed, unsealed row the next
 * `chain_seq` of its chain, the previous row's hash as `prev_hash`, and its own `hash`.
 *
 * A chain is sealed under a transaction-scoped advisory lock on the chain, so any number of
 * sealers (every worker runs one) extend it one at a time. Rows are taken in `id` order among
 * those committed; a row whose transaction commits after a later id was sealed simply gets a
 * later position, which is why the chain is ordered by `chain_seq`, not by `id`. The triggers
 * allow exactly this change, once per row (migration 0005).
 */
import { sql, type Transaction } from 'kysely';
import type { Db } from '../db/connect.ts';
import type { AuditEventRow, Database } from '../db/types.ts';
import { chainLockKey, GENESIS_HASH, rowHash } from './chain.ts';

/** Rows sealed per transaction. */
const BATCH = 1000;

/** `tenant_id` condition of a chain (`null`: the unscoped chain). */
const chainOf = (tenantId: string | null) => (tenantId === null ? sql`tenant_id is null` : sql`tenant_id = ${tenantId}::uuid`);

/** The key of a chain in the `audit_events_chain_seq` index (the unscoped chain: the nil uuid). */
const NIL_UUID = '00000000-0000-0000-0000-000000000000';

/** The stored head of a chain (its sealed row with the highest `chain_seq`), if any. */
export async function chainHead(db: Db | Transaction<Database>, tenantId: string | null): Promise<{ id: string; chainSeq: bigint; hash: string } | null> {
  // The expression of the unique index, so this is one index probe.
  const res = await sql<{ id: string; chain_seq: string; hash: string }>`
    select id, chain_seq, hash from audit_events
    where coalesce(tenant_id, ${NIL_UUID}::uuid) = ${tenantId ?? NIL_UUID}::uuid and chain_seq is not null
    order by chain_seq desc limit 1
  `.execute(db);
  const row = res.rows[0];
  return row ? { id: row.id, chainSeq: BigInt(row.chain_seq), hash: row.hash } : null;
}

/**
 * Seals up to {@link BATCH} committed, unsealed rows of one chain inside `trx` (taking the chain's
 * advisory lock, held until `trx` ends). Migration 0005 calls this in its own transaction.
 * @returns how many rows were sealed.
 */
export async function sealChainIn(trx: Transaction<Database>, tenantId: string | null): Promise<number> {
  await sql`select pg_advisory_xact_lock(${chainLockKey(tenantId)}::bigint)`.execute(trx);
  // Statements after the lock see what the previous sealer committed (READ COMMITTED).
  const head = await chainHead(trx, tenantId);
  const rows = await sql<AuditEventRow>`
    select * from audit_events where hash is null and ${chainOf(tenantId)} order by id limit ${BATCH}
  `.execute(trx);
  if (rows.rows.length === 0) return 0;
  let seq = head?.chainSeq ?? 0n;
  let prev = head?.hash ?? GENESIS_HASH;
  const ids: string[] = [];
  const seqs: string[] = [];
  const prevs: string[] = [];
  const hashes: string[] = [];
  for (const row of rows.rows) {
    seq += 1n;
    const hash = rowHash({ ...row, chain_seq: seq.toString(), prev_hash: prev });
    ids.push(row.id);
    seqs.push(seq.toString());
    prevs.push(prev);
    hashes.push(hash);
    prev = hash;
  }
  await sql`
    update audit_events a set chain_seq = v.chain_seq, prev_hash = v.prev_hash, hash = v.hash
    from unnest(${ids}::bigint[], ${seqs}::bigint[], ${prevs}::text[], ${hashes}::text[]) as v(id, chain_seq, prev_hash, hash)
    where a.id = v.id
  `.execute(trx);
  return ids.length;
}

/**
 * Seals up to {@link BATCH} committed, unsealed rows of one chain, in a transaction of its own.
 * @returns how many rows were sealed.
 */
export async function sealChain(db: Db, tenantId: string | null): Promise<number> {
  return db.transaction().execute((trx) => sealChainIn(trx, tenantId));
}

/** The chains that have unsealed rows (`null`: the unscoped chain). */
export async function chainsToSeal(db: Db | Transaction<Database>): Promise<Array<string | null>> {
  const res = await sql<{ tenant_id: string | null }>`select distinct tenant_id from audit_events where hash is null`.execute(db);
  return res.rows.map((r) => r.tenant_id);
}

/** Whether a sealing round filled its batch (more rows may wait). */
export const fullBatch = (sealed: number): boolean => sealed === BATCH;

/**
 * Seals every committed, unsealed row of every chain (looping while a chain has more).
 * @returns how many rows were sealed.
 */
export async function sealAuditLog(db: Db): Promise<number> {
  let sealed = 0;
  for (const tenantId of await chainsToSeal(db)) {
    for (;;) {
      const n = await sealChain(db, tenantId);
      sealed += n;
      if (!fullBatch(n)) break;
    }
  }
  return sealed;
}

/** How many rows wait to be sealed (committed rows the sealer has not reached yet). */
export async function unsealedCount(db: Db, tenantId?: string | null): Promise<number> {
  const res = await sql<{ n: string }>`
    select count(*)::text as n from audit_events where hash is null ${tenantId === undefined ? sql`` : sql`and ${chainOf(tenantId)}`}
  `.execute(db);
  return Number(res.rows[0]!.n);
}
