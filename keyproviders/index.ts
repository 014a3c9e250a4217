/**
 * Key providers wrap a wallet's 32-byte private key for storage at rest and unwrap it for one
 * signing call. `core/` codes against {@link KeyProvider} only; each backend lives in its own file
 * (`fernet.ts` now; `aws-kms.ts` and `vault-transit.ts` later). This folder imports nothing of
 * ours but its own files, so it raises {@link KeyProviderError} and `core/` maps that to an
 * `UpstreamError` with the same code.
 */

// A value import of a sibling that in turn imports `KeyProviderError` from here is a module cycle;
// it is safe because neither module touches the other's exports while it is being evaluated, only
// later inside functions and methods.
import { FernetKeyProvider } from './fernet.ts';

/** What a wrapped key belongs to. Providers that support it (KMS, Vault) bind the ciphertext to it. */
export interface WrapContext {
  tenantId: string;
  /** The wallet's 0x-prefixed, EIP-55 checksummed address. */
  address: string;
}

/** A wrapped key as stored on the wallet row; every field is safe to store and log. */
export interface WrappedKey {
  provider: 'fernet';
  /** Which key wrapped it: a non-secret fingerprint, never the key itself. */
  keyRef: string;
  keyVersion: string;
  /** The provider's ciphertext as text (for Fernet: the token, url-safe base64 with padding). */
  ciphertext: string;
}

/** A place that can wrap and unwrap wallet private keys. */
export interface KeyProvider {
  readonly name: 'fernet';
  /** Wraps a 32-byte secp256k1 private key. */
  wrap(plaintext: Uint8Array, context: WrapContext): Promise<WrappedKey>;
  /** Unwraps; throws KeyProviderError('KEY_PROVIDER_DENIED') when the token is invalid, tampered, or for another key/context. */
  unwrap(wrapped: WrappedKey, context: WrapContext): Promise<Uint8Array>;
  /** Reachability for /readyz. */
  health(): Promise<{ ok: boolean; detail: string }>;
}

/** Stable codes of {@link KeyProviderError}; the same strings as `core/errors.ts`'s `ErrorCode`. */
export type KeyProviderErrorCode = 'KEY_PROVIDER_UNAVAILABLE' | 'KEY_PROVIDER_DENIED';

/**
 * The one error type key providers throw on purpose.
 *
 * - `KEY_PROVIDER_UNAVAILABLE`: the provider cannot serve at all (missing or malformed key
 *   material, unsupported provider, backend unreachable).
 * - `KEY_PROVIDER_DENIED`: the provider refused this request (a token that is invalid, altered,
 *   expired or made with a key it does not hold; input that is not a 32-byte private key).
 *
 * Messages name the rule that failed and never contain key material, plaintexts or tokens.
 */
export class KeyProviderError extends Error {
  readonly code: KeyProviderErrorCode;

  constructor(code: KeyProviderErrorCode, message: string) {
    super(message);
    this.name = 'KeyProviderError';
    this.code = code;
  }
}

/** Settings {@link createKeyProvider} reads; `core/config.ts` produces them from the environment. */
export interface KeyProviderConfig {
  keyProvider: 'fernet';
  /** Fernet keys (44-character url-safe base64), newest first: the first wraps, all unwrap. */
  fernetKeys: string[];
}

/**
 * Builds the configured key provider.
 *
 * @param config `keyProvider` selects the backend; for `'fernet'`, `fernetKeys` lists one or more
 *   keys, the first of which wraps new keys while every one of them can unwrap (rotation).
 * @returns a ready {@link KeyProvider}.
 * @throws {KeyProviderError} `KEY_PROVIDER_UNAVAILABLE` when the provider is unknown, no key is
 *   given, or a key is malformed (the message names the key's position, never its value).
 */
export function createKeyProvider(config: KeyProviderConfig): KeyProvider {
  // Typed as a string so a caller that skipped validation still gets a coded error, not a crash.
  const kind: string = config.keyProvider;
  switch (kind) {
    case 'fernet':
      return new FernetKeyProvider(config.fernetKeys);
    default:
      throw new KeyProviderError(
        'KEY_PROVIDER_UNAVAILABLE',
        `key provider "${kind}" is not supported here; use "fernet"`,
      );
  }
}
