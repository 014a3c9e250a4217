/**
 * Key providers wrap a wallet's 32-byte private key for storage at rest and unwrap it for one
 * signing call. Each backend lives in its own file: `fernet.ts` (AgentVault-compatible tokens),
 * `aws-kms.ts` (AWS KMS Encrypt/Decrypt with an encryption context) and `vault-transit.ts`
 * (HashiCorp Vault's transit engine with a derivation context). A {@link KeyRing} holds the
 * configured ones: the active provider wraps new keys, every configured provider can unwrap the
 * keys it wrapped, so a migration from one to another runs while the service serves.
 *
 * `core/` codes against {@link KeyRing} and {@link KeyProvider} only. This folder imports nothing
 * of ours but its own files, so it raises {@link KeyProviderError} and `core/` maps that to an
 * `UpstreamError` with the same code.
 */

// The backends are imported when first configured (see createProvider), so a process that only
// uses Fernet never loads the AWS SDK or node-vault. Each imports `KeyProviderError` from here,
// a cycle that is safe because nothing runs at module evaluation.
import type { AwsKmsSettings } from './aws-kms.ts';
import type { VaultTransitSettings } from './vault-transit.ts';

/** The providers VaultPilot ships, by the name stored on each wallet row. */
export const PROVIDER_NAMES = ['fernet', 'aws-kms', 'vault'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** What a wrapped key belongs to. KMS and Vault bind the ciphertext to it; Fernet cannot. */
export interface WrapContext {
  tenantId: string;
  /** The wallet's 0x-prefixed, EIP-55 checksummed address. */
  address: string;
}

/** A wrapped key as stored on the wallet row; every field is safe to store and log. */
export interface WrappedKey {
  provider: ProviderName;
  /**
   * Which key wrapped it, never the key itself: a Fernet key's fingerprint, the KMS key ARN, or
   * the Vault transit key name.
   */
  keyRef: string;
  /** The key version: `'1'` for Fernet and KMS (KMS versions internally), Vault's `vN` number. */
  keyVersion: string;
  /** The provider's ciphertext as text (Fernet token, base64 KMS blob, `vault:vN:...`). */
  ciphertext: string;
}

/** A place that can wrap and unwrap wallet private keys. */
export interface KeyProvider {
  readonly name: ProviderName;
  /**
   * Wraps a 32-byte secp256k1 private key, bound to `context` where the backend supports it.
   * @throws {KeyProviderError} UNAVAILABLE (backend down, slow or misconfigured) or DENIED.
   */
  wrap(plaintext: Uint8Array, context: WrapContext): Promise<WrappedKey>;
  /**
   * Unwraps; the caller zeroes the returned bytes after use.
   * @throws {KeyProviderError} DENIED when the ciphertext is invalid, tampered, for another key or
   *   another context, or the backend refuses (403); UNAVAILABLE when it cannot be reached in time.
   */
  unwrap(wrapped: WrappedKey, context: WrapContext): Promise<Uint8Array>;
  /**
   * The key reference and version that {@link wrap} uses now, so a rewrap can tell which stored
   * keys are already current. May call the backend (KMS `DescribeKey`, Vault key read).
   */
  current(): Promise<{ keyRef: string; keyVersion: string }>;
  /**
   * Optional: re-encrypts a key this provider wrapped under its newest key version without the
   * plaintext leaving the backend (Vault transit `rewrap`).
   */
  rewrap?(wrapped: WrappedKey, context: WrapContext): Promise<WrappedKey>;
  /** Reachability for `/readyz`; never throws. */
  health(): Promise<{ ok: boolean; detail: string }>;
  /** Stops background work (Vault token renewal); idempotent. */
  close(): void;
}

/** Stable codes of {@link KeyProviderError}; the same strings as `core/errors.ts`'s `ErrorCode`. */
export type KeyProviderErrorCode = 'KEY_PROVIDER_UNAVAILABLE' | 'KEY_PROVIDER_DENIED';

/**
 * The one error type key providers throw on purpose.
 *
 * - `KEY_PROVIDER_UNAVAILABLE`: the provider cannot serve at all (missing or malformed key
 *   material, provider not configured, backend unreachable or too slow).
 * - `KEY_PROVIDER_DENIED`: the provider refused this request (a ciphertext that is invalid,
 *   altered, made with a key it does not hold or under another context; a 403 from the backend;
 *   input that is not a 32-byte private key).
 *
 * `provider` names the backend so `/readyz`, logs and agents can say which one failed. Messages
 * name the rule that failed and never contain key material, plaintexts, tokens or ciphertexts.
 */
export class KeyProviderError extends Error {
  readonly code: KeyProviderErrorCode;
  readonly provider: ProviderName | undefined;

  constructor(code: KeyProviderErrorCode, message: string, provider?: ProviderName) {
    super(message);
    this.name = 'KeyProviderError';
    this.code = code;
    this.provider = provider;
  }
}

/** Wallet private keys are secp256k1 scalars: 32 bytes. */
export const PRIVATE_KEY_BYTES = 32;

/**
 * The check every provider's `wrap` makes first: only a 32-byte private key is wrapped.
 * @throws {KeyProviderError} `KEY_PROVIDER_DENIED` naming the provider and what it got (never the bytes).
 */
export function assertPrivateKeyBytes(plaintext: unknown, provider: ProviderName): asserts plaintext is Uint8Array {
  if (!(plaintext instanceof Uint8Array) || plaintext.length !== PRIVATE_KEY_BYTES) {
    const got = plaintext instanceof Uint8Array ? `${plaintext.length} bytes` : typeof plaintext;
    throw new KeyProviderError('KEY_PROVIDER_DENIED', `${provider} wraps ${PRIVATE_KEY_BYTES}-byte private keys only, got ${got}`, provider);
  }
}

/**
 * Settings {@link createKeyRing} reads; `core/config.ts` produces them from the environment.
 * A provider is configured when its section is present; `active` must be one of them.
 */
export interface KeyRingConfig {
  /** The provider that wraps new keys (`KEY_PROVIDER`). */
  active: ProviderName;
  /** Fernet keys (44-character url-safe base64), newest first: the first wraps, all unwrap. */
  fernet?: { keys: string[] };
  awsKms?: AwsKmsSettings;
  vault?: VaultTransitSettings;
}

/** One provider's state as `/readyz` reports it. */
export interface ProviderHealth {
  provider: ProviderName;
  /** Whether it wraps new keys. */
  active: boolean;
  ok: boolean;
  detail: string;
}

/**
 * The configured providers: the active one wraps, each unwraps what it wrapped (by the
 * `provider` recorded on the wallet row), so wallets stay usable during a migration.
 */
export class KeyRing {
  readonly active: KeyProvider;
  readonly #providers: Map<ProviderName, KeyProvider>;

  /**
   * @param active the provider that wraps new keys; it is also a reader.
   * @param readers further providers that only unwrap (and serve as rewrap targets).
   */
  constructor(active: KeyProvider, readers: readonly KeyProvider[] = []) {
    this.active = active;
    this.#providers = new Map([[active.name, active]]);
    for (const reader of readers) if (!this.#providers.has(reader.name)) this.#providers.set(reader.name, reader);
  }

  /** Names of the configured providers, the active one first. */
  get names(): ProviderName[] {
    return [...this.#providers.keys()];
  }

  /**
   * The configured provider called `name`.
   * @throws {KeyProviderError} `KEY_PROVIDER_UNAVAILABLE` when it is not configured here.
   */
  provider(name: string): KeyProvider {
    const found = this.#providers.get(name as ProviderName);
    if (!found) {
      throw new KeyProviderError(
        'KEY_PROVIDER_UNAVAILABLE',
        `key provider "${name}" is not configured here (configured: ${this.names.join(', ')}); add its settings so keys it wrapped can be read`,
        (PROVIDER_NAMES as readonly string[]).includes(name) ? (name as ProviderName) : undefined,
      );
    }
    return found;
  }

  /** Wraps with the active provider; see {@link KeyProvider.wrap}. */
  wrap(plaintext: Uint8Array, context: WrapContext): Promise<WrappedKey> {
    return this.active.wrap(plaintext, context);
  }

  /** Unwraps with the provider that wrapped it; see {@link KeyProvider.unwrap}. */
  async unwrap(wrapped: WrappedKey, context: WrapContext): Promise<Uint8Array> {
    return this.provider(wrapped.provider).unwrap(wrapped, context);
  }

  /** Every configured provider's health, checked concurrently. */
  health(): Promise<ProviderHealth[]> {
    return Promise.all(
      [...this.#providers.values()].map(async (p) => ({ provider: p.name, active: p === this.active, ...(await p.health()) })),
    );
  }

  /** Closes every provider (stops Vault token renewal). */
  close(): void {
    for (const p of this.#providers.values()) p.close();
  }
}

/**
 * Builds one provider from its settings, importing its module on first use.
 * @throws {KeyProviderError} (as a rejection) `KEY_PROVIDER_UNAVAILABLE` when its settings are
 *   missing or malformed.
 */
export async function createProvider(name: ProviderName, config: KeyRingConfig): Promise<KeyProvider> {
  // Typed as a string so a caller that skipped validation still gets a coded error, not a crash.
  const kind: string = name;
  const missing = (what: string) =>
    new KeyProviderError('KEY_PROVIDER_UNAVAILABLE', `key provider "${kind}" is selected but ${what} is not set`);
  switch (kind) {
    case 'fernet':
      if (!config.fernet) throw missing('FERNET_KEYS');
      return new (await import('./fernet.ts')).FernetKeyProvider(config.fernet.keys);
    case 'aws-kms':
      if (!config.awsKms) throw missing('AWS_KMS_KEY_ID');
      return new (await import('./aws-kms.ts')).AwsKmsKeyProvider(config.awsKms);
    case 'vault':
      if (!config.vault) throw missing('VAULT_ADDR / VAULT_TRANSIT_KEY');
      return new (await import('./vault-transit.ts')).VaultTransitKeyProvider(config.vault);
    default:
      throw new KeyProviderError(
        'KEY_PROVIDER_UNAVAILABLE',
        `key provider "${kind}" is not supported; use one of ${PROVIDER_NAMES.join(', ')}`,
      );
  }
}

/**
 * Builds the key ring: the active provider plus every other provider whose settings are present.
 *
 * @throws {KeyProviderError} (as a rejection) `KEY_PROVIDER_UNAVAILABLE` when the active provider is
 *   unknown or not configured, or a configured provider's settings are malformed (never echoing
 *   key material).
 */
export async function createKeyRing(config: KeyRingConfig): Promise<KeyRing> {
  const active = await createProvider(config.active, config);
  const readers: KeyProvider[] = [];
  const present: Record<ProviderName, boolean> = { fernet: !!config.fernet, 'aws-kms': !!config.awsKms, vault: !!config.vault };
  for (const name of PROVIDER_NAMES) if (name !== config.active && present[name]) readers.push(await createProvider(name, config));
  return new KeyRing(active, readers);
}
