/**
 * HashiCorp Vault's transit engine as a {@link KeyProvider}: Vault holds the wrapping key, we send
 * it the 32-byte wallet key to encrypt and get back a `vault:vN:...` ciphertext; decrypting needs
 * Vault again. Each ciphertext is bound to its tenant and wallet by the transit `context`
 * parameter: with a key created with `derived=true`, Vault derives a per-context data key
 * (HKDF-SHA256 of the key version and the context), so a ciphertext decrypts only under the
 * context it was made with. Without `derived=true` Vault silently ignores the context, so this
 * provider refuses to wrap with such a key and reports it in {@link VaultTransitKeyProvider.health}.
 *
 * The token needs this policy (mount `transit`, key `vaultpilot`):
 *
 *     path "transit/encrypt/vaultpilot" { capabilities = ["update"] }
 *     path "transit/decrypt/vaultpilot" { capabilities = ["update"] }
 *     path "transit/rewrap/vaultpilot"  { capabilities = ["update"] }
 *     path "transit/keys/vaultpilot"    { capabilities = ["read"] }
 *
 * plus the `default` policy (token lookup-self and renew-self).
 *
 * HTTP goes through `node-vault` (which uses axios). Its quirks, handled here:
 * - it falls back to VAULT_TOKEN / VAULT_NAMESPACE / VAULT_PREFIX from the environment when an
 *   option is empty, so those fields are set explicitly after construction: our settings come only
 *   from `core/config.ts`;
 * - its `debug` output (DEBUG=node-vault) prints request bodies, i.e. plaintexts: replaced by a
 *   no-op;
 * - it treats any non-empty VAULT_SKIP_VERIFY (even "false") as "skip TLS verification": TLS
 *   verification is pinned on (a private CA goes in NODE_EXTRA_CA_CERTS);
 * - login and renew-self calls store the token in the shared client (`client.token`): we keep the
 *   token ourselves, send it per request and blank the client's copy;
 * - its transit helpers (`encryptData`, ...) hard-code the mount `transit` and send every argument
 *   as the body, so plain `write`/`read` on our mount's paths are used instead;
 * - axios errors carry the request config (token header, body with the plaintext): they are never
 *   rethrown, logged or attached as a `cause`; only their `code` is read.
 */

import vault from 'node-vault';
import { KeyProviderError, PRIVATE_KEY_BYTES, assertPrivateKeyBytes } from './index.ts';
import type { KeyProvider, WrapContext, WrappedKey } from './index.ts';

/** Settings of the Vault transit provider; `core/config.ts` fills them from the environment. */
export interface VaultTransitSettings {
  /** VAULT_ADDR, e.g. https://vault.internal:8200 */
  addr: string;
  /** VAULT_TOKEN; or AppRole below. */
  token?: string;
  /** VAULT_ROLE_ID + VAULT_SECRET_ID: AppRole login (auth/approle/login) when no token is given. */
  roleId?: string;
  secretId?: string;
  /** VAULT_TRANSIT_MOUNT, default "transit". */
  mount: string;
  /** VAULT_TRANSIT_KEY: the transit key name; it must be created with derived=true so `context` binds the ciphertext. */
  key: string;
  /** VAULT_NAMESPACE (Vault Enterprise / HCP), optional. */
  namespace?: string;
  /** Per-request timeout in ms (default 5000); slower counts as unavailable. */
  timeoutMs?: number;
}

/** Tuning that is not configuration; for tests and benchmarks. */
export interface VaultTransitOptions {
  /** How long {@link VaultTransitKeyProvider.current} and the derived-key check reuse a key read, in ms; default 30000, 0 = never. */
  cacheMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_CACHE_MS = 30_000;
/** How long to wait before retrying a token lookup that failed because Vault was unreachable. */
const LOOKUP_RETRY_MS = 30_000;
/** Retries of a request whose connection was reset (a stale keep-alive socket). */
const MAX_RESET_RETRIES = 2;
/** Transit key names and mount path segments we accept: no slashes, dots-only or URL escapes. */
const NAME_PATTERN = /^(?!\.{1,2}$)[A-Za-z0-9._-]+$/;
const CIPHERTEXT_PATTERN = /^vault:v([1-9]\d{0,9}):[A-Za-z0-9+/]+={0,2}$/;
/** Vault's 400 texts for a ciphertext that does not decrypt (keysutil, crypto/cipher). */
const DECRYPT_FAILURE = /message authentication failed|invalid ciphertext|invalid key version|too old|context|decrypt/i;
const KEY_NOT_FOUND = /key not found|no handler for route/i;

type Op = 'encrypt' | 'decrypt' | 'rewrap' | 'read' | 'login' | 'token lookup' | 'token renewal';
type VaultClient = ReturnType<typeof vault>;
/** The per-request options node-vault forwards to axios. */
interface RequestOptions {
  headers: Record<string, string>;
  timeout: number;
}

/** The parts of `GET <mount>/keys/<key>` we use. */
interface KeyInfo {
  latestVersion: number;
  derived: boolean;
  supportsEncryption: boolean;
}

/** Our own deadline, for when axios' socket timeout does not fire (e.g. a trickling response). */
class Deadline extends Error {}

/**
 * The transit `context` for a wallet: base64 of the UTF-8 string `vaultpilot:<tenantId>:<address>`
 * (Vault API docs, "Transit secrets engine", encrypt: `context`, base64, for derived keys). The
 * address is used as given (EIP-55 checksummed by contract), so wrap and unwrap must pass the same
 * spelling. Not secret.
 */
export function transitContext(context: WrapContext): string {
  return Buffer.from(`vaultpilot:${context.tenantId}:${context.address}`, 'utf8').toString('base64');
}

/**
 * The Vault transit {@link KeyProvider} (Vault API docs: "Transit secrets engine (API)", "Token
 * auth method (API)", "AppRole auth method (API)").
 *
 * - `wrap` → `POST <mount>/encrypt/<key>` `{ plaintext, context }`; `keyRef` is the key name and
 *   `keyVersion` the `N` of `vault:vN:`.
 * - `unwrap` → `POST <mount>/decrypt/<keyRef>`; `rewrap` → `POST <mount>/rewrap/<keyRef>`, which
 *   re-encrypts under the newest key version inside Vault.
 * - `current` → `GET <mount>/keys/<key>`'s `latest_version`, cached (30 s by default).
 * - Auth: a static token is looked up at start and, when renewable, renewed at half its TTL. With
 *   AppRole the provider logs in on first use (concurrent callers share one login), renews at half
 *   the lease, logs in again when renewal fails, and on a 403 logs in again and retries once.
 * - Errors: {@link KeyProviderError} with `provider: 'vault'`; 403 and undecryptable ciphertexts
 *   are DENIED, a missing key, sealed/standby Vault, 5xx, connection errors and timeouts are
 *   UNAVAILABLE. Messages never contain tokens, secret ids, plaintexts or ciphertexts.
 */
export class VaultTransitKeyProvider implements KeyProvider {
  readonly name = 'vault' as const;
  readonly #key: string;
  readonly #mount: string;
  /** The mount as a URL path prefix, each segment escaped. */
  readonly #mountPath: string;
  readonly #origin: string;
  readonly #timeoutMs: number;
  readonly #cacheMs: number;
  readonly #appRole: { roleId: string; secretId: string } | undefined;
  readonly #client: VaultClient;
  /** Secrets that must never appear in an error message, even if Vault echoes them. */
  readonly #secrets: string[] = [];

  #token: string | undefined;
  #login: Promise<string> | undefined;
  /** The lease AppRole login granted, in s: renewals shorter than half of it mean the max TTL is near. */
  #loginLeaseSeconds = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #tokenExpiresAt: number | undefined;
  /** The last background auth failure (lookup, renewal, re-login), shown by health(). */
  #lastAuthError: string | undefined;
  #keyCache: { at: number; info: KeyInfo } | undefined;
  #keyRead: Promise<KeyInfo> | undefined;
  #closed = false;

  /**
   * @param settings see {@link VaultTransitSettings}; `token` wins over AppRole when both are set.
   * @param options see {@link VaultTransitOptions}.
   * @throws {KeyProviderError} `KEY_PROVIDER_UNAVAILABLE` when `addr` is not an http(s) URL, the
   *   mount or key name is malformed, `timeoutMs` is not positive, or neither a token nor a role
   *   id and secret id are given. Returns before any request: a static token's lookup (to
   *   schedule renewal) runs in the background; an AppRole login waits for the first call.
   */
  constructor(settings: VaultTransitSettings, options: VaultTransitOptions = {}) {
    const misconfigured = (message: string) => new KeyProviderError('KEY_PROVIDER_UNAVAILABLE', message, 'vault');
    let url: URL;
    try {
      url = new URL(settings.addr);
    } catch {
      throw misconfigured('VAULT_ADDR is not a URL (expected e.g. https://vault.internal:8200)');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw misconfigured('VAULT_ADDR must be an http:// or https:// URL');
    // The origin (no credentials, path or query) is what messages show.
    this.#origin = url.origin;
    const endpoint = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;

    const mount = (settings.mount || 'transit').replace(/^\/+|\/+$/g, '');
    if (!mount.split('/').every((segment) => NAME_PATTERN.test(segment))) {
      throw misconfigured(`VAULT_TRANSIT_MOUNT "${mount}" is not a valid mount path (letters, digits, ".", "_", "-", separated by "/")`);
    }
    if (typeof settings.key !== 'string' || !NAME_PATTERN.test(settings.key)) {
      throw misconfigured('VAULT_TRANSIT_KEY must be a transit key name (letters, digits, ".", "_", "-")');
    }
    const timeoutMs = settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw misconfigured('the Vault request timeout must be a positive number of ms');
    const cacheMs = options.cacheMs ?? DEFAULT_CACHE_MS;
    if (!Number.isFinite(cacheMs) || cacheMs < 0) throw new RangeError('cacheMs must be a non-negative number of ms');

    this.#mount = mount;
    this.#mountPath = mount.split('/').map(encodeURIComponent).join('/');
    this.#key = settings.key;
    this.#timeoutMs = timeoutMs;
    this.#cacheMs = cacheMs;

    if (settings.token) {
      this.#token = settings.token;
      this.#secrets.push(settings.token);
    } else if (settings.roleId && settings.secretId) {
      this.#appRole = { roleId: settings.roleId, secretId: settings.secretId };
      this.#secrets.push(settings.secretId, settings.roleId);
    } else {
      throw misconfigured('no Vault credentials: set VAULT_TOKEN, or VAULT_ROLE_ID and VAULT_SECRET_ID for AppRole');
    }

    this.#client = vault({
      endpoint,
      debug: () => {},
      requestOptions: { timeout: timeoutMs, strictSSL: true },
    });
    // node-vault reads VAULT_TOKEN / VAULT_NAMESPACE / VAULT_PREFIX when these are empty; pin them.
    this.#client.token = '';
    Object.assign(this.#client, { namespace: settings.namespace || undefined, pathPrefix: '' });

    if (!this.#appRole) void this.#lookupStaticToken();
  }

  /**
   * Encrypts a 32-byte private key under the transit key, bound to `context`
   * (Transit API, "Encrypt data": `POST /:mount/encrypt/:name`).
   *
   * @returns `{ provider: 'vault', keyRef: <key name>, keyVersion: 'N', ciphertext: 'vault:vN:...' }`.
   * @throws {KeyProviderError} DENIED when `plaintext` is not 32 bytes or Vault answers 403;
   *   UNAVAILABLE when the key is missing or not derived, or Vault is sealed, failing, unreachable
   *   or slower than the timeout.
   */
  async wrap(plaintext: Uint8Array, context: WrapContext): Promise<WrappedKey> {
    assertPrivateKeyBytes(plaintext, 'vault');
    const info = await this.#keyInfo(false);
    if (!info.derived) throw new KeyProviderError('KEY_PROVIDER_UNAVAILABLE', this.#notDerived(), 'vault');
    const plaintextB64 = Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.length).toString('base64');
    const body = { plaintext: plaintextB64, context: transitContext(context) };
    const res = await this.#call('encrypt', this.#key, (o) => this.#client.write(this.#path('encrypt', this.#key), body, o), [plaintextB64]);
    const wrapped = this.#wrappedFrom(res, 'encrypt');
    // Keep current() honest between cache refreshes when the key was rotated meanwhile.
    const version = Number(wrapped.keyVersion);
    if (this.#keyCache && version > this.#keyCache.info.latestVersion) this.#keyCache.info.latestVersion = version;
    return wrapped;
  }

  /**
   * Decrypts a key this provider wrapped, under the same `context`
   * (Transit API, "Decrypt data": `POST /:mount/decrypt/:name`, name = `wrapped.keyRef`).
   *
   * @returns the 32-byte private key; the caller zeroes it after use.
   * @throws {KeyProviderError} DENIED when `wrapped` is not a Vault transit ciphertext, or Vault
   *   cannot decrypt it (another context or key, altered) or answers 403, or the result is not 32
   *   bytes; UNAVAILABLE when the key is missing or Vault is sealed, failing, unreachable or slow.
   */
  async unwrap(wrapped: WrappedKey, context: WrapContext): Promise<Uint8Array> {
    this.#checkWrapped(wrapped);
    const body = { ciphertext: wrapped.ciphertext, context: transitContext(context) };
    const res = await this.#call('decrypt', wrapped.keyRef, (o) => this.#client.write(this.#path('decrypt', wrapped.keyRef), body, o), [wrapped.ciphertext]);
    const text: unknown = res?.data?.plaintext;
    if (typeof text !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
      throw new KeyProviderError('KEY_PROVIDER_UNAVAILABLE', 'Vault decrypt returned no base64 plaintext', 'vault');
    }
    const bytes = Buffer.from(text, 'base64');
    const out = new Uint8Array(bytes);
    bytes.fill(0);
    if (out.length !== PRIVATE_KEY_BYTES) {
      out.fill(0);
      throw this.#denied(`the decrypted message is not a ${PRIVATE_KEY_BYTES}-byte private key`);
    }
    return out;
  }

  /**
   * The key name and newest version that {@link wrap} uses (Transit API, "Read key":
   * `GET /:mount/keys/:name`, `latest_version`), reusing a read for `cacheMs` (default 30 s).
   *
   * @throws {KeyProviderError} as for {@link wrap}'s key read: UNAVAILABLE (missing key, Vault
   *   down) or DENIED (403).
   */
  async current(): Promise<{ keyRef: string; keyVersion: string }> {
    const info = await this.#keyInfo(false);
    return { keyRef: this.#key, keyVersion: String(info.latestVersion) };
  }

  /**
   * Re-encrypts a wrapped key under the transit key's newest version inside Vault, so the
   * plaintext never leaves it (Transit API, "Rewrap data": `POST /:mount/rewrap/:name`).
   *
   * @returns a new {@link WrappedKey} with the new `keyVersion` and ciphertext.
   * @throws {KeyProviderError} as {@link unwrap}.
   */
  async rewrap(wrapped: WrappedKey, context: WrapContext): Promise<WrappedKey> {
    this.#checkWrapped(wrapped);
    const body = { ciphertext: wrapped.ciphertext, context: transitContext(context) };
    const res = await this.#call('rewrap', wrapped.keyRef, (o) => this.#client.write(this.#path('rewrap', wrapped.keyRef), body, o), [wrapped.ciphertext]);
    return { ...this.#wrappedFrom(res, 'rewrap'), keyRef: wrapped.keyRef };
  }

  /**
   * Reads the transit key (uncached) for `/readyz`; never throws.
   *
   * @returns ok with e.g. `vault: transit key "vaultpilot" v3 (derived) on mount "transit"`
   *   (plus the last token renewal problem, if any); not ok when Vault is unreachable, sealed,
   *   denies the token, lacks the key, or the key is not derived or cannot encrypt.
   */
  async health(): Promise<{ ok: boolean; detail: string }> {
    const warning = () => (this.#lastAuthError ? `; warning: ${this.#lastAuthError}` : '');
    try {
      const info = await this.#keyInfo(true);
      if (!info.derived) return { ok: false, detail: `vault: ${this.#notDerived()}` };
      if (!info.supportsEncryption) {
        return { ok: false, detail: `vault: transit key "${this.#key}" does not support encryption (use type aes256-gcm96)` };
      }
      return {
        ok: true,
        detail: `vault: transit key "${this.#key}" v${info.latestVersion} (derived) on mount "${this.#mount}"${warning()}`,
      };
    } catch (err) {
      const message = err instanceof KeyProviderError ? err.message : 'unexpected error';
      return { ok: false, detail: `vault: ${message}${warning()}` };
    }
  }

  /** Stops token renewal and re-login timers; idempotent. In-flight calls still finish. */
  close(): void {
    this.#closed = true;
    this.#clearTimer();
  }

  // --- requests ---------------------------------------------------------------------------

  #path(action: 'encrypt' | 'decrypt' | 'rewrap' | 'keys', name: string): string {
    return `${this.#mountPath}/${action}/${encodeURIComponent(name)}`;
  }

  /**
   * Sends one authenticated request: gets a token (logging in with AppRole if needed), sends, and
   * with AppRole retries once after a fresh login when Vault answers 403.
   * @throws {KeyProviderError} always mapped; `secrets` are redacted from Vault's messages.
   */
  async #call(op: Op, keyName: string, send: (o: RequestOptions) => Promise<any>, secrets: string[] = []): Promise<any> {
    const token = await this.#ensureToken();
    try {
      return await this.#send(send, token);
    } catch (err) {
      if (!(this.#appRole && statusOf(err) === 403 && !this.#closed)) throw this.#mapError(err, op, keyName, secrets);
    }
    this.#invalidate(token);
    const fresh = await this.#ensureToken();
    try {
      return await this.#send(send, fresh);
    } catch (err) {
      throw this.#mapError(err, op, keyName, secrets);
    }
  }

  /**
   * One HTTP call with the token header and a wall-clock deadline of `timeoutMs` (axios' own
   * `timeout` is a socket idle timeout). A reset connection is retried up to twice within the
   * deadline (Vault's Go client also retries twice): after Vault restarts, requests may go out on
   * pooled keep-alive sockets the server already closed, one per earlier concurrent request. Every
   * call we make is safe to repeat (encrypt/rewrap only yield a fresh ciphertext, a repeated login
   * one more token).
   */
  async #send<T>(send: (o: RequestOptions) => Promise<T>, token: string | undefined): Promise<T> {
    const deadlineAt = Date.now() + this.#timeoutMs;
    for (let attempt = 1; ; attempt++) {
      const left = Math.max(1, Math.ceil(deadlineAt - Date.now()));
      // node-vault adds the namespace to `headers`, so each attempt gets its own object.
      const headers: Record<string, string> = token ? { 'X-Vault-Token': token } : {};
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Deadline()), left + 50);
      });
      try {
        return await Promise.race([send({ headers, timeout: left }), deadline]);
      } catch (err) {
        const code = (err as { code?: unknown } | null)?.code;
        const reset = code === 'ECONNRESET' || code === 'EPIPE';
        if (!(reset && attempt <= MAX_RESET_RETRIES && Date.now() < deadlineAt)) throw err;
      } finally {
        clearTimeout(timer);
      }
    }
  }

  /** `GET <mount>/keys/<key>`, cached for `cacheMs`; concurrent callers share one read. */
  async #keyInfo(fresh: boolean): Promise<KeyInfo> {
    const cached = this.#keyCache;
    if (!fresh && cached && Date.now() - cached.at < this.#cacheMs) return cached.info;
    this.#keyRead ??= (async () => {
      try {
        const res = await this.#call('read', this.#key, (o) => this.#client.read(this.#path('keys', this.#key), o));
        const data = res?.data;
        const latest = Number(data?.latest_version);
        if (!Number.isSafeInteger(latest) || latest < 1) {
          throw new KeyProviderError('KEY_PROVIDER_UNAVAILABLE', `Vault returned no latest_version for transit key "${this.#key}"`, 'vault');
        }
        const info = { latestVersion: latest, derived: data.derived === true, supportsEncryption: data.supports_encryption !== false };
        this.#keyCache = { at: Date.now(), info };
        return info;
      } finally {
        this.#keyRead = undefined;
      }
    })();
    return { ...(await this.#keyRead) };
  }

  #checkWrapped(wrapped: WrappedKey): void {
    if (wrapped.provider !== 'vault') {
      throw this.#denied(`this key was wrapped by the "${String(wrapped.provider)}" provider, not "vault"`);
    }
    if (typeof wrapped.keyRef !== 'string' || !NAME_PATTERN.test(wrapped.keyRef)) {
      throw this.#denied('the wrapped key names no valid transit key (keyRef)');
    }
    if (typeof wrapped.ciphertext !== 'string' || !CIPHERTEXT_PATTERN.test(wrapped.ciphertext)) {
      throw this.#denied('the ciphertext is not a Vault transit ciphertext ("vault:vN:" and base64)');
    }
  }

  /** Builds a WrappedKey from an encrypt/rewrap answer `{ data: { ciphertext, key_version } }`. */
  #wrappedFrom(res: any, op: Op): WrappedKey {
    const ciphertext: unknown = res?.data?.ciphertext;
    const match = typeof ciphertext === 'string' ? CIPHERTEXT_PATTERN.exec(ciphertext) : null;
    if (!match) throw new KeyProviderError('KEY_PROVIDER_UNAVAILABLE', `Vault ${op} returned no "vault:vN:" ciphertext`, 'vault');
    return { provider: 'vault', keyRef: this.#key, keyVersion: String(Number(match[1])), ciphertext: ciphertext as string };
  }

  #denied(message: string): KeyProviderError {
    return new KeyProviderError('KEY_PROVIDER_DENIED', message, 'vault');
  }

  #notDerived(): string {
    return `key "${this.#key}" must be created with derived=true (without it Vault ignores the context, so ciphertexts cannot be bound to their wallet)`;
  }

  /**
   * Maps anything a request threw to a KeyProviderError. Only the HTTP status, Vault's error text
   * (secrets redacted) and network error codes are read; axios errors themselves carry the token
   * and body and are dropped.
   */
  #mapError(err: unknown, op: Op, keyName: string, secrets: string[]): KeyProviderError {
    if (err instanceof KeyProviderError) return err;
    const unavailable = (message: string) => new KeyProviderError('KEY_PROVIDER_UNAVAILABLE', message, 'vault');
    const status = statusOf(err);
    const isTokenOp = op === 'login' || op === 'token lookup' || op === 'token renewal';
    const target = isTokenOp ? '' : ` on transit key "${keyName}"`;
    if (status === undefined) {
      const code = (err as { code?: unknown } | null)?.code;
      if (err instanceof Deadline || code === 'ECONNABORTED' || code === 'ETIMEDOUT') {
        return unavailable(`Vault is unreachable at ${this.#origin}: ${op} timed out after ${this.#timeoutMs} ms`);
      }
      if (typeof code === 'string' && /^[A-Z_]+$/.test(code)) return unavailable(`Vault is unreachable at ${this.#origin}: ${code}`);
      return unavailable(`Vault ${op} failed: unexpected ${err instanceof Error ? err.name : typeof err}`);
    }
    const vaultMessage = this.#redact(errorText(err), secrets);
    const said = vaultMessage ? ` (Vault: ${vaultMessage})` : '';
    if (status === 403) {
      const hint = isTokenOp ? 'the token is invalid or expired, or its policy lacks this path' : "check the token's policy";
      return this.#denied(`Vault denied ${op}${target}: permission denied (${hint})`);
    }
    if (op === 'login' && status === 400) {
      return unavailable(`Vault AppRole login failed${said}: check VAULT_ROLE_ID and VAULT_SECRET_ID`);
    }
    if (status === 404 || (status === 400 && KEY_NOT_FOUND.test(vaultMessage))) {
      if (isTokenOp) return unavailable(`Vault has no ${op} endpoint here (HTTP ${status})${said}`);
      return unavailable(`transit key "${keyName}" not found at ${this.#mount} (or no transit engine is mounted there)`);
    }
    if (status === 400 && (op === 'decrypt' || op === 'rewrap') && DECRYPT_FAILURE.test(vaultMessage)) {
      return this.#denied(`Vault refused to ${op} with transit key "${keyName}": wrong context, another key, or altered ciphertext`);
    }
    if (status === 400) return this.#denied(`Vault rejected ${op}${target} (HTTP 400)${said}`);
    if (status === 503) {
      return unavailable(/sealed/i.test(vaultMessage) ? 'Vault is sealed' : `Vault is unavailable (HTTP 503: standby or maintenance)${said}`);
    }
    if (status === 429) return unavailable(`Vault is rate limiting requests (HTTP 429)${target}`);
    if (status >= 500) return unavailable(`Vault is unreachable: HTTP ${status} on ${op}${target}${said}`);
    return unavailable(`Vault answered HTTP ${status} to ${op}${target}${said}`);
  }

  /** Vault's error text, cut short, with any known secret replaced. */
  #redact(text: string, extra: string[]): string {
    let out = text.slice(0, 300);
    const secrets = [...this.#secrets, ...extra];
    if (this.#token) secrets.push(this.#token);
    for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('[redacted]');
    // A Vault ciphertext or token shape never belongs in a message, even one we do not know of.
    return out.replace(/vault:v\d+:[A-Za-z0-9+/=]+/g, '[ciphertext]').replace(/\b(hv[sbr]|s|b)\.[A-Za-z0-9_-]{20,}/g, '[token]');
  }

  // --- auth -------------------------------------------------------------------------------

  /** The token to use; with AppRole logs in first if there is none (one shared login). */
  #ensureToken(): Promise<string> {
    if (this.#token) return Promise.resolve(this.#token);
    this.#login ??= this.#doLogin().finally(() => {
      this.#login = undefined;
    });
    return this.#login;
  }

  /** AppRole API, "Login with AppRole": `POST /auth/approle/login` `{ role_id, secret_id }`. */
  async #doLogin(): Promise<string> {
    const { roleId, secretId } = this.#appRole!;
    let res: any;
    try {
      res = await this.#send((o) => {
        this.#client.token = ''; // never send an old token along with the login
        return this.#client.approleLogin({ role_id: roleId, secret_id: secretId, requestOptions: o });
      }, undefined);
    } catch (err) {
      const error = this.#mapError(err, 'login', this.#key, []);
      this.#lastAuthError = `AppRole login failed: ${error.message}`;
      throw error;
    } finally {
      this.#client.token = ''; // approleLogin stores the new token in the client
    }
    const auth = res?.auth;
    const token: unknown = auth?.client_token;
    if (typeof token !== 'string' || token === '') {
      throw new KeyProviderError('KEY_PROVIDER_UNAVAILABLE', 'Vault AppRole login returned no client token', 'vault');
    }
    this.#lastAuthError = undefined;
    this.#token = token; // redacted from messages as the current token
    this.#loginLeaseSeconds = Number(auth.lease_duration) || 0;
    this.#afterLease(this.#loginLeaseSeconds, auth.renewable === true);
    return token;
  }

  /** Token API, "Lookup a token (self)": learns a static token's TTL to schedule its renewal. */
  async #lookupStaticToken(): Promise<void> {
    const token = this.#token!;
    try {
      const res = await this.#send((o) => this.#client.tokenLookupSelf({ requestOptions: o }), token);
      const data = res?.data;
      this.#afterLease(Number(data?.ttl) || 0, data?.renewable === true);
    } catch (err) {
      const error = this.#mapError(err, 'token lookup', this.#key, []);
      this.#lastAuthError = `token lookup failed, renewal not scheduled: ${error.message}`;
      if (error.code === 'KEY_PROVIDER_UNAVAILABLE' && !this.#closed) this.#schedule(LOOKUP_RETRY_MS, () => this.#lookupStaticToken());
    }
  }

  /**
   * Schedules what keeps the token alive: renewal at half the lease when renewable; with AppRole a
   * fresh login at half the lease otherwise. A lease of 0 means the token does not expire.
   */
  #afterLease(leaseSeconds: number, renewable: boolean): void {
    if (this.#closed) return;
    if (!(leaseSeconds > 0)) {
      this.#tokenExpiresAt = undefined;
      return;
    }
    this.#tokenExpiresAt = Date.now() + leaseSeconds * 1000;
    const delay = (leaseSeconds * 1000) / 2;
    if (renewable) this.#schedule(delay, () => this.#renew());
    else if (this.#appRole) this.#schedule(delay, () => this.#relogin());
  }

  /** Token API, "Renew a token (self)": `POST /auth/token/renew-self`. */
  async #renew(): Promise<void> {
    const token = this.#token;
    if (!token || this.#closed) return;
    try {
      const res = await this.#send((o) => this.#client.tokenRenewSelf({ requestOptions: o }), token);
      this.#client.token = ''; // renew-self stores the token in the client
      if (this.#token !== token) return; // replaced by a login meanwhile
      const lease = Number(res?.auth?.lease_duration) || 0;
      const renewable = res?.auth?.renewable === true;
      this.#lastAuthError = undefined;
      if (this.#appRole && (!renewable || lease < this.#loginLeaseSeconds / 2)) {
        // Near the token's max TTL renewals shrink; a fresh login restores a full lease.
        this.#tokenExpiresAt = Date.now() + lease * 1000;
        this.#schedule((lease * 1000) / 2, () => this.#relogin());
        return;
      }
      this.#afterLease(lease, renewable);
    } catch (err) {
      this.#client.token = '';
      const error = this.#mapError(err, 'token renewal', this.#key, []);
      this.#lastAuthError = `token renewal failed: ${error.message}`;
      if (this.#appRole) {
        void this.#relogin();
        return;
      }
      // A static token cannot be replaced; retry while it has time left (Vault may be back).
      const left = (this.#tokenExpiresAt ?? 0) - Date.now();
      if (error.code === 'KEY_PROVIDER_UNAVAILABLE' && left > 2000) this.#schedule(left / 2, () => this.#renew());
    }
  }

  /** Drops the AppRole token and logs in again in the background; failures wait for the next call. */
  async #relogin(): Promise<void> {
    if (this.#closed) return;
    const token = this.#token;
    if (token) this.#invalidate(token);
    await this.#ensureToken().catch(() => {}); // recorded in #lastAuthError by #doLogin
  }

  /** Forgets `token` if it is still the current one (a 403 or failed renewal); AppRole only. */
  #invalidate(token: string): void {
    if (!this.#appRole || this.#token !== token) return;
    this.#token = undefined;
    this.#tokenExpiresAt = undefined;
    this.#clearTimer();
  }

  #schedule(delayMs: number, fn: () => Promise<void>): void {
    this.#clearTimer();
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void fn();
    }, Math.max(1, delayMs));
    this.#timer.unref();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** The HTTP status of a node-vault `ApiResponseError` (`err.response.statusCode`), if any. */
function statusOf(err: unknown): number | undefined {
  const status = (err as { response?: { statusCode?: unknown } } | null)?.response?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** Vault's `errors` list joined (node-vault keeps only the first in `message`). */
function errorText(err: unknown): string {
  const errors = (err as { response?: { body?: { errors?: unknown } } }).response?.body?.errors;
  if (Array.isArray(errors)) return errors.filter((e): e is string => typeof e === 'string').join('; ');
  return '';
}
