/**
 * A local AWS KMS for tests and benchmarks: a node:http server speaking the KMS wire protocol
 * (AWS JSON 1.1 over `POST /`, `X-Amz-Target: TrentService.<Operation>`, base64 blobs) for the
 * three operations VaultPilot uses: Encrypt, Decrypt and DescribeKey (AWS KMS API Reference,
 * "Actions"). The real @aws-sdk/client-kms talks to it unchanged when its endpoint points here.
 *
 * It does real cryptography so the encryption context is enforced the way KMS enforces it: each
 * key is an in-memory AES-256-GCM key, and a ciphertext blob is
 *
 *     0x01 ‖ len(keyId) (1 byte) ‖ keyId (utf-8) ‖ IV (12) ‖ tag (16) ‖ AES-256-GCM ciphertext
 *
 * with AAD = the header (version, length, key id) ‖ the canonical JSON of the encryption context
 * (entries sorted by key). Another context, another key or any altered byte fails the GCM tag and
 * answers `InvalidCiphertextException`, as KMS does.
 *
 * Requests must carry a SigV4 `Authorization` header and `X-Amz-Date`; the signature is verified
 * against the emulator's one static access key (AWS General Reference, "Create a signed AWS API
 * request"). Errors come back as KMS sends them: HTTP 400 (500 for internal errors), an
 * `x-amzn-ErrorType` header and a `{"__type","message"}` body.
 *
 * Run it standalone with `npx node test/emulators/kms.ts` (port from `KMS_EMULATOR_PORT`, default
 * random); it prints the environment to point VaultPilot at it and serves until killed.
 */

import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The account id in every ARN the emulator hands out (the one AWS uses in its documentation). */
export const EMULATOR_ACCOUNT_ID = '111122223333';

/** How the emulator behaves: serve, refuse connections (server stopped), or deny every call. */
export type KmsEmulatorMode = 'ok' | 'down' | 'deny';

/** One received request, for tests to assert what the SDK sent. Never holds plaintext or blobs. */
export interface KmsEmulatorRequest {
  /** The operation from `X-Amz-Target`, e.g. `'Encrypt'` (without the `TrentService.` prefix). */
  target: string;
  /** The request's `KeyId` as sent (id, ARN, alias name or alias ARN), if any. */
  keyId: string | undefined;
  /** The request's `EncryptionContext` as sent, if any. */
  encryptionContext: Record<string, string> | undefined;
  /** Whether an `Authorization` header was present (verified or not). */
  hasAuthorization: boolean;
}

/** Options of {@link startKmsEmulator}; every field has a default. */
export interface KmsEmulatorOptions {
  /** Region in ARNs and the only region the SigV4 credential scope may name. Default `us-east-1`. */
  region?: string;
  /** The one access key id accepted. Default `AKIAVAULTPILOTTEST01`. */
  accessKeyId?: string;
  /** Its secret, used to verify signatures. Default a fixed test string. */
  secretAccessKey?: string;
  /** The first key's alias name. Default `alias/vaultpilot-test`. */
  aliasName?: string;
  /** Port on 127.0.0.1; default 0 (an ephemeral port). */
  port?: number;
  /** Initial mode; default `'ok'`. */
  mode?: KmsEmulatorMode;
  /** Delay before every response, in ms; default 0. */
  latencyMs?: number;
}

/** A running emulator, as {@link startKmsEmulator} returns it. */
export interface KmsEmulator {
  /** `http://127.0.0.1:<port>`: the SDK's `endpoint`. Stable across `down`/`ok` cycles. */
  readonly url: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** ARN of the first key, `arn:aws:kms:<region>:111122223333:key/<uuid>`. */
  readonly keyArn: string;
  /** The first key's alias, e.g. `alias/vaultpilot-test`. */
  readonly aliasName: string;
  /** Every request received while listening, oldest first; tests may clear it (`length = 0`). */
  readonly requests: KmsEmulatorRequest[];
  /** The current mode. */
  readonly mode: KmsEmulatorMode;
  /**
   * Switches mode. `'down'` stops listening and destroys open sockets (clients get ECONNREFUSED);
   * leaving `'down'` listens again on the same port. Resolves once the socket state matches.
   */
  setMode(mode: KmsEmulatorMode): Promise<void>;
  /** Sets the delay before every response, in ms (applies to requests received from now on). */
  setLatency(ms: number): void;
  /** Creates another enabled key (optionally under an alias name) and returns its ARN. */
  createKey(aliasName?: string): string;
  /**
   * Enables or disables a key (by id, ARN, alias name or alias ARN). A disabled key reports
   * `KeyState: 'Disabled'` and answers Encrypt/Decrypt with `DisabledException`, as KMS does.
   * @throws {Error} when no such key exists.
   */
  setKeyEnabled(keyId: string, enabled: boolean): void;
  /** Stops the server, drops connections and pending delayed responses. Idempotent. */
  close(): Promise<void>;
}

interface EmulatedKey {
  id: string;
  arn: string;
  material: Buffer;
  enabled: boolean;
  createdSeconds: number;
}

/** A KMS-shaped error: HTTP status, `__type` name and message. */
class KmsFault extends Error {
  readonly type: string;
  readonly status: number;
  constructor(type: string, message: string, status = 400) {
    super(message);
    this.type = type;
    this.status = status;
  }
}

const BLOB_VERSION = 0x01;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const MAX_BODY_BYTES = 64 * 1024;
/** KMS Encrypt accepts 1 to 4096 bytes of plaintext. */
const MAX_PLAINTEXT_BYTES = 4096;
/** SigV4 requests older or newer than this are refused ("Signature expired"). */
const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
const AUTH_PATTERN =
  /^AWS4-HMAC-SHA256 Credential=([^/\s]+)\/(\d{8})\/([^/\s]+)\/([^/\s]+)\/aws4_request, ?SignedHeaders=([a-z0-9\-;.]+), ?Signature=([0-9a-f]{64})$/;
const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** The AAD of a context: canonical JSON of its entries sorted by key, so key order never matters. */
function contextAad(context: Record<string, string> | undefined): Buffer {
  const entries = Object.entries(context ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Buffer.from(JSON.stringify(entries), 'utf8');
}

/**
 * Checks a SigV4 signature (AWS General Reference, "Create a canonical request" through
 * "Calculate the signature"). KMS signs `POST /` with no query string.
 */
function signatureMatches(req: IncomingMessage, body: Buffer, amzDate: string, m: RegExpExecArray, secret: string): boolean {
  const [, , day, region, service, signedHeaders, signature] = m as unknown as string[];
  const names = signedHeaders!.split(';');
  const canonicalHeaders = names
    .map((name) => {
      const raw = req.headers[name];
      const value = Array.isArray(raw) ? raw.join(',') : (raw ?? '');
      return `${name}:${value.trim().replace(/\s+/g, ' ')}\n`;
    })
    .join('');
  const url = new URL(req.url ?? '/', 'http://emulator');
  const query = [...url.searchParams]
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .sort()
    .join('&');
  const canonicalRequest = [req.method, url.pathname, query, canonicalHeaders, signedHeaders, sha256Hex(body)].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${secret}`, day!), region!), service!), 'aws4_request');
  const expected = Buffer.from(createHmac('sha256', signingKey).update(stringToSign).digest('hex'));
  const given = Buffer.from(signature!);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** Parses `X-Amz-Date` (`yyyymmddThhmmssZ`) to epoch ms, or NaN. */
function parseAmzDate(value: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : NaN;
}

/**
 * Starts a KMS emulator on 127.0.0.1 with one enabled key under `alias/vaultpilot-test`.
 *
 * Accepts key ids, key ARNs, alias names and alias ARNs wherever KMS does. Encrypt answers
 * `{ CiphertextBlob, KeyId (ARN), EncryptionAlgorithm }`, Decrypt `{ Plaintext, KeyId,
 * EncryptionAlgorithm }`, DescribeKey `{ KeyMetadata }`; other targets get
 * `UnknownOperationException`. Decrypt with a `KeyId` naming another key than the blob's answers
 * `IncorrectKeyException`.
 *
 * @returns the handle to steer and stop it; see {@link KmsEmulator}.
 * @throws {Error} when the port cannot be bound.
 */
export async function startKmsEmulator(options: KmsEmulatorOptions = {}): Promise<KmsEmulator> {
  const region = options.region ?? 'us-east-1';
  const accessKeyId = options.accessKeyId ?? 'AKIAVAULTPILOTTEST01';
  const secretAccessKey = options.secretAccessKey ?? 'vaultpilot-kms-emulator-secret-not-a-real-key';
  const aliasName = options.aliasName ?? 'alias/vaultpilot-test';
  let mode: KmsEmulatorMode = options.mode ?? 'ok';
  let latencyMs = options.latencyMs ?? 0;
  const requests: KmsEmulatorRequest[] = [];
  const keys = new Map<string, EmulatedKey>();
  const aliases = new Map<string, string>();
  const pending = new Set<NodeJS.Timeout>();
  const arnPrefix = `arn:aws:kms:${region}:${EMULATOR_ACCOUNT_ID}:`;

  function createKey(alias?: string): string {
    const id = randomUUID();
    const key = { id, arn: `${arnPrefix}key/${id}`, material: randomBytes(32), enabled: true, createdSeconds: Math.floor(Date.now() / 1000) };
    keys.set(id, key);
    if (alias) aliases.set(alias, id);
    return key.arn;
  }

  /** Resolves an id, key ARN, alias name or alias ARN; undefined when nothing matches. */
  function findKey(ref: string): EmulatedKey | undefined {
    const local = ref.startsWith(arnPrefix) ? ref.slice(arnPrefix.length) : ref.startsWith('arn:') ? undefined : ref;
    if (local === undefined) return undefined;
    if (local.startsWith('alias/')) {
      const id = aliases.get(local);
      return id === undefined ? undefined : keys.get(id);
    }
    const id = local.startsWith('key/') ? local.slice(4) : local;
    return keys.get(id);
  }

  function resolveKey(ref: unknown): EmulatedKey {
    if (typeof ref !== 'string' || ref.length === 0) {
      throw new KmsFault('ValidationException', "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null");
    }
    const key = findKey(ref);
    if (!key) {
      const what = ref.includes('alias/') ? `Alias ${ref.startsWith('arn:') ? ref : arnPrefix + ref} is not found.` : `Key '${ref.startsWith('arn:') ? ref : `${arnPrefix}key/${ref}`}' does not exist`;
      throw new KmsFault('NotFoundException', what);
    }
    return key;
  }

  function usable(key: EmulatedKey): EmulatedKey {
    if (!key.enabled) throw new KmsFault('DisabledException', `${key.arn} is disabled.`);
    return key;
  }

  function readContext(value: unknown): Record<string, string> | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
      throw new KmsFault('SerializationException', 'EncryptionContext must be a map of strings');
    }
    return value as Record<string, string>;
  }

  function readBlob(value: unknown, field: string): Buffer {
    if (typeof value !== 'string' || !BASE64_PATTERN.test(value)) {
      throw new KmsFault('SerializationException', `${field} must be a base64-encoded blob`);
    }
    return Buffer.from(value, 'base64');
  }

  function checkAlgorithm(value: unknown): void {
    if (value !== undefined && value !== 'SYMMETRIC_DEFAULT') {
      throw new KmsFault('InvalidKeyUsageException', 'The encryption algorithm is not supported by this key.');
    }
  }

  function encrypt(input: Record<string, unknown>): Record<string, unknown> {
    const key = usable(resolveKey(input.KeyId));
    checkAlgorithm(input.EncryptionAlgorithm);
    const plaintext = readBlob(input.Plaintext, 'Plaintext');
    try {
      if (plaintext.length < 1 || plaintext.length > MAX_PLAINTEXT_BYTES) {
        throw new KmsFault(
          'ValidationException',
          `1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length between 1 and ${MAX_PLAINTEXT_BYTES}`,
        );
      }
      const id = Buffer.from(key.id, 'utf8');
      const header = Buffer.concat([Buffer.from([BLOB_VERSION, id.length]), id]);
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key.material, iv);
      cipher.setAAD(Buffer.concat([header, contextAad(readContext(input.EncryptionContext))]));
      const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      const blob = Buffer.concat([header, iv, cipher.getAuthTag(), body]);
      return { CiphertextBlob: blob.toString('base64'), KeyId: key.arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    } finally {
      plaintext.fill(0);
    }
  }

  function decrypt(input: Record<string, unknown>): Record<string, unknown> {
    checkAlgorithm(input.EncryptionAlgorithm);
    const context = readContext(input.EncryptionContext);
    const blob = readBlob(input.CiphertextBlob, 'CiphertextBlob');
    const invalid = () => new KmsFault('InvalidCiphertextException', 'The ciphertext, its encryption context or its key is not valid.');
    if (blob.length < 2 || blob[0] !== BLOB_VERSION) throw invalid();
    const idEnd = 2 + blob[1]!;
    if (blob.length < idEnd + IV_BYTES + TAG_BYTES) throw invalid();
    const blobKey = keys.get(blob.subarray(2, idEnd).toString('utf8'));
    if (input.KeyId !== undefined) {
      const requested = resolveKey(input.KeyId);
      if (blobKey && requested.id !== blobKey.id) {
        throw new KmsFault('IncorrectKeyException', 'The key ID in the request does not identify a CMK that can perform this operation.');
      }
    }
    if (!blobKey) throw invalid();
    usable(blobKey);
    const iv = blob.subarray(idEnd, idEnd + IV_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', blobKey.material, iv);
    decipher.setAAD(Buffer.concat([blob.subarray(0, idEnd), contextAad(context)]));
    decipher.setAuthTag(blob.subarray(idEnd + IV_BYTES, idEnd + IV_BYTES + TAG_BYTES));
    let plaintext: Buffer;
    try {
      plaintext = Buffer.concat([decipher.update(blob.subarray(idEnd + IV_BYTES + TAG_BYTES)), decipher.final()]);
    } catch {
      throw invalid();
    }
    const encoded = plaintext.toString('base64');
    plaintext.fill(0);
    return { Plaintext: encoded, KeyId: blobKey.arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
  }

  function describeKey(input: Record<string, unknown>): Record<string, unknown> {
    const key = resolveKey(input.KeyId);
    return {
      KeyMetadata: {
        AWSAccountId: EMULATOR_ACCOUNT_ID,
        KeyId: key.id,
        Arn: key.arn,
        CreationDate: key.createdSeconds,
        Enabled: key.enabled,
        Description: 'VaultPilot KMS emulator key',
        KeyUsage: 'ENCRYPT_DECRYPT',
        KeyState: key.enabled ? 'Enabled' : 'Disabled',
        Origin: 'AWS_KMS',
        KeyManager: 'CUSTOMER',
        CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
        KeySpec: 'SYMMETRIC_DEFAULT',
        EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
        MultiRegion: false,
      },
    };
  }

  const operations: Record<string, (input: Record<string, unknown>) => Record<string, unknown>> = {
    Encrypt: encrypt,
    Decrypt: decrypt,
    DescribeKey: describeKey,
  };

  /** Structural and cryptographic SigV4 checks, in the order AWS reports them. */
  function authenticate(req: IncomingMessage, body: Buffer): void {
    const auth = req.headers.authorization;
    if (!auth) throw new KmsFault('MissingAuthenticationTokenException', 'Missing Authentication Token');
    const amzDate = req.headers['x-amz-date'];
    const m = AUTH_PATTERN.exec(auth);
    if (!m || typeof amzDate !== 'string' || !m[5]!.split(';').includes('host')) {
      throw new KmsFault(
        'IncompleteSignatureException',
        'Authorization header requires Credential, SignedHeaders (including host) and Signature, and X-Amz-Date must be present.',
      );
    }
    const [, akid, day, scopeRegion, service] = m;
    if (akid !== accessKeyId) throw new KmsFault('UnrecognizedClientException', 'The security token included in the request is invalid.');
    const when = parseAmzDate(amzDate);
    if (scopeRegion !== region || service !== 'kms' || day !== amzDate.slice(0, 8) || Number.isNaN(when)) {
      throw new KmsFault('InvalidSignatureException', `Credential should be scoped to a valid date, region ${region} and service kms.`);
    }
    if (Math.abs(Date.now() - when) > MAX_CLOCK_SKEW_MS) throw new KmsFault('InvalidSignatureException', 'Signature expired.');
    if (!signatureMatches(req, body, amzDate, m, secretAccessKey)) {
      throw new KmsFault(
        'InvalidSignatureException',
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
      );
    }
  }

  function send(res: ServerResponse, status: number, payload: Record<string, unknown>, errorType?: string): void {
    const timer = setTimeout(() => {
      pending.delete(timer);
      if (res.destroyed) return;
      const headers: Record<string, string> = {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-requestid': randomUUID(),
      };
      if (errorType) headers['x-amzn-errortype'] = errorType;
      res.writeHead(status, headers).end(JSON.stringify(payload));
    }, latencyMs);
    pending.add(timer);
  }

  function handle(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith('TrentService.') ? target.slice('TrentService.'.length) : target;
    let input: Record<string, unknown> = {};
    try {
      try {
        const parsed: unknown = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) input = parsed as Record<string, unknown>;
        else throw new Error('not an object');
      } catch {
        throw new KmsFault('SerializationException', 'Request body is not a JSON object.');
      } finally {
        requests.push({
          target: operation,
          keyId: typeof input.KeyId === 'string' ? input.KeyId : undefined,
          encryptionContext:
            input.EncryptionContext && typeof input.EncryptionContext === 'object'
              ? { ...(input.EncryptionContext as Record<string, string>) }
              : undefined,
          hasAuthorization: req.headers.authorization !== undefined,
        });
      }
      if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://emulator').pathname !== '/') {
        throw new KmsFault('UnknownOperationException', 'KMS accepts POST / only.');
      }
      authenticate(req, body);
      const run = target.startsWith('TrentService.') ? operations[operation] : undefined;
      if (!run) throw new KmsFault('UnknownOperationException', `Unknown operation ${target || '(no X-Amz-Target)'}.`);
      if (mode === 'deny') {
        throw new KmsFault(
          'AccessDeniedException',
          `User: arn:aws:iam::${EMULATOR_ACCOUNT_ID}:user/vaultpilot-test is not authorized to perform: kms:${operation} on this resource because no identity-based policy allows the kms:${operation} action`,
        );
      }
      send(res, 200, run(input));
    } catch (error) {
      const fault = error instanceof KmsFault ? error : new KmsFault('KMSInternalException', 'Internal error in the KMS emulator.', 500);
      send(res, fault.status, { __type: fault.type, message: fault.message }, fault.type);
    }
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) req.destroy();
      else chunks.push(chunk);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      handle(req, body, res);
      for (const chunk of chunks) chunk.fill(0);
    });
  });

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });

  const stop = () =>
    new Promise<void>((resolve) => {
      for (const timer of pending) clearTimeout(timer);
      pending.clear();
      if (!server.listening) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });

  const firstArn = createKey(aliasName);
  await listen(options.port ?? 0);
  const port = (server.address() as AddressInfo).port;
  if (mode === 'down') await stop();
  let closed = false;

  return {
    url: `http://127.0.0.1:${port}`,
    region,
    accessKeyId,
    secretAccessKey,
    keyArn: firstArn,
    aliasName,
    requests,
    get mode() {
      return mode;
    },
    async setMode(next: KmsEmulatorMode) {
      if (closed) throw new Error('KMS emulator is closed');
      mode = next;
      if (next === 'down') await stop();
      else if (!server.listening) await listen(port);
    },
    setLatency(ms: number) {
      latencyMs = Math.max(0, ms);
    },
    createKey,
    setKeyEnabled(ref: string, enabled: boolean) {
      const key = findKey(ref);
      if (!key) throw new Error(`no emulated key ${ref}`);
      key.enabled = enabled;
    },
    async close() {
      closed = true;
      await stop();
      for (const key of keys.values()) key.material.fill(0);
    },
  };
}

if (import.meta.main) {
  const emulator = await startKmsEmulator({ port: Number(process.env.KMS_EMULATOR_PORT ?? 0) });
  console.log(`KMS emulator listening on ${emulator.url} (key ${emulator.keyArn}, ${emulator.aliasName})`);
  console.log('Point VaultPilot at it with:');
  console.log(`  KEY_PROVIDER=aws-kms AWS_ENDPOINT_URL_KMS=${emulator.url} AWS_REGION=${emulator.region} \\`);
  console.log(`  AWS_ACCESS_KEY_ID=${emulator.accessKeyId} AWS_SECRET_ACCESS_KEY=${emulator.secretAccessKey} \\`);
  console.log(`  AWS_KMS_KEY_ID=${emulator.aliasName}`);
  const shutdown = () => void emulator.close().then(() => process.exit(0));
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}
