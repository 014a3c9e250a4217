/**
 * Follows one transaction to a final state: broadcasts it if still `queued`, records the receipt
 * (`mined` or `reverted`, block, gas used, effective gas price) and marks it `confirmed` once
 * `TX_CONFIRMATIONS` blocks stand on its block. Called by the worker's `tx-monitor` queue; every
 * step is idempotent, so a retried or duplicated job changes nothing twice.
 */
import type { CoreContext } from '../context.ts';
import type { TxStatus } from '../db/types.ts';
import { transactionsByStatus } from '../metrics.ts';
import { broadcastRecorded } from './transfer.ts';

const FINAL: ReadonlySet<TxStatus> = new Set(['confirmed', 'reverted', 'failed', 'replaced', 'cancelled']);

/** What the caller should do next: nothing, or check again after `delaySeconds`. */
export type MonitorOutcome = { done: true; status: TxStatus } | { done: false; status: TxStatus; delaySeconds: number };

/**
 * One monitoring step for transaction `id`.
 * @param attempt - how many steps ran before (grows the delay: 1 s, 2 s, 4 s … capped at 60 s).
 * @throws {UpstreamError} `RPC_UNAVAILABLE` when the chain cannot be read (the job is retried).
 */
export async function monitorTransaction(ctx: CoreContext, id: string, attempt = 0): Promise<MonitorOutcome> {
  const row = await ctx.db.selectFrom('transactions').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) return { done: true, status: 'failed' };
  const delaySeconds = Math.min(60, 2 ** Math.min(attempt, 6));
  if (FINAL.has(row.status)) return { done: true, status: row.status };

  let status = row.status;
  if (status === 'queued') {
    status = (await broadcastRecorded(ctx, row.id, row.raw_tx, null)).status;
    if (status !== 'broadcast') return FINAL.has(status) ? { done: true, status } : { done: false, status, delaySeconds };
  }

  const receipt = await ctx.chain.getReceipt(row.tx_hash);
  if (!receipt) return { done: false, status, delaySeconds };

  if (status === 'broadcast') {
    const next: TxStatus = receipt.status === 1 ? 'mined' : 'reverted';
    const updated = await ctx.db
      .updateTable('transactions')
      .set({
        status: next,
        block_number: receipt.blockNumber,
        block_hash: receipt.blockHash,
        gas_used: receipt.gasUsed.toString(),
        effective_gas_price: receipt.gasPrice.toString(),
        mined_at: new Date(),
        updated_at: new Date(),
        error: next === 'reverted' ? 'execution reverted' : null,
      })
      .where('id', '=', id)
      .where('status', '=', 'broadcast')
      .returning('status')
      .executeTakeFirst();
    if (updated) transactionsByStatus.inc({ status: next });
    status = next;
    if (next === 'reverted') return { done: true, status };
  }

  const head = await ctx.chain.getBlockNumber();
  const confirmations = head - receipt.blockNumber + 1;
  if (confirmations < ctx.config.txConfirmations) return { done: false, status, delaySeconds };
  const confirmed = await ctx.db
    .updateTable('transactions')
    .set({ status: 'confirmed', updated_at: new Date() })
    .where('id', '=', id)
    .where('status', '=', 'mined')
    .returning('status')
    .executeTakeFirst();
  if (confirmed) transactionsByStatus.inc({ status: 'confirmed' });
  return { done: true, status: 'confirmed' };
}
