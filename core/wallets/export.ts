/**
 * Key material leaving VaultPilot: a wallet's keystore v3 (`export_wallet_keystore`,
 * `encrypt_wallet_keystore`, `POST /api/wallets/:id/keystore`, `vaultpilot wallets backup`) or its
 * plaintext private key (`export_wallet_private_key`). One path, with every gate in order:
 * 1. `ALLOW_KEY_EXPORT=1` (off by default; `KEY_EXPORT_DISABLED`);
 * 2. an owner key (`FORBIDDEN`, rule `role`; the action `wallets.export`);
 * 3. the arguments (the keystore's passphrase; for plaintext, that `EXPORT_CODE` is configured);
 * 4. the wallet, within the key's wallet scope;
 * 5. four eyes: without `approval_id` the call records a pending `key_export` approval and
 *    returns it; another owner key approves it (admin UI, REST); the asking key then calls again
 *    with `approval_id` and collects the export once (core/approvals/key-export.ts);
 * 6. for plaintext, `EXPORT_CODE` as `confirmation_code`, checked last with the lockout of
 *    core/policy/confirmation.ts.
 * The approval is marked collected in the same transaction as the call's audit row (who asked,
 * who approved; the key material itself is redacted by field name), and only after that commit
 * does the export leave the process. Refusals are audited by the transport like any other.
 */
import type { CoreContext } from '../context.ts';
import type { Principal } from '../auth/api-keys.ts';
import type { ExportFormat, WalletRow } from '../db/types.ts';
import { PolicyError } from '../errors.ts';
import { requireAction } from '../auth/roles.ts';
import { auditedTransaction } from '../audit/scope.ts';
import { checkCode } from '../policy/confirmation.ts';
import { approvedKeyExport, KEY_EXPORT_RULE, markKeyExportCollected, parseExportReason, requestKeyExport } from '../approvals/key-export.ts';
import type { ApprovalView } from '../approvals/view.ts';
import { getWalletByAgent, getWalletById, withSigner } from './service.ts';
import { keystoreOfWallet, parseNewPassphrase } from './keystore.ts';

/** What an export needs: no chain or job queue, so the CLI can make one too. */
export type ExportContext = Pick<CoreContext, 'config' | 'db' | 'keys' | 'kdf' | 'logger' | 'audit'>;

/** An export to ask for or collect. */
export interface KeyExportRequest {
  /** The wallet, by agent id (MCP, CLI) or by row id (REST). */
  wallet: { agentId: unknown } | { id: string };
  format: ExportFormat;
  /** The keystore's new passphrase, and the argument name errors use (`passphrase` | `password`). */
  passphrase?: { value: unknown; field: string };
  /** `EXPORT_CODE`, for `private_key`. */
  confirmationCode?: unknown;
  /** The approved `key_export` approval to collect; absent: ask for one. */
  approvalId?: unknown;
  /** What the export is for, shown to the approver (at most 500 characters). */
  reason?: unknown;
  source: 'mcp' | 'api' | 'cli';
}

/** What an export call did: asked for approval (or is still waiting), or handed the export out. */
export type KeyExportResult =
  | { status: 'pending_approval'; agent_id: string; address: string; wallet_id: string; approval_id: string; approval: ApprovalView }
  | { status: 'exported'; agent_id: string; address: string; wallet_id: string; approval_id: string; approval: ApprovalView; keystore?: string; private_key?: string };

/**
 * The setting gate, checked before anything else (a refused call learns nothing about wallets).
 * @throws {PolicyError} `KEY_EXPORT_DISABLED` unless `ALLOW_KEY_EXPORT=1`.
 */
export function checkKeyExportEnabled(config: Pick<CoreContext['config'], 'allowKeyExport'>): void {
  if (!config.allowKeyExport) {
    throw new PolicyError('KEY_EXPORT_DISABLED', 'wallet key export is turned off on this server (ALLOW_KEY_EXPORT is not 1); an operator turns it on to take a backup (docs/key-custody.md)');
  }
}

async function walletOf(ctx: ExportContext, principal: Principal, ref: KeyExportRequest['wallet']): Promise<WalletRow> {
  return 'id' in ref ? getWalletById(ctx, principal, ref.id) : getWalletByAgent(ctx, principal, ref.agentId);
}

/**
 * Asks for, or collects, an export of a wallet's key material (see the module comment).
 * @returns `pending_approval` with the approval to have approved (or still waiting), or
 *   `exported` with `keystore` (JSON text, scrypt N=2^17) or `private_key` (0x hex).
 * @throws {PolicyError} `KEY_EXPORT_DISABLED` | `EXPORT_CODE_NOT_CONFIGURED` |
 *   `CONFIRMATION_REQUIRED` | `CONFIRMATION_LOCKED` | {@link ForbiddenError} `FORBIDDEN` (`role`,
 *   `scope.wallets`) | {@link ValidationError} (`passphrase`/`password`, `reason`, `agent_id`) |
 *   {@link NotFoundError} `WALLET_NOT_FOUND`, `APPROVAL_NOT_FOUND` | {@link ConflictError}
 *   `APPROVAL_MISMATCH`, `APPROVAL_EXPIRED`, `APPROVAL_NOT_PENDING` | {@link UpstreamError} when
 *   the key provider fails | `BUSY` when the key-derivation pool is full. Nothing leaves then.
 */
export async function exportWalletKey(ctx: ExportContext, principal: Principal, req: KeyExportRequest): Promise<KeyExportResult> {
  checkKeyExportEnabled(ctx.config);
  requireAction(principal.role, 'wallets.export');
  if (req.format === 'keystore') parseNewPassphrase(req.passphrase?.value, req.passphrase?.field ?? 'passphrase');
  if (req.format === 'private_key' && !ctx.config.exportCode) {
    throw new PolicyError('EXPORT_CODE_NOT_CONFIGURED', 'plaintext key export needs EXPORT_CODE set on the server, and none is; ask the operator, or export a keystore instead');
  }
  const reason = parseExportReason(req.reason);
  const wallet = await walletOf(ctx, principal, req.wallet);
  const ids = { agent_id: wallet.agent_id, address: wallet.address, wallet_id: wallet.id };

  if (req.approvalId === undefined || req.approvalId === null || req.approvalId === '') {
    const approval = await auditedTransaction(ctx.db, ctx.audit, (trx) => requestKeyExport(ctx, trx, principal, { wallet, format: req.format, reason, source: req.source }), (a) => ({
      response: { status: 'pending_approval', ...ids, approval: a },
      agentId: wallet.agent_id,
      walletId: wallet.id,
      decision: 'require_approval',
      rule: KEY_EXPORT_RULE,
    }));
    return { status: 'pending_approval', ...ids, approval_id: approval.approval_id, approval };
  }

  const { approval, ready } = await approvedKeyExport(ctx, principal, req.approvalId, wallet, req.format);
  if (!ready) return { status: 'pending_approval', ...ids, approval_id: approval.approval_id, approval };
  if (req.format === 'private_key') {
    await checkCode(ctx.db, { kind: 'export', tenantId: principal.tenantId, keyId: principal.keyId, walletId: wallet.id }, req.confirmationCode, ctx.config.exportCode, { why: 'collecting a plaintext key export needs the server\'s EXPORT_CODE' });
  }
  // The export is made first (a KDF takes a moment; no lock is held meanwhile), and leaves only
  // once the approval is marked collected together with the audit row.
  const material = req.format === 'keystore'
    ? { keystore: (await keystoreOfWallet(ctx, wallet, req.passphrase?.value, req.passphrase?.field ?? 'passphrase')).keystore }
    : { private_key: await withSigner(ctx, wallet, async (signer) => signer.privateKey) };
  const collected = { ...approval, status: 'executed' as const };
  await auditedTransaction(ctx.db, ctx.audit, (trx) => markKeyExportCollected(trx, approval.approval_id), () => ({
    response: { status: 'exported', format: req.format, ...ids, approval_id: approval.approval_id, requested_by: approval.requested_by, approved_by: approval.decided_by, ...material },
    agentId: wallet.agent_id,
    walletId: wallet.id,
    decision: 'allow',
    rule: KEY_EXPORT_RULE,
  }));
  return { status: 'exported', ...ids, approval_id: approval.approval_id, approval: collected, ...material };
}
