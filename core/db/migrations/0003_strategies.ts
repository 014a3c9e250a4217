/**
 * 0003: the strategy engine. Strategies gain run counters, the pending slot the worker has
 * enqueued, an end state (`completed` with `end_reason`) and soft deletion (a deleted strategy's
 * runs stay in history, and its label can be used again). `strategy_runs` records every tick;
 * its unique `(strategy_id, slot_at)` is the database's guarantee that a slot runs once, whatever
 * pg-boss, a second worker or a manual tick do. Transactions sent by a tick point at their run.
 * The audit log gains the `worker` kind. Imported AgentVault DCA params move from
 * `max_base_fee_gwei` (decimal gwei) to `max_base_fee_wei`, like every other stored amount.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table strategies drop constraint strategies_status_check;
    alter table strategies add constraint strategies_status_check check (status in ('active', 'stopped', 'completed'));
    alter table strategies
      add column end_reason text,
      add column runs_sent integer not null default 0,
      add column runs_skipped integer not null default 0,
      add column runs_failed integer not null default 0,
      add column spent_total_wei numeric(78, 0) not null default 0,
      add column scheduled_slot_at timestamptz(3),
      add column scheduled_job_id uuid,
      add column confirmed_above_max boolean not null default false,
      add column deleted_at timestamptz(3),
      alter column next_run_at type timestamptz(3),
      alter column last_run_at type timestamptz(3);
    alter table strategies drop constraint strategies_tenant_id_label_key;
    create unique index strategies_tenant_label_live on strategies (tenant_id, label) where deleted_at is null;
    create index strategies_due on strategies (next_run_at) where status = 'active' and deleted_at is null;
    -- The sweep's "due and not yet enqueued": stays small however far behind the worker is.
    create index strategies_unscheduled on strategies (next_run_at)
      where status = 'active' and deleted_at is null and scheduled_slot_at is distinct from next_run_at;
    create index strategies_tenant_created on strategies (tenant_id, created_at desc, id desc);

    create table strategy_runs (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenants(id),
      strategy_id uuid not null references strategies(id),
      slot_at timestamptz(3) not null,
      source text not null check (source in ('schedule', 'manual')),
      outcome text not null check (outcome in ('sent', 'skipped', 'failed')),
      reason text,
      error_code text,
      detail text,
      amount_wei numeric(78, 0) not null default 0,
      transaction_ids uuid[] not null default '{}',
      started_at timestamptz(3) not null,
      created_at timestamptz(3) not null default now()
    );
    create unique index strategy_runs_slot on strategy_runs (strategy_id, slot_at);
    create index strategy_runs_strategy_created on strategy_runs (strategy_id, created_at desc, id desc);
    create index strategy_runs_sent_window on strategy_runs (strategy_id, created_at) where outcome = 'sent';

    alter table transactions add column strategy_run_id uuid references strategy_runs(id);
    -- What a wallet's unmined transactions reserve is read twice per send; without this it read
    -- the wallet's whole history.
    create index transactions_wallet_pending on transactions (wallet_id) where status in ('queued', 'broadcast');

    alter table audit_events drop constraint audit_events_kind_check;
    alter table audit_events add constraint audit_events_kind_check check (kind in ('tool_call', 'api_write', 'auth', 'cli', 'worker'));

    update strategies
       set params = (params - 'max_base_fee_gwei') || jsonb_build_object('max_base_fee_wei',
             case when params->>'max_base_fee_gwei' is null then null
                  else ((params->>'max_base_fee_gwei')::numeric * 1000000000)::numeric(78, 0)::text end)
     where params ? 'max_base_fee_gwei';
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    update strategies
       set params = (params - 'max_base_fee_wei') || jsonb_build_object('max_base_fee_gwei',
             case when params->>'max_base_fee_wei' is null then null
                  else trim_scale((params->>'max_base_fee_wei')::numeric / 1000000000)::text end)
     where params ? 'max_base_fee_wei';
    delete from audit_events where kind = 'worker';
    alter table audit_events drop constraint audit_events_kind_check;
    alter table audit_events add constraint audit_events_kind_check check (kind in ('tool_call', 'api_write', 'auth', 'cli'));
    drop index transactions_wallet_pending;
    alter table transactions drop column strategy_run_id;
    drop table strategy_runs;
    drop index strategies_tenant_created;
    drop index strategies_unscheduled;
    drop index strategies_due;
    drop index strategies_tenant_label_live;
    delete from strategies where deleted_at is not null;
    alter table strategies add constraint strategies_tenant_id_label_key unique (tenant_id, label);
    update strategies set status = 'stopped' where status = 'completed';
    alter table strategies drop constraint strategies_status_check;
    alter table strategies add constraint strategies_status_check check (status in ('active', 'stopped'));
    alter table strategies
      drop column end_reason, drop column runs_sent, drop column runs_skipped, drop column runs_failed,
      drop column spent_total_wei, drop column scheduled_slot_at, drop column scheduled_job_id,
      drop column confirmed_above_max, drop column deleted_at;
  `.execute(db);
}
