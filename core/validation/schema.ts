/**
 * Validation of call arguments and request bodies against their zod schemas, with the coded error
 * every surface answers: `INVALID_INPUT` naming the field (as a path, `items[0].to_address`) and
 * the rule it breaks, never echoing the value. Strings Postgres cannot store and overly deep
 * input are refused first (storable.ts), so no schema ever sees them.
 */
import type { z } from 'zod';
import { ValidationError } from '../errors.ts';
import { assertStorable } from './storable.ts';

/** A zod issue path as a field name: `["items", 0, "to_address"]` → `items[0].to_address`. */
export function fieldOf(path: ReadonlyArray<PropertyKey>, fallback: string): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? fallback : out;
}

/** The value at `path` in `input`, or undefined when any step is missing. */
function valueAt(input: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v: unknown = input;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/**
 * The coded error of a zod failure: the first issue's field and rule; a field that is absent
 * reads "is required", an unknown field (strict objects) "is not a field of this request".
 */
export function validationErrorOf(error: z.ZodError, input: unknown, fallback = 'input'): ValidationError {
  const issue = error.issues[0]!;
  if (issue.code === 'unrecognized_keys') return new ValidationError(fieldOf([...issue.path, issue.keys[0]!], fallback), 'is not a field of this request');
  const field = fieldOf(issue.path, fallback);
  if (issue.path.length > 0 && valueAt(input, issue.path) === undefined) return new ValidationError(field, 'is required');
  return new ValidationError(field, issue.message);
}

/**
 * Checks `input` (already parsed JSON) against `schema`, after {@link assertStorable}.
 * @param fallback - the name used when the whole input is wrong (`body`, `arguments`).
 * @returns the parsed value (defaults applied, unknown keys stripped unless the schema is strict).
 * @throws {ValidationError} `INVALID_INPUT` naming the first bad field.
 */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown, fallback = 'input'): z.infer<T> {
  assertStorable(input);
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw validationErrorOf(result.error, input, fallback);
}
