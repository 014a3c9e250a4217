/**
 * Signed payloads out of text. A signed raw transaction is as good as a broadcast: whoever holds
 * it can put it on chain, and ethers quotes request payloads (`eth_sendRawTransaction` params)
 * and transactions in its error messages. So every message that can reach an error, an API
 * response, a stored transaction error or a log line passes through {@link scrubSignedPayloads},
 * which cuts any hex blob longer than a hash or a signature. Hashes (32 bytes), addresses and
 * 65-byte signatures stay readable.
 */

/** Hex longer than this many digits is cut: above a 65-byte signature (130), below a signed transfer (~230). */
const MAX_HEX_DIGITS = 160;
const LONG_HEX = new RegExp(`0x[0-9a-fA-F]{${MAX_HEX_DIGITS + 1},}`, 'g');

/** `text` with every hex blob longer than 160 digits replaced by `0x…[N hex digits removed]`. */
export function scrubSignedPayloads(text: string): string {
  return text.replace(LONG_HEX, (m) => `0x…[${m.length - 2} hex digits removed]`);
}

/**
 * A deep copy of `value` with {@link scrubSignedPayloads} applied to every string (for logged
 * error objects, whose nested fields ethers fills with payloads). Nesting past 8 levels is cut.
 */
export function scrubDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubSignedPayloads(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= 8) return '[nested too deep]';
  if (Array.isArray(value)) return value.map((v) => scrubDeep(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubDeep(v, depth + 1);
  return out;
}
