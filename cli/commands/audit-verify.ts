/**
 * `vaultpilot audit verify [--tenant NAME] [--json]`: seals rows the worker has not sealed yet
 * (core/audit/seal.ts; harmless beside a running worker), then walks the audit log's hash chains
 * (core/audit/verify.ts) and reports each chain's length and head, or its first broken row.
 * Exit status 0 when every chain is intact, 1 when one is broken.
 */
import { verifyAuditLog, type ChainReport } from '../../core/audit/verify.ts';
import { sealAuditLog } from '../../core/audit/seal.ts';
import { parseOptions, type CliCommand } from '../command.ts';
import { openCliContext } from '../context.ts';
import { tenantIdOf, tenantNames } from './audit-options.ts';

const USAGE = `usage: vaultpilot audit verify [options]

Checks that no audit row was edited or deleted: seals rows the worker has not sealed yet, then
walks every tenant's hash chain (and the chain of refused sign-ins, which belong to no tenant) in
chain order, recomputes each row's hash and checks it names the row before it. Prints each chain's row count and newest hash (keep a copy elsewhere:
rows deleted from the end of a chain are only caught by comparing with it), or the first broken
row of a chain. See docs/audit-log.md.

options:
  --tenant <name>   only this tenant's chain
  --json            print the report as JSON
  --no-seal         do not seal pending rows first (for a read-only database role); rows not
                    sealed yet are counted, not verified

Exit status: 0 when every chain is intact, 1 when a chain is broken, 2 on a usage error.`;

function label(report: ChainReport, names: Map<string, string>): string {
  return report.tenantId === null ? 'unscoped (no tenant)' : `tenant ${names.get(report.tenantId) ?? '?'} (${report.tenantId})`;
}

function summary(chains: ChainReport[], names: Map<string, string>): string {
  const lines: string[] = [];
  for (const c of chains) {
    if (c.broken) {
      lines.push(`BROKEN ${label(c, names)}: row ${c.broken.id}: ${c.broken.problem}: ${c.broken.message}`);
      lines.push(`  expected ${c.broken.expected}`);
      lines.push(`  found    ${c.broken.found}`);
    } else if (c.rows === 0) {
      lines.push(`ok ${label(c, names)}: no rows`);
    } else {
      lines.push(`ok ${label(c, names)}: ${c.rows} rows, head row ${c.headId} hash ${c.head}`);
    }
    if (c.unsealed > 0) lines.push(`  ${c.unsealed} newer row(s) not sealed yet, not verified`);
  }
  if (chains.length === 0) lines.push('no audit rows');
  const broken = chains.filter((c) => c.broken).length;
  lines.push(broken === 0 ? 'audit log intact' : `audit log BROKEN: ${broken} chain(s) with an edited or deleted row`);
  return `${lines.join('\n')}\n`;
}

/** The `audit verify` command. */
export const auditVerify: CliCommand = {
  path: ['audit', 'verify'],
  summary: 'check the audit log hash chains; report the first edited or deleted row',
  usage: USAGE,
  async run(args) {
    const values = parseOptions(args, { tenant: { type: 'string' }, json: { type: 'boolean' }, 'no-seal': { type: 'boolean' } });
    const ctx = await openCliContext();
    try {
      if (!values['no-seal']) await sealAuditLog(ctx.db);
      const tenantId = values.tenant === undefined ? undefined : await tenantIdOf(ctx.db, values.tenant);
      const result = await verifyAuditLog(ctx.db, tenantId === undefined ? {} : { tenantId });
      const names = await tenantNames(ctx.db);
      if (values.json) {
        const chains = result.chains.map((c) => ({ tenant: c.tenantId === null ? null : (names.get(c.tenantId) ?? null), tenant_id: c.tenantId, rows: c.rows, head_id: c.headId, head: c.head, broken: c.broken, unsealed: c.unsealed }));
        process.stdout.write(`${JSON.stringify({ ok: result.ok, chains }, null, 2)}\n`);
      } else {
        process.stdout.write(summary(result.chains, names));
      }
      return result.ok ? 0 : 1;
    } finally {
      await ctx.close();
    }
  },
};
