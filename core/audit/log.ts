/**
 * The audit log: every tool call, REST write and authentication refusal becomes one
 * `audit_events` row. Request and response bodies are stored with secrets replaced by
 * "[redacted]" before they leave the process.
 */
import type { Transaction } from 'kysely';
import type { Db } from '../db/connect.ts';
import type { AuditEventRow, Database } from '../db/types.ts';

/** Field names whose values are secrets, at any depth. */
const SECRET_KEYS = new Set([
  // key material, in the clear or encrypted (a keystore can be attacked offline)
  'private_key',
  'privatekey',
  'mnemonic',
  'keystore',
  'keystore_json',
  'encrypted_json',
  // what unlocks key material or a guarded action
  'passphrase',
  'new_passphrase',
  'password',
  'confirmation_code',
  'export_code',
  // credentials
  'api_key',
  'apikey',
  'authorization',
  'encrypt_key',
  'fernet_key',
  'secret',
  'token',
  // signed payloads
  'raw_tx',
]);

/** An EVM address: public by nature, never a credential even under a secret-sounding name. */
const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;

/**
 * Returns a deep copy of `value` with secret fields replaced by "[redacted]". A field named
 * `token` holding an address is kept: EIP-712 payloads such as Permit2's `PermitDetails.token`
 * name the ERC-20 being approved, which the audit log must show.
 */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') {
    return typeof value === 'bigint' ? value.toString() : value;
  }
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const secret = SECRET_KEYS.has(k.toLowerCase()) && v !== undefined && v !== null && !(typeof v === 'string' && ADDRESS_RE.test(v));
    out[k] = secret ? '[redacted]' : redactSecrets(v, depth + 1);
  }
  return out;
}

/** One audit entry to record. */
export interface AuditEntry {
  tenantId: string | null;
  kind: AuditEventRow['kind'];
  /** Tool name (`execute_transfer`) or `METHOD /route`. */
  action: string;
  /** Visible key id (`vp_1a2b3c4d`), never the key. */
  principal: string | null;
  agentId?: string | null;
  walletId?: string | null;
  status: 'ok' | 'error' | 'refused';
  errorCode?: string | null;
  durationMs?: number | null;
  request?: unknown;
  response?: unknown;
  requestId?: string | null;
  ip?: string | null;
}

/** Appends an audit row (redacting secrets). `db` may be a transaction to commit with a write. */
export async function recordAudit(db: Db | Transaction<Database>, entry: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_events')
    .values({
      tenant_id: entry.tenantId,
      kind: entry.kind,
      action: entry.action,
      principal: entry.principal,
      agent_id: entry.agentId ?? null,
      wallet_id: entry.walletId ?? null,
      status: entry.status,
      error_code: entry.errorCode ?? null,
      duration_ms: entry.durationMs === undefined || entry.durationMs === null ? null : Math.round(entry.durationMs),
      request: entry.request === undefined ? null : JSON.stringify(redactSecrets(entry.request)),
      response: entry.response === undefined ? null : JSON.stringify(redactSecrets(entry.response)),
      request_id: entry.requestId ?? null,
      ip: entry.ip ?? null,
    })
    .execute();
}

/** Filters for {@link listAuditEvents}; `cursor` is the last id of the previous page. */
export interface AuditQuery {
  walletId?: string;
  agentId?: string;
  action?: string;
  status?: 'ok' | 'error' | 'refused';
  kind?: AuditEventRow['kind'];
  cursor?: string;
  limit: number;
  /** Also return rows without a tenant (refused authentication attempts). */
  includeUnscoped?: boolean;
}

/** An audit row as REST returns it. */
export interface AuditEventView {
  id: string;
  occurred_at: string;
  kind: string;
  action: string;
  principal: string | null;
  agent_id: string | null;
  wallet_id: string | null;
  status: string;
  error_code: string | null;
  duration_ms: number | null;
  request: unknown;
  response: unknown;
}

function view(row: AuditEventRow): AuditEventView {
  return {
    id: row.id,
    occurred_at: row.occurred_at.toISOString(),
    kind: row.kind,
    action: row.action,
    principal: row.principal,
    agent_id: row.agent_id,
    wallet_id: row.wallet_id,
    status: row.status,
    error_code: row.error_code,
    duration_ms: row.duration_ms,
    request: row.request,
    response: row.response,
  };
}

/**
 * Lists a tenant's audit events, newest first, with keyset pagination on `id`.
 * @returns the page and `next_cursor` (null on the last page).
 */
export async function listAuditEvents(db: Db, tenantId: string, q: AuditQuery): Promise<{ events: AuditEventView[]; next_cursor: string | null }> {
  // Refused credentials belong to no tenant; owners and admins see them beside their own rows.
  let query = db
    .selectFrom('audit_events')
    .selectAll()
    .where((eb) => (q.includeUnscoped ? eb.or([eb('tenant_id', '=', tenantId), eb('tenant_id', 'is', null)]) : eb('tenant_id', '=', tenantId)));
  if (q.walletId) query = query.where('wallet_id', '=', q.walletId);
  if (q.agentId) query = query.where('agent_id', '=', q.agentId);
  if (q.action) query = query.where('action', '=', q.action);
  if (q.status) query = query.where('status', '=', q.status);
  if (q.kind) query = query.where('kind', '=', q.kind);
  if (q.cursor) query = query.where('id', '<', q.cursor);
  const rows = await query.orderBy('id', 'desc').limit(q.limit + 1).execute();
  const page = rows.slice(0, q.limit);
  return { events: page.map(view), next_cursor: rows.length > q.limit ? page[page.length - 1]!.id : null };
}
