/**
 * Refuses a REST request whose path or query string decodes to text Postgres cannot store (a NUL,
 * an unpaired surrogate, or percent-encoding that is not UTF-8), before any route reads a
 * parameter: `400 INVALID_INPUT` naming `path` or the query parameter. Bodies are checked where
 * they are parsed (server/api/errors.ts `parseBody`, core/validation/schema.ts).
 */
import type { MiddlewareHandler } from 'hono';
import { ValidationError } from '../../../core/errors.ts';
import { assertStorable } from '../../../core/validation/storable.ts';

/** Decodes a path segment as the router will (`%00` → NUL), or `undefined` when it is not UTF-8. */
function decoded(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * The middleware (mounted on `/api`).
 * @throws {ValidationError} `INVALID_INPUT` naming `path` or the query parameter.
 */
export function storableInput(): MiddlewareHandler {
  return async (c, next) => {
    const raw = new URL(c.req.url).pathname;
    for (const segment of raw.split('/')) {
      const text = decoded(segment);
      if (text === undefined) throw new ValidationError('path', 'is not valid percent-encoded UTF-8');
      assertStorable(text, 'path');
    }
    const query = new URL(c.req.url).searchParams;
    for (const [name, value] of query) {
      assertStorable(name, 'query');
      assertStorable(value, name);
    }
    await next();
  };
}
