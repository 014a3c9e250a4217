/**
 * The audit log's hash chain. Every tenant's rows form one chain in `chain_seq` order, 1, 2, 3, …
 * (rows without a tenant, refused authentications, form their own chain). A sealed row stores
 *
 *   hash = lowercase_hex(sha256(utf8(prev_hash || canonical_json(row))))
 *
 * where `prev_hash` is the previous row's `hash` in the same chain (64 zeros for the first row)
 * and `canonical_json` is RFC 8785 (JCS) over the row's fields except `id` and `hash`, with
 * `occurred_at` as an ISO 8601 UTC string with milliseconds (`2025-01-31T12:00:00.000Z`),
 * `chain_seq` as a decimal string and `request`/`response` as the JSON values stored. Rows are
 * sealed (given these three columns) by seal.ts shortly after they are written.
 * docs/audit-log.md restates this so a third party can re-verify an export without our code.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/** `prev_hash` of the first row of a chain. */
export const GENESIS_HASH = '0'.repeat(64);

/** A well-formed chain hash: 64 lowercase hex characters. */
export const HASH_RE = /^[0-9a-f]{64}$/;

/** The fields a row's hash covers, exactly as canonicalized (JCS sorts the keys). */
export interface ChainedFields {
  tenant_id: string | null;
  /** ISO 8601 UTC with milliseconds. */
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
  request_id: string | null;
  ip: string | null;
  decision: string | null;
  rule: string | null;
  /** Position in the chain, from 1, as a decimal string. */
  chain_seq: string;
  prev_hash: string;
}

/** What {@link chainedFields} reads: an `audit_events` row as pg returns it (or about to be inserted). */
export type ChainableRow = Omit<ChainedFields, 'occurred_at'> & { occurred_at: Date };

/** A row's content: every column but `id` and the chain columns, in export column order. */
export type ContentFields = Omit<ChainedFields, 'chain_seq' | 'prev_hash'>;

/**
 * A row's content as hashed and exported: `occurred_at` as ISO with ms; missing JSON values
 * (`undefined`) as `null`, like SQL NULL reads back.
 */
export function contentFields(row: Omit<ChainableRow, 'chain_seq' | 'prev_hash'>): ContentFields {
  return {
    tenant_id: row.tenant_id,
    occurred_at: row.occurred_at.toISOString(),
    kind: row.kind,
    action: row.action,
    principal: row.principal,
    agent_id: row.agent_id,
    wallet_id: row.wallet_id,
    status: row.status,
    error_code: row.error_code,
    duration_ms: row.duration_ms,
    decision: row.decision,
    rule: row.rule,
    request_id: row.request_id,
    ip: row.ip,
    request: row.request ?? null,
    response: row.response ?? null,
  };
}

/** The hashed fields of a row: its columns except `id` and `hash` (see the module comment). */
export function chainedFields(row: ChainableRow): ChainedFields {
  return { ...contentFields(row), chain_seq: row.chain_seq, prev_hash: row.prev_hash };
}

/**
 * RFC 8785 canonical JSON of a row's hashed fields.
 * @throws {TypeError} when a value cannot be serialized (a bigint, a cycle); recordAudit's
 *   JSON round trip means stored rows never contain one.
 */
export function canonicalJson(fields: ChainedFields): string {
  const text = canonicalize(fields);
  if (text === undefined) throw new TypeError('audit row is not serializable as JSON');
  return text;
}

/**
 * The chain hash of a row: `sha256_hex(prev_hash || canonical_json(row))`, the `prev_hash` being
 * the row's own (also inside the canonical JSON).
 * @returns 64 lowercase hex characters.
 */
export function rowHash(row: ChainableRow): string {
  const fields = chainedFields(row);
  return createHash('sha256').update(fields.prev_hash, 'utf8').update(canonicalJson(fields), 'utf8').digest('hex');
}

/**
 * The `pg_advisory_xact_lock` key that serializes sealing of one chain: the first 8 bytes of
 * sha256("vaultpilot.audit_chain:" + tenant id, or "" for the unscoped chain), as a signed
 * 64-bit integer in decimal.
 */
export function chainLockKey(tenantId: string | null): string {
  const digest = createHash('sha256').update(`vaultpilot.audit_chain:${tenantId ?? ''}`, 'utf8').digest();
  return digest.readBigInt64BE(0).toString();
}
