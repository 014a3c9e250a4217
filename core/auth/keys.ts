/**
 * Managing API keys: create (the plaintext is returned once and never again; only its SHA-256
 * is stored, see api-keys.ts), list (never the hash) and revoke. Every input is validated with
 * zod and a refusal names the field (`name`, `role`, `expires_at`, `allowed_tools[2]`, …).
 *
 * Who may do it (core/auth/roles.ts): owner and admin keys, never for a role above their own,
 * and only an owner for owner keys. A scoped creator cannot widen its own reach: a scope it has
 * and the new key leaves out is inherited, and one the new key gives must lie inside it. The
 * CLI (`creator` `null`) acts for the operator of the machine and may do anything.
 * Callers audit (REST through server/api/audited.ts, the CLI with kind `cli`).
 *
 * Revocation and expiry end what the key set in motion (docs/access-control.md): its active
 * strategies are paused (core/strategies/pause.ts) and its pending approvals cancelled
 * (core/approvals/cancel.ts), each with an audit row: a revocation in its own transaction, an
 * expiry by the worker's sweep ({@link retireInvalidKeys}); the tick and the decision re-check
 * the key themselves, so nothing waits for the sweep.
 */
import { z } from 'zod';
import type { Transaction } from 'kysely';
import type { PgBoss } from 'pg-boss';
import type { CoreContext } from '../context.ts';
import type { AuditScope } from '../audit/scope.ts';
import type { Db } from '../db/connect.ts';
import type { ApiKeyRow, Database, Role, StrategyRow } from '../db/types.ts';
import { ForbiddenError, NotFoundError, ValidationError } from '../errors.ts';
import { generateApiKey, type Principal } from './api-keys.ts';
import { ROLES, requireKeyManagement } from './roles.ts';
import { cidrWithin, parseCidr } from './scopes.ts';
import { parseAgentId } from '../wallets/service.ts';
import { keyInvalidity, pauseStrategiesOfKey, WORKER_ACTOR, type PauseActor, type PauseReason } from '../strategies/pause.ts';
import { cancelPendingApprovals } from '../approvals/cancel.ts';

/** MCP tool names are snake_case (DESIGN.md). */
const TOOL_NAME_RE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;
const NAME_MAX = 100;

/** What {@link createApiKey} takes. Absent or `null` scopes are unrestricted (or inherited, see above). */
export interface CreateApiKeyInput {
  tenantId: string;
  name: unknown;
  role: unknown;
  /** ISO 8601 with a time zone, or a Date; must be in the future. Absent: never expires. */
  expiresAt?: unknown;
  allowedTools?: unknown;
  allowedWallets?: unknown;
  allowedIps?: unknown;
}

/** An API key as REST, the CLI and the admin UI show it: never the hash, never the key. */
export interface ApiKeyView {
  /** Row id (uuid). */
  id: string;
  /** The visible id (`vp_1a2b3c4d`), safe to log and show; the key starts with it. */
  key_id: string;
  name: string;
  role: Role;
  status: 'active' | 'expired' | 'revoked';
  allowed_tools: string[] | null;
  allowed_wallets: string[] | null;
  allowed_ips: string[] | null;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  created_at: string;
  /** Visible id of the key that created this one; `null` for the CLI or the bootstrap key. */
  created_by: string | null;
}

/** A list field: at least one entry, no duplicates kept, each checked by `entry`. */
function listOf(entry: z.ZodType<string>, what: string, max: number) {
  return z
    .array(entry, `must be a list of ${what} (leave it out for no limit)`)
    .min(1, `must name at least one ${what.replace(/s$/, '')} (leave it out for no limit)`)
    .max(max, `must have at most ${max} entries`)
    .transform((items) => [...new Set(items)])
    .nullable()
    .optional();
}

const toolName = z.string('must be a tool name').regex(TOOL_NAME_RE, 'must be a snake_case MCP tool name such as execute_transfer');
const agentId = z.string('must be an agent id').refine(
  (v) => {
    try {
      parseAgentId(v);
      return true;
    } catch {
      return false;
    }
  },
  'must be an agent id: 1-128 letters, digits and _ . : @ -, starting with a letter or digit',
);
const cidr = z
  .string('must be a CIDR such as 10.0.0.0/8')
  .trim()
  .refine((v) => parseCidr(v) !== undefined, 'must be an IPv4 or IPv6 address or CIDR block, such as 10.0.0.0/8 or 2001:db8::/32');

const expiresAt = z
  .union([z.date(), z.string()], 'must be an ISO 8601 time with a time zone, such as 2030-01-01T00:00:00Z')
  .transform((v, ctx) => {
    const ok = v instanceof Date || /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/.test(v);
    const at = v instanceof Date ? v : new Date(v);
    if (!ok || Number.isNaN(at.getTime())) {
      ctx.addIssue({ code: 'custom', message: 'must be an ISO 8601 time with a time zone, such as 2030-01-01T00:00:00Z' });
      return z.NEVER;
    }
    if (at.getTime() <= Date.now()) {
      ctx.addIssue({ code: 'custom', message: 'must be in the future' });
      return z.NEVER;
    }
    return at;
  })
  .nullable()
  .optional();

const createSchema = z.object({
  name: z
    .string('must be a string')
    .trim()
    .min(1, 'must not be empty')
    .max(NAME_MAX, `must be at most ${NAME_MAX} characters`)
    .refine((v) => !/[\u0000-\u001f\u007f]/.test(v), 'must not contain control characters'),
  role: z.enum(ROLES, { message: `must be one of ${ROLES.join(', ')}` }),
  expires_at: expiresAt,
  allowed_tools: listOf(toolName, 'tool names', 200),
  allowed_wallets: listOf(agentId, 'agent ids', 1000),
  allowed_ips: listOf(cidr, 'CIDRs', 100),
});

/** The field a zod issue is about: `name`, `allowed_ips[1]`, … */
function fieldOf(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('') || 'body';
}

type Parsed = z.infer<typeof createSchema>;

/**
 * Validates a new key's fields.
 * @throws {ValidationError} `INVALID_INPUT` naming the first bad field.
 */
export function parseCreateApiKey(input: Omit<CreateApiKeyInput, 'tenantId'>): Parsed {
  const result = createSchema.safeParse({
    name: input.name,
    role: input.role,
    expires_at: input.expiresAt,
    allowed_tools: input.allowedTools,
    allowed_wallets: input.allowedWallets,
    allowed_ips: input.allowedIps,
  });
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const missing = (issue.path[0] === 'name' && input.name === undefined) || (issue.path[0] === 'role' && input.role === undefined);
  throw new ValidationError(fieldOf(issue.path), missing ? 'is required' : issue.message);
}

/**
 * Narrows a new key's scopes to its creator's: a scope the creator has is inherited when left
 * out, and must contain what the new key names otherwise.
 * @throws {ForbiddenError} `FORBIDDEN` with `details.rule` `scope.tools` | `scope.wallets` | `scope.ips`.
 */
function narrowScopes(creator: Principal, parsed: Parsed): { tools: string[] | null; wallets: string[] | null; ips: string[] | null } {
  const narrow = (mine: string[] | null, wanted: string[] | null | undefined, within: (x: string, mine: string[]) => boolean, rule: string, field: string) => {
    if (mine === null) return wanted ?? null;
    if (wanted === undefined || wanted === null) return mine;
    const outside = wanted.find((x) => !within(x, mine));
    if (outside !== undefined) {
      throw new ForbiddenError(`${field}: "${outside}" is outside your own key's scope (${mine.join(', ')}); a key cannot grant more than it has`, { rule, field });
    }
    return wanted;
  };
  return {
    tools: narrow(creator.scopes.tools, parsed.allowed_tools, (x, m) => m.includes(x), 'scope.tools', 'allowed_tools'),
    wallets: narrow(creator.scopes.wallets, parsed.allowed_wallets, (x, m) => m.includes(x), 'scope.wallets', 'allowed_wallets'),
    ips: narrow(creator.scopes.ips, parsed.allowed_ips, (x, m) => cidrWithin(x, m), 'scope.ips', 'allowed_ips'),
  };
}

/** Maps a row (with the creator's visible id) to its view. */
function keyView(row: ApiKeyRow & { created_by: string | null }, now = Date.now()): ApiKeyView {
  return {
    id: row.id,
    key_id: row.key_prefix,
    name: row.name,
    role: row.role,
    status: row.revoked_at ? 'revoked' : row.expires_at && row.expires_at.getTime() <= now ? 'expired' : 'active',
    allowed_tools: row.allowed_tools,
    allowed_wallets: row.allowed_wallets,
    allowed_ips: row.allowed_ips,
    expires_at: row.expires_at?.toISOString() ?? null,
    last_used_at: row.last_used_at?.toISOString() ?? null,
    revoked_at: row.revoked_at?.toISOString() ?? null,
    created_at: row.created_at.toISOString(),
    created_by: row.created_by,
  };
}

function keysQuery(db: Db, tenantId: string) {
  return db
    .selectFrom('api_keys as k')
    .leftJoin('api_keys as c', 'c.id', 'k.created_by_key_id')
    .selectAll('k')
    .select('c.key_prefix as created_by')
    .where('k.tenant_id', '=', tenantId);
}

/**
 * Creates an API key in `input.tenantId`. `db` may be a transaction (`db.transaction()`), so the
 * key commits or rolls back with the caller's other writes (core/tenants.ts creates a tenant and
 * its first owner key that way).
 * @param creator the key asking (REST), or `null` for the CLI.
 * @returns the key's view and the plaintext key, which is shown once and never stored.
 * @throws {ValidationError} `INVALID_INPUT` naming the field | {@link ForbiddenError}
 *   `FORBIDDEN` (`details.rule` `role` for a creator that may not manage keys of this role, or
 *   `scope.*` for scopes wider than the creator's) — nothing is written in either case.
 */
export async function createApiKey(db: Db, creator: Principal | null, input: CreateApiKeyInput): Promise<{ key: ApiKeyView; apiKey: string }> {
  const parsed = parseCreateApiKey(input);
  let scopes = { tools: parsed.allowed_tools ?? null, wallets: parsed.allowed_wallets ?? null, ips: parsed.allowed_ips ?? null };
  if (creator) {
    if (creator.tenantId !== input.tenantId) throw new ForbiddenError('a key can only create keys in its own tenant', { rule: 'role' });
    requireKeyManagement(creator.role, parsed.role, 'create');
    scopes = narrowScopes(creator, parsed);
  }
  const generated = generateApiKey();
  const row = await db
    .insertInto('api_keys')
    .values({
      tenant_id: input.tenantId,
      name: parsed.name,
      role: parsed.role,
      key_prefix: generated.prefix,
      key_hash: generated.hash,
      expires_at: parsed.expires_at ?? null,
      allowed_tools: scopes.tools,
      allowed_wallets: scopes.wallets,
      allowed_ips: scopes.ips,
      created_by_key_id: creator?.keyId ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { key: keyView({ ...row, created_by: creator?.keyPrefix ?? null }), apiKey: generated.key };
}

/** A tenant's keys, newest first, revoked and expired ones included (their status says so). */
export async function listApiKeys(db: Db, tenantId: string): Promise<ApiKeyView[]> {
  const rows = await keysQuery(db, tenantId).orderBy('k.created_at', 'desc').orderBy('k.id', 'desc').execute();
  const now = Date.now();
  return rows.map((r) => keyView(r, now));
}

/**
 * Finds one of the tenant's keys by row id (uuid) or visible id (`vp_1a2b3c4d` or `1a2b3c4d`).
 * @throws {NotFoundError} `KEY_NOT_FOUND` | {@link ValidationError} `id` when a visible id is
 *   shared by several keys (use the row id then).
 */
export async function findApiKey(db: Db, tenantId: string, ref: string): Promise<ApiKeyView> {
  const trimmed = ref.trim();
  let q = keysQuery(db, tenantId);
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(trimmed)) q = q.where('k.id', '=', trimmed.toLowerCase());
  else if (/^(vp_|key_)?[0-9a-f]{8}$/i.test(trimmed)) q = q.where('k.key_prefix', '=', /^(vp_|key_)/i.test(trimmed) ? trimmed.toLowerCase() : `vp_${trimmed.toLowerCase()}`);
  else throw new NotFoundError('KEY_NOT_FOUND', `no API key "${ref}": give its id (uuid) or visible id (vp_1a2b3c4d)`);
  const rows = await q.limit(2).execute();
  if (rows.length === 0) throw new NotFoundError('KEY_NOT_FOUND', `no API key "${ref}" in this tenant`);
  if (rows.length > 1) throw new ValidationError('id', `visible id "${ref}" is shared by several keys; give the key's id (uuid) instead`);
  return keyView(rows[0]!);
}

/** What a key's revocation or expiry ended: the strategies paused, the approvals cancelled. */
export interface KeyRetirement {
  strategies: StrategyRow[];
  approvals: number;
}

/**
 * Pauses the key's active strategies and cancels its pending approvals, in `trx`, with an audit
 * row each; with `boss`, the paused strategies' tick jobs are cancelled in `trx` too.
 * @throws database errors (the caller's transaction then rolls back).
 */
async function retireKeyWork(trx: Transaction<Database>, boss: PgBoss | null, keyId: string, reason: PauseReason, actor: PauseActor, now: Date): Promise<KeyRetirement> {
  const strategies = await pauseStrategiesOfKey(trx, boss, keyId, reason, actor, now);
  const approvals = await cancelPendingApprovals(trx, { keyId }, reason, actor, now);
  return { strategies, approvals };
}

/**
 * Revokes one of the tenant's keys at once (its admin UI sessions end with it). In the same
 * database transaction, the key's active strategies are paused (`key_revoked`, next slot cleared,
 * their tick jobs cancelled when `opts.boss` is given) and its pending approvals cancelled, each
 * with an audit row (kind `api_write` with the actor's visible id, or `cli`). Revoking a revoked
 * key changes nothing and returns it as it is.
 * @param actor the key asking (REST), or `null` for the CLI.
 * @param opts.boss - pg-boss, to cancel the paused strategies' queued ticks (the server passes
 *   its own; the CLI has none, and such a job then finds its strategy paused and does nothing).
 * @param opts.audit - the REST call's audit scope: its `ok` row (response `{key}`) is committed
 *   in the revocation's transaction.
 * @throws {NotFoundError} `KEY_NOT_FOUND` | {@link ForbiddenError} `FORBIDDEN` (`rule: 'role'`)
 *   when `actor` may not manage keys of that role | {@link ValidationError} `id` (ambiguous).
 */
export async function revokeApiKey(db: Db, actor: Principal | null, tenantId: string, ref: string, opts: { boss?: PgBoss; audit?: AuditScope } = {}): Promise<ApiKeyView> {
  if (actor && actor.tenantId !== tenantId) throw new NotFoundError('KEY_NOT_FOUND', `no API key "${ref}" in this tenant`);
  const found = await findApiKey(db, tenantId, ref);
  if (actor) requireKeyManagement(actor.role, found.role, 'revoke');
  if (found.revoked_at) return found;
  const who: PauseActor = actor ? { kind: 'api_write', principal: actor.keyPrefix } : { kind: 'cli', principal: 'cli' };
  return db.transaction().execute(async (trx) => {
    const now = new Date();
    const res = await trx.updateTable('api_keys').set({ revoked_at: now }).where('id', '=', found.id).where('revoked_at', 'is', null).executeTakeFirst();
    // Revoked meanwhile by someone else, whose transaction ended its work.
    if (res.numUpdatedRows > 0n) {
      await trx.deleteFrom('admin_sessions').where('api_key_id', '=', found.id).execute();
      await retireKeyWork(trx, opts.boss ?? null, found.id, 'key_revoked', who, now);
    }
    const key = await findApiKey(trx, tenantId, found.id);
    await opts.audit?.commit(trx, { response: { key } });
    return key;
  });
}

/**
 * The worker's sweep: for every key that is revoked or past `expires_at` and still answers for
 * an active strategy or a pending approval, pauses those strategies (`key_expired`, or
 * `key_revoked`) and cancels those approvals, one transaction per key with the key row locked,
 * audited as `worker`. A revocation does this itself; the sweep catches expiries (and anything a
 * revocation outside {@link revokeApiKey} left behind). Ticks and decisions check the key
 * themselves, so the sweep's interval is no window.
 * @returns how many keys, strategies and approvals it retired.
 * @throws database errors (the worker logs them and sweeps again later).
 */
export async function retireInvalidKeys(ctx: Pick<CoreContext, 'db' | 'boss' | 'logger'>, now = new Date()): Promise<{ keys: number; strategies: number; approvals: number }> {
  const candidates = await ctx.db
    .selectFrom('api_keys as k')
    .select('k.id')
    .where((eb) => eb.or([eb('k.revoked_at', 'is not', null), eb('k.expires_at', '<=', now)]))
    .where((eb) =>
      eb.or([
        eb.exists(eb.selectFrom('strategies as s').select('s.id').whereRef('s.created_by_key_id', '=', 'k.id').where('s.status', '=', 'active').where('s.deleted_at', 'is', null)),
        eb.exists(eb.selectFrom('approvals as a').select('a.id').whereRef('a.requested_by_key_id', '=', 'k.id').where('a.status', '=', 'pending').where('a.expires_at', '>', now)),
      ]),
    )
    .execute();
  const total = { keys: 0, strategies: 0, approvals: 0 };
  for (const { id } of candidates) {
    const done = await ctx.db.transaction().execute(async (trx) => {
      // The key row lock orders this sweep with a concurrent revocation of the same key.
      const key = await trx.selectFrom('api_keys').select(['revoked_at', 'expires_at']).where('id', '=', id).forUpdate().executeTakeFirst();
      const reason = keyInvalidity(key, now);
      return reason ? retireKeyWork(trx, ctx.boss, id, reason, WORKER_ACTOR, now) : null;
    });
    if (!done) continue;
    total.keys++;
    total.strategies += done.strategies.length;
    total.approvals += done.approvals;
  }
  if (total.keys > 0) ctx.logger.info(total, 'strategies paused and approvals cancelled for revoked or expired keys');
  return total;
}
