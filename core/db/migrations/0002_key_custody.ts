/**
 * 0002: key custody. Wallets record where their key came from (`origin`) and when it was last
 * wrapped (`key_updated_at`, set by `vaultpilot keys rewrap`); the audit log gains the `cli` kind
 * for operator commands; `strategies` holds recurring strategies (AgentVault's imported ones
 * first, stopped until an operator starts them). Amounts in `params` are wei as decimal strings.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table wallets
      add column origin text not null default 'generated'
        check (origin in ('generated', 'private_key', 'mnemonic', 'keystore', 'agentvault')),
      add column key_updated_at timestamptz(3) not null default now();

    alter table audit_events drop constraint audit_events_kind_check;
    alter table audit_events add constraint audit_events_kind_check check (kind in ('tool_call', 'api_write', 'auth', 'cli'));

    create table strategies (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenants(id),
      wallet_id uuid not null references wallets(id),
      label text not null,
      kind text not null,
      params jsonb not null,
      status text not null default 'stopped' check (status in ('active', 'stopped')),
      next_run_at timestamptz,
      last_run_at timestamptz,
      origin text not null default 'created' check (origin in ('created', 'agentvault')),
      legacy_state jsonb,
      created_at timestamptz(3) not null default now(),
      updated_at timestamptz not null default now(),
      unique (tenant_id, label)
    );
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop table strategies;
    delete from audit_events where kind = 'cli';
    alter table audit_events drop constraint audit_events_kind_check;
    alter table audit_events add constraint audit_events_kind_check check (kind in ('tool_call', 'api_write', 'auth'));
    alter table wallets drop column origin, drop column key_updated_at;
  `.execute(db);
}
