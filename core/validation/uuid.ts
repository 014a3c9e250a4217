/**
 * Ids are uuids in their canonical 8-4-4-4-12 form. Every id from outside (path parameters, tool
 * arguments, cursors, filters) is checked against it before a query casts it to `uuid`: a looser
 * check (36 characters of hex and dashes) let `------------------------------------` through to
 * Postgres, whose "invalid input syntax for type uuid" became a 500.
 */

/** A uuid: 32 hex digits in groups of 8-4-4-4-12, any case. */
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `value` is a uuid Postgres reads (see {@link UUID_RE}). */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_RE.test(value);
}
