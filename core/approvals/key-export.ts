/**
 * Four eyes on key material (docs/key-custody.md, "Backing up a wallet"): an owner key that asks
 * for a wallet's keystore or plaintext key gets a `key_export` approval, `pending` until another
 * owner key approves it (decide.ts); the asking key then collects the export once, before the
 * approval's `expires_at`, and the approval becomes `executed`. Only the asking key may collect
 * it, for the wallet and format it names. Nothing here touches key material: core/wallets/export.ts
 * makes the export between {@link approvedKeyExport} and {@link markKeyExportCollected}.
 */
import type { Transaction } from 'kysely';
import type { CoreContext } from '../context.ts';
import type { Principal } from '../auth/api-keys.ts';
import type { Database, ExportFormat, WalletRow } from '../db/types.ts';
import { ConflictError, ValidationError } from '../errors.ts';
import { approvalViews, effectiveStatus, loadApproval, type ApprovalView } from './view.ts';
import { MAX_REASON_LENGTH } from './service.ts';

/** The rule a key export's approval names. */
export const KEY_EXPORT_RULE = 'key_export';

/** Validates the optional `reason` of an export request (shown to the approver). @throws {ValidationError} `reason`. */
export function parseExportReason(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new ValidationError('reason', 'must be a string saying what the export is for');
  const text = value.trim();
  if (text.length > MAX_REASON_LENGTH) throw new ValidationError('reason', `must be at most ${MAX_REASON_LENGTH} characters`);
  return text || null;
}

/**
 * Records a pending `key_export` approval in `trx`, waiting until now + `APPROVAL_TTL`.
 * @param source - where it was asked for: `mcp`, `api` or `cli`.
 * @returns the new approval (status `pending`).
 */
export async function requestKeyExport(
  ctx: Pick<CoreContext, 'config' | 'logger'>,
  trx: Transaction<Database>,
  principal: Principal,
  req: { wallet: WalletRow; format: ExportFormat; reason: string | null; source: 'mcp' | 'api' | 'cli' },
): Promise<ApprovalView> {
  const now = new Date();
  const what = req.format === 'private_key' ? 'its plaintext private key' : 'a keystore of its key';
  const row = await trx
    .insertInto('approvals')
    .values({
      tenant_id: principal.tenantId,
      kind: 'key_export',
      wallet_id: req.wallet.id,
      agent_id: req.wallet.agent_id,
      to_address: null,
      value_wei: null,
      export_format: req.format,
      reason: req.reason,
      rule: KEY_EXPORT_RULE,
      rule_message: `owner key ${principal.keyPrefix} asks to export ${what}: key material leaves VaultPilot only after another owner key approves`,
      source: req.source,
      status: 'pending',
      requested_by_key_id: principal.keyId,
      requested_by: principal.keyPrefix,
      decided_at: null,
      expires_at: new Date(now.getTime() + ctx.config.approvalTtlMs),
      created_at: now,
      updated_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  ctx.logger.info({ approvalId: row.id, agentId: row.agent_id, format: req.format }, 'key export waits for a second owner');
  const [view] = await approvalViews(trx, [{ ...row, from_address: req.wallet.address, chain_id: req.wallet.chain_id }]);
  return view!;
}

/**
 * Looks up the approval an export is collected with and checks it belongs to this request.
 * @returns the approval, and whether it is `approved` (ready to collect) or still `pending`.
 * @throws {NotFoundError} `APPROVAL_NOT_FOUND` | {@link ConflictError} `APPROVAL_MISMATCH` (not a
 *   key export, another wallet or format, or asked for by another key) | `APPROVAL_EXPIRED` |
 *   `APPROVAL_NOT_PENDING` (rejected, cancelled, or collected already).
 */
export async function approvedKeyExport(ctx: Pick<CoreContext, 'db'>, principal: Principal, approvalId: unknown, wallet: WalletRow, format: ExportFormat): Promise<{ approval: ApprovalView; ready: boolean }> {
  const row = await loadApproval(ctx.db, principal.tenantId, approvalId);
  if (row.kind !== 'key_export' || row.wallet_id !== wallet.id || row.export_format !== format) {
    throw new ConflictError('APPROVAL_MISMATCH', `approval ${row.id} is not for a ${format} export of ${wallet.agent_id}'s key; ask for this export without approval_id to get one`, { approval_kind: row.kind });
  }
  if (row.requested_by_key_id !== principal.keyId) {
    throw new ConflictError('APPROVAL_MISMATCH', `approval ${row.id} was asked for by another key (${row.requested_by ?? 'unknown'}); only that key may collect the export`);
  }
  const [approval] = await approvalViews(ctx.db, [row]);
  const now = new Date();
  const status = effectiveStatus(row, now);
  if (status === 'pending') return { approval: approval!, ready: false };
  if (status === 'expired' || (status === 'approved' && row.expires_at.getTime() <= now.getTime())) {
    throw new ConflictError('APPROVAL_EXPIRED', `approval ${row.id} expired at ${row.expires_at.toISOString()}; ask for the export again`, { status: 'expired' });
  }
  if (status !== 'approved') {
    throw new ConflictError('APPROVAL_NOT_PENDING', `approval ${row.id} is ${status}${status === 'executed' ? ' (the export was collected already; each approval hands it out once)' : ''}; nothing was exported`, { status });
  }
  return { approval: approval!, ready: true };
}

/**
 * Marks an approved key export `executed` in `trx`, the transaction that also commits the
 * export's audit row, so an approval hands out its export once even to racing calls.
 * @throws {ConflictError} `APPROVAL_NOT_PENDING` when it is no longer `approved`.
 */
export async function markKeyExportCollected(trx: Transaction<Database>, approvalId: string): Promise<void> {
  const done = await trx
    .updateTable('approvals')
    .set({ status: 'executed', updated_at: new Date() })
    .where('id', '=', approvalId)
    .where('kind', '=', 'key_export')
    .where('status', '=', 'approved')
    .executeTakeFirst();
  if (done.numUpdatedRows === 0n) throw new ConflictError('APPROVAL_NOT_PENDING', `approval ${approvalId} was collected or changed meanwhile; nothing was exported`, { status: 'executed' });
}
