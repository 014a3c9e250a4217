/**
 * 0004: guardrails. API keys gain optional scopes (tools, wallets by agent id, source IP CIDRs)
 * and the key that created them. Wallets gain a per-wallet policy (overriding `vaultpilot.yml`
 * field by field, see core/policy). Rate-limit counters live in Postgres (fixed windows), so every
 * server replica counts against the same limit. `approvals` holds sends waiting for a human;
 * the audit log records which policy decision and rule decided a call.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table api_keys
      add column allowed_tools text[],
      add column allowed_wallets text[],
      add column allowed_ips text[],
      add column created_by_key_id uuid references api_keys(id);
    create index api_keys_tenant on api_keys (tenant_id, created_at desc);

    create table wallet_policies (
      wallet_id uuid primary key references wallets(id),
      tenant_id uuid not null references tenants(id),
      policy jsonb not null,
      updated_by text,
      updated_at timestamptz(3) not null default now()
    );

    -- One row per (counter, window); a call increments every counter that applies to it in one
    -- transaction and rolls back when any is over its limit, so refused calls consume nothing.
    create table rate_limit_counters (
      tenant_id uuid not null references tenants(id),
      counter text not null,
      window_start timestamptz not null,
      window_seconds integer not null,
      calls integer not null,
      primary key (tenant_id, counter, window_start)
    );
    create index rate_limit_counters_expiry on rate_limit_counters (window_start);

    create table approvals (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenants(id),
      wallet_id uuid not null references wallets(id),
      agent_id text not null,
      to_address text not null,
      value_wei numeric(78, 0) not null,
      -- what the agent said the send is for (execute_transfer's reason argument)
      reason text,
      -- the policy rule that asked for a human, and its message
      rule text not null,
      rule_message text not null,
      source text not null,
      status text not null default 'pending'
        check (status in ('pending', 'approved', 'rejected', 'expired', 'executed', 'failed')),
      requested_by_key_id uuid references api_keys(id),
      requested_by text,
      decided_by_key_id uuid references api_keys(id),
      decided_by text,
      decided_at timestamptz(3),
      decision_note text,
      expires_at timestamptz(3) not null,
      transaction_id uuid references transactions(id),
      error_code text,
      error_message text,
      created_at timestamptz(3) not null default now(),
      updated_at timestamptz(3) not null default now()
    );
    create index approvals_tenant_created on approvals (tenant_id, created_at desc, id desc);
    create index approvals_pending on approvals (expires_at) where status = 'pending';

    alter table audit_events
      add column decision text check (decision in ('allow', 'deny', 'require_approval')),
      add column rule text;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table audit_events drop column decision, drop column rule;
    drop table approvals, rate_limit_counters, wallet_policies;
    drop index api_keys_tenant;
    alter table api_keys drop column allowed_tools, drop column allowed_wallets, drop column allowed_ips, drop column created_by_key_id;
  `.execute(db);
}
