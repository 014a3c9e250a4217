/**
 * Tenants by name, as operator commands name them (`--tenant NAME`): look one up, create one
 * (`vaultpilot tenants create`), list them (`vaultpilot tenants list`).
 */
import type { Db } from './db/connect.ts';
import { ConflictError, ValidationError } from './errors.ts';

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
 * Creates a tenant. It has no key yet: make its first one with `vaultpilot keys create`.
 * @throws {ValidationError} `name` when it breaks the naming rule | {@link ConflictError}
 *   `TENANT_EXISTS` when the name is taken.
 */
export async function createTenant(db: Db, name: unknown): Promise<TenantView> {
  if (typeof name !== 'string' || !TENANT_NAME_RE.test(name)) {
    throw new ValidationError('name', 'must be 1-64 letters, digits and _ . -, starting with a letter or digit');
  }
  const row = await db.insertInto('tenants').values({ name }).onConflict((oc) => oc.column('name').doNothing()).returningAll().executeTakeFirst();
  if (!row) throw new ConflictError('TENANT_EXISTS', `a tenant named "${name}" already exists`);
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
