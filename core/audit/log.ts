/**
 * The audit log: every tool call, REST write and authentication refusal becomes one
 * `audit_events` row. Request and response bodies are stored with secrets replaced by
 * "[redacted]" before they leave the process. Rows are append-only (a trigger refuses UPDATE,
 * DELETE and TRUNCATE) and hash-chained per tenant (chain.ts; verify.ts walks the chains).
 */
import { sql, type Transaction } from 'kysely';
import type { Db } from '../db/connect.ts';
import type { AuditEventRow, Database, PolicyDecisionKind } from '../db/types.ts';
import { chainLockKey, GENESIS_HASH, rowHash } from './chain.ts';

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
  /** The policy decision of a guarded call (docs/policies.md). */
  decision?: PolicyDecisionKind | null;
  /** The rule that decided it (`spend_cap_24h_eth`, `rate_limits.default`, `scope.tools`, …). */
  rule?: string | null;
}

/**
 * Redacts and then round-trips a body through JSON text, so the value hashed is the value jsonb
 * gives back (jsonb reorders keys, which JCS ignores; bigints become strings; `undefined` fields
 * disappear). `undefined` (no body) is SQL NULL.
 */
function jsonBody(value: unknown): { text: string | null; value: unknown } {
  if (value === undefined) return { text: null, value: null };
  const text = JSON.stringify(redactSecrets(value)) as string | undefined;
  return text === undefined ? { text: null, value: null } : { text, value: JSON.parse(text) as unknown };
}

/**
 * Appends an audit row (redacting secrets) to its tenant's hash chain (core/audit/chain.ts).
 * Appends to one chain are serialized by a transaction-scoped advisory lock: with a plain `db`
 * the row is written in its own short transaction; with a transaction the row commits with the
 * caller's write and the chain stays locked until that commit, so call it last in the transaction
 * (which must be READ COMMITTED, the default: the head is read after the lock is granted; under a
 * snapshot taken earlier the insert would fail on the `audit_events_chain_link` unique index
 * rather than fork the chain). Redaction and JSON work happen before the lock is taken.
 * @throws database errors (the row is then not written).
 */
export async function recordAudit(db: Db | Transaction<Database>, entry: AuditEntry): Promise<void> {
  const request = jsonBody(entry.request);
  const response = jsonBody(entry.response);
  const base = {
    tenant_id: entry.tenantId,
    kind: entry.kind,
    action: entry.action,
    principal: entry.principal,
    agent_id: entry.agentId ?? null,
    wallet_id: entry.walletId ?? null,
    status: entry.status,
    error_code: entry.errorCode ?? null,
    duration_ms: entry.durationMs === undefined || entry.durationMs === null ? null : Math.round(entry.durationMs),
    request_id: entry.requestId ?? null,
    ip: entry.ip ?? null,
    decision: entry.decision ?? null,
    rule: entry.rule ?? null,
  };
  const append = async (trx: Transaction<Database>): Promise<void> => {
    await sql`select pg_advisory_xact_lock(${chainLockKey(entry.tenantId)}::bigint)`.execute(trx);
    // A statement after the lock: under READ COMMITTED it sees the previous holder's commit.
    const last = await lastOfChain(trx, entry.tenantId);
    const occurredAt = new Date();
    const prevHash = last?.hash ?? GENESIS_HASH;
    const hash = rowHash({ ...base, occurred_at: occurredAt, request: request.value, response: response.value, prev_hash: prevHash });
    await trx
      .insertInto('audit_events')
      .values({ ...base, occurred_at: occurredAt, request: request.text, response: response.text, prev_hash: prevHash, hash })
      .execute();
  };
  if (db.isTransaction) await append(db as Transaction<Database>);
  else await db.transaction().execute(append);
}

/** The newest row of a chain (`null` tenant: the unscoped chain). */
async function lastOfChain(db: Db | Transaction<Database>, tenantId: string | null): Promise<{ id: string; hash: string } | undefined> {
  return db
    .selectFrom('audit_events')
    .select(['id', 'hash'])
    .where((eb) => (tenantId === null ? eb('tenant_id', 'is', null) : eb('tenant_id', '=', tenantId)))
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** Filters for {@link listAuditEvents}; `cursor` is the last id of the previous page. */
export interface AuditQuery {
  walletId?: string;
  agentId?: string;
  action?: string;
  status?: 'ok' | 'error' | 'refused';
  kind?: AuditEventRow['kind'];
  /** Only rows with `occurred_at >= since`. */
  since?: Date;
  /** Only rows with `occurred_at < until`. */
  until?: Date;
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
  /** The policy decision of a guarded call and the rule that made it, when there was one. */
  decision: PolicyDecisionKind | null;
  rule: string | null;
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
    decision: row.decision,
    rule: row.rule,
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
  if (q.since) query = query.where('occurred_at', '>=', q.since);
  if (q.until) query = query.where('occurred_at', '<', q.until);
  if (q.cursor) query = query.where('id', '<', q.cursor);
  const rows = await query.orderBy('id', 'desc').limit(q.limit + 1).execute();
  const page = rows.slice(0, q.limit);
  return { events: page.map(view), next_cursor: rows.length > q.limit ? page[page.length - 1]!.id : null };
}
