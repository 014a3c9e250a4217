/**
 * 0001: tenants, API keys and admin sessions, wallets, transactions and the audit log.
 * Amounts are `numeric(78,0)` wei (fits uint256); nonces and blocks are `bigint`. Keyset-paginated
 * `created_at` columns keep millisecond precision so a cursor round-trips through a JS `Date`.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table tenants (
      id uuid primary key default gen_random_uuid(),
      name text not null unique,
      created_at timestamptz not null default now()
    );

    create table api_keys (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenants(id),
      name text not null,
      role text not null check (role in ('owner', 'admin', 'operator', 'viewer', 'agent')),
      key_prefix text not null,
      key_hash text not null unique,
      created_at timestamptz not null default now(),
      last_used_at timestamptz,
      expires_at timestamptz,
      revoked_at timestamptz
    );

    create table admin_sessions (
      id uuid primary key default gen_random_uuid(),
      token_hash text not null unique,
      api_key_id uuid not null references api_keys(id),
      created_at timestamptz not null default now(),
      expires_at timestamptz not null
    );

    create table wallets (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenants(id),
      agent_id text not null,
      address text not null,
      chain_id bigint not null,
      key_provider text not null,
      key_ref text not null,
      key_version text not null,
      wrapped_key text not null,
      next_nonce bigint not null default 0,
      created_at timestamptz(3) not null default now(),
      unique (tenant_id, agent_id),
      unique (tenant_id, chain_id, address)
    );

    create table transactions (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenants(id),
      wallet_id uuid not null references wallets(id),
      chain_id bigint not null,
      nonce bigint not null,
      from_address text not null,
      to_address text not null,
      value_wei numeric(78, 0) not null,
      gas_limit numeric(78, 0) not null,
      max_fee_per_gas numeric(78, 0) not null,
      max_priority_fee_per_gas numeric(78, 0) not null,
      tx_hash text not null,
      raw_tx text not null,
      status text not null check (status in ('queued', 'broadcast', 'mined', 'confirmed', 'reverted', 'failed', 'replaced', 'cancelled')),
      block_number bigint,
      block_hash text,
      gas_used numeric(78, 0),
      effective_gas_price numeric(78, 0),
      error text,
      source text not null,
      created_at timestamptz(3) not null default now(),
      updated_at timestamptz not null default now(),
      broadcast_at timestamptz,
      mined_at timestamptz
    );
    create unique index transactions_wallet_nonce_live on transactions (wallet_id, nonce) where status not in ('replaced', 'cancelled', 'failed');
    create unique index transactions_tx_hash on transactions (tx_hash);
    create index transactions_tenant_created on transactions (tenant_id, created_at desc, id desc);
    create index transactions_pending on transactions (status) where status in ('queued', 'broadcast', 'mined');

    create table audit_events (
      id bigserial primary key,
      tenant_id uuid references tenants(id),
      occurred_at timestamptz not null default now(),
      kind text not null check (kind in ('tool_call', 'api_write', 'auth')),
      action text not null,
      principal text,
      agent_id text,
      wallet_id uuid,
      status text not null check (status in ('ok', 'error', 'refused')),
      error_code text,
      duration_ms integer,
      request jsonb,
      response jsonb,
      request_id text,
      ip text
    );
    create index audit_events_tenant_id on audit_events (tenant_id, id desc);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table audit_events, transactions, wallets, admin_sessions, api_keys, tenants`.execute(db);
}
