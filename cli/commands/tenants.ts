/**
 * `vaultpilot tenants create NAME [--json]` and `vaultpilot tenants list [--json]`: the tenants
 * that own wallets, strategies and keys (core/tenants.ts). A new tenant has no key: make its
 * first with `vaultpilot keys create --tenant NAME --name owner --role owner`. Creating is
 * audited (kind `cli`, in the new tenant's log).
 */
import { AuditScope, auditedTransaction } from '../../core/audit/scope.ts';
import { ConflictError, ValidationError } from '../../core/errors.ts';
import { createTenant, listTenants, type TenantView } from '../../core/tenants.ts';
import { parseCommandLine, UsageError, type CliCommand } from '../command.ts';
import { openCliContext } from '../context.ts';

const CREATE_USAGE = `usage: vaultpilot tenants create NAME [--json]

Creates a tenant: its own wallets, strategies, transactions, events, policies and keys, which no
other tenant's key can see. NAME is 1-64 letters, digits and _ . - (starting with a letter or
digit) and must be new. Then create its first key:
  vaultpilot keys create --tenant NAME --name owner --role owner

options:
  --json   print the tenant as JSON`;

const LIST_USAGE = `usage: vaultpilot tenants list [--json]

Lists every tenant with how many live (not revoked) keys and wallets it holds.

options:
  --json   print the list as JSON`;

/** The `tenants create` command. */
export const tenantsCreate: CliCommand = {
  path: ['tenants', 'create'],
  summary: 'create a tenant (then: keys create --tenant NAME --role owner)',
  usage: CREATE_USAGE,
  async run(args) {
    const { values, positionals } = parseCommandLine(args, { json: { type: 'boolean' } }, ['NAME']);
    const name = positionals[0]!;
    const ctx = await openCliContext();
    try {
      let tenant: TenantView;
      // The tenant and its audit row (in the new tenant's chain) commit together.
      const scope = new AuditScope(ctx.db, { tenantId: null, kind: 'cli', action: 'tenants.create', principal: 'cli', request: { name }, requestId: null, ip: null });
      try {
        tenant = await auditedTransaction(ctx.db, scope, (trx) => createTenant(trx, name), (t) => ({ response: { tenant: t }, tenantId: t.id }));
      } catch (err) {
        if (err instanceof ValidationError) throw new UsageError(`NAME ${err.message.replace(/^name: /, '')}`);
        if (err instanceof ConflictError) await scope.fail(err, {}, (auditErr) => ctx.logger.error({ err: auditErr }, 'audit write failed'));
        throw err;
      }
      process.stdout.write(
        values.json
          ? `${JSON.stringify(tenant, null, 2)}\n`
          : `created tenant "${tenant.name}" (${tenant.id})\nit has no key yet; create its first with:\n  vaultpilot keys create --tenant ${tenant.name} --name owner --role owner\n`,
      );
      return 0;
    } finally {
      await ctx.close();
    }
  },
};

/** The `tenants list` command. */
export const tenantsList: CliCommand = {
  path: ['tenants', 'list'],
  summary: 'list tenants with their key and wallet counts',
  usage: LIST_USAGE,
  async run(args) {
    const { values } = parseCommandLine(args, { json: { type: 'boolean' } }, []);
    const ctx = await openCliContext();
    try {
      const tenants = await listTenants(ctx.db);
      if (values.json) {
        process.stdout.write(`${JSON.stringify(tenants, null, 2)}\n`);
        return 0;
      }
      const rows = [['NAME', 'ID', 'KEYS', 'WALLETS', 'CREATED'], ...tenants.map((t) => [t.name, t.id, String(t.keys), String(t.wallets), t.created_at])];
      process.stdout.write(table(rows));
      return 0;
    } finally {
      await ctx.close();
    }
  },
};

/** Left-aligned columns separated by two spaces. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}
