/**
 * REST error shape `{"error":{"code","message","details"}}` with the error's HTTP status, and
 * query-string validation that names the parameter and the rule.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { ValidationError, toVaultPilotError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';

/** Turns any thrown error into the REST error response (unexpected ones are logged, not shown). */
export function errorResponse(c: Context, err: unknown, logger: Logger): Response {
  const e = toVaultPilotError(err);
  if (e.code === 'INTERNAL') logger.error({ err, requestId: c.get('requestId') }, 'request failed');
  return c.json({ error: { code: e.code, message: e.message, details: e.details ?? null } }, e.status as ContentfulStatusCode);
}

/**
 * Validates query parameters with a zod object schema.
 * @throws {ValidationError} naming the first bad parameter and its rule.
 */
export function parseQuery<T extends z.ZodType>(c: Context, schema: T): z.infer<T> {
  const result = schema.safeParse(c.req.query());
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ValidationError(String(issue.path[0] ?? 'query'), issue.message);
  }
  return result.data;
}

/** `limit` query parameter: 1-200, default 50. */
export const limitParam = z.coerce.number({ message: 'must be an integer from 1 to 200' }).int('must be an integer from 1 to 200').min(1, 'must be at least 1').max(200, 'must be at most 200').default(50);
export const uuidParam = z.string().regex(/^[0-9a-f-]{36}$/i, 'must be an id (uuid)');
