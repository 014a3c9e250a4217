/**
 * pg-boss in the application's database: queue names and the enqueue helpers core uses. A job
 * that must follow a write is sent with `db: fromKysely(trx)`, so it commits or rolls back with
 * that write (pg-boss "create jobs in an existing transaction").
 */
import { PgBoss, fromKysely } from 'pg-boss';
import type { Transaction } from 'kysely';
import type { Database } from '../db/types.ts';

/** Queue names: one per concern, named for what the job does. */
export const QUEUES = {
  /** Follows a transaction: (re)broadcast, receipt, confirmations. Data: {@link TxMonitorJob}. */
  txMonitor: 'tx-monitor',
} as const;

/** Payload of a `tx-monitor` job. */
export interface TxMonitorJob {
  transactionId: string;
}

/**
 * Creates (does not start) a pg-boss instance on the application database, in schema `pgboss`.
 * @param databaseUrl - the same `DATABASE_URL` as the application.
 * @param role - the server only sends jobs (no maintenance or cron); the worker runs them all.
 */
export function createBoss(databaseUrl: string, role: 'server' | 'worker'): PgBoss {
  return new PgBoss({
    connectionString: databaseUrl,
    schema: 'pgboss',
    max: 4,
    supervise: role === 'worker',
    schedule: role === 'worker',
    migrate: true,
  });
}

/**
 * Creates every queue; idempotent (pg-boss inserts with ON CONFLICT DO NOTHING under an advisory
 * lock), so the server and the worker both call it after `start()`.
 */
export async function ensureQueues(boss: PgBoss): Promise<void> {
  await boss.createQueue(QUEUES.txMonitor, { retryLimit: 20, retryDelay: 2, retryBackoff: true, expireInSeconds: 60 });
}

/**
 * Enqueues a `tx-monitor` job inside the caller's database transaction.
 * @param trx - the kysely transaction that records or updates the transaction row.
 * @param startAfterSeconds - delay before the worker picks it up (0 = now).
 */
export async function enqueueTxMonitor(
  boss: PgBoss,
  trx: Transaction<Database>,
  job: TxMonitorJob,
  startAfterSeconds = 0,
): Promise<void> {
  await boss.send(QUEUES.txMonitor, job, { db: fromKysely(trx), startAfter: startAfterSeconds });
}
