/**
 * 0006: guardrails against a hostile key (docs/security.md).
 * - Strategies record the key that created (or last resumed) them, and gain the `paused` status:
 *   revoking or expiring that key pauses them, with the reason in `paused_reason`.
 * - Approvals gain a `kind`: `send` (as before) or `key_export` (four eyes on key material, with
 *   the format asked for in `export_format`; such a row has no recipient or amount), and the
 *   `cancelled` status (the requesting key was revoked or expired while it waited).
 * - `confirmation_failures`: one row per wrong confirmation code (`TX_CONFIRM_CODE` or
 *   `EXPORT_CODE`), counted per key and per wallet over a sliding window to lock guessing out.
 *   A locked-out attempt is refused before it is counted, so the table holds at most a few rows
 *   per key and wallet per window; the worker prunes old ones.
 * Plain DDL only: no application code is imported here.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table strategies
      add column created_by_key_id uuid references api_keys(id),
      add column created_by text,
      add column paused_reason text;
    alter table strategies drop constraint strategies_status_check;
    alter table strategies add constraint strategies_status_check check (status in ('active', 'stopped', 'completed', 'paused'));
    create index strategies_created_by on strategies (created_by_key_id) where status = 'active' and deleted_at is null;

    alter table approvals
      add column kind text not null default 'send' check (kind in ('send', 'key_export')),
      add column export_format text check (export_format in ('keystore', 'private_key')),
      alter column to_address drop not null,
      alter column value_wei drop not null,
      add constraint approvals_kind_fields check (
        (kind = 'send' and to_address is not null and value_wei is not null and export_format is null)
        or (kind = 'key_export' and to_address is null and value_wei is null and export_format is not null)
      );
    alter table approvals drop constraint approvals_status_check;
    alter table approvals add constraint approvals_status_check
      check (status in ('pending', 'approved', 'rejected', 'expired', 'executed', 'failed', 'cancelled'));
    create index approvals_requested_by on approvals (requested_by_key_id) where status = 'pending';

    create table confirmation_failures (
      id bigserial primary key,
      tenant_id uuid not null references tenants(id),
      key_id uuid not null references api_keys(id),
      wallet_id uuid references wallets(id),
      code text not null check (code in ('tx_confirm', 'export')),
      failed_at timestamptz(3) not null default now()
    );
    create index confirmation_failures_key on confirmation_failures (key_id, code, failed_at);
    create index confirmation_failures_wallet on confirmation_failures (wallet_id, code, failed_at) where wallet_id is not null;
    create index confirmation_failures_expiry on confirmation_failures (failed_at);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop table confirmation_failures;
    drop index approvals_requested_by;
    delete from approvals where kind = 'key_export';
    update approvals set status = 'expired' where status = 'cancelled';
    alter table approvals drop constraint approvals_status_check;
    alter table approvals add constraint approvals_status_check
      check (status in ('pending', 'approved', 'rejected', 'expired', 'executed', 'failed'));
    alter table approvals
      drop constraint approvals_kind_fields,
      drop column export_format,
      drop column kind,
      alter column to_address set not null,
      alter column value_wei set not null;
    drop index strategies_created_by;
    update strategies set status = 'stopped' where status = 'paused';
    alter table strategies drop constraint strategies_status_check;
    alter table strategies add constraint strategies_status_check check (status in ('active', 'stopped', 'completed'));
    alter table strategies drop column paused_reason, drop column created_by, drop column created_by_key_id;
  `.execute(db);
}
