/**
 * `vaultpilot wallets backup`: a wallet's keystore v3 file, taken as an owner, through the same
 * gates as every key export (core/wallets/export.ts): `ALLOW_KEY_EXPORT=1`, an owner key, and a
 * second owner's approval. The command authenticates the owner key in `VAULTPILOT_API_KEY` as the
 * server does (revoked or expired keys are refused) and writes `cli` audit rows under its
 * visible id; the key, the passphrase and the keystore never reach the log or the audit row.
 */
import { open, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { authenticateApiKey } from '../../core/auth/api-keys.ts';
import { AuditScope } from '../../core/audit/scope.ts';
import { AuthError, toVaultPilotError } from '../../core/errors.ts';
import { refusalDecision } from '../../core/policy/decision.ts';
import { exportWalletKey } from '../../core/wallets/export.ts';
import { parseCommandLine, UsageError, type CliCommand } from '../command.ts';
import { openCliContext } from '../context.ts';

const USAGE = `usage: vaultpilot wallets backup --agent-id ID [--approval ID --out FILE] [--reason TEXT]

Backs up a wallet as a Web3 Secret Storage v3 keystore file (scrypt), which any Ethereum wallet
opens with its passphrase. Key material leaves VaultPilot only with ALLOW_KEY_EXPORT=1 (in the
environment this command reads, as the server's), for an owner key, after ANOTHER owner key
approved it; every step is audited (kind cli, under the owner key's visible id):

  1. vaultpilot wallets backup --agent-id treasury --reason "quarterly backup"
       asks for the export and prints the approval id; nothing is exported (exit code 3)
  2. another owner approves it: admin UI, Approvals; or POST /api/approvals/<id>/approve
  3. vaultpilot wallets backup --agent-id treasury --approval <id> --out treasury.json
       writes the keystore (mode 0600, never over an existing file); the approval is used up

environment:
  VAULTPILOT_API_KEY             an owner API key of the wallet's tenant (required)
  VAULTPILOT_BACKUP_PASSPHRASE   the keystore's passphrase, at least 8 characters (or --passphrase-file)

options:
  --agent-id <id>          the wallet, by agent id (required)
  --approval <id>          the approved key_export approval to collect (step 3)
  --out <file>             where to write the keystore (step 3)
  --passphrase-file <file> read the passphrase from this file (first line) instead
  --reason <text>          what the backup is for, shown to the approving owner (step 1)

exit codes: 0 written, 3 waiting for approval, 1 refused, 2 usage error`;

/** The passphrase from `--passphrase-file` (first line) or `VAULTPILOT_BACKUP_PASSPHRASE`. */
async function passphraseOf(file: string | undefined): Promise<string | undefined> {
  if (file !== undefined) return (await readFile(file, 'utf8')).split(/\r?\n/)[0];
  return process.env.VAULTPILOT_BACKUP_PASSPHRASE;
}

/** The `wallets backup` command. */
export const walletsBackup: CliCommand = {
  path: ['wallets', 'backup'],
  summary: 'back up a wallet as a keystore file (owner key, second owner\'s approval, audited)',
  usage: USAGE,
  async run(args) {
    const { values } = parseCommandLine(
      args,
      {
        'agent-id': { type: 'string' },
        approval: { type: 'string' },
        out: { type: 'string' },
        'passphrase-file': { type: 'string' },
        reason: { type: 'string' },
      },
      [],
    );
    const agentId = values['agent-id'];
    if (agentId === undefined) throw new UsageError('--agent-id is required');
    if ((values.approval === undefined) !== (values.out === undefined)) throw new UsageError('--approval and --out go together (step 3); leave both out to ask for an approval (step 1)');
    const apiKey = process.env.VAULTPILOT_API_KEY;
    if (!apiKey) throw new UsageError('VAULTPILOT_API_KEY must hold an owner API key of the wallet\'s tenant');
    const passphrase = await passphraseOf(values['passphrase-file']);
    if (passphrase === undefined) throw new UsageError('set VAULTPILOT_BACKUP_PASSPHRASE or pass --passphrase-file');

    const ctx = await openCliContext();
    try {
      const principal = await authenticateApiKey(ctx.db, apiKey);
      if (!principal) throw new AuthError('VAULTPILOT_API_KEY is not a valid API key (unknown, revoked or expired)');
      const scope = new AuditScope(ctx.db, {
        tenantId: principal.tenantId,
        kind: 'cli',
        action: 'wallets.backup',
        principal: principal.keyPrefix,
        agentId,
        request: { agent_id: agentId, approval_id: values.approval ?? null, out: values.out ?? null, reason: values.reason ?? null },
        requestId: null,
        ip: null,
      });
      // The file is created (never over an existing one) before the approval is used up.
      let file: FileHandle | undefined;
      try {
        if (values.out !== undefined) file = await open(values.out, 'wx', 0o600);
        const result = await exportWalletKey({ ...ctx, audit: scope }, principal, {
          wallet: { agentId },
          format: 'keystore',
          passphrase: { value: passphrase, field: 'VAULTPILOT_BACKUP_PASSPHRASE' },
          approvalId: values.approval,
          reason: values.reason,
          source: 'cli',
        });
        if (result.status === 'pending_approval') {
          if (file) {
            await file.close();
            file = undefined;
            await unlink(values.out!);
          }
          await scope.finish({ response: { status: result.status, approval: result.approval }, agentId: result.agent_id, walletId: result.wallet_id });
          const a = result.approval;
          process.stdout.write(
            a.status === 'approved'
              ? `approval ${a.approval_id} was approved by ${a.decided_by}; collect the keystore with --approval ${a.approval_id} --out FILE before ${a.expires_at}\n`
              : `nothing exported: approval ${a.approval_id} waits for ANOTHER owner key to approve it (admin UI, Approvals) before ${a.expires_at}; then run this again with --approval ${a.approval_id} --out FILE\napproval id: ${a.approval_id}\n`,
          );
          return 3;
        }
        // The audit row is committed; the file is the only copy that leaves.
        await file!.writeFile(`${result.keystore}\n`);
        await file!.close();
        file = undefined;
        process.stdout.write(`wrote the keystore of ${result.agent_id} (${result.address}) to ${values.out}; approved by ${result.approval.decided_by ?? 'an owner'}, approval ${result.approval.approval_id} is now used up\n`);
        return 0;
      } catch (err) {
        if (file) {
          await file.close();
          await unlink(values.out!).catch(() => undefined);
        }
        const e = toVaultPilotError(err);
        await scope.fail(e, refusalDecision(e), (auditErr) => ctx.logger.error({ err: auditErr }, 'audit write failed'));
        throw err;
      }
    } finally {
      await ctx.close();
    }
  },
};
