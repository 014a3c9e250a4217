/**
 * A local stand-in for HashiCorp Vault that speaks Vault's real HTTP API for the parts VaultPilot
 * uses: the transit engine (keys, rotate, encrypt, decrypt, rewrap), token lookup/renewal, AppRole
 * login and `sys/health`. Tests and benchmarks use it instead of a Vault binary.
 *
 * Faithful where it matters to the provider:
 * - Real crypto. Each key version is a random 32-byte master key; a derived key's data key is
 *   HKDF-SHA256(master, salt = none, info = context), as Vault's keysutil derives it, used for
 *   AES-256-GCM; ciphertexts are `vault:v<N>:` + base64(nonce(12) ‖ ciphertext ‖ tag(16)). So a
 *   ciphertext decrypts only under the context it was made with.
 * - Vault's envelopes and status codes: `{ data: {...} }` / `{ auth: {...} }` on success,
 *   `{ errors: [...] }` with 400 (bad input, failed decryption), 403 (`permission denied`),
 *   404 (unknown key on read), 503 (sealed).
 * - Tokens: every path but `sys/health` and AppRole login needs `X-Vault-Token` with a token the
 *   emulator issued; tokens expire after their TTL unless renewed (renew-self).
 *
 * Not emulated: policies (every valid token may do everything), namespaces (`X-Vault-Namespace` is
 * accepted and logged, then ignored), key types other than aes256-gcm96, convergent encryption,
 * batch operations, key config/export/deletion.
 *
 * Source: Vault API docs, "Transit secrets engine (API)", "Token auth method (API)",
 * "AppRole auth method (API)", "/sys/health".
 *
 * Standalone: `npx node test/emulators/vault.ts` prints VAULT_ADDR and the root token and serves
 * until killed (port from VAULT_EMULATOR_PORT, default: a free one).
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/** What the emulator does with requests: see {@link VaultEmulator.setMode}. */
export type VaultEmulatorMode = 'ok' | 'down' | 'sealed' | 'deny';

/** Options of {@link startVaultEmulator}; all optional. */
export interface VaultEmulatorOptions {
  /** Port on 127.0.0.1; default 0 (a free one). */
  port?: number;
  /** The root token (never expires, not renewable); default a random `hvs.` token. */
  rootToken?: string;
  /** Default TTL in seconds of tokens from {@link VaultEmulator.issueToken}; default 3600. */
  tokenTtlSeconds?: number;
  /** The transit mount created at start; default `"transit"`. */
  mount?: string;
  /** Keys created at start on `mount`; default `[{ name: 'vaultpilot', derived: true }]`. */
  keys?: { name: string; derived: boolean }[];
  /** Delay before every answer, in ms; default 0. */
  latencyMs?: number;
}

/** One answered request, as recorded in {@link VaultEmulator.requests}. Holds no secrets. */
export interface VaultRequestRecord {
  method: string;
  /** URL path without the query, e.g. `/v1/transit/encrypt/vaultpilot`. */
  path: string;
  /** The status the emulator answered. */
  status: number;
  /** Whether an `X-Vault-Token` header was sent (its value is not kept). */
  hasToken: boolean;
  /** The body's `context` field as sent (base64; not secret), or undefined when absent. */
  context: string | undefined;
  /** The `X-Vault-Namespace` header, if any. */
  namespace: string | undefined;
}

/** A running emulator; see {@link startVaultEmulator}. */
export interface VaultEmulator {
  /** Base URL to use as VAULT_ADDR, e.g. `http://127.0.0.1:41234` (stable across down/ok). */
  readonly url: string;
  readonly port: number;
  /** A token that never expires. */
  readonly rootToken: string;
  /** Every answered request in order; clear it with `requests.length = 0`. */
  readonly requests: VaultRequestRecord[];
  /** The current mode. */
  readonly mode: VaultEmulatorMode;
  /**
   * `'ok'` serves normally; `'down'` stops listening and drops open connections (connections are
   * refused) until set back to `'ok'`, which listens again on the same port; `'sealed'` answers
   * 503 `Vault is sealed` everywhere (sys/health: 503 with `sealed: true`); `'deny'` answers 403
   * `permission denied` to everything but sys/health. Resolves once the listener is in that state.
   */
  setMode(mode: VaultEmulatorMode): Promise<void>;
  /** Delay, in ms, before every answer from now on. */
  setLatency(ms: number): void;
  /** Creates a key (version 1); a no-op if it exists, as in Vault. `mount` defaults to the start mount. */
  createKey(name: string, options?: { derived?: boolean; mount?: string }): void;
  /** Adds a key version and returns its number. @throws {Error} when the key does not exist. */
  rotateKey(name: string, options?: { mount?: string }): number;
  /**
   * Issues a service token. `ttlSeconds` defaults to the emulator's `tokenTtlSeconds` (0 = never
   * expires); `renewable` defaults to true.
   */
  issueToken(options?: { ttlSeconds?: number; renewable?: boolean }): string;
  /**
   * Registers an AppRole credential pair for `POST /v1/auth/approle/login`; the tokens it issues
   * have `ttlSeconds` (default: the emulator's `tokenTtlSeconds`) and `renewable` (default true).
   */
  addAppRole(roleId: string, secretId: string, options?: { ttlSeconds?: number; renewable?: boolean }): void;
  /** Revokes one token, or every token but the root token when none is given. */
  revokeTokens(token?: string): void;
  /** Stops the server and drops connections; idempotent. */
  close(): Promise<void>;
}

interface KeyVersion {
  master: Buffer;
  /** Unix seconds, as Vault lists them under `keys`. */
  created: number;
}

interface TransitKey {
  name: string;
  derived: boolean;
  versions: KeyVersion[];
  minDecryptionVersion: number;
}

interface TokenEntry {
  /** Seconds per lease; 0 = never expires. */
  ttlSeconds: number;
  renewable: boolean;
  /** Epoch ms; undefined = never expires. */
  expiresAt: number | undefined;
  issuedAt: number;
  accessor: string;
  policies: string[];
}

/** Vault's message for an operation on a derived key without a context (keysutil). */
const MISSING_CONTEXT =
  "missing 'context' for key derivation; the key was created using a derived key, which means additional, " +
  'per-request information must be included in order to perform operations with the key';
const MAX_BODY_BYTES = 1 << 20;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const CIPHERTEXT_PATTERN = /^vault:v(\d+):(.*)$/s;
const TRANSIT_ROUTE = /^\/v1\/(.+?)\/(encrypt|decrypt|rewrap|keys)\/([^/]+)(\/rotate)?$/;

/** An HTTP error in Vault's shape. */
class VaultHttpError extends Error {
  readonly status: number;
  readonly errors: string[];
  constructor(status: number, errors: string[]) {
    super(errors.join('; '));
    this.status = status;
    this.errors = errors;
  }
}

const badRequest = (message: string) => new VaultHttpError(400, [message]);
const PERMISSION_DENIED = () => new VaultHttpError(403, ['permission denied']);

function vaultToken(): string {
  // Vault 1.10+ service tokens look like "hvs." + 24 base62 characters (shape only).
  return `hvs.${randomBytes(18).toString('base64url').replace(/[-_]/g, 'x')}`;
}

function decodeBase64Field(body: Record<string, unknown>, field: string): Buffer {
  const value = body[field];
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
    throw badRequest(`failed to base64-decode ${field}`);
  }
  return Buffer.from(value, 'base64');
}

/** The AES-256-GCM key for `version` and `context` (keysutil: HKDF-SHA256 for derived keys). */
function dataKey(key: TransitKey, version: number, body: Record<string, unknown>): Buffer {
  const master = key.versions[version - 1]!.master;
  if (!key.derived) return master; // Vault ignores `context` for non-derived keys
  if (body.context === undefined || body.context === '') throw badRequest(MISSING_CONTEXT);
  const context = decodeBase64Field(body, 'context');
  if (context.length === 0) throw badRequest(MISSING_CONTEXT);
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), context, 32));
}

function encryptWith(key: TransitKey, plaintext: Buffer, body: Record<string, unknown>): { ciphertext: string; version: number } {
  const version = key.versions.length;
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', dataKey(key, version, body), nonce);
  const sealed = Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return { ciphertext: `vault:v${version}:${sealed.toString('base64')}`, version };
}

function decryptWith(key: TransitKey, ciphertext: unknown, body: Record<string, unknown>): Buffer {
  if (typeof ciphertext !== 'string' || ciphertext === '') throw badRequest('missing ciphertext to decrypt');
  const match = CIPHERTEXT_PATTERN.exec(ciphertext);
  if (!match) throw badRequest('invalid ciphertext: no prefix');
  const version = Number(match[1]);
  if (!Number.isSafeInteger(version) || version < 1 || version > key.versions.length) {
    throw badRequest('invalid key version');
  }
  if (version < key.minDecryptionVersion) {
    throw badRequest('ciphertext or signature version is disallowed by policy (too old)');
  }
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(match[2]!)) throw badRequest('invalid ciphertext: could not decode base64');
  const raw = Buffer.from(match[2]!, 'base64');
  if (raw.length < NONCE_BYTES + TAG_BYTES) throw badRequest('invalid ciphertext: length');
  const decipher = createDecipheriv('aes-256-gcm', dataKey(key, version, body), raw.subarray(0, NONCE_BYTES));
  decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)), decipher.final()]);
  } catch {
    // Go's crypto/cipher error text, which Vault passes through.
    throw badRequest('cipher: message authentication failed');
  }
}

function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new VaultHttpError(413, ['request body too large']));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8').trim();
      if (text === '') return resolve({});
      try {
        const parsed: unknown = JSON.parse(text);
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
        resolve(parsed as Record<string, unknown>);
      } catch {
        reject(badRequest('failed to parse JSON input'));
      }
    });
  });
}

/**
 * Starts an emulator on 127.0.0.1 with mount `transit` and the derived key `vaultpilot` (unless
 * `options` says otherwise).
 *
 * @returns the running {@link VaultEmulator}; call `close()` when done.
 * @throws {Error} when the port cannot be bound.
 */
export async function startVaultEmulator(options: VaultEmulatorOptions = {}): Promise<VaultEmulator> {
  const defaultMount = trimSlashes(options.mount ?? 'transit');
  const defaultTtl = options.tokenTtlSeconds ?? 3600;
  const rootToken = options.rootToken ?? vaultToken();
  let latencyMs = options.latencyMs ?? 0;
  let mode: VaultEmulatorMode = 'ok';
  const requests: VaultRequestRecord[] = [];
  const keys = new Map<string, TransitKey>();
  const tokens = new Map<string, TokenEntry>();
  const appRoles = new Map<string, { secretId: string; ttlSeconds: number; renewable: boolean }>();

  const keyId = (mount: string, name: string) => `${trimSlashes(mount)}\u0000${name}`;
  const mounts = new Set<string>([defaultMount]);

  function addToken(token: string, ttlSeconds: number, renewable: boolean, policies: string[]): string {
    const now = Date.now();
    tokens.set(token, {
      ttlSeconds,
      renewable,
      expiresAt: ttlSeconds > 0 ? now + ttlSeconds * 1000 : undefined,
      issuedAt: now,
      accessor: randomBytes(12).toString('base64url'),
      policies,
    });
    return token;
  }
  addToken(rootToken, 0, false, ['root']);

  function createKey(name: string, opts: { derived?: boolean; mount?: string } = {}): void {
    const mount = trimSlashes(opts.mount ?? defaultMount);
    mounts.add(mount);
    const id = keyId(mount, name);
    if (keys.has(id)) return;
    keys.set(id, {
      name,
      derived: opts.derived ?? false,
      versions: [{ master: randomBytes(32), created: Math.floor(Date.now() / 1000) }],
      minDecryptionVersion: 1,
    });
  }

  function rotateKey(name: string, opts: { mount?: string } = {}): number {
    const key = keys.get(keyId(opts.mount ?? defaultMount, name));
    if (!key) throw new Error(`no transit key "${name}"`);
    key.versions.push({ master: randomBytes(32), created: Math.floor(Date.now() / 1000) });
    return key.versions.length;
  }

  for (const k of options.keys ?? [{ name: 'vaultpilot', derived: true }]) createKey(k.name, { derived: k.derived });

  /** The token entry if `token` is known and unexpired. */
  function liveToken(token: string | undefined): TokenEntry | undefined {
    if (!token) return undefined;
    const entry = tokens.get(token);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      tokens.delete(token);
      return undefined;
    }
    return entry;
  }

  const remainingSeconds = (entry: TokenEntry) =>
    entry.expiresAt === undefined ? 0 : Math.max(0, Math.ceil((entry.expiresAt - Date.now()) / 1000));

  function keyInfo(key: TransitKey): Record<string, unknown> {
    return {
      name: key.name,
      type: 'aes256-gcm96',
      derived: key.derived,
      kdf: key.derived ? 'hkdf_sha256' : undefined,
      convergent_encryption: false,
      deletion_allowed: false,
      exportable: false,
      allow_plaintext_backup: false,
      latest_version: key.versions.length,
      min_available_version: 0,
      min_decryption_version: key.minDecryptionVersion,
      min_encryption_version: 0,
      keys: Object.fromEntries(key.versions.map((v, i) => [String(i + 1), v.created])),
      supports_encryption: true,
      supports_decryption: true,
      supports_derivation: true,
      supports_signing: false,
      auto_rotate_period: 0,
    };
  }

  /** Routes one request; returns the JSON body to send with 200, or throws a VaultHttpError. */
  async function route(method: string, path: string, headerToken: string | undefined, body: Record<string, unknown>): Promise<unknown> {
    const isPost = method === 'POST' || method === 'PUT';

    if (path === '/v1/auth/approle/login' && isPost) {
      const role = typeof body.role_id === 'string' ? appRoles.get(body.role_id) : undefined;
      if (!role || role.secretId !== body.secret_id) throw badRequest('invalid role or secret ID');
      const token = addToken(vaultToken(), role.ttlSeconds, role.renewable, ['default']);
      return {
        auth: {
          client_token: token,
          accessor: tokens.get(token)!.accessor,
          policies: ['default'],
          token_policies: ['default'],
          metadata: { role_name: 'vaultpilot' },
          lease_duration: role.ttlSeconds,
          renewable: role.renewable,
          token_type: 'service',
          orphan: true,
        },
      };
    }

    const entry = liveToken(headerToken);
    if (!entry) throw PERMISSION_DENIED();

    if (path === '/v1/auth/token/lookup-self' && method === 'GET') {
      return {
        data: {
          // Vault returns the token itself as `id`; callers must not log this response.
          id: headerToken,
          accessor: entry.accessor,
          policies: entry.policies,
          ttl: remainingSeconds(entry),
          creation_ttl: entry.ttlSeconds,
          creation_time: Math.floor(entry.issuedAt / 1000),
          expire_time: entry.expiresAt === undefined ? null : new Date(entry.expiresAt).toISOString(),
          explicit_max_ttl: 0,
          renewable: entry.renewable,
          type: 'service',
          num_uses: 0,
          orphan: true,
          path: entry.policies.includes('root') ? 'auth/token/root' : 'auth/token/create',
        },
      };
    }

    if (path === '/v1/auth/token/renew-self' && isPost) {
      if (!entry.renewable || entry.ttlSeconds === 0) throw badRequest('lease is not renewable');
      const increment = typeof body.increment === 'number' && body.increment > 0 ? body.increment : entry.ttlSeconds;
      entry.expiresAt = Date.now() + increment * 1000;
      return {
        auth: {
          client_token: headerToken,
          accessor: entry.accessor,
          policies: entry.policies,
          token_policies: entry.policies,
          lease_duration: increment,
          renewable: true,
          token_type: 'service',
        },
      };
    }

    const match = TRANSIT_ROUTE.exec(path);
    if (!match || !mounts.has(match[1]!)) {
      throw new VaultHttpError(404, [`no handler for route "${path.slice(4)}". route entry not found.`]);
    }
    const [, mount, action, rawName, rotate] = match;
    const name = decodeURIComponent(rawName!);
    const id = keyId(mount!, name);
    let key = keys.get(id);

    if (action === 'keys') {
      if (rotate) {
        if (!isPost) throw new VaultHttpError(405, ['unsupported operation']);
        if (!key) throw badRequest('key not found');
        rotateKey(name, { mount: mount! });
        return { data: keyInfo(key) };
      }
      if (method === 'GET') {
        if (!key) throw new VaultHttpError(404, []); // Vault: 404 with an empty error list
        return { data: keyInfo(key) };
      }
      if (isPost) {
        const type = body.type ?? 'aes256-gcm96';
        if (type !== 'aes256-gcm96') throw badRequest(`the emulator supports only key type aes256-gcm96, not "${String(type)}"`);
        createKey(name, { mount: mount!, derived: body.derived === true || body.derived === 'true' });
        return { data: keyInfo(keys.get(id)!) };
      }
      throw new VaultHttpError(405, ['unsupported operation']);
    }

    if (!isPost) throw new VaultHttpError(405, ['unsupported operation']);

    if (action === 'encrypt') {
      if (!key) {
        // Vault upserts on encrypt for tokens with `create` capability (every token here), making
        // the key derived when a context is given.
        createKey(name, { mount: mount!, derived: typeof body.context === 'string' && body.context !== '' });
        key = keys.get(id)!;
      }
      if (body.plaintext === undefined) throw badRequest('missing plaintext to encrypt');
      const out = encryptWith(key, decodeBase64Field(body, 'plaintext'), body);
      return { data: { ciphertext: out.ciphertext, key_version: out.version } };
    }

    if (!key) throw badRequest('encryption key not found');
    const plaintext = decryptWith(key, body.ciphertext, body);
    try {
      if (action === 'decrypt') return { data: { plaintext: plaintext.toString('base64') } };
      const out = encryptWith(key, plaintext, body); // rewrap
      return { data: { ciphertext: out.ciphertext, key_version: out.version } };
    } finally {
      plaintext.fill(0);
    }
  }

  function send(res: ServerResponse, status: number, payload: unknown): void {
    if (res.destroyed || res.writableEnded) return;
    const text = JSON.stringify(payload);
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(text);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const path = new URL(req.url ?? '/', 'http://emulator').pathname;
    const headerToken = header(req, 'x-vault-token');
    const record: VaultRequestRecord = {
      method,
      path,
      status: 0,
      hasToken: headerToken !== undefined,
      context: undefined,
      namespace: header(req, 'x-vault-namespace'),
    };
    let status = 200;
    let payload: unknown;
    try {
      const body = method === 'GET' || method === 'HEAD' ? {} : await readBody(req);
      if (typeof body.context === 'string') record.context = body.context;
      if (latencyMs > 0) await sleep(latencyMs);
      if (path === '/v1/sys/health') {
        const sealed = mode === 'sealed';
        status = sealed ? 503 : 200;
        payload = {
          initialized: true,
          sealed,
          standby: false,
          performance_standby: false,
          replication_performance_mode: 'disabled',
          replication_dr_mode: 'disabled',
          server_time_utc: Math.floor(Date.now() / 1000),
          version: '1.17.0+emulator',
          cluster_name: 'vault-emulator',
        };
      } else if (mode === 'sealed') {
        throw new VaultHttpError(503, ['Vault is sealed']);
      } else if (mode === 'deny') {
        throw PERMISSION_DENIED();
      } else {
        payload = await route(method, path, headerToken, body);
      }
    } catch (err) {
      if (err instanceof VaultHttpError) {
        status = err.status;
        payload = { errors: err.errors };
      } else {
        status = 500;
        payload = { errors: ['internal error'] };
      }
    }
    record.status = status;
    if (res.destroyed) return; // dropped by setMode('down') or close() while waiting
    requests.push(record);
    send(res, status, payload);
  }

  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });

  await listen(server, options.port ?? 0);
  const port = (server.address() as AddressInfo).port;
  let closed = false;

  async function stopListening(): Promise<void> {
    if (!server.listening) return;
    const done = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await done;
  }

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    rootToken,
    requests,
    get mode() {
      return mode;
    },
    async setMode(next: VaultEmulatorMode): Promise<void> {
      if (closed) throw new Error('the Vault emulator is closed');
      mode = next;
      if (next === 'down') await stopListening();
      else if (!server.listening) await listen(server, port);
    },
    setLatency(ms: number): void {
      latencyMs = Math.max(0, ms);
    },
    createKey,
    rotateKey,
    issueToken(opts: { ttlSeconds?: number; renewable?: boolean } = {}): string {
      return addToken(vaultToken(), opts.ttlSeconds ?? defaultTtl, opts.renewable ?? true, ['default']);
    },
    addAppRole(roleId: string, secretId: string, opts: { ttlSeconds?: number; renewable?: boolean } = {}): void {
      appRoles.set(roleId, { secretId, ttlSeconds: opts.ttlSeconds ?? defaultTtl, renewable: opts.renewable ?? true });
    },
    revokeTokens(token?: string): void {
      if (token !== undefined) tokens.delete(token);
      else for (const t of [...tokens.keys()]) if (t !== rootToken) tokens.delete(t);
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await stopListening();
    },
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? undefined : first;
}

function trimSlashes(path: string): string {
  return path.replace(/^\/+|\/+$/g, '');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      resolve();
    });
  });
}

if (import.meta.main) {
  const port = Number(process.env.VAULT_EMULATOR_PORT ?? 0);
  const emulator = await startVaultEmulator({ port: Number.isInteger(port) && port >= 0 ? port : 0 });
  // A local development aid: printing the root token is the point of running it standalone.
  console.log(`Vault emulator listening (transit mount "transit", derived key "vaultpilot")`);
  console.log(`VAULT_ADDR=${emulator.url}`);
  console.log(`VAULT_TOKEN=${emulator.rootToken}`);
  const stop = () => void emulator.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
