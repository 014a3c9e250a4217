/**
 * Fernet: the spec's published vectors (github.com/fernet/spec: generate.json, verify.json,
 * invalid.json), a token made by Python's `cryptography` 48.0.0, and the provider's contract.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { FernetKeyProvider, fernetDecrypt, fernetEncrypt, generateFernetKey } from './fernet.ts';
import { KeyProviderError, KeyRing, createKeyRing } from './index.ts';
import type { WrapContext } from './index.ts';

const SPEC_SECRET = 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=';
const SPEC_TOKEN =
  'gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==';
const SPEC_IV = Uint8Array.from({ length: 16 }, (_, i) => i);
const context: WrapContext = { tenantId: 't1', address: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266' };

/** Asserts that `fn` throws a KeyProviderError with `code` whose message matches `pattern`. */
function assertKeyProviderError(fn: () => unknown, code: string, pattern?: RegExp): KeyProviderError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof KeyProviderError, `expected a KeyProviderError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  if (pattern) assert.match(caught.message, pattern);
  return caught;
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<KeyProviderError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof KeyProviderError, `expected a KeyProviderError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  return caught;
}

function randomKey32(): Uint8Array {
  return new Uint8Array(createHash('sha256').update(String(Math.random())).digest());
}

function flipBase64Char(token: string, index: number): string {
  const c = token[index] === 'A' ? 'B' : 'A';
  return token.slice(0, index) + c + token.slice(index + 1);
}

// generate.json, the version-128 vector.
test('spec generate.json: encrypting "hello" at 1985-10-26T01:20:00-07:00 with IV 0..15 yields the published token', () => {
  const token = fernetEncrypt(SPEC_SECRET, new TextEncoder().encode('hello'), {
    now: new Date('1985-10-26T01:20:00-07:00'),
    iv: SPEC_IV,
  });
  assert.equal(token, SPEC_TOKEN);
});

// verify.json, the version-128 vector.
test('spec verify.json: the published token decrypts to "hello" with ttl 60 s one second later', () => {
  const plain = fernetDecrypt(SPEC_SECRET, SPEC_TOKEN, { ttlSeconds: 60, now: new Date('1985-10-26T01:20:01-07:00') });
  assert.equal(new TextDecoder().decode(plain), 'hello');
});

test('without a TTL the timestamp is not checked (Python semantics)', () => {
  assert.equal(new TextDecoder().decode(fernetDecrypt(SPEC_SECRET, SPEC_TOKEN)), 'hello');
});

// invalid.json: every case, with its own `now` and ttl_sec 60.
const invalid: { desc: string; token: string; now: string; reason: RegExp }[] = [
  {
    desc: 'incorrect mac',
    token: 'gAAAAAAdwJ6xAAECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPAl1-szkFVzXTuGb4hR8AKtwcaX1YdykQUFBQUFBQUFBQQ==',
    now: '1985-10-26T01:20:01-07:00',
    reason: /HMAC/,
  },
  {
    desc: 'too short',
    token: 'gAAAAAAdwJ6xAAECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPA==',
    now: '1985-10-26T01:20:01-07:00',
    reason: /length/,
  },
  {
    desc: 'invalid base64',
    token: '%%%%%%%%%%%%%AECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPAl1-szkFVzXTuGb4hR8AKtwcaX1YdykRtfsH-p1YsUD2Q==',
    now: '1985-10-26T01:20:01-07:00',
    reason: /base64/,
  },
  {
    desc: 'payload size not multiple of block size',
    token: 'gAAAAAAdwJ6xAAECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPOm73QeoCk9uGib28Xe5vz6oxq5nmxbx_v7mrfyudzUm',
    now: '1985-10-26T01:20:01-07:00',
    reason: /length|blocks/,
  },
  {
    desc: 'payload padding error',
    token: 'gAAAAAAdwJ6xAAECAwQFBgcICQoLDA0ODz4LEpdELGQAad7aNEHbf-JkLPIpuiYRLQ3RtXatOYREu2FWke6CnJNYIbkuKNqOhw==',
    now: '1985-10-26T01:20:01-07:00',
    reason: /padding/,
  },
  {
    desc: 'far-future TS (unacceptable clock skew)',
    token: 'gAAAAAAdwStRAAECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPAnja1xKYyhd-Y6mSkTOyTGJmw2Xc2a6kBd-iX9b_qXQcw==',
    now: '1985-10-26T01:20:01-07:00',
    reason: /future/,
  },
  {
    desc: 'expired TTL',
    token: 'gAAAAAAdwJ6xAAECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPAl1-szkFVzXTuGb4hR8AKtwcaX1YdykRtfsH-p1YsUD2Q==',
    now: '1985-10-26T01:21:31-07:00',
    reason: /expired/,
  },
  {
    desc: 'incorrect IV (causes padding error)',
    token: 'gAAAAAAdwJ6xBQECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPAkLhFLHpGtDBRLRTZeUfWgHSv49TF2AUEZ1TIvcZjK1zQ==',
    now: '1985-10-26T01:20:01-07:00',
    reason: /padding/,
  },
  {
    desc: 'trailing characters after b64 padding',
    token: `${SPEC_TOKEN}trailingdata`,
    now: '1985-10-26T01:20:01-07:00',
    reason: /base64/,
  },
  {
    desc: 'invalid characters in b64',
    token: '*gAAAAAAdwJ6wAAECAwQFBgcI!CQoLDA0ODy021?cpGVWKZ_eEwC@GM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==',
    now: '1985-10-26T01:20:01-07:00',
    reason: /base64/,
  },
  {
    desc: 'invalid non-urlsafe characters in b64',
    token: 'gAAAAAAdwJ6wAAEC/AwQFBgcICQoLDA0ODy+021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==',
    now: '1985-10-26T01:20:01-07:00',
    reason: /base64/,
  },
];

for (const vector of invalid) {
  test(`spec invalid.json: ${vector.desc} is rejected with KEY_PROVIDER_DENIED`, () => {
    assertKeyProviderError(
      () => fernetDecrypt(SPEC_SECRET, vector.token, { ttlSeconds: 60, now: new Date(vector.now) }),
      'KEY_PROVIDER_DENIED',
      vector.reason,
    );
  });
}

test('the expired and far-future vectors carry a valid HMAC: without a TTL they decrypt', () => {
  // Proves those two vectors are rejected for their age, not for some other flaw. Both hold an
  // empty message (Python's Fernet.decrypt without ttl returns b'' for them too).
  assert.equal(fernetDecrypt(SPEC_SECRET, invalid[6]!.token).length, 0);
  assert.equal(fernetDecrypt(SPEC_SECRET, invalid[5]!.token).length, 0);
});

test('a token with a wrong version byte but a valid HMAC is rejected for its version', () => {
  const raw = Buffer.from(SPEC_TOKEN, 'base64url');
  raw[0] = 0x81;
  const signingKey = Buffer.from(SPEC_SECRET, 'base64url').subarray(0, 16);
  const body = raw.subarray(0, raw.length - 32);
  const resigned = Buffer.concat([body, createHmac('sha256', signingKey).update(body).digest()]);
  const token = resigned.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
  assertKeyProviderError(() => fernetDecrypt(SPEC_SECRET, token), 'KEY_PROVIDER_DENIED', /version/);
});

test('a token made by Python cryptography 48.0.0 (Fernet(key).encrypt(raw key)) decrypts here', async () => {
  // python3 -c 'from cryptography.fernet import Fernet; k=Fernet.generate_key(); print(k, Fernet(k).encrypt(pk))'
  // with pk = anvil's well-known test account #0 private key.
  const key = 'tkdvsBp1jueFAX5dAk5Gw2NEAYgb3Jwc7N1ZfiCSB0Q=';
  const token =
    'gAAAAABrAm5RbNqRgmLKWcm4k-efaweXhvCd5rq_0m-t0eOv6RF5--EFUq7noE3vmbwLts7ugV3bUSCe3kZAVysBNoQn21OIlsrJQbxAqGaKsHojhNyFFvxm3rZbz1I3HqzyzlF2Xeng';
  const privateKey = 'ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
  assert.equal(Buffer.from(fernetDecrypt(key, token)).toString('hex'), privateKey);
  const provider = new FernetKeyProvider([key]);
  assert.equal(provider.keyRefs[0], '166582232c64213c'); // hashlib.sha256(urlsafe_b64decode(k)).hexdigest()[:16]
  const unwrapped = await provider.unwrap({ provider: 'fernet', keyRef: 'agentvault', keyVersion: '1', ciphertext: token }, context);
  assert.equal(Buffer.from(unwrapped).toString('hex'), privateKey);
});

test('generateFernetKey: 44 url-safe base64 characters ending in "=", fresh each time, usable', () => {
  const a = generateFernetKey();
  const b = generateFernetKey();
  assert.match(a, /^[A-Za-z0-9_-]{43}=$/);
  assert.notEqual(a, b);
  assert.equal(Buffer.from(a, 'base64url').length, 32);
  const token = fernetEncrypt(a, new Uint8Array([1, 2, 3]));
  assert.deepEqual(fernetDecrypt(a, token), new Uint8Array([1, 2, 3]));
  // A random IV per token: the same message never gives the same token twice.
  assert.notEqual(fernetEncrypt(a, new Uint8Array([1, 2, 3])), token);
});

test('tokens are padded url-safe base64 with version 0x80 and the creation time in seconds', () => {
  const now = new Date('2025-01-02T03:04:05.678Z');
  const token = fernetEncrypt(generateFernetKey(), new Uint8Array(32), { now });
  assert.match(token, /^[A-Za-z0-9_-]+={0,2}$/);
  assert.equal(token.length % 4, 0);
  const raw = Buffer.from(token, 'base64url');
  assert.equal(raw[0], 0x80);
  assert.equal(raw.readBigUInt64BE(1), BigInt(Math.floor(now.getTime() / 1000)));
  assert.equal(raw.length, 1 + 8 + 16 + 48 + 32); // 32 bytes pad to 48 (PKCS7 adds a full block)
});

test('a malformed key is KEY_PROVIDER_UNAVAILABLE and the message does not contain it', () => {
  const badKey = 'c2VjcmV0LWtleS10aGF0LWlzLXRvby1zaG9ydA'; // 38 chars, no padding
  const err = assertKeyProviderError(() => fernetEncrypt(badKey, new Uint8Array(1)), 'KEY_PROVIDER_UNAVAILABLE', /44 characters/);
  assert.ok(!err.message.includes(badKey));
  assertKeyProviderError(() => new FernetKeyProvider([generateFernetKey(), badKey]), 'KEY_PROVIDER_UNAVAILABLE', /#2/);
});

test('provider: wraps a 32-byte key and unwraps it; the token is a plain Fernet token of the raw bytes', async () => {
  const key = generateFernetKey();
  const provider = new FernetKeyProvider([key]);
  assert.equal(provider.name, 'fernet');
  const secret = randomKey32();
  const wrapped = await provider.wrap(secret, context);
  assert.equal(wrapped.provider, 'fernet');
  assert.equal(wrapped.keyVersion, '1');
  assert.equal(wrapped.keyRef, createHash('sha256').update(Buffer.from(key, 'base64url')).digest('hex').slice(0, 16));
  assert.ok(!JSON.stringify(wrapped).includes(key));
  assert.deepEqual(await provider.unwrap(wrapped, context), secret);
  // Interchangeable with Python: the token holds exactly the 32 key bytes, nothing else.
  assert.deepEqual(fernetDecrypt(key, wrapped.ciphertext), secret);
});

test('provider: rotation — a token from the old key unwraps when the old key is second; new tokens use the new key', async () => {
  const oldKey = generateFernetKey();
  const newKey = generateFernetKey();
  const secret = randomKey32();
  const before = await new FernetKeyProvider([oldKey]).wrap(secret, context);
  const rotated = new FernetKeyProvider([newKey, oldKey]);
  assert.deepEqual(await rotated.unwrap(before, context), secret);
  // Order does not depend on keyRef: a row with a stale or foreign keyRef still unwraps.
  assert.deepEqual(await rotated.unwrap({ ...before, keyRef: 'unknown' }, context), secret);
  const after = await rotated.wrap(secret, context);
  assert.equal(after.keyRef, rotated.keyRefs[0]);
  assert.notEqual(after.keyRef, before.keyRef);
  assert.deepEqual(await new FernetKeyProvider([newKey]).unwrap(after, context), secret);
  // Once the old key is dropped, its tokens are denied.
  await rejectsWith(new FernetKeyProvider([newKey]).unwrap(before, context), 'KEY_PROVIDER_DENIED');
});

test('provider: a tampered token is KEY_PROVIDER_DENIED and the error names no secret', async () => {
  const key = generateFernetKey();
  const provider = new FernetKeyProvider([key]);
  const secret = randomKey32();
  const wrapped = await provider.wrap(secret, context);
  for (const index of [0, 12, 40, wrapped.ciphertext.length - 10]) {
    const tampered = { ...wrapped, ciphertext: flipBase64Char(wrapped.ciphertext, index) };
    const err = await rejectsWith(provider.unwrap(tampered, context), 'KEY_PROVIDER_DENIED');
    assert.ok(!err.message.includes(key), 'message contains the Fernet key');
    assert.ok(!err.message.includes(tampered.ciphertext), 'message contains the token');
    assert.ok(!err.message.includes(Buffer.from(secret).toString('hex')), 'message contains the plaintext');
  }
  // A different key entirely.
  await rejectsWith(new FernetKeyProvider([generateFernetKey()]).unwrap(wrapped, context), 'KEY_PROVIDER_DENIED');
  // Another provider's row.
  const foreign = { ...wrapped, provider: 'aws-kms' } as unknown as typeof wrapped;
  await rejectsWith(provider.unwrap(foreign, context), 'KEY_PROVIDER_DENIED');
});

test('provider: refuses to wrap anything but 32 bytes, and denies a valid token whose message is not 32 bytes', async () => {
  const key = generateFernetKey();
  const provider = new FernetKeyProvider([key]);
  await rejectsWith(provider.wrap(new Uint8Array(31), context), 'KEY_PROVIDER_DENIED');
  const hello = fernetEncrypt(key, new TextEncoder().encode('hello'));
  await rejectsWith(provider.unwrap({ provider: 'fernet', keyRef: provider.keyRefs[0]!, keyVersion: '1', ciphertext: hello }, context), 'KEY_PROVIDER_DENIED');
});

test('provider: health reports ok with the key count and the wrapping keyRef', async () => {
  const provider = new FernetKeyProvider([generateFernetKey(), generateFernetKey()]);
  const health = await provider.health();
  assert.equal(health.ok, true);
  assert.match(health.detail, /2 key\(s\)/);
  assert.ok(health.detail.includes(provider.keyRefs[0]!));
});

test('createKeyRing: builds the Fernet ring; no key or an unknown provider is KEY_PROVIDER_UNAVAILABLE', async () => {
  const key = generateFernetKey();
  const ring = await createKeyRing({ active: 'fernet', fernet: { keys: [key] } });
  assert.ok(ring instanceof KeyRing);
  assert.equal(ring.active.name, 'fernet');
  assert.deepEqual(ring.names, ['fernet']);
  const secret = randomKey32();
  assert.deepEqual(await ring.unwrap(await ring.wrap(secret, context), context), secret);
  const asyncError = async (promise: Promise<unknown>, pattern: RegExp) => {
    const err = await rejectsWith(promise, 'KEY_PROVIDER_UNAVAILABLE');
    assert.match(err.message, pattern);
  };
  await asyncError(createKeyRing({ active: 'fernet', fernet: { keys: [] } }), /no Fernet key/);
  await asyncError(createKeyRing({ active: 'fernet' }), /FERNET_KEYS/);
  await asyncError(createKeyRing({ active: 'aws-kms', fernet: { keys: [key] } }), /AWS_KMS_KEY_ID/);
  const unknown = { active: 'hsm', fernet: { keys: [key] } } as unknown as Parameters<typeof createKeyRing>[0];
  await asyncError(createKeyRing(unknown), /not supported/);
  // A key wrapped by a provider that is not configured here is unavailable, not denied.
  await rejectsWith(ring.unwrap({ provider: 'vault', keyRef: 'k', keyVersion: '1', ciphertext: 'vault:v1:x' }, context), 'KEY_PROVIDER_UNAVAILABLE');
});
