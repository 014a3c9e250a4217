/**
 * `vaultpilot keys rewrap --to <provider> [--tenant NAME] [--batch N] [--dry-run] [--json]`:
 * moves wallet keys to another key provider, or to the current key/version of the same one
 * (after a Fernet key rotation or a Vault `transit/keys/<key>/rotate`). See core/custody/rewrap.ts
 * for the guarantees and docs/key-custody.md for the runbook.
 */
import { PROVIDER_NAMES, type ProviderName } from '../../keyproviders/index.ts';
import { rewrapWallets, type RewrapReport } from '../../core/custody/rewrap.ts';
import { intOption, parseOptions, UsageError, type CliCommand } from '../command.ts';
import { openCliContext } from '../context.ts';
import type { Db } from '../../core/db/connect.ts';
import { ValidationError } from '../../core/errors.ts';
import { resolveTenant } from '../../core/tenants.ts';

const USAGE = `usage: vaultpilot keys rewrap --to <${PROVIDER_NAMES.join('|')}> [options]

Moves every wallet key (or one tenant's) to the given provider's current key and version,
batch by batch; each batch is one database transaction, and every key is checked to still derive
its wallet's address before its row changes. Safe to stop and re-run: it resumes.

The source providers must stay configured until the run completes (their settings are read
from the environment, like the server's). The target need not be KEY_PROVIDER, but set
KEY_PROVIDER to it first so no new wallet lands on the old provider meanwhile.

options:
  --to <provider>   target provider (${PROVIDER_NAMES.join(', ')}), required
  --tenant <name>   only this tenant's wallets (default: all tenants)
  --batch <n>       wallets per transaction, 1-1000 (default 50)
  --dry-run         unwrap and check every wallet that would move; write nothing
  --json            print the report as JSON`;

/** The tenant's id; an unknown name is a usage error (nothing is created). */
async function tenantIdOf(db: Db, name: string): Promise<string> {
  const id = await resolveTenant(db, name, false).catch((err: unknown) => {
    throw err instanceof ValidationError ? new UsageError(`--tenant: ${err.message.replace(/^tenant: /, '')}`) : err;
  });
  if (id === undefined) throw new UsageError(`--tenant: no tenant named "${name}"`);
  return id;
}

function summary(report: RewrapReport): string {
  const t = report.target;
  const lines = [
    `${report.dryRun ? 'dry run: ' : ''}target ${t.provider} key ${t.keyRef} version ${t.keyVersion}`,
    `wallets in scope: ${report.total}`,
    `already on target: ${report.alreadyCurrent}`,
    `${report.dryRun ? 'would move' : 'moved'}: ${report.moved}`,
    `failed: ${report.failed.length}`,
  ];
  for (const f of report.failed) lines.push(`  ${f.agentId} ${f.address} (${f.walletId}): ${f.code}: ${f.message}`);
  return `${lines.join('\n')}\n`;
}

/** The `keys rewrap` command. */
export const keysRewrap: CliCommand = {
  path: ['keys', 'rewrap'],
  summary: 'move wallet keys to another key provider or key version (resumable)',
  usage: USAGE,
  async run(args) {
    const values = parseOptions(args, {
      to: { type: 'string' },
      tenant: { type: 'string' },
      batch: { type: 'string' },
      'dry-run': { type: 'boolean' },
      json: { type: 'boolean' },
    });
    if (!values.to) throw new UsageError('--to is required');
    if (!(PROVIDER_NAMES as readonly string[]).includes(values.to)) {
      throw new UsageError(`--to must be one of ${PROVIDER_NAMES.join(', ')} (got "${values.to}")`);
    }
    const batchSize = intOption('batch', values.batch, 50, 1, 1000);
    const ctx = await openCliContext();
    try {
      const tenantId = values.tenant === undefined ? undefined : await tenantIdOf(ctx.db, values.tenant);
      const report = await rewrapWallets(ctx, {
        to: values.to as ProviderName,
        tenantId,
        batchSize,
        dryRun: values['dry-run'] === true,
        principal: 'cli',
        onBatch: (p) => {
          if (values.json) return;
          process.stdout.write(
            `batch ${p.batch}: ${values['dry-run'] ? 'checked' : 'moved'} ${p.moved} (total ${p.movedTotal}, failed ${p.failedTotal}, remaining ${p.remaining})\n`,
          );
        },
      });
      process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : summary(report));
      return report.failed.length === 0 ? 0 : 1;
    } finally {
      await ctx.close();
    }
  },
};
