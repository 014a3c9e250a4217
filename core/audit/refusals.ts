/**
 * Audit rows of requests refused for want of a valid key (no key, an unknown, revoked or expired
 * key, a bad session cookie, a failed sign-in). Anyone can send those, as fast as they like, and
 * audit rows can never be deleted, so they are not written one per request: each refusal is
 * counted at once (`vaultpilot_auth_refusals_total{reason}`) and folded into one aggregated row
 * per chain and source per window (a minute):
 * - the source is the client address (`TRUSTED_PROXIES` honoured), IPv6 ones by /64 (whoever
 *   holds one address holds the whole /64);
 * - a known revoked or expired key's refusals go to its tenant's chain, every other one to the
 *   unscoped chain;
 * - at most {@link MAX_SOURCES} sources are tracked per window; refusals from further sources
 *   fold into one `other` row per chain, so memory and rows per minute stay constant however
 *   many addresses an attacker has;
 * - the row keeps what was asked first (method, path cut to {@link MAX_PATH_LENGTH} characters),
 *   the count per reason and up to {@link MAX_KEY_IDS} visible key ids, never a presented key.
 * Rows are written when the window ends, one at a time on one connection, and on shutdown
 * ({@link RefusalAuditor.flush}). docs/audit-log.md shows a row.
 */
import { isIP } from 'node:net';
import type { Db } from '../db/connect.ts';
import type { Logger } from '../logger.ts';
import { hashSecret, keyPrefixOf } from '../auth/api-keys.ts';
import { AUTH_REFUSAL_REASONS, authAuditDropped, authRefusals } from '../metrics.ts';
import { recordAudit, type AuditEntry } from './log.ts';

/** Why a request was refused (the metric's `reason` label, and a key of a row's `reasons`). */
export type RefusalReason = (typeof AUTH_REFUSAL_REASONS)[number];

/** Length of an aggregation window, in ms: at most one row per chain and source per window. */
export const WINDOW_MS = 60_000;
/** Distinct (chain, source) pairs tracked per window; further sources share an `other` row. */
export const MAX_SOURCES = 100;
/** Characters of the first refused path kept in a row (paths are attacker-chosen, up to ~8 KB). */
export const MAX_PATH_LENGTH = 200;
/** Distinct visible key ids kept per row. */
export const MAX_KEY_IDS = 10;
/** Windows whose rows may wait to be written; a further one is dropped and counted (a stalled database). */
const MAX_PENDING_WINDOWS = 2;
/** The `source` of the row that collects refusals beyond {@link MAX_SOURCES}. */
const OTHER = 'other';

/** A stored key that did not authenticate: revoked, or past its expiry. */
export interface StoredKey {
  tenantId: string;
  /** Visible id (`vp_1a2b3c4d`). */
  keyPrefix: string;
  state: 'revoked' | 'expired';
}

/**
 * The stored key matching a presented secret, revoked and expired ones included; one indexed
 * read (`api_keys.key_hash` is unique). Called only for a key that did not authenticate, so a
 * flood of bad keys costs one extra point read each, on the ordinary pool.
 * @returns `null` when no key matches.
 * @throws database errors.
 */
export async function storedKeyOf(db: Db, presented: string): Promise<StoredKey | null> {
  const row = await db.selectFrom('api_keys').select(['tenant_id', 'key_prefix', 'revoked_at']).where('key_hash', '=', hashSecret(presented)).executeTakeFirst();
  return row ? { tenantId: row.tenant_id, keyPrefix: row.key_prefix, state: row.revoked_at ? 'revoked' : 'expired' } : null;
}

/** What a presented key that did not authenticate was: its reason, the stored key if any, and the visible id to record. */
export interface PresentedKey {
  reason: 'unknown_key' | 'revoked_key' | 'expired_key';
  key: StoredKey | null;
  /** The stored key's visible id, or for an unknown key in our format (`vp_<8 hex>_…`) its first part; never the secret. */
  keyId: string | null;
}

/**
 * Classifies a presented key that did not authenticate ({@link storedKeyOf}: one database read).
 * @throws database errors.
 */
export async function classifyPresentedKey(db: Db, presented: string): Promise<PresentedKey> {
  const key = await storedKeyOf(db, presented);
  if (key) return { reason: key.state === 'revoked' ? 'revoked_key' : 'expired_key', key, keyId: key.keyPrefix };
  return { reason: 'unknown_key', key: null, keyId: /^vp_[0-9a-f]{8}_/.test(presented) ? keyPrefixOf(presented) : null };
}

/** 16-bit groups of a valid IPv6 address (zone removed), or `null`. */
function ipv6Groups(address: string): number[] | null {
  let s = address;
  let tail: number[] = [];
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    tail = [(a << 8) | b, (c << 8) | d];
    s = s.slice(0, -v4[0].length);
    if (s.endsWith(':') && !s.endsWith('::')) s = s.slice(0, -1);
  }
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((h) => Number.parseInt(h, 16)));
  let groups: number[];
  if (s.includes('::')) {
    const [head, rest] = s.split('::') as [string, string];
    const h = parse(head);
    const r = parse(rest);
    groups = [...h, ...new Array<number>(8 - tail.length - h.length - r.length).fill(0), ...r, ...tail];
  } else {
    groups = [...parse(s), ...tail];
  }
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

/**
 * The source a refusal is aggregated under: an IPv4 address as it is, an IPv6 address as its /64
 * (`2001:db8:1:2::/64`), an IPv4-mapped IPv6 address as the IPv4 one, `unknown` without one.
 * @param ip the client address (`c.get('clientIp')`), or `null`.
 */
export function refusalSource(ip: string | null): string {
  if (!ip) return 'unknown';
  const address = ip.replace(/%.*$/, '');
  const family = isIP(address);
  if (family === 4) return address;
  if (family !== 6) return 'unknown';
  const g = ipv6Groups(address);
  if (!g) return 'unknown';
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
  return `${g.slice(0, 4).map((x) => x.toString(16)).join(':')}::/64`;
}

/** One refused request, as the HTTP layer reports it. */
export interface Refusal {
  reason: RefusalReason;
  /** `GET`, `POST`, … */
  method: string;
  /** The request path as received (any length; cut when stored). */
  path: string;
  /** The client address (`c.get('clientIp')`), or `null`. */
  ip: string | null;
  /** A known revoked or expired key: the refusal goes to its tenant's chain. */
  key: StoredKey | null;
  /** Visible key id to record, if any (see {@link PresentedKey.keyId}). */
  keyId: string | null;
  requestId: string | null;
}

/** One window's refusals from one source to one chain. */
interface Bucket {
  tenantId: string | null;
  source: string;
  count: number;
  firstAt: Date;
  lastAt: Date;
  method: string;
  path: string;
  pathLength: number;
  requestId: string | null;
  reasons: Record<RefusalReason, number>;
  keyIds: string[];
}

/** A cut string Postgres can store (no NUL, no half of a surrogate pair). */
function storable(text: string, max: number): string {
  return text.slice(0, max).replaceAll('\u0000', '\ufffd').toWellFormed();
}

/** Options of {@link RefusalAuditor}; the defaults are the constants above. */
export interface RefusalAuditorOptions {
  /** Window length in ms (default {@link WINDOW_MS}). */
  windowMs?: number;
  /** Sources tracked per window (default {@link MAX_SOURCES}). */
  maxSources?: number;
}

/** Counts refusals and writes their aggregated audit rows (one per process, see server/auth.ts `refusalAuditor`). */
export class RefusalAuditor {
  #buckets = new Map<string, Bucket>();
  /** Buckets of named sources in the current window (the `other` ones are not counted). */
  #tracked = 0;
  #timer: NodeJS.Timeout | undefined;
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;
  readonly #db: Db;
  readonly #logger: Logger;
  readonly #windowMs: number;
  readonly #maxSources: number;

  /**
   * @param db where the rows go (one connection at a time: rows are written one after another).
   * @param logger where write failures are logged (never a presented key: none is kept).
   * @param opts window length and source cap, for tests.
   */
  constructor(db: Db, logger: Logger, opts: RefusalAuditorOptions = {}) {
    this.#db = db;
    this.#logger = logger;
    this.#windowMs = opts.windowMs ?? WINDOW_MS;
    this.#maxSources = opts.maxSources ?? MAX_SOURCES;
  }

  /**
   * Counts a refusal (metric) and folds it into its window's row. Synchronous and bounded: no
   * database call, and at most {@link MAX_SOURCES} plus one per chain buckets in memory.
   */
  record(r: Refusal): void {
    authRefusals.inc({ reason: r.reason });
    const tenantId = r.key?.tenantId ?? null;
    const chain = tenantId ?? '';
    let source = refusalSource(r.ip);
    let bucket = this.#buckets.get(`${chain} ${source}`);
    if (!bucket && this.#tracked >= this.#maxSources) {
      source = OTHER;
      bucket = this.#buckets.get(`${chain} ${source}`);
    }
    const now = new Date();
    if (!bucket) {
      bucket = {
        tenantId,
        source,
        count: 0,
        firstAt: now,
        lastAt: now,
        method: storable(r.method, 16),
        path: storable(r.path, MAX_PATH_LENGTH),
        pathLength: r.path.length,
        requestId: r.requestId,
        reasons: Object.fromEntries(AUTH_REFUSAL_REASONS.map((x) => [x, 0])) as Record<RefusalReason, number>,
        keyIds: [],
      };
      this.#buckets.set(`${chain} ${source}`, bucket);
      if (source !== OTHER) this.#tracked += 1;
    }
    bucket.count += 1;
    bucket.lastAt = now;
    bucket.reasons[r.reason] += 1;
    if (r.keyId && bucket.keyIds.length < MAX_KEY_IDS && !bucket.keyIds.includes(r.keyId)) bucket.keyIds.push(r.keyId);
    if (!this.#timer) {
      this.#timer = setTimeout(() => void this.#rotate(), this.#windowMs);
      // The window must not keep a finished process alive; shutdown flushes it.
      this.#timer.unref();
    }
  }

  /**
   * Ends the current window now and writes its rows (shutdown, tests).
   * @returns once every row of every ended window is written or dropped; never rejects (write
   *   failures are logged and counted in `vaultpilot_auth_audit_dropped_total`).
   */
  flush(): Promise<void> {
    return this.#rotate();
  }

  #rotate(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#buckets.size === 0) return this.#tail;
    const batch = [...this.#buckets.values()];
    this.#buckets = new Map();
    this.#tracked = 0;
    if (this.#pending >= MAX_PENDING_WINDOWS) {
      authAuditDropped.inc(batch.length);
      this.#logger.error({ rows: batch.length }, 'refused-authentication audit rows dropped: earlier ones are still being written');
      return this.#tail;
    }
    this.#pending += 1;
    this.#tail = this.#tail
      .then(() => this.#write(batch))
      .finally(() => {
        this.#pending -= 1;
      });
    return this.#tail;
  }

  async #write(batch: Bucket[]): Promise<void> {
    for (const b of batch) {
      try {
        await recordAudit(this.#db, this.#entry(b));
      } catch (err) {
        authAuditDropped.inc();
        this.#logger.error({ err }, 'audit write of refused authentications failed');
      }
    }
  }

  #entry(b: Bucket): AuditEntry {
    return {
      tenantId: b.tenantId,
      kind: 'auth',
      action: `${b.method} ${b.path}`,
      principal: b.keyIds[0] ?? null,
      status: 'refused',
      errorCode: 'UNAUTHENTICATED',
      requestId: b.requestId,
      ip: b.source === OTHER || b.source === 'unknown' ? null : b.source,
      request: {
        refusals: b.count,
        window: { first_at: b.firstAt.toISOString(), last_at: b.lastAt.toISOString(), seconds: this.#windowMs / 1000 },
        first: { method: b.method, path: b.path, path_length: b.pathLength },
        reasons: b.reasons,
        key_ids: b.keyIds,
        source: b.source,
      },
    };
  }
}
