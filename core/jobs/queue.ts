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
  /** Runs one slot of one strategy. Data: {@link StrategyTickJob}; singletonKey `<strategy id>:<slot>`. */
  strategyTick: 'strategy-tick',
  /** Sends an approved send through the normal path. Data: {@link ApprovalExecuteJob}. */
  approvalExecute: 'approval-execute',
} as const;

/** Payload of an `approval-execute` job: the approval a human approved. */
export interface ApprovalExecuteJob {
  approvalId: string;
}

/**
 * Retries of an `approval-execute` job (upstream outages only: a refusal marks the approval
 * `failed` at once); the last attempt marks it `failed` instead of throwing.
 */
export const APPROVAL_EXECUTE_RETRY_LIMIT = 10;

/**
 * Enqueues the `approval-execute` job of an approval inside the caller's database transaction
 * (the one that marks it `approved`), so an approval is never approved without its job.
 */
export async function enqueueApprovalExecute(boss: PgBoss, trx: Transaction<Database>, job: ApprovalExecuteJob): Promise<void> {
  await boss.send(QUEUES.approvalExecute, job, { db: fromKysely(trx) });
}

/** Payload of a `strategy-tick` job: the strategy and the slot (ISO 8601, ms precision) it runs. */
export interface StrategyTickJob {
  strategyId: string;
  slot: string;
}

/** The singletonKey of a strategy slot: pg-boss keeps one such job created, retrying or active. */
export function strategySlotKey(strategyId: string, slot: Date): string {
  return `${strategyId}:${slot.toISOString()}`;
}

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
    // Expired and heartbeat-less jobs (a worker killed mid-tick) are found within seconds, not a minute.
    ...(role === 'worker' ? { superviseIntervalSeconds: 5, monitorIntervalSeconds: 5 } : {}),
    migrate: true,
  });
}

/**
 * Creates every queue; idempotent (pg-boss inserts with ON CONFLICT DO NOTHING under an advisory
 * lock), so the server and the worker both call it after `start()`.
 */
export async function ensureQueues(boss: PgBoss): Promise<void> {
  await boss.createQueue(QUEUES.txMonitor, { retryLimit: 20, retryDelay: 2, retryBackoff: true, expireInSeconds: 60 });
  // `exclusive`: at most one job per singletonKey (strategy + slot) created, retrying or active,
  // so two sweeps or two workers cannot queue one slot twice. A worker that dies mid-tick stops
  // its heartbeat and the job is retried within ~15 s (the tick itself is idempotent per slot).
  await boss.createQueue(QUEUES.strategyTick, { policy: 'exclusive', retryLimit: 5, retryDelay: 5, expireInSeconds: 120, heartbeatSeconds: 10 });
  await boss.createQueue(QUEUES.approvalExecute, { retryLimit: APPROVAL_EXECUTE_RETRY_LIMIT, retryDelay: 2, retryBackoff: true, retryDelayMax: 120, expireInSeconds: 120 });
}

/**
 * Enqueues the `strategy-tick` jobs of due slots inside the caller's database transaction.
 * @param jobs - each with the job id to use (recorded on the strategy, to cancel it on stop).
 * @param startAfter - per job: when the slot is due.
 * @returns the ids of the jobs inserted; a slot already queued is skipped (exclusive policy).
 */
export async function enqueueStrategyTicks(
  boss: PgBoss,
  trx: Transaction<Database>,
  jobs: Array<{ id: string; data: StrategyTickJob; startAfter: Date }>,
): Promise<string[]> {
  if (jobs.length === 0) return [];
  const inserted = await boss.insert(
    QUEUES.strategyTick,
    jobs.map((j) => ({ id: j.id, data: j.data, startAfter: j.startAfter, singletonKey: `${j.data.strategyId}:${j.data.slot}` })),
    { db: fromKysely(trx), returnId: true },
  );
  return inserted ?? [];
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
