/**
 * Tenants by name, as operator commands name them (`--tenant NAME`): look one up, create one
 * (`vaultpilot tenants create`, or with its first owner key over REST: `POST /api/tenants`), list
 * them (`vaultpilot tenants list`, `GET /api/tenants`).
 *
 * Tenants are the host operator's to manage: over REST that is an owner key of the default
 * tenant ({@link requireHostOperator}); the CLI, which runs on the host, acts for the operator.
 */
import type { AuditScope } from './audit/scope.ts';
import type { Db } from './db/connect.ts';
import { DEFAULT_TENANT, type Principal } from './auth/api-keys.ts';
import { createApiKey, parseCreateApiKey, type ApiKeyView } from './auth/keys.ts';
import { can, requireAction } from './auth/roles.ts';
import { ConflictError, ForbiddenError, ValidationError } from './errors.ts';

/**
 * Finds a tenant by name. The default tenant is created when missing (as the server does at its
 * first start); any other name must exist, so a typo never creates a tenant no key can reach.
 * @param create whether the default tenant may be created (false in a dry run).
 * @returns the tenant id, or `undefined` for a default tenant that does not exist yet and may not be created.
 * @throws {ValidationError} `INVALID_INPUT` (field `tenant`) for an unknown non-default tenant.
 */
export async function resolveTenant(db: Db, name: string, create: boolean): Promise<string | undefined> {
  const found = await db.selectFrom('tenants').select('id').where('name', '=', name).executeTakeFirst();
  if (found) return found.id;
  if (name !== 'default') {
    const known = await db.selectFrom('tenants').select('name').orderBy('name').limit(20).execute();
    throw new ValidationError('tenant', `no tenant named "${name}" (known: ${known.map((t) => t.name).join(', ') || 'none'})`);
  }
  if (!create) return undefined;
  await db.insertInto('tenants').values({ name }).onConflict((oc) => oc.column('name').doNothing()).execute();
  return (await db.selectFrom('tenants').select('id').where('name', '=', name).executeTakeFirstOrThrow()).id;
}

/** Tenant names: what `--tenant NAME` takes (1-64 letters, digits and _ . -, starting with a letter or digit). */
const TENANT_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** A tenant as the CLI lists it. */
export interface TenantView {
  id: string;
  name: string;
  created_at: string;
  /** Keys not revoked (expired ones included). */
  keys: number;
  wallets: number;
}

/**
 * Checks a new tenant's name against the naming rule.
 * @throws {ValidationError} `INVALID_INPUT` naming `name`.
 */
function parseTenantName(name: unknown): string {
  if (typeof name !== 'string' || !TENANT_NAME_RE.test(name)) {
    throw new ValidationError('name', name === undefined ? 'is required' : 'must be 1-64 letters, digits and _ . -, starting with a letter or digit');
  }
  return name;
}

/**
 * Creates a tenant. It has no key yet: make its first one with `vaultpilot keys create`, or use
 * {@link createTenantWithOwner}. Pass a transaction as `db` to create it inside one.
 * @throws {ValidationError} `name` when it breaks the naming rule | {@link ConflictError}
 *   `TENANT_EXISTS` when the name is taken.
 */
export async function createTenant(db: Db, name: unknown): Promise<TenantView> {
  const tenantName = parseTenantName(name);
  const row = await db.insertInto('tenants').values({ name: tenantName }).onConflict((oc) => oc.column('name').doNothing()).returningAll().executeTakeFirst();
  if (!row) throw new ConflictError('TENANT_EXISTS', `a tenant named "${tenantName}" already exists`);
  return { id: row.id, name: row.name, created_at: row.created_at.toISOString(), keys: 0, wallets: 0 };
}

/** Every tenant, by name, with how many live keys and wallets each holds. */
export async function listTenants(db: Db): Promise<TenantView[]> {
  const rows = await db
    .selectFrom('tenants as t')
    .select(['t.id', 't.name', 't.created_at'])
    .select((eb) => [
      eb.selectFrom('api_keys as k').select(eb.fn.countAll<string>().as('n')).whereRef('k.tenant_id', '=', 't.id').where('k.revoked_at', 'is', null).as('keys'),
      eb.selectFrom('wallets as w').select(eb.fn.countAll<string>().as('n')).whereRef('w.tenant_id', '=', 't.id').as('wallets'),
    ])
    .orderBy('t.name')
    .execute();
  return rows.map((r) => ({ id: r.id, name: r.name, created_at: r.created_at.toISOString(), keys: Number(r.keys ?? 0), wallets: Number(r.wallets ?? 0) }));
}

/**
 * Whether `principal` is the host operator: an owner key of the default tenant
 * ({@link DEFAULT_TENANT}, the tenant of the bootstrap admin key). Only such keys take the host
 * actions of core/auth/roles.ts (`tenants.manage`).
 */
export async function isHostOperator(db: Db, principal: Principal): Promise<boolean> {
  if (!can(principal.role, 'tenants.manage')) return false;
  const tenant = await db.selectFrom('tenants').select('name').where('id', '=', principal.tenantId).executeTakeFirst();
  return tenant?.name === DEFAULT_TENANT;
}

/**
 * Requires that `principal` is the host operator ({@link isHostOperator}): the check every
 * surface that manages tenants makes (REST `/api/tenants`, and {@link createTenantWithOwner}).
 * @throws {ForbiddenError} `FORBIDDEN` with `details: { rule: 'role', role, action: 'tenants.manage' }`
 *   for a role other than owner, or an owner key of any tenant but the default one.
 */
export async function requireHostOperator(db: Db, principal: Principal): Promise<void> {
  requireAction(principal.role, 'tenants.manage');
  if (!(await isHostOperator(db, principal))) {
    throw new ForbiddenError(`only owner keys of the "${DEFAULT_TENANT}" tenant (the host operator) may manage tenants`, {
      rule: 'role',
      role: principal.role,
      action: 'tenants.manage',
    });
  }
}

/** What {@link createTenantWithOwner} takes (REST field names in the comments). */
export interface CreateTenantWithOwnerInput {
  /** `name`: the tenant's name (see {@link createTenant}). */
  name: unknown;
  /** `owner_key_name`: the first key's name; absent: `owner`. */
  ownerKeyName?: unknown;
  /** `owner_key_expires_at`: ISO 8601 with a time zone, in the future; absent: never expires. */
  ownerKeyExpiresAt?: unknown;
}

/**
 * Creates a tenant and its first owner key in one database transaction: either both exist
 * afterwards or neither does. The key is unscoped and its `created_by` is `null`, as for keys the
 * CLI makes (the creator belongs to another tenant, whose key ids the new tenant never sees; the
 * caller's audit row records who did it).
 * @param actor the key asking (REST), checked with {@link requireHostOperator}; `null` for the CLI.
 * @returns the tenant (with its one key counted), the key's view and the plaintext key, which is
 *   shown once and never stored.
 * @throws {ValidationError} `INVALID_INPUT` naming `name`, `owner_key_name` or
 *   `owner_key_expires_at` | {@link ConflictError} `TENANT_EXISTS` | {@link ForbiddenError}
 *   `FORBIDDEN` (`rule: 'role'`) — nothing is written in any of these cases.
 */
export async function createTenantWithOwner(
  db: Db,
  actor: Principal | null,
  input: CreateTenantWithOwnerInput,
  audit?: AuditScope,
): Promise<{ tenant: TenantView; key: ApiKeyView; apiKey: string }> {
  if (actor) await requireHostOperator(db, actor);
  const name = parseTenantName(input.name);
  const keyInput = { name: input.ownerKeyName === undefined ? 'owner' : input.ownerKeyName, role: 'owner', expiresAt: input.ownerKeyExpiresAt };
  try {
    parseCreateApiKey(keyInput);
  } catch (err) {
    // The key's fields have the request's names: `owner_key_name`, `owner_key_expires_at`.
    if (err instanceof ValidationError) throw new ValidationError(`owner_key_${err.field}`, err.message.slice(err.field.length + 2));
    throw err;
  }
  return db.transaction().execute(async (trx) => {
    const tenant = await createTenant(trx, name);
    const created = await createApiKey(trx, null, { tenantId: tenant.id, ...keyInput });
    const out = { tenant: { ...tenant, keys: 1 }, key: created.key, apiKey: created.apiKey };
    // `api_key` is a secret field name: the audit row keeps "[redacted]".
    await audit?.commit(trx, { response: { tenant: out.tenant, key: out.key, api_key: out.apiKey } });
    return out;
  });
}
