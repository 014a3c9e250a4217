/**
 * Keyset pagination on `(created_at, id)`, newest first. The cursor is opaque to clients
 * (base64url JSON of the last row's key); `created_at` columns keep millisecond precision so the
 * key survives the trip through a JS `Date`.
 */
import { sql, type RawBuilder } from 'kysely';
import { ValidationError } from '../errors.ts';
import { isUuid } from '../validation/uuid.ts';

/** Encodes the `(created_at, id)` key of the last row of a page. */
export function encodeCursor(at: Date, id: string): string {
  return Buffer.from(JSON.stringify([at.toISOString(), id])).toString('base64url');
}

/**
 * The time of a cursor as {@link encodeCursor} writes it (`toISOString` of a row's time: a
 * four-digit year). Other dates JavaScript reads, such as years before 4713 BC, are out of
 * Postgres's timestamp range: the query failed with a 500 (fuzz test).
 */
const CURSOR_TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * Decodes a cursor made by {@link encodeCursor}.
 * @throws {ValidationError} `cursor` when it is not one of ours.
 */
export function decodeCursor(cursor: string): [Date, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && typeof v[0] === 'string' && typeof v[1] === 'string' && CURSOR_TIME_RE.test(v[0]) && !Number.isNaN(Date.parse(v[0])) && isUuid(v[1])) {
      return [new Date(v[0]), v[1]];
    }
  } catch {
    // fall through
  }
  throw new ValidationError('cursor', 'is not a cursor returned by this API');
}

/**
 * The SQL condition "strictly after `cursor` in newest-first order": a row comparison
 * `(created_at, id) < (cursor's created_at, cursor's id)`.
 * @param createdAt - column reference, e.g. `t.created_at`.
 * @param id - column reference, e.g. `t.id`.
 */
export function olderThan(createdAt: string, id: string, cursor: string): RawBuilder<boolean> {
  const [at, lastId] = decodeCursor(cursor);
  return sql<boolean>`(${sql.ref(createdAt)}, ${sql.ref(id)}) < (${at}, ${lastId}::uuid)`;
}

/** Cuts `limit + 1` fetched rows to a page and its `next_cursor` (null on the last page). */
export function toPage<T extends { created_at: Date; id: string }>(rows: T[], limit: number): { page: T[]; next_cursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { page, next_cursor: rows.length > limit && last ? encodeCursor(last.created_at, last.id) : null };
}
