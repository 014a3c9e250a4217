/**
 * Options shared by the `vaultpilot audit …` commands: a tenant named on the command line, and
 * ISO 8601 times.
 */
import type { Db } from '../../core/db/connect.ts';
import { ValidationError } from '../../core/errors.ts';
import { resolveTenant } from '../../core/tenants.ts';
import { UsageError } from '../command.ts';

/**
 * The id of the tenant named by `--tenant`; an unknown name is a usage error (nothing is created).
 * @throws {UsageError} naming the tenants that exist.
 */
export async function tenantIdOf(db: Db, name: string): Promise<string> {
  const id = await resolveTenant(db, name, false).catch((err: unknown) => {
    throw err instanceof ValidationError ? new UsageError(`--tenant: ${err.message.replace(/^tenant: /, '')}`) : err;
  });
  if (id === undefined) throw new UsageError(`--tenant: no tenant named "${name}"`);
  return id;
}

/** Tenant names by id, for reports. */
export async function tenantNames(db: Db): Promise<Map<string, string>> {
  const rows = await db.selectFrom('tenants').select(['id', 'name']).execute();
  return new Map(rows.map((r) => [r.id, r.name]));
}

/**
 * An ISO 8601 time option (`2025-01-31`, `2025-01-31T12:00:00Z`, `2025-01-31T12:00:00+02:00`).
 * A date alone is midnight UTC.
 * @throws {UsageError} when `value` is not such a time.
 */
export function timeOption(name: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const at = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/i.test(value) ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(at.getTime())) throw new UsageError(`--${name} must be an ISO 8601 time such as 2025-01-31 or 2025-01-31T12:00:00Z (got "${value}")`);
  return at;
}
