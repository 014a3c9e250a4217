/**
 * REST error shape `{"error":{"code","message","details"}}` with the error's HTTP status, and
 * query-string and JSON-body validation that names the parameter or field and the rule.
 */
import type { Context } from 'hono';
import type { AppEnv } from '../env.ts';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { ValidationError, toVaultPilotError } from '../../core/errors.ts';
import { parseInput } from '../../core/validation/schema.ts';
import { UUID_RE } from '../../core/validation/uuid.ts';
import type { Logger } from '../../core/logger.ts';

/**
 * Turns any thrown error into the REST error response (unexpected ones are logged, not shown).
 * An error whose details carry `retry_after_seconds` (`BUSY`, `TOO_MANY_SESSIONS`) also sets
 * `Retry-After` (RFC 9110 §10.2.3), which HTTP clients and proxies honour without reading the body.
 */
export function errorResponse(c: Context, err: unknown, logger: Logger): Response {
  const e = toVaultPilotError(err);
  if (e.code === 'INTERNAL') logger.error({ err, requestId: c.get('requestId') }, 'request failed');
  const retryAfter = e.details?.retry_after_seconds;
  if (typeof retryAfter === 'number' && Number.isFinite(retryAfter)) c.header('Retry-After', String(Math.max(0, Math.ceil(retryAfter))));
  return c.json({ error: { code: e.code, message: e.message, details: e.details ?? null } }, e.status as ContentfulStatusCode);
}

/**
 * Validates query parameters with a zod object schema.
 * @throws {ValidationError} naming the first bad parameter and its rule.
 */
export function parseQuery<T extends z.ZodType>(c: Context, schema: T): z.infer<T> {
  return parseInput(schema, c.req.query(), 'query');
}

/**
 * Reads a JSON object body and checks it against `schema`.
 * @throws {ValidationError} `INVALID_INPUT` naming the first bad field (or `body` when it is not a
 *   JSON object). Values are never echoed.
 */
export async function parseBody<T extends z.ZodType>(c: Context<AppEnv>, schema: T): Promise<z.infer<T>> {
  const body: unknown = await c.req.json().catch(() => undefined);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ValidationError('body', 'must be a JSON object (Content-Type: application/json)');
  return parseInput(schema, body, 'body');
}

/** `limit` query parameter: 1-200, default 50. */
export const limitParam = z.coerce.number({ message: 'must be an integer from 1 to 200' }).int('must be an integer from 1 to 200').min(1, 'must be at least 1').max(200, 'must be at most 200').default(50);
export const uuidParam = z.string().regex(UUID_RE, 'must be an id (uuid)');

/**
 * Like {@link parseBody} for routes whose body may be left out: an empty body reads as `{}`.
 * @throws {ValidationError} as {@link parseBody} does for a body that is given.
 */
export async function parseOptionalBody<T extends z.ZodType>(c: Context<AppEnv>, schema: T): Promise<z.infer<T>> {
  const text = await c.req.text().catch(() => '');
  if (text.trim() === '') {
    const result = schema.safeParse({});
    if (result.success) return result.data;
  }
  return parseBody(c, schema);
}
