/**
 * Tenants by name, as operator commands name them (`--tenant NAME`).
 */
import type { Db } from './db/connect.ts';
import { ValidationError } from './errors.ts';

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
