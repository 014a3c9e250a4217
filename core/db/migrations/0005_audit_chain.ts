/**
 * 0005: the audit log becomes append-only and tamper-evident. Each row gains `chain_seq`,
 * `prev_hash` and `hash`, chaining it to the previous row of its tenant (core/audit/chain.ts; rows
 * without a tenant form their own chain). A row is written unsealed (the three columns null) and
 * sealed moments later by the worker (core/audit/seal.ts), so writers never wait on one another.
 * Rows written before this migration are sealed here, per tenant in id order, with the same code
 * the application uses, so `vaultpilot audit verify` passes on an upgraded database.
 * `occurred_at` keeps milliseconds (the hashed form is an ISO string with ms). A row trigger
 * refuses DELETE and every UPDATE except sealing an unsealed row (setting only its three chain
 * columns, once), and a statement trigger refuses TRUNCATE, for every role; only someone who may
 * disable triggers (the table owner, a superuser) can get past them, and `audit verify` then
 * finds what they changed (docs/audit-log.md).
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../types.ts';
import { chainsToSeal, fullBatch, sealChainIn } from '../../audit/seal.ts';

/** Seals every existing row with the application's sealer: per chain, in id order, a batch at a time. */
async function chainExisting(db: Kysely<unknown>): Promise<void> {
  // The migrator passes its transaction; the sealer runs inside it (no triggers exist yet).
  const trx = db as unknown as Transaction<Database>;
  for (const tenantId of await chainsToSeal(trx)) {
    while (fullBatch(await sealChainIn(trx, tenantId)));
  }
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table audit_events
      add column chain_seq bigint,
      add column prev_hash text,
      add column hash text,
      alter column occurred_at type timestamptz(3);
    -- What the sealer has left to do (stays small: rows are sealed within a second). Created
    -- first, so sealing the existing log walks only what is left.
    create index audit_events_unsealed on audit_events (id) where hash is null;
  `.execute(db);
  await chainExisting(db);
  await sql`
    alter table audit_events
      add constraint audit_events_hash_format check (hash ~ '^[0-9a-f]{64}$' and prev_hash ~ '^[0-9a-f]{64}$' and chain_seq > 0),
      add constraint audit_events_sealed_whole check ((hash is null) = (prev_hash is null) and (hash is null) = (chain_seq is null));
    -- One row per chain position: a fork or a duplicated position is refused outright.
    create unique index audit_events_chain_seq
      on audit_events ((coalesce(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid)), chain_seq) where chain_seq is not null;

    create function audit_events_append_only() returns trigger language plpgsql as $$
    begin
      -- Sealing: an unsealed row gets its chain columns, once; nothing else may change.
      if tg_op = 'UPDATE' then
        if old.hash is null and new.hash is not null
           and (to_jsonb(new) - 'chain_seq' - 'prev_hash' - 'hash') = (to_jsonb(old) - 'chain_seq' - 'prev_hash' - 'hash') then
          return new;
        end if;
      end if;
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
    drop index audit_events_unsealed;
    drop index audit_events_chain_seq;
    alter table audit_events
      drop constraint audit_events_sealed_whole,
      drop constraint audit_events_hash_format,
      drop column chain_seq,
      drop column prev_hash,
      drop column hash,
      alter column occurred_at type timestamptz;
  `.execute(db);
}
