/**
 * Exports audit rows as JSON Lines or CSV, oldest first, streamed page by page (keyset on `id`),
 * so an export of any size holds one page in memory. Rows are exported as stored: secrets were
 * redacted before they were written (log.ts), and every row carries `prev_hash` and `hash`, so an
 * unfiltered JSONL export of a chain can be re-verified by a third party (docs/audit-log.md).
 */
import { stringify } from 'csv-stringify/sync';
import type { Db } from '../db/connect.ts';
import type { AuditEventRow } from '../db/types.ts';
import { contentFields, type ContentFields } from './chain.ts';

/** Export file formats. */
export const EXPORT_FORMATS = ['jsonl', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Which rows to export; every filter is optional and they combine with AND. */
export interface ExportFilter {
  /** One tenant's rows; `null`: only the unscoped rows; unset: every row (operator CLI). */
  tenantId?: string | null;
  /** With `tenantId`, also the unscoped rows (refused authentications), as the events list shows owners and admins. */
  includeUnscoped?: boolean;
  /** `occurred_at >= since`. */
  since?: Date;
  /** `occurred_at < until`. */
  until?: Date;
  walletId?: string;
  agentId?: string;
  action?: string;
  status?: 'ok' | 'error' | 'refused';
}

/**
 * One exported row: every column, `occurred_at` as ISO 8601 with milliseconds. The chain
 * columns are null for a row not sealed yet (seal.ts).
 */
export type ExportedEvent = { id: string } & ContentFields & { chain_seq: string | null; prev_hash: string | null; hash: string | null };

/** CSV columns, in order (the header row). */
export const EXPORT_COLUMNS: Array<keyof ExportedEvent> = [
  'id',
  'tenant_id',
  'occurred_at',
  'kind',
  'action',
  'principal',
  'agent_id',
  'wallet_id',
  'status',
  'error_code',
  'duration_ms',
  'decision',
  'rule',
  'request_id',
  'ip',
  'request',
  'response',
  'chain_seq',
  'prev_hash',
  'hash',
];

/** A stored row as exported, its keys in {@link EXPORT_COLUMNS} order. */
export function exportedEvent(row: AuditEventRow): ExportedEvent {
  return { id: row.id, ...contentFields(row), chain_seq: row.chain_seq, prev_hash: row.prev_hash, hash: row.hash };
}

/**
 * The matching rows, oldest first, one page per query.
 * @param pageSize - rows per query (default 500).
 */
export async function* auditRows(db: Db, filter: ExportFilter, pageSize = 500): AsyncGenerator<AuditEventRow> {
  let afterId: string | null = null;
  for (;;) {
    let q = db.selectFrom('audit_events').selectAll();
    const { tenantId } = filter;
    if (tenantId === null) q = q.where('tenant_id', 'is', null);
    else if (tenantId !== undefined) {
      q = q.where((eb) => (filter.includeUnscoped ? eb.or([eb('tenant_id', '=', tenantId), eb('tenant_id', 'is', null)]) : eb('tenant_id', '=', tenantId)));
    }
    if (filter.since) q = q.where('occurred_at', '>=', filter.since);
    if (filter.until) q = q.where('occurred_at', '<', filter.until);
    if (filter.walletId) q = q.where('wallet_id', '=', filter.walletId);
    if (filter.agentId) q = q.where('agent_id', '=', filter.agentId);
    if (filter.action) q = q.where('action', '=', filter.action);
    if (filter.status) q = q.where('status', '=', filter.status);
    if (afterId !== null) q = q.where('id', '>', afterId);
    const page = await q.orderBy('id', 'asc').limit(pageSize).execute();
    for (const row of page) yield row;
    if (page.length < pageSize) return;
    afterId = page[page.length - 1]!.id;
  }
}

/** A CSV cell: JSON bodies as JSON text, null as an empty cell. */
function csvCell(value: unknown): string | number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number') return value;
  return JSON.stringify(value);
}

/**
 * The export as text chunks: JSONL (one JSON object per line, keys in {@link EXPORT_COLUMNS}
 * order) or CSV (RFC 4180, a header row, `request`/`response` as JSON text; cells that a
 * spreadsheet would run as a formula are prefixed with `'`).
 * @param stats - when given, `stats.rows` counts the rows exported so far.
 * @param pageSize - rows per query and per chunk (default 500).
 * @throws database errors while iterating.
 */
export async function* exportAuditEvents(db: Db, filter: ExportFilter, format: ExportFormat, stats?: { rows: number }, pageSize = 500): AsyncGenerator<string> {
  let batch: ExportedEvent[] = [];
  let header = format === 'csv';
  const flush = (): string => {
    const text =
      format === 'jsonl'
        ? batch.map((e) => `${JSON.stringify(e)}\n`).join('')
        : stringify(
            batch.map((e) => EXPORT_COLUMNS.map((c) => csvCell(e[c]))),
            { header, columns: EXPORT_COLUMNS as string[], escape_formulas: true, record_delimiter: 'windows' },
          );
    header = false;
    batch = [];
    return text;
  };
  for await (const row of auditRows(db, filter, pageSize)) {
    batch.push(exportedEvent(row));
    if (stats) stats.rows += 1;
    if (batch.length >= pageSize) yield flush();
  }
  if (batch.length > 0 || header) yield flush();
}
