/**
 * Fernet (https://github.com/fernet/spec, Spec.md, version 0x80) on node:crypto, byte-compatible
 * with Python's `cryptography.fernet`, which is how AgentVault stores wallet keys. A token is
 *
 *     base64url( Version(0x80) ‖ Timestamp(u64 BE, seconds) ‖ IV(16) ‖ AES-128-CBC(PKCS7) ‖ HMAC(32) )
 *
 * where the HMAC is HMAC-SHA256 over everything before it under the key's first 16 bytes
 * (signing key) and the cipher uses the key's last 16 bytes (encryption key).
 *
 * Fernet has no associated data, so the {@link FernetKeyProvider} does not bind a token to its
 * tenant and wallet the way the KMS and Vault providers do: its plaintext stays the raw 32 key
 * bytes so tokens remain interchangeable with AgentVault's Python store in both directions.
 */

import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { KeyProviderError, PRIVATE_KEY_BYTES, assertPrivateKeyBytes } from './index.ts';
import type { KeyProvider, WrapContext, WrappedKey } from './index.ts';

const VERSION = 0x80;
const TIMESTAMP_BYTES = 8;
const IV_BYTES = 16;
const BLOCK_BYTES = 16;
const HMAC_BYTES = 32;
/** Version ‖ Timestamp ‖ IV. */
const HEADER_BYTES = 1 + TIMESTAMP_BYTES + IV_BYTES;
/** The shortest token: a header, one cipher block (PKCS7 always pads) and the HMAC. */
const MIN_TOKEN_BYTES = HEADER_BYTES + BLOCK_BYTES + HMAC_BYTES;
/** How far in the future a timestamp may be when a TTL is checked; Python's `_MAX_CLOCK_SKEW`. */
const MAX_CLOCK_SKEW_SECONDS = 60;

/** A decoded Fernet key: the halves and a non-secret fingerprint. */
interface FernetKey {
  signingKey: Buffer;
  encryptionKey: Buffer;
  /** First 16 hex chars of sha256 over the 32 key bytes. */
  ref: string;
}

/** A token split into its fields (Spec.md, "Token Format"); nothing verified yet but the layout. */
interface ParsedToken {
  /** Version ‖ Timestamp ‖ IV ‖ Ciphertext: the HMAC input. */
  signed: Buffer;
  timestamp: bigint;
  iv: Buffer;
  ciphertext: Buffer;
  hmac: Buffer;
}

// Keys: url-safe base64 as Fernet.generate_key() prints it. Python decodes keys leniently, so the
// standard alphabet ('+', '/') is accepted too; the 32 bytes are what matter.
const KEY_PATTERN = /^[A-Za-z0-9\-_+/]{43}=$/;
// Tokens: strictly url-safe base64 with padding, as Python emits them (invalid.json, b64 cases).
const TOKEN_PATTERN = /^[A-Za-z0-9\-_]+={0,2}$/;

function denied(message: string): KeyProviderError {
  return new KeyProviderError('KEY_PROVIDER_DENIED', `Fernet token rejected: ${message}`, 'fernet');
}

/**
 * Decodes and checks a Fernet key (Spec.md, "Key Format"). Surrounding whitespace is ignored, as a
 * trailing newline in an env file is a common slip that Python tolerates too.
 *
 * @param label names the key in errors ("Fernet key", "Fernet key #2"): never its value.
 * @throws {KeyProviderError} `KEY_PROVIDER_UNAVAILABLE` when it is not 32 bytes of base64.
 */
function parseKey(key: string, label = 'Fernet key'): FernetKey {
  if (typeof key !== 'string') {
    throw new KeyProviderError('KEY_PROVIDER_UNAVAILABLE', `${label} must be a string`);
  }
  const text = key.trim();
  if (!KEY_PATTERN.test(text)) {
    // The length helps spot a truncated or doubled key; the content is never echoed.
    throw new KeyProviderError(
      'KEY_PROVIDER_UNAVAILABLE',
      `${label} is malformed: expected 44 characters of url-safe base64 encoding 32 bytes ` +
        `(as Fernet.generate_key() prints), got ${text.length} characters`,
    );
  }
  const raw = Buffer.from(text.replace(/\+/g, '-').replace(/\//g, '_'), 'base64url');
  const ref = createHash('sha256').update(raw).digest('hex').slice(0, 16);
  const parsed = {
    signingKey: Buffer.from(raw.subarray(0, 16)),
    encryptionKey: Buffer.from(raw.subarray(16, 32)),
    ref,
  };
  raw.fill(0);
  return parsed;
}

/** Splits a token into its fields, rejecting bad base64, bad layout and unknown versions. */
function parseToken(token: string): ParsedToken {
  if (typeof token !== 'string' || token.length % 4 !== 0 || !TOKEN_PATTERN.test(token)) {
    throw denied('not url-safe base64 with padding');
  }
  const data = Buffer.from(token, 'base64url');
  // Spec.md, "Verifying" step 2: only version 0x80 exists.
  if (data[0] !== VERSION) throw denied('unknown version byte (expected 0x80)');
  if (data.length < MIN_TOKEN_BYTES || (data.length - HEADER_BYTES - HMAC_BYTES) % BLOCK_BYTES !== 0) {
    throw denied('wrong length (truncated, or ciphertext not a whole number of AES blocks)');
  }
  const hmacStart = data.length - HMAC_BYTES;
  return {
    signed: data.subarray(0, hmacStart),
    timestamp: data.readBigUInt64BE(1),
    iv: data.subarray(1 + TIMESTAMP_BYTES, HEADER_BYTES),
    ciphertext: data.subarray(HEADER_BYTES, hmacStart),
    hmac: data.subarray(hmacStart),
  };
}

/** Spec.md, "Verifying" step 3, with Python's clock-skew rule: both apply only when a TTL is set. */
function checkAge(parsed: ParsedToken, ttlSeconds: number | undefined, now: Date | undefined): void {
  if (ttlSeconds === undefined) return;
  if (!Number.isFinite(ttlSeconds) || ttlSeconds < 0) {
    throw new RangeError('ttlSeconds must be a non-negative finite number of seconds');
  }
  const current = BigInt(unixSeconds(now ?? new Date()));
  if (parsed.timestamp + BigInt(Math.floor(ttlSeconds)) < current) {
    throw denied(`expired (older than ${ttlSeconds} s)`);
  }
  if (current + BigInt(MAX_CLOCK_SKEW_SECONDS) < parsed.timestamp) {
    throw denied(`timestamp more than ${MAX_CLOCK_SKEW_SECONDS} s in the future`);
  }
}

/** Spec.md, "Verifying" steps 4-5: recompute the HMAC and compare in constant time. */
function hmacMatches(key: FernetKey, parsed: ParsedToken): boolean {
  const expected = createHmac('sha256', key.signingKey).update(parsed.signed).digest();
  return timingSafeEqual(expected, parsed.hmac);
}

/** Spec.md, "Verifying" steps 6-7; call only after the HMAC matched. Returns a plain Uint8Array. */
function decryptVerified(key: FernetKey, parsed: ParsedToken): Uint8Array {
  const decipher = createDecipheriv('aes-128-cbc', key.encryptionKey, parsed.iv);
  let padded: Buffer;
  try {
    padded = Buffer.concat([decipher.update(parsed.ciphertext), decipher.final()]);
  } catch {
    // OpenSSL checks the PKCS7 padding in final(); the message carries nothing of the plaintext.
    throw denied('bad padding after decryption');
  }
  const out = new Uint8Array(padded);
  padded.fill(0);
  return out;
}

function unixSeconds(date: Date): number {
  const ms = date.getTime();
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError('now must be a valid Date after 1970-01-01');
  return Math.floor(ms / 1000);
}

/** Encrypts under an already parsed key (Spec.md, "Generating"). */
function encryptWith(key: FernetKey, plaintext: Uint8Array, now: Date, iv: Uint8Array): string {
  if (iv.length !== IV_BYTES) throw new RangeError(`iv must be ${IV_BYTES} bytes`);
  const header = Buffer.alloc(HEADER_BYTES);
  header[0] = VERSION;
  header.writeBigUInt64BE(BigInt(unixSeconds(now)), 1);
  header.set(iv, 1 + TIMESTAMP_BYTES);
  // node's default auto-padding is PKCS7, which is what RFC 5652 section 6.3 describes.
  const cipher = createCipheriv('aes-128-cbc', key.encryptionKey, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const signed = Buffer.concat([header, ciphertext]);
  const hmac = createHmac('sha256', key.signingKey).update(signed).digest();
  // Buffer's 'base64url' drops the padding Python keeps; 'base64' plus a translation keeps it.
  return Buffer.concat([signed, hmac]).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

/**
 * Makes a Fernet token (Spec.md, "Generating").
 *
 * @param key a Fernet key: 32 bytes as url-safe base64, 44 characters ending in "=".
 * @param plaintext the message, any length in bytes.
 * @param options `now` is the timestamp recorded in the token (default: the current time; whole
 *   seconds are kept); `iv` is the 16-byte IV (default: random). Both exist for the spec's test
 *   vectors: a fixed IV in production would break the spec's uniqueness requirement.
 * @returns the token, url-safe base64 with padding, as Python's `Fernet.encrypt` returns it.
 * @throws {KeyProviderError} `KEY_PROVIDER_UNAVAILABLE` when the key is malformed.
 * @throws {RangeError} when `iv` is not 16 bytes or `now` is not a valid Date after 1970.
 */
export function fernetEncrypt(
  key: string,
  plaintext: Uint8Array,
  options: { now?: Date; iv?: Uint8Array } = {},
): string {
  return encryptWith(parseKey(key), plaintext, options.now ?? new Date(), options.iv ?? randomBytes(IV_BYTES));
}

/**
 * Verifies a Fernet token and returns its message (Spec.md, "Verifying"), like Python's
 * `Fernet.decrypt(token, ttl)`.
 *
 * @param key a Fernet key: 32 bytes as url-safe base64, 44 characters ending in "=".
 * @param token the token as Python emits it: url-safe base64 with padding.
 * @param options `ttlSeconds`, when set, is the maximum age in seconds; a token older than that,
 *   or stamped more than 60 s after `now`, is rejected (Python's rule). Without it the timestamp is
 *   not checked. `now` defaults to the current time.
 * @returns the message bytes.
 * @throws {KeyProviderError} `KEY_PROVIDER_DENIED` when the token is not url-safe base64, has the
 *   wrong version or length, is expired, fails the HMAC (wrong key or altered; compared in
 *   constant time), or has bad padding; `KEY_PROVIDER_UNAVAILABLE` when the key is malformed.
 * @throws {RangeError} when `ttlSeconds` is negative or `now` is invalid.
 */
export function fernetDecrypt(
  key: string,
  token: string,
  options: { ttlSeconds?: number; now?: Date } = {},
): Uint8Array {
  const parsedKey = parseKey(key);
  const parsed = parseToken(token);
  checkAge(parsed, options.ttlSeconds, options.now);
  if (!hmacMatches(parsedKey, parsed)) throw denied('HMAC does not match (wrong key, or the token was altered)');
  return decryptVerified(parsedKey, parsed);
}

/**
 * Makes a new random Fernet key (Spec.md, "Key Format"), like Python's `Fernet.generate_key()`.
 *
 * @returns 32 random bytes as url-safe base64 with padding: 44 characters ending in "=".
 */
export function generateFernetKey(): string {
  return `${randomBytes(32).toString('base64url')}=`;
}

/**
 * The Fernet {@link KeyProvider}, with the semantics of Python's `MultiFernet`: the first key wraps,
 * every key is tried to unwrap, so keys rotate by putting the new one first and rewrapping.
 *
 * - `keyRef` is the wrapping key's fingerprint (first 16 hex chars of sha256 over its 32 bytes),
 *   never the key; `keyVersion` is always `'1'` (a Fernet key has no versions of its own).
 * - The token's plaintext is the raw 32 private-key bytes, exactly what AgentVault encrypts, so
 *   tokens move between the two stores unchanged.
 * - The `context` is NOT bound into the token (Fernet has no associated data): `unwrap` verifies the
 *   token only. Binding a token to its tenant and wallet is what the KMS and Vault providers add.
 * - No TTL is applied on unwrap: a wrapped wallet key is meant to stay valid for years.
 */
export class FernetKeyProvider implements KeyProvider {
  readonly name = 'fernet' as const;
  readonly #keys: FernetKey[];

  /**
   * @param keys one or more Fernet keys, newest first (44-character url-safe base64 each).
   * @throws {KeyProviderError} `KEY_PROVIDER_UNAVAILABLE` when the list is empty or a key is
   *   malformed; the message gives the key's position (#1 is the first), never its value.
   */
  constructor(keys: readonly string[]) {
    if (!Array.isArray(keys) || keys.length === 0) {
      throw new KeyProviderError(
        'KEY_PROVIDER_UNAVAILABLE',
        'no Fernet key configured: set FERNET_KEY to a key from generateFernetKey() or Python\'s Fernet.generate_key()',
      );
    }
    this.#keys = keys.map((key, i) => parseKey(key, keys.length === 1 ? 'Fernet key' : `Fernet key #${i + 1}`));
  }

  /** Fingerprints of the configured keys, in order; the first is the one that wraps. */
  get keyRefs(): string[] {
    return this.#keys.map((key) => key.ref);
  }

  /**
   * Wraps a private key into a Fernet token under the first key.
   *
   * @param plaintext the 32-byte secp256k1 private key.
   * @param _context not bound into the token (see the class comment).
   * @returns `{ provider: 'fernet', keyRef, keyVersion: '1', ciphertext: token }`.
   * @throws {KeyProviderError} `KEY_PROVIDER_DENIED` when `plaintext` is not 32 bytes.
   */
  async wrap(plaintext: Uint8Array, _context: WrapContext): Promise<WrappedKey> {
    assertPrivateKeyBytes(plaintext, 'fernet');
    const key = this.#keys[0]!;
    return {
      provider: 'fernet',
      keyRef: key.ref,
      keyVersion: '1',
      ciphertext: encryptWith(key, plaintext, new Date(), randomBytes(IV_BYTES)),
    };
  }

  /**
   * Verifies and decrypts a wrapped key, trying the key named by `keyRef` first and then the others
   * (`keyRef` only orders the attempts: rows imported from AgentVault may carry any reference).
   *
   * @param wrapped a {@link WrappedKey} whose `ciphertext` is a Fernet token.
   * @param _context not checked (see the class comment).
   * @returns the 32-byte private key; the caller should zero it after signing.
   * @throws {KeyProviderError} `KEY_PROVIDER_DENIED` when the provider is not `'fernet'`, the token
   *   is malformed, no configured key's HMAC matches, or the message is not 32 bytes.
   */
  async unwrap(wrapped: WrappedKey, _context: WrapContext): Promise<Uint8Array> {
    if (wrapped.provider !== 'fernet') {
      throw new KeyProviderError(
        'KEY_PROVIDER_DENIED',
        `this key was wrapped by the "${String(wrapped.provider)}" provider, not "fernet"`,
      );
    }
    const parsed = parseToken(wrapped.ciphertext);
    const ordered = [...this.#keys].sort((a, b) => Number(b.ref === wrapped.keyRef) - Number(a.ref === wrapped.keyRef));
    const key = ordered.find((candidate) => hmacMatches(candidate, parsed));
    if (key === undefined) {
      throw denied(
        `HMAC matches none of the ${this.#keys.length} configured Fernet key(s) ` +
          `(wrapped under keyRef ${wrapped.keyRef}; the key is missing or the token was altered)`,
      );
    }
    const plaintext = decryptVerified(key, parsed);
    if (plaintext.length !== PRIVATE_KEY_BYTES) {
      plaintext.fill(0);
      throw denied(`the message is not a ${PRIVATE_KEY_BYTES}-byte private key`);
    }
    return plaintext;
  }

  /** The wrapping key: its fingerprint, version `'1'`. */
  async current(): Promise<{ keyRef: string; keyVersion: string }> {
    return { keyRef: this.#keys[0]!.ref, keyVersion: '1' };
  }

  /** Nothing to release: the keys live in this object. */
  close(): void {}

  /**
   * Fernet is local, so "reachable" means the crypto works: wraps and unwraps a random key.
   *
   * @returns `{ ok, detail }`; `detail` names the key count and the wrapping key's fingerprint.
   */
  async health(): Promise<{ ok: boolean; detail: string }> {
    const probe = new Uint8Array(randomBytes(PRIVATE_KEY_BYTES));
    const context = { tenantId: 'health', address: '0x0000000000000000000000000000000000000000' };
    try {
      const back = await this.unwrap(await this.wrap(probe, context), context);
      const ok = Buffer.compare(back, probe) === 0;
      back.fill(0);
      probe.fill(0);
      return {
        ok,
        detail: ok
          ? `fernet: ${this.#keys.length} key(s), wrapping with keyRef ${this.#keys[0]!.ref}`
          : 'fernet: self-test round trip returned different bytes',
      };
    } catch (err) {
      return { ok: false, detail: `fernet: self-test failed: ${err instanceof Error ? err.message : 'unknown error'}` };
    }
  }
}
