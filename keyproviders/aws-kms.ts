/**
 * AWS KMS key provider: wallet keys are wrapped with KMS `Encrypt` under a symmetric KMS key and
 * unwrapped with `Decrypt` (AWS KMS API Reference, "Encrypt", "Decrypt", "DescribeKey"). The
 * 32-byte key goes to KMS directly (no envelope): it is under the 4096-byte Encrypt limit and
 * each unwrap is one audited KMS call.
 *
 * Every ciphertext carries the encryption context `{ vaultpilot_tenant, vaultpilot_address }`.
 * KMS binds it to the ciphertext as additional authenticated data and refuses `Decrypt` under
 * any other context, so a blob copied to another wallet row or tenant does not decrypt (AWS KMS
 * Developer Guide, "Encryption context"). It is also logged by CloudTrail, which names the
 * wallet in every decrypt event.
 *
 * Credentials and region come from the SDK's default chains (environment, shared config, SSO,
 * ECS/EC2 roles) unless the settings override them.
 */

import { DecryptCommand, DescribeKeyCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import type { KMSClientConfig } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { KeyProviderError, PRIVATE_KEY_BYTES, assertPrivateKeyBytes } from './index.ts';
import type { KeyProvider, KeyProviderErrorCode, WrapContext, WrappedKey } from './index.ts';

/** Settings of {@link AwsKmsKeyProvider}; `core/config.ts` fills them from the environment. */
export interface AwsKmsSettings {
  /** AWS_KMS_KEY_ID: key id, key ARN, alias name ("alias/vaultpilot") or alias ARN. */
  keyId: string;
  /** AWS_REGION / AWS_DEFAULT_REGION; undefined lets the SDK's own chain decide. */
  region?: string;
  /** Endpoint override (AWS_ENDPOINT_URL_KMS or AWS_ENDPOINT_URL); undefined = the SDK's default resolution (which also reads those variables). */
  endpoint?: string;
  /** Per-attempt timeout in ms (default 5000); a slower KMS counts as unavailable. */
  timeoutMs?: number;
  /** Optional SDK client overrides for tests (e.g. static credentials); production uses the default credential chain (env, shared config, SSO, ECS/EC2 instance roles). */
  clientConfig?: Record<string, unknown>;
}

const PROVIDER = 'aws-kms';
const DEFAULT_TIMEOUT_MS = 5000;
/** One retry: a transient blip is absorbed, a dead KMS fails within about two timeouts. */
const MAX_ATTEMPTS = 2;
/** How long {@link AwsKmsKeyProvider.current} trusts a DescribeKey answer. */
const CURRENT_CACHE_MS = 60_000;
/** KMS keeps versions of a symmetric key's material internally; the ARN names all of them. */
const KEY_VERSION = '1';
const CONTEXT_TENANT = 'vaultpilot_tenant';
const CONTEXT_ADDRESS = 'vaultpilot_address';
/** Standard base64 with padding, as `wrap` stores it. */
const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** KMS errors that refuse this request (key, ciphertext, context or policy), with a hint. */
const REFUSALS: Record<string, string | undefined> = {
  AccessDeniedException: undefined, // KMS's own message names the principal and action.
  InvalidCiphertextException: 'wrong encryption context, another key, or altered ciphertext',
  IncorrectKeyException: 'the ciphertext was made under another KMS key than the one recorded',
  DisabledException: 'the KMS key is disabled',
  KMSInvalidStateException: 'the KMS key is pending deletion, pending import or otherwise not usable',
  InvalidKeyUsageException: 'the KMS key is not a symmetric ENCRYPT_DECRYPT key',
  NotFoundException: 'no such KMS key or alias in this account and region',
  InvalidArnException: 'the key id is not a valid KMS key id, ARN or alias',
  ValidationException: undefined,
};

/** KMS rejected who is calling rather than what: the whole provider is down until fixed. */
const CREDENTIAL_REJECTIONS = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'IncompleteSignatureException',
  'MissingAuthenticationTokenException',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
]);

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
]);

/** How an SDK failure maps to our codes; `summary` is the short form `/readyz` shows. */
interface Classified {
  code: KeyProviderErrorCode;
  message: string;
  summary: string;
}

/** Keeps third-party text short and on one line; it never carries our plaintext or ciphertext. */
function clip(text: unknown): string {
  const s = String(text ?? '').replace(/\s+/g, ' ').trim();
  return s.length > 240 ? `${s.slice(0, 239)}…` : s;
}

function denied(message: string): KeyProviderError {
  return new KeyProviderError('KEY_PROVIDER_DENIED', message, PROVIDER);
}

function unavailable(message: string): KeyProviderError {
  return new KeyProviderError('KEY_PROVIDER_UNAVAILABLE', message, PROVIDER);
}

/** The encryption context KMS binds to every wrapped key; refuses empty or non-string parts. */
function encryptionContext(context: WrapContext): Record<string, string> {
  const { tenantId, address } = context ?? ({} as WrapContext);
  if (typeof tenantId !== 'string' || tenantId === '' || typeof address !== 'string' || address === '') {
    throw denied('AWS KMS wrap context needs a non-empty tenantId and address');
  }
  return { [CONTEXT_TENANT]: tenantId, [CONTEXT_ADDRESS]: address };
}

/**
 * Wraps wallet keys with AWS KMS `Encrypt` / `Decrypt` under one symmetric KMS key, bound to the
 * wallet's tenant and address by the encryption context.
 *
 * Errors: `KEY_PROVIDER_DENIED` when KMS refuses the request (AccessDenied, InvalidCiphertext,
 * IncorrectKey, Disabled, KMSInvalidState, InvalidKeyUsage, NotFound) or the input is not a
 * 32-byte key; `KEY_PROVIDER_UNAVAILABLE` when KMS cannot be reached within `timeoutMs` per
 * attempt (two attempts), throttles, fails with a 5xx, or no usable credentials exist.
 */
export class AwsKmsKeyProvider implements KeyProvider {
  readonly name = PROVIDER;
  readonly #keyId: string;
  readonly #timeoutMs: number;
  readonly #client: KMSClient;
  /** Short forms of thrown errors for {@link health}'s detail. */
  readonly #summaries = new WeakMap<object, string>();
  #current: { value: { keyRef: string; keyVersion: string }; expiresAt: number } | undefined;
  #closed = false;

  /**
   * Builds the SDK client; makes no network call.
   * @throws {KeyProviderError} `KEY_PROVIDER_UNAVAILABLE` when `keyId` is empty or `timeoutMs`
   *   is not a positive number of milliseconds.
   */
  constructor(settings: AwsKmsSettings) {
    if (typeof settings?.keyId !== 'string' || settings.keyId.trim() === '') {
      throw unavailable('AWS_KMS_KEY_ID is empty; set a KMS key id, key ARN, alias name or alias ARN');
    }
    const timeoutMs = settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw unavailable(`AWS KMS timeout must be a positive number of milliseconds, got ${String(settings.timeoutMs)}`);
    }
    this.#keyId = settings.keyId.trim();
    this.#timeoutMs = timeoutMs;
    // requestTimeout alone only logs a warning in @smithy/node-http-handler 4.x; it needs
    // throwOnRequestTimeout to fail the attempt. socketTimeout also covers a stalled body.
    const requestHandler = new NodeHttpHandler({
      connectionTimeout: timeoutMs,
      requestTimeout: timeoutMs,
      throwOnRequestTimeout: true,
      socketTimeout: timeoutMs,
    });
    const config: KMSClientConfig = {
      // Only set when given: the SDK then reads AWS_REGION, AWS_ENDPOINT_URL_KMS etc. itself.
      ...(settings.region ? { region: settings.region } : {}),
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      maxAttempts: MAX_ATTEMPTS,
      requestHandler,
      ...(settings.clientConfig as Partial<KMSClientConfig> | undefined),
    };
    this.#client = new KMSClient(config);
  }

  /**
   * KMS `Encrypt` of the 32 key bytes under the configured key with the wallet's encryption
   * context. The caller keeps (and zeroes) `plaintext`.
   *
   * @returns `{ provider: 'aws-kms', keyRef: <key ARN KMS used>, keyVersion: '1', ciphertext:
   *   base64(CiphertextBlob) }`; the ARN is resolved even when configured by alias.
   * @throws {KeyProviderError} DENIED for input that is not 32 bytes or a KMS refusal;
   *   UNAVAILABLE when KMS cannot be reached in time.
   */
  async wrap(plaintext: Uint8Array, context: WrapContext): Promise<WrappedKey> {
    assertPrivateKeyBytes(plaintext, PROVIDER);
    const EncryptionContext = encryptionContext(context);
    const out = await this.#send('Encrypt', (client) =>
      client.send(new EncryptCommand({ KeyId: this.#keyId, Plaintext: plaintext, EncryptionContext })),
    );
    if (!out.CiphertextBlob || out.CiphertextBlob.length === 0 || !out.KeyId) {
      throw unavailable('AWS KMS returned an Encrypt response without CiphertextBlob or KeyId');
    }
    return { provider: PROVIDER, keyRef: out.KeyId, keyVersion: KEY_VERSION, ciphertext: Buffer.from(out.CiphertextBlob).toString('base64') };
  }

  /**
   * KMS `Decrypt` pinned to `wrapped.keyRef` (AWS best practice: name the key you expect) with
   * the wallet's encryption context.
   *
   * @returns the 32 key bytes in a fresh Uint8Array the caller must zero.
   * @throws {KeyProviderError} DENIED when the blob is not this provider's, not base64, made for
   *   another context or key, altered, or KMS refuses; UNAVAILABLE when KMS cannot be reached.
   */
  async unwrap(wrapped: WrappedKey, context: WrapContext): Promise<Uint8Array> {
    if (wrapped?.provider !== PROVIDER) {
      throw denied(`AWS KMS cannot unwrap a key wrapped by "${String(wrapped?.provider)}"`);
    }
    if (typeof wrapped.keyRef !== 'string' || wrapped.keyRef === '') throw denied('AWS KMS wrapped key has no keyRef (KMS key ARN)');
    if (typeof wrapped.ciphertext !== 'string' || wrapped.ciphertext === '' || !BASE64_PATTERN.test(wrapped.ciphertext)) {
      throw denied('AWS KMS wrapped key ciphertext is not base64');
    }
    const EncryptionContext = encryptionContext(context);
    const blob = Buffer.from(wrapped.ciphertext, 'base64');
    const out = await this.#send('Decrypt', (client) =>
      client.send(new DecryptCommand({ CiphertextBlob: blob, KeyId: wrapped.keyRef, EncryptionContext })),
    );
    // The SDK's Plaintext is a view into a larger decode buffer: copy out, then zero the view.
    const returned = out.Plaintext;
    if (!returned || returned.length !== PRIVATE_KEY_BYTES) {
      const length = returned?.length ?? 0;
      returned?.fill(0);
      throw denied(`AWS KMS returned ${length} bytes, not a 32-byte private key`);
    }
    const key = new Uint8Array(PRIVATE_KEY_BYTES);
    key.set(returned);
    returned.fill(0);
    return key;
  }

  /**
   * The configured key's ARN from KMS `DescribeKey`, cached for 60 s; resolves aliases, so
   * pointing the alias at a new key changes what {@link wrap} records.
   * @returns `{ keyRef: KeyMetadata.Arn, keyVersion: '1' }`.
   * @throws {KeyProviderError} as {@link wrap} for KMS failures.
   */
  async current(): Promise<{ keyRef: string; keyVersion: string }> {
    const cached = this.#current;
    if (cached && cached.expiresAt > Date.now()) return { ...cached.value };
    const { arn } = await this.#describe();
    const value = { keyRef: arn, keyVersion: KEY_VERSION };
    this.#current = { value, expiresAt: Date.now() + CURRENT_CACHE_MS };
    return { ...value };
  }

  /**
   * Uncached KMS `DescribeKey`; ok only when the key exists, is reachable and is `Enabled`.
   * Never throws.
   * @returns e.g. `{ ok: true, detail: 'aws-kms: key arn:aws:kms:… Enabled' }` or
   *   `{ ok: false, detail: 'aws-kms: unreachable (timed out after 5000 ms)' }`.
   */
  async health(): Promise<{ ok: boolean; detail: string }> {
    try {
      const { arn, state } = await this.#describe();
      return { ok: state === 'Enabled', detail: `aws-kms: key ${arn} ${state}` };
    } catch (error) {
      return { ok: false, detail: `aws-kms: ${this.#summaries.get(error as object) ?? clip((error as Error)?.message)}` };
    }
  }

  /** Destroys the SDK client (its keep-alive sockets); later calls fail UNAVAILABLE. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.destroy();
  }

  async #describe(): Promise<{ arn: string; state: string }> {
    const out = await this.#send('DescribeKey', (client) => client.send(new DescribeKeyCommand({ KeyId: this.#keyId })));
    const arn = out.KeyMetadata?.Arn;
    if (!arn) throw unavailable('AWS KMS returned a DescribeKey response without KeyMetadata.Arn');
    return { arn, state: out.KeyMetadata?.KeyState ?? 'Unknown' };
  }

  /** Runs one SDK call and turns every failure into a {@link KeyProviderError}. */
  async #send<T>(operation: string, call: (client: KMSClient) => Promise<T>): Promise<T> {
    if (this.#closed) throw unavailable('AWS KMS key provider is closed');
    try {
      return await call(this.#client);
    } catch (error) {
      const c = this.#classify(error, operation);
      const mapped = new KeyProviderError(c.code, c.message, PROVIDER);
      this.#summaries.set(mapped, c.summary);
      throw mapped;
    }
  }

  /** Maps an SDK, network or credentials failure to a code and a message free of secrets. */
  #classify(error: unknown, operation: string): Classified {
    const e = (error ?? {}) as { name?: string; code?: string; message?: string; $fault?: string; $metadata?: { httpStatusCode?: number } };
    const name = String(e.name ?? 'Error');
    const status = e.$metadata?.httpStatusCode;
    const down = (reason: string): Classified => ({
      code: 'KEY_PROVIDER_UNAVAILABLE',
      message: `AWS KMS is unreachable: ${reason}`,
      summary: `unreachable (${reason})`,
    });
    if (name in REFUSALS) {
      const reason = `${name} (${REFUSALS[name] ?? clip(e.message)})`;
      return {
        code: 'KEY_PROVIDER_DENIED',
        message: `AWS KMS refused ${operation}: ${reason}`,
        summary: name === 'AccessDeniedException' ? `access denied (${clip(e.message)})` : `refused ${operation}: ${reason}`,
      };
    }
    if (CREDENTIAL_REJECTIONS.has(name)) {
      return {
        code: 'KEY_PROVIDER_UNAVAILABLE',
        message: `AWS KMS rejected the credentials: ${name} (${clip(e.message)})`,
        summary: `credentials rejected (${name})`,
      };
    }
    if (name === 'CredentialsProviderError') {
      return {
        code: 'KEY_PROVIDER_UNAVAILABLE',
        message: `AWS KMS has no usable credentials: ${clip(e.message)}`,
        summary: 'no usable AWS credentials',
      };
    }
    if (name === 'TimeoutError' && !(e.code && NETWORK_CODES.has(e.code) && e.code !== 'ETIMEDOUT')) {
      return down(`timed out after ${this.#timeoutMs} ms`);
    }
    if (e.code && NETWORK_CODES.has(e.code)) return down(`${e.code} ${clip(e.message)}`);
    if (name === 'AbortError') return down('request aborted');
    if (e.$fault === 'server' || (status !== undefined && status >= 500) || name === 'ThrottlingException') {
      return down(`${name} (HTTP ${status ?? '?'})`);
    }
    if (e.$fault === 'client' || (status !== undefined && status >= 400)) {
      // An unlisted 4xx service error: a refusal of this request, named so an operator can act.
      return {
        code: 'KEY_PROVIDER_DENIED',
        message: `AWS KMS refused ${operation}: ${name} (${clip(e.message)})`,
        summary: `refused ${operation}: ${name}`,
      };
    }
    // SDK-side failures before any response: missing region, bad endpoint URL and the like.
    return down(`${name}: ${clip(e.message)}`);
  }
}
