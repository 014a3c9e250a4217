/**
 * `vaultpilot audit export --format jsonl|csv [filters] [--out FILE]`: streams audit rows, oldest
 * first, as JSON Lines or CSV (core/audit/export.ts) to stdout or a file. A file is written under
 * `FILE.partial` and renamed when complete, so an interrupted export never looks finished. Each
 * run records one `audit.export` audit row.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { recordAudit } from '../../core/audit/log.ts';
import { EXPORT_FORMATS, exportAuditEvents, type ExportFilter, type ExportFormat } from '../../core/audit/export.ts';
import { parseOptions, UsageError, type CliCommand } from '../command.ts';
import { openCliContext } from '../context.ts';
import { sealAuditLog } from '../../core/audit/seal.ts';
import { tenantIdOf, timeOption } from './audit-options.ts';

const USAGE = `usage: vaultpilot audit export --format <${EXPORT_FORMATS.join('|')}> [options]

Writes audit rows, oldest first, as JSON Lines (one object per line; every column, including
prev_hash and hash, so an unfiltered export can be re-verified elsewhere) or CSV (a header row;
request and response as JSON text). Secrets were redacted before the rows were written.

options:
  --format <f>      jsonl or csv, required
  --tenant <name>   only this tenant's rows (default: every row, each tenant's and the unscoped ones)
  --since <time>    rows at or after this ISO 8601 time (2025-01-31, 2025-01-31T12:00:00Z)
  --until <time>    rows before this ISO 8601 time
  --wallet <id>     only this wallet (its id)
  --agent <id>      only this agent id
  --action <name>   only this tool name or "METHOD /route"
  --status <s>      ok, error or refused
  --out <file>      write to this file (default: stdout)

Exit status: 0 when the export completed, 1 on failure, 2 on a usage error.`;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STATUSES = ['ok', 'error', 'refused'] as const;

/** The `audit export` command. */
export const auditExport: CliCommand = {
  path: ['audit', 'export'],
  summary: 'export audit rows as JSON Lines or CSV (streamed)',
  usage: USAGE,
  async run(args) {
    const values = parseOptions(args, {
      format: { type: 'string' },
      tenant: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      wallet: { type: 'string' },
      agent: { type: 'string' },
      action: { type: 'string' },
      status: { type: 'string' },
      out: { type: 'string' },
    });
    if (!values.format) throw new UsageError('--format is required');
    if (!(EXPORT_FORMATS as readonly string[]).includes(values.format)) throw new UsageError(`--format must be ${EXPORT_FORMATS.join(' or ')} (got "${values.format}")`);
    const format = values.format as ExportFormat;
    const since = timeOption('since', values.since);
    const until = timeOption('until', values.until);
    if (values.wallet !== undefined && !UUID_RE.test(values.wallet)) throw new UsageError(`--wallet must be a wallet id (uuid) (got "${values.wallet}")`);
    if (values.status !== undefined && !(STATUSES as readonly string[]).includes(values.status)) throw new UsageError(`--status must be ok, error or refused (got "${values.status}")`);
    if (values.out === '') throw new UsageError('--out must name a file');

    const ctx = await openCliContext();
    const started = Date.now();
    try {
      const tenantId = values.tenant === undefined ? undefined : await tenantIdOf(ctx.db, values.tenant);
      // Rows the worker has not sealed yet are sealed first, so the copy carries every row's hash.
      await sealAuditLog(ctx.db);
      const filter: ExportFilter = {
        ...(tenantId !== undefined ? { tenantId } : {}),
        ...(since ? { since } : {}),
        ...(until ? { until } : {}),
        ...(values.wallet ? { walletId: values.wallet } : {}),
        ...(values.agent ? { agentId: values.agent } : {}),
        ...(values.action ? { action: values.action } : {}),
        ...(values.status ? { status: values.status as (typeof STATUSES)[number] } : {}),
      };
      const stats = { rows: 0 };
      const source = Readable.from(exportAuditEvents(ctx.db, filter, format, stats));
      if (values.out) {
        const partial = `${values.out}.partial`;
        try {
          await pipeline(source, createWriteStream(partial));
          await rename(partial, values.out);
        } catch (err) {
          await rm(partial, { force: true });
          throw err;
        }
      } else {
        await pipeline(source, process.stdout as Writable, { end: false });
      }
      await recordAudit(ctx.db, {
        tenantId: tenantId ?? null,
        kind: 'cli',
        action: 'audit.export',
        principal: 'cli',
        status: 'ok',
        durationMs: Date.now() - started,
        request: {
          format,
          tenant: values.tenant ?? null,
          since: since?.toISOString() ?? null,
          until: until?.toISOString() ?? null,
          wallet_id: values.wallet ?? null,
          agent_id: values.agent ?? null,
          action: values.action ?? null,
          status: values.status ?? null,
          out: values.out ?? null,
        },
        response: { rows: stats.rows },
      });
      if (values.out) process.stdout.write(`exported ${stats.rows} rows to ${values.out}\n`);
      return 0;
    } finally {
      await ctx.close();
    }
  },
};
