import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { AwsKmsKeyProvider } from './aws-kms.ts';
import type { AwsKmsSettings } from './aws-kms.ts';
import { KeyProviderError } from './index.ts';
import type { WrapContext, WrappedKey } from './index.ts';
import { startKmsEmulator } from '../test/emulators/kms.ts';
import type { KmsEmulator } from '../test/emulators/kms.ts';

const CONTEXT: WrapContext = { tenantId: 'tenant-a', address: '0x52908400098527886E0F7030069857D2E4169EE7' };

let kms: KmsEmulator;
const providers: AwsKmsKeyProvider[] = [];
/** Every error message and health detail seen, checked at the end for leaked secrets. */
const messages: string[] = [];
/** Plaintext hex and ciphertext base64 of every key wrapped here. */
const secrets: string[] = [];

function provider(overrides: Partial<AwsKmsSettings> = {}): AwsKmsKeyProvider {
  const p = new AwsKmsKeyProvider({
    keyId: kms.aliasName,
    region: kms.region,
    endpoint: kms.url,
    timeoutMs: 1000,
    clientConfig: { credentials: { accessKeyId: kms.accessKeyId, secretAccessKey: kms.secretAccessKey } },
    ...overrides,
  });
  providers.push(p);
  return p;
}

function newKey(): Uint8Array {
  const key = new Uint8Array(randomBytes(32));
  secrets.push(Buffer.from(key).toString('hex'));
  return key;
}

async function wrapped(p: AwsKmsKeyProvider, key = newKey(), context = CONTEXT): Promise<WrappedKey> {
  const w = await p.wrap(key, context);
  secrets.push(w.ciphertext);
  return w;
}

/** Asserts `promise` rejects with a KeyProviderError of `code` whose message matches `pattern`. */
async function rejects(promise: Promise<unknown>, code: KeyProviderError['code'], pattern: RegExp): Promise<KeyProviderError> {
  let caught: unknown;
  await promise.then(
    () => assert.fail(`expected ${code}`),
    (error: unknown) => (caught = error),
  );
  assert.ok(caught instanceof KeyProviderError, `expected a KeyProviderError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.equal(caught.provider, 'aws-kms');
  assert.match(caught.message, pattern);
  messages.push(caught.message);
  return caught;
}

async function health(p: AwsKmsKeyProvider): Promise<{ ok: boolean; detail: string }> {
  const h = await p.health();
  messages.push(h.detail);
  return h;
}

before(async () => {
  kms = await startKmsEmulator();
});

beforeEach(async () => {
  await kms.setMode('ok');
  kms.setLatency(0);
  kms.requests.length = 0;
});

after(async () => {
  for (const p of providers) p.close();
  await kms.close();
});

describe('AwsKmsKeyProvider against the KMS emulator', () => {
  test('wrap and unwrap round-trip, recording the key ARN even when configured by alias', async () => {
    const p = provider();
    assert.equal(p.name, 'aws-kms');
    const key = newKey();
    const w = await wrapped(p, key);
    assert.equal(w.provider, 'aws-kms');
    assert.equal(w.keyRef, kms.keyArn);
    assert.equal(w.keyVersion, '1');
    assert.match(w.ciphertext, /^[A-Za-z0-9+/]+={0,2}$/);
    const back = await p.unwrap(w, CONTEXT);
    assert.ok(back instanceof Uint8Array);
    assert.equal(back.length, 32);
    assert.deepEqual(back, key);
    assert.equal(back.byteOffset, 0);
    assert.equal(back.buffer.byteLength, 32, 'a fresh buffer, not a view into the SDK decode buffer');

    const [enc, dec] = kms.requests;
    const expected = { vaultpilot_tenant: CONTEXT.tenantId, vaultpilot_address: CONTEXT.address };
    assert.equal(enc?.target, 'Encrypt');
    assert.equal(enc?.keyId, kms.aliasName);
    assert.deepEqual(enc?.encryptionContext, expected);
    assert.equal(dec?.target, 'Decrypt');
    assert.equal(dec?.keyId, kms.keyArn, 'Decrypt pins the key recorded at wrap time');
    assert.deepEqual(dec?.encryptionContext, expected);
    assert.ok(kms.requests.every((r) => r.hasAuthorization), 'every request is SigV4-signed');
  });

  test('accepts the key id and key ARN as well as the alias', async () => {
    const id = kms.keyArn.split('/').pop()!;
    for (const keyId of [id, kms.keyArn, `arn:aws:kms:${kms.region}:111122223333:${kms.aliasName}`]) {
      const p = provider({ keyId });
      const key = newKey();
      const w = await wrapped(p, key);
      assert.equal(w.keyRef, kms.keyArn);
      assert.deepEqual(await p.unwrap(w, CONTEXT), key);
    }
  });

  test('the encryption context is enforced: another tenant or address is DENIED', async () => {
    const p = provider();
    const w = await wrapped(p);
    await rejects(p.unwrap(w, { ...CONTEXT, tenantId: 'tenant-b' }), 'KEY_PROVIDER_DENIED', /InvalidCiphertextException \(wrong encryption context/);
    await rejects(
      p.unwrap(w, { ...CONTEXT, address: '0x0000000000000000000000000000000000000001' }),
      'KEY_PROVIDER_DENIED',
      /refused Decrypt: InvalidCiphertextException/,
    );
  });

  test('tampered ciphertext, a foreign provider and another key are DENIED', async () => {
    const p = provider();
    const w = await wrapped(p);
    const blob = Buffer.from(w.ciphertext, 'base64');
    blob[blob.length - 5]! ^= 0x01;
    await rejects(p.unwrap({ ...w, ciphertext: blob.toString('base64') }, CONTEXT), 'KEY_PROVIDER_DENIED', /InvalidCiphertextException/);
    await rejects(p.unwrap({ ...w, ciphertext: 'not base64!' }, CONTEXT), 'KEY_PROVIDER_DENIED', /not base64/);
    await rejects(p.unwrap({ ...w, provider: 'fernet' }, CONTEXT), 'KEY_PROVIDER_DENIED', /wrapped by "fernet"/);
    const other = kms.createKey();
    await rejects(p.unwrap({ ...w, keyRef: other }, CONTEXT), 'KEY_PROVIDER_DENIED', /IncorrectKeyException/);
  });

  test('wrap refuses anything but 32 bytes, without calling KMS', async () => {
    const p = provider();
    await rejects(p.wrap(new Uint8Array(31), CONTEXT), 'KEY_PROVIDER_DENIED', /32-byte private keys only, got 31 bytes/);
    await rejects(p.wrap(new Uint8Array(33), CONTEXT), 'KEY_PROVIDER_DENIED', /got 33 bytes/);
    await rejects(p.wrap('00'.repeat(32) as unknown as Uint8Array, CONTEXT), 'KEY_PROVIDER_DENIED', /got string/);
    await rejects(p.wrap(new Uint8Array(32), { tenantId: '', address: CONTEXT.address }), 'KEY_PROVIDER_DENIED', /non-empty tenantId/);
    assert.equal(kms.requests.length, 0);
  });

  test('current() returns the key ARN and caches it', async () => {
    const p = provider();
    assert.deepEqual(await p.current(), { keyRef: kms.keyArn, keyVersion: '1' });
    assert.deepEqual(await p.current(), { keyRef: kms.keyArn, keyVersion: '1' });
    assert.equal(kms.requests.filter((r) => r.target === 'DescribeKey').length, 1);
  });

  test('health() reports the key and its state; a disabled key is not ok and refuses wrap', async () => {
    const p = provider();
    assert.deepEqual(await health(p), { ok: true, detail: `aws-kms: key ${kms.keyArn} Enabled` });
    const arn = kms.createKey('alias/disabled-test');
    kms.setKeyEnabled(arn, false);
    const q = provider({ keyId: 'alias/disabled-test' });
    assert.deepEqual(await health(q), { ok: false, detail: `aws-kms: key ${arn} Disabled` });
    await rejects(q.wrap(newKey(), CONTEXT), 'KEY_PROVIDER_DENIED', /refused Encrypt: DisabledException/);
    const missing = provider({ keyId: 'alias/no-such-key' });
    const h = await health(missing);
    assert.equal(h.ok, false);
    assert.match(h.detail, /^aws-kms: refused DescribeKey: NotFoundException/);
  });

  test("mode 'deny' is DENIED (AccessDeniedException) and the provider recovers", async () => {
    const p = provider();
    const w = await wrapped(p);
    await kms.setMode('deny');
    await rejects(p.wrap(newKey(), CONTEXT), 'KEY_PROVIDER_DENIED', /refused Encrypt: AccessDeniedException \(User: .* not authorized/);
    await rejects(p.unwrap(w, CONTEXT), 'KEY_PROVIDER_DENIED', /refused Decrypt: AccessDeniedException/);
    const h = await health(p);
    assert.equal(h.ok, false);
    assert.match(h.detail, /^aws-kms: access denied/);
    await kms.setMode('ok');
    assert.equal((await p.unwrap(w, CONTEXT)).length, 32);
  });

  test("mode 'down' is UNAVAILABLE quickly and service resumes on the same instance", async () => {
    const p = provider();
    const w = await wrapped(p); // leaves a keep-alive socket that 'down' destroys
    await kms.setMode('down');
    const started = Date.now();
    await rejects(p.unwrap(w, CONTEXT), 'KEY_PROVIDER_UNAVAILABLE', /^AWS KMS is unreachable: ECONN(REFUSED|RESET)/);
    assert.ok(Date.now() - started < 1500, `took ${Date.now() - started} ms`);
    await rejects(p.wrap(newKey(), CONTEXT), 'KEY_PROVIDER_UNAVAILABLE', /unreachable/);
    const h = await health(p);
    assert.equal(h.ok, false);
    assert.match(h.detail, /^aws-kms: unreachable \(ECONNREFUSED/);
    await kms.setMode('ok');
    assert.equal((await p.unwrap(w, CONTEXT)).length, 32);
    assert.equal((await health(p)).ok, true);
  });

  test('a KMS slower than timeoutMs is UNAVAILABLE (timeout) and service resumes', async () => {
    const p = provider({ timeoutMs: 300 });
    const w = await wrapped(p);
    kms.setLatency(1500);
    const started = Date.now();
    await rejects(p.unwrap(w, CONTEXT), 'KEY_PROVIDER_UNAVAILABLE', /^AWS KMS is unreachable: timed out after 300 ms$/);
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 1400, `two 300 ms attempts took ${elapsed} ms`);
    const h = await health(p);
    assert.deepEqual(h, { ok: false, detail: 'aws-kms: unreachable (timed out after 300 ms)' });
    kms.setLatency(0);
    assert.equal((await p.unwrap(w, CONTEXT)).length, 32);
  });

  test('credentials KMS rejects make the provider UNAVAILABLE (the signature is verified)', async () => {
    const p = provider({ clientConfig: { credentials: { accessKeyId: kms.accessKeyId, secretAccessKey: 'wrong-secret' } } });
    await rejects(p.wrap(newKey(), CONTEXT), 'KEY_PROVIDER_UNAVAILABLE', /rejected the credentials: InvalidSignatureException/);
    const h = await health(p);
    assert.deepEqual(h, { ok: false, detail: 'aws-kms: credentials rejected (InvalidSignatureException)' });
  });

  test('region and endpoint left undefined come from AWS_REGION and AWS_ENDPOINT_URL_KMS', async () => {
    const saved = { region: process.env.AWS_REGION, endpoint: process.env.AWS_ENDPOINT_URL_KMS };
    try {
      process.env.AWS_REGION = kms.region;
      process.env.AWS_ENDPOINT_URL_KMS = kms.url;
      const p = provider({ region: undefined, endpoint: undefined });
      assert.equal((await health(p)).ok, true);
      // The SigV4 scope carries the region: another one is refused by the emulator.
      process.env.AWS_REGION = 'eu-west-3';
      const q = provider({ region: undefined, endpoint: undefined });
      await rejects(q.current(), 'KEY_PROVIDER_UNAVAILABLE', /InvalidSignatureException/);
    } finally {
      for (const [name, value] of [['AWS_REGION', saved.region], ['AWS_ENDPOINT_URL_KMS', saved.endpoint]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  test('close() is idempotent and later calls are UNAVAILABLE', async () => {
    const p = provider();
    p.close();
    p.close();
    await rejects(p.wrap(newKey(), CONTEXT), 'KEY_PROVIDER_UNAVAILABLE', /closed/);
    assert.equal((await health(p)).ok, false);
  });

  test('settings are validated without echoing them', () => {
    assert.throws(() => new AwsKmsKeyProvider({ keyId: ' ' }), (e: unknown) => e instanceof KeyProviderError && e.code === 'KEY_PROVIDER_UNAVAILABLE');
    assert.throws(
      () => new AwsKmsKeyProvider({ keyId: 'alias/x', timeoutMs: -1 }),
      (e: unknown) => e instanceof KeyProviderError && e.code === 'KEY_PROVIDER_UNAVAILABLE',
    );
  });

  test('no error message or health detail contains a plaintext or ciphertext', () => {
    assert.ok(messages.length > 15 && secrets.length > 10);
    for (const message of messages) {
      for (const secret of secrets) assert.ok(!message.includes(secret), `leaked into: ${message}`);
      assert.ok(!/[0-9a-f]{64}/i.test(message), `hex run in: ${message}`);
    }
  });
});

describe('KMS emulator wire protocol', () => {
  const post = (headers: Record<string, string>) =>
    fetch(`${kms.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.DescribeKey', ...headers },
      body: JSON.stringify({ KeyId: kms.aliasName }),
    });

  test('unsigned and malformed requests get KMS-shaped 400 errors', async () => {
    const unsigned = await post({});
    assert.equal(unsigned.status, 400);
    assert.equal(unsigned.headers.get('x-amzn-errortype'), 'MissingAuthenticationTokenException');
    assert.equal(((await unsigned.json()) as { __type: string }).__type, 'MissingAuthenticationTokenException');
    const malformed = await post({ authorization: 'AWS4-HMAC-SHA256 Credential=nope', 'x-amz-date': '20250101T000000Z' });
    assert.equal(malformed.status, 400);
    assert.equal(((await malformed.json()) as { __type: string }).__type, 'IncompleteSignatureException');
  });

  test('operations other than Encrypt, Decrypt and DescribeKey are UnknownOperationException', async () => {
    const client = new KMSClient({
      region: kms.region,
      endpoint: kms.url,
      maxAttempts: 1,
      credentials: { accessKeyId: kms.accessKeyId, secretAccessKey: kms.secretAccessKey },
    });
    try {
      await assert.rejects(client.send(new ListKeysCommand({})), { name: 'UnknownOperationException' });
    } finally {
      client.destroy();
    }
  });
});
