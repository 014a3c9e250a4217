/**
 * Input that Postgres cannot store is refused before anything acts on it. Postgres `text` and
 * `jsonb` reject the NUL character (U+0000), and a lone UTF-16 surrogate (U+D800–U+DFFF without
 * its pair) is not Unicode at all: pg would store it as U+FFFD, or `jsonb` refuse its `\ud800`
 * escape. Either way an audit row could not record the call faithfully, so every string argument
 * of every tool and route (object keys included) is checked here, at validation, and the call is
 * refused with `INVALID_INPUT` naming the field. Nesting is bounded too: deeper JSON than any
 * operation takes is refused instead of walked (and later redacted and serialised) recursively.
 */
import { ValidationError } from '../errors.ts';

/** Deepest nesting of objects and arrays an input may have (EIP-712 typed data needs a handful). */
export const MAX_INPUT_DEPTH = 32;

/** Whether `text` holds a character Postgres cannot store (see the module comment). */
export function isUnstorable(text: string): boolean {
  // `String.prototype.isWellFormed` (ES2024) finds unpaired surrogates natively.
  return text.includes('\u0000') || !text.isWellFormed();
}

/** `field` and `key` joined as a path: `items[2].to_address`, `domain["bad key"]`. */
function child(field: string, key: string | number): string {
  if (typeof key === 'number') return `${field}[${key}]`;
  const safe = /^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key.replace(/[\u0000\ud800-\udfff]/g, '\ufffd'));
  if (field === '') return safe.startsWith('"') ? `[${safe}]` : safe;
  return safe.startsWith('"') ? `${field}[${safe}]` : `${field}.${safe}`;
}

/**
 * Requires that `value` (parsed JSON: an argument object, a body, query values) holds only
 * strings Postgres can store, in keys and values, nested at most {@link MAX_INPUT_DEPTH} deep.
 * Walks with an explicit stack, so no input can exhaust the call stack.
 *
 * @param field - the path of `value` in error messages; `''` for a top-level argument object,
 *   whose keys are then the field names (`reason`, `items[0].to_address`).
 * @throws {ValidationError} `INVALID_INPUT` naming the first offending field: "contains a NUL
 *   character or an unpaired UTF-16 surrogate, which cannot be stored" or "is nested deeper than
 *   32 levels". The offending value is never echoed.
 */
export function assertStorable(value: unknown, field = ''): void {
  const stack: Array<{ value: unknown; field: string; depth: number }> = [{ value, field, depth: 0 }];
  while (stack.length > 0) {
    const top = stack.pop()!;
    const v = top.value;
    const name = top.field === '' ? 'input' : top.field;
    if (typeof v === 'string') {
      if (isUnstorable(v)) throw new ValidationError(name, 'contains a NUL character or an unpaired UTF-16 surrogate, which cannot be stored; send valid Unicode text');
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (top.depth >= MAX_INPUT_DEPTH) throw new ValidationError(name, `is nested deeper than ${MAX_INPUT_DEPTH} levels`);
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i -= 1) stack.push({ value: v[i], field: child(top.field, i), depth: top.depth + 1 });
      continue;
    }
    const entries = Object.entries(v);
    for (let i = entries.length - 1; i >= 0; i -= 1) {
      const [k, inner] = entries[i]!;
      const path = child(top.field, k);
      if (isUnstorable(k)) throw new ValidationError(path, 'has a field name with a NUL character or an unpaired UTF-16 surrogate, which cannot be stored');
      stack.push({ value: inner, field: path, depth: top.depth + 1 });
    }
  }
}
