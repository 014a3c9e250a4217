/**
 * 0005: the audit log becomes append-only and tamper-evident. Each row gains `prev_hash` and
 * `hash`, chaining it to the previous row of its tenant (core/audit/chain.ts; rows without a
 * tenant form their own chain). Rows written before this migration are chained here, per tenant in
 * id order, with the same code the application uses, so `vaultpilot audit verify` passes on an
 * upgraded database. `occurred_at` keeps milliseconds (the hashed form is an ISO string with ms).
 * A row trigger refuses UPDATE and DELETE and a statement trigger refuses TRUNCATE, for every
 * role; only someone who may disable triggers (the table owner, a superuser) can get past them,
 * and `audit verify` then finds what they changed (docs/audit-log.md).
 */
import { sql, type Kysely } from 'kysely';
import { GENESIS_HASH, rowHash, type ChainableRow } from '../../audit/chain.ts';

/** Rows re-hashed per statement while chaining the existing log. */
const PAGE = 1000;

type StoredRow = ChainableRow & { id: string };

/** Chains every existing row: per tenant (and the unscoped chain), in id order, page by page. */
async function chainExisting(db: Kysely<unknown>): Promise<void> {
  const chains = await sql<{ tenant_id: string | null }>`select distinct tenant_id from audit_events`.execute(db);
  for (const { tenant_id: tenantId } of chains.rows) {
    let prevHash = GENESIS_HASH;
    let afterId = '0';
    for (;;) {
      const tenantCond = tenantId === null ? sql`tenant_id is null` : sql`tenant_id = ${tenantId}::uuid`;
      const page = await sql<StoredRow>`
        select * from audit_events where ${tenantCond} and id > ${afterId}::bigint order by id limit ${PAGE}
      `.execute(db);
      if (page.rows.length === 0) break;
      const ids: string[] = [];
      const prevs: string[] = [];
      const hashes: string[] = [];
      for (const row of page.rows) {
        const hash = rowHash({ ...row, prev_hash: prevHash });
        ids.push(row.id);
        prevs.push(prevHash);
        hashes.push(hash);
        prevHash = hash;
      }
      await sql`
        update audit_events a set prev_hash = v.prev_hash, hash = v.hash
        from unnest(${ids}::bigint[], ${prevs}::text[], ${hashes}::text[]) as v(id, prev_hash, hash)
        where a.id = v.id
      `.execute(db);
      afterId = ids[ids.length - 1]!;
    }
  }
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table audit_events
      add column prev_hash text,
      add column hash text,
      alter column occurred_at type timestamptz(3);
  `.execute(db);
  await chainExisting(db);
  await sql`
    alter table audit_events
      alter column prev_hash set not null,
      alter column hash set not null,
      add constraint audit_events_hash_format check (hash ~ '^[0-9a-f]{64}$' and prev_hash ~ '^[0-9a-f]{64}$');
    -- Two rows of one chain naming the same predecessor would be a fork: refuse it outright.
    create unique index audit_events_chain_link
      on audit_events ((coalesce(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid)), prev_hash);

    create function audit_events_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_events is append-only: % refused', tg_op
        using hint = 'the audit log is hash-chained; rows can be added, never changed or removed (docs/audit-log.md)';
    end
    $$;
    create trigger audit_events_no_update_delete
      before update or delete on audit_events
      for each row execute function audit_events_append_only();
    create trigger audit_events_no_truncate
      before truncate on audit_events
      for each statement execute function audit_events_append_only();
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop trigger audit_events_no_truncate on audit_events;
    drop trigger audit_events_no_update_delete on audit_events;
    drop function audit_events_append_only();
    drop index audit_events_chain_link;
    alter table audit_events
      drop constraint audit_events_hash_format,
      drop column prev_hash,
      drop column hash,
      alter column occurred_at type timestamptz;
  `.execute(db);
}
