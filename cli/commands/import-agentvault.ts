/**
 * `vaultpilot import agentvault`: moves an AgentVault MCP deployment's wallets and strategies into
 * VaultPilot's database. The keys are opened with AgentVault's Fernet key and wrapped again by the
 * service's active key provider; strategies arrive stopped. Checks and writes live in
 * `core/import/agentvault.ts`, the readers in `core/import/agentvault-sources.ts`; this file parses
 * the command line, prints the report and records one audit row per run.
 */
import type { CliCommand } from '../command.ts';
import { UsageError, parseOptions } from '../command.ts';
import { openCliContext } from '../context.ts';
import { recordAudit } from '../../core/audit/log.ts';
import { VaultPilotError } from '../../core/errors.ts';
import { KeyProviderError } from '../../keyproviders/index.ts';
import { checkFernetKeys, importAgentvaultRecords, type ImportReport } from '../../core/import/agentvault.ts';
import { resolveTenant } from '../../core/tenants.ts';
import { parseAgentvaultDatabaseUrl, readAgentvaultSources, redactDatabaseUrl } from '../../core/import/agentvault-sources.ts';

const USAGE = `usage: vaultpilot import agentvault [sources] [options]

Imports AgentVault MCP wallets (and their strategies) into VaultPilot. Each key is opened with
AgentVault's Fernet key, checked against its recorded address, and wrapped again by the service's
active key provider (KEY_PROVIDER). Strategies are stored stopped. Running it again skips what is
already imported.

sources (at least one):
  --wallet-store FILE      AgentVault's JSON wallet store (agentvault_store.json)
  --strategy-store FILE    AgentVault's JSON strategy store (agentvault_strategies.json)
  --database-url URL       AgentVault's database: postgresql://… (also postgresql+asyncpg://,
                           postgresql+psycopg://) or sqlite:///relative.db, sqlite:////absolute.db
                           (also sqlite+aiosqlite://, sqlite+pysqlite://); opened read-only

options:
  --encrypt-key KEYS       AgentVault's ENCRYPT_KEY; several comma-separated keys are tried in turn
                           (like MultiFernet). When omitted: the ENCRYPT_KEY environment variable,
                           else FERNET_KEY. Prefer the environment: arguments show up in \`ps\`.
  --tenant NAME            VaultPilot tenant to import into (default "default")
  --any-chain              import wallets recorded for another chain onto the service's chain
  --dry-run                open every key and check everything, write nothing
  --json                   print the report as JSON

The service's settings come from the environment as for the server: DATABASE_URL, RPC_URLS (the
chain the wallets are recorded on) and the key provider's settings (FERNET_KEYS, AWS_KMS_KEY_ID,
VAULT_*). Exit status: 0 when no record was refused, 1 otherwise, 2 on a usage error.`;

/** Anything shaped like a Fernet key (32 bytes of base64), hidden from usage errors. */
const KEY_LIKE = /[A-Za-z0-9_+/-]{43}=/g;

/** The AgentVault Fernet keys and where they came from (the name, never the value). */
function fernetKeysFrom(option: string | undefined): { keys: string[]; from: string } {
  const candidates: Array<[string, string | undefined]> = [
    ['--encrypt-key', option],
    ['ENCRYPT_KEY', process.env.ENCRYPT_KEY],
    ['FERNET_KEY', process.env.FERNET_KEY],
  ];
  for (const [from, value] of candidates) {
    const keys = (value ?? '').split(',').map((k) => k.trim()).filter(Boolean);
    if (keys.length > 0) return { keys, from };
  }
  throw new UsageError('AgentVault\'s Fernet key is needed: pass --encrypt-key or set ENCRYPT_KEY (or FERNET_KEY)');
}

/** Pads a table's columns to their widest cell. */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

/** The report as a table for people. */
function formatReport(report: ImportReport, tenant: string): string {
  const lines: string[] = [];
  lines.push(
    `AgentVault import into tenant "${tenant}" on chain ${report.chain_id}, keys wrapped by ${report.key_provider}` +
      (report.dry_run ? ' (DRY RUN: nothing was written)' : ''),
    '',
  );
  if (report.rows.length === 0) {
    lines.push('no wallets or strategies found in the given sources');
  } else {
    lines.push(
      table([
        ['KIND', 'ID', 'OUTCOME', 'REASON', 'ADDRESS', 'DETAIL'],
        ...report.rows.map((r) => [r.kind, r.id, r.outcome, r.reason ?? '', r.address ?? '', r.detail ?? '']),
      ]),
    );
  }
  const counts = (c: ImportReport['wallets']) => `${c.imported} imported, ${c.skipped} skipped, ${c.refused} refused`;
  lines.push('', `wallets: ${counts(report.wallets)}; strategies: ${counts(report.strategies)}`);
  if (report.enabled_in_agentvault.length > 0) {
    lines.push(
      `${report.enabled_in_agentvault.length} strateg${report.enabled_in_agentvault.length === 1 ? 'y was' : 'ies were'} enabled in AgentVault and ` +
        `${report.dry_run ? 'would be' : 'are'} stored stopped: ${report.enabled_in_agentvault.join(', ')}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** `vaultpilot import agentvault` (see {@link USAGE}). */
export const importAgentvault: CliCommand = {
  path: ['import', 'agentvault'],
  summary: 'import AgentVault MCP wallets and strategies (JSON stores or its database)',
  usage: USAGE,
  async run(args: string[]): Promise<number> {
    let values;
    try {
      values = parseOptions(args, {
        'wallet-store': { type: 'string' },
        'strategy-store': { type: 'string' },
        'database-url': { type: 'string' },
        'encrypt-key': { type: 'string' },
        tenant: { type: 'string', default: 'default' },
        'any-chain': { type: 'boolean', default: false },
        'dry-run': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      });
    } catch (err) {
      // A misplaced key would otherwise be echoed as an "unexpected argument".
      if (err instanceof UsageError) throw new UsageError(err.message.replace(KEY_LIKE, '[redacted]'));
      throw err;
    }
    const sources = {
      walletStore: values['wallet-store'],
      strategyStore: values['strategy-store'],
      databaseUrl: values['database-url'],
    };
    if (!sources.walletStore && !sources.strategyStore && !sources.databaseUrl) {
      throw new UsageError('give at least one source: --wallet-store, --strategy-store or --database-url');
    }
    const tenant = values.tenant!;
    if (tenant.trim() === '') throw new UsageError('--tenant must not be empty');
    const { keys, from } = fernetKeysFrom(values['encrypt-key']);
    try {
      checkFernetKeys(keys);
    } catch (err) {
      // Say which key is wrong: AgentVault's, not the service's own FERNET_KEYS.
      if (err instanceof KeyProviderError) throw new KeyProviderError(err.code, `AgentVault's key (${from}): ${err.message}`, 'fernet');
      throw err;
    }
    if (sources.databaseUrl) parseAgentvaultDatabaseUrl(sources.databaseUrl);
    const dryRun = values['dry-run'] === true;
    const anyChain = values['any-chain'] === true;

    const started = Date.now();
    const ctx = await openCliContext({ chain: true });
    let tenantId: string | undefined;
    let report: ImportReport | undefined;
    let failure: unknown;
    try {
      tenantId = await resolveTenant(ctx.db, tenant, !dryRun);
      const records = await readAgentvaultSources(sources);
      report = await importAgentvaultRecords({ db: ctx.db, keys: ctx.keys, chain: ctx.chain! }, tenantId, records, {
        fernetKeys: keys,
        dryRun,
        anyChain,
        onInternalError: (record, err) =>
          ctx.logger.error({ record, error: err instanceof Error ? `${err.name}: ${err.message}` : 'unknown error' }, 'import of a record failed'),
      });
    } catch (err) {
      failure = err;
    }

    let auditFailed = false;
    try {
      // A dry run writes nothing, not even its audit row.
      if (!dryRun) {
        const refused = report ? report.wallets.refused + report.strategies.refused : 0;
        const code = failure instanceof VaultPilotError || failure instanceof KeyProviderError ? failure.code : failure ? 'INTERNAL' : null;
        await recordAudit(ctx.db, {
          tenantId: tenantId ?? null,
          kind: 'cli',
          action: 'import.agentvault',
          principal: 'cli',
          status: failure ? 'error' : refused > 0 ? 'refused' : 'ok',
          errorCode: code,
          durationMs: Date.now() - started,
          request: {
            wallet_store: sources.walletStore ?? null,
            strategy_store: sources.strategyStore ?? null,
            database_url: sources.databaseUrl ? redactDatabaseUrl(sources.databaseUrl) : null,
            tenant,
            any_chain: anyChain,
            dry_run: dryRun,
            fernet_keys_from: from,
            fernet_key_count: keys.length,
          },
          response: report
            ? { chain_id: report.chain_id, key_provider: report.key_provider, wallets: report.wallets, strategies: report.strategies, enabled_in_agentvault: report.enabled_in_agentvault, rows: report.rows }
            : { error: { code, message: failure instanceof VaultPilotError || failure instanceof KeyProviderError ? failure.message : 'unexpected error' } },
        });
      }
    } catch (err) {
      auditFailed = true;
      process.stderr.write(`vaultpilot import agentvault: the audit row could not be written: ${err instanceof Error ? err.message : 'unknown error'}\n`);
    } finally {
      await ctx.close();
    }

    if (failure) throw failure;
    const done = report!;
    process.stdout.write(values.json ? `${JSON.stringify({ tenant, ...done }, null, 2)}\n` : formatReport(done, tenant));
    return done.wallets.refused + done.strategies.refused > 0 || auditFailed ? 1 : 0;
  },
};
