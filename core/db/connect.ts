/**
 * Opens the database: a pg pool wrapped in kysely, and the migration runner. Migrations run in
 * one transaction (Postgres has transactional DDL) under kysely's migration lock, so two
 * processes starting together apply them once.
 */
import pg from 'pg';
import { Kysely, Migrator, PostgresDialect, type Migration } from 'kysely';
import type { Database } from './types.ts';
import * as m0001 from './migrations/0001_initial.ts';
import * as m0002 from './migrations/0002_key_custody.ts';
import * as m0003 from './migrations/0003_strategies.ts';
import * as m0004 from './migrations/0004_guardrails.ts';
import * as m0005 from './migrations/0005_audit_chain.ts';
import * as m0006 from './migrations/0006_hostile_agent.ts';

export type Db = Kysely<Database>;

/** Every migration, in order. A new file is added here as `NNNN_name`. */
const MIGRATIONS: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_key_custody': m0002,
  '0003_strategies': m0003,
  '0004_guardrails': m0004,
  '0005_audit_chain': m0005,
  '0006_hostile_agent': m0006,
};

/**
 * Connects to Postgres.
 * @param databaseUrl - `postgres://user:pass@host:port/db`.
 * @param max - pool size (connections).
 * @returns the kysely instance and its pg pool (for pg-boss, which shares it).
 */
export function connectDb(databaseUrl: string, max = 10): { db: Db; pool: pg.Pool } {
  const pool = new pg.Pool({ connectionString: databaseUrl, max });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, pool };
}

/**
 * Applies pending migrations. Idempotent.
 * @returns the names of the migrations applied by this call.
 * @throws the failing migration's error; nothing of the batch is applied then.
 */
export async function migrate(db: Db): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => MIGRATIONS },
    migrationTableName: 'vaultpilot_migrations',
    migrationLockTableName: 'vaultpilot_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
