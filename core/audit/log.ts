/**
 * The audit log: every tool call, REST write and authentication refusal becomes one
 * `audit_events` row. Request and response bodies are stored with secrets replaced by
 * "[redacted]" before they leave the process. Rows are append-only (a trigger refuses UPDATE,
 * DELETE and TRUNCATE, except sealing) and hash-chained per tenant (chain.ts; seal.ts seals new
 * rows, verify.ts walks the chains).
 */
import type { Transaction } from 'kysely';
import type { Db } from '../db/connect.ts';
import type { AuditEventRow, Database, PolicyDecisionKind } from '../db/types.ts';
import { isUnstorable } from '../validation/storable.ts';

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

/** Deepest nesting kept in a stored body; anything deeper is replaced whole (its secrets with it). */
const MAX_STORED_DEPTH = 64;

/** Options of {@link redactSecrets}. */
export interface RedactOptions {
  /** Longest string kept whole, in characters; longer ones are cut with a note (refusal rows). */
  maxStringLength?: number;
}

/**
 * A string as stored: valid Unicode for Postgres (NUL and unpaired surrogates become U+FFFD), cut
 * when too long, never between the two halves of a surrogate pair (a lone half is not storable).
 */
function storableString(text: string, max: number): string {
  const clean = isUnstorable(text) ? text.replaceAll('\u0000', '\ufffd').toWellFormed() : text;
  if (clean.length <= max) return clean;
  const end = /[\ud800-\udbff]/.test(clean[max - 1] ?? '') ? max - 1 : max;
  return `${clean.slice(0, end)}… [${clean.length - end} more characters]`;
}

/**
 * Returns a deep copy of `value` with secret fields replaced by "[redacted]", at any depth:
 * a subtree nested deeper than 64 levels is replaced whole by "[nested too deep]" rather than
 * walked, so nothing below it is stored either. Strings are made storable (see
 * {@link storableString}), keys included, so no body can make its audit row fail. A field named
 * `token` holding an address is kept: EIP-712 payloads such as Permit2's `PermitDetails.token`
 * name the ERC-20 being approved, which the audit log must show.
 */
export function redactSecrets(value: unknown, opts: RedactOptions = {}, depth = 0): unknown {
  const max = opts.maxStringLength ?? Number.POSITIVE_INFINITY;
  if (typeof value === 'string') return storableString(value, max);
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_STORED_DEPTH) return '[nested too deep]';
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, opts, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const secret = SECRET_KEYS.has(k.toLowerCase()) && v !== undefined && v !== null && !(typeof v === 'string' && ADDRESS_RE.test(v));
    out[storableString(k, 200)] = secret ? '[redacted]' : redactSecrets(v, opts, depth + 1);
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
  /** Cut strings of the stored bodies to this many characters (refusal rows: input nobody vetted). */
  maxStringLength?: number;
}

/** A body as stored: secrets redacted, JSON text (`undefined`: no body, SQL NULL). */
function jsonBody(value: unknown, opts: RedactOptions): string | null {
  if (value === undefined) return null;
  return (JSON.stringify(redactSecrets(value, opts)) as string | undefined) ?? null;
}

/**
 * Appends an audit row (redacting secrets). The row is written unsealed, a plain INSERT that
 * waits for no other writer; the worker seals it into its tenant's hash chain moments later
 * (core/audit/seal.ts), and the triggers let nothing but that sealing change it. `db` may be a
 * transaction, so the row commits (or rolls back) with the caller's write.
 * @throws database errors (the row is then not written).
 */
export async function recordAudit(db: Db | Transaction<Database>, entry: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_events')
    .values({
      tenant_id: entry.tenantId,
      // Milliseconds, like the column (timestamptz(3)) and the hashed ISO form.
      occurred_at: new Date(),
      kind: entry.kind,
      action: storableString(entry.action, 500),
      principal: entry.principal === null ? null : storableString(entry.principal, 200),
      agent_id: entry.agentId === undefined || entry.agentId === null ? null : storableString(entry.agentId, 200),
      wallet_id: entry.walletId ?? null,
      status: entry.status,
      error_code: entry.errorCode ?? null,
      duration_ms: entry.durationMs === undefined || entry.durationMs === null ? null : Math.round(entry.durationMs),
      request: jsonBody(entry.request, { maxStringLength: entry.maxStringLength }),
      response: jsonBody(entry.response, { maxStringLength: entry.maxStringLength }),
      request_id: entry.requestId ?? null,
      ip: entry.ip ?? null,
      decision: entry.decision ?? null,
      rule: entry.rule === undefined || entry.rule === null ? null : storableString(entry.rule, 200),
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
