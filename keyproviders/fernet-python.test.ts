/**
 * Fernet interop with Python's `cryptography.fernet` (Debian's python3-cryptography, run as
 * /usr/bin/python3 by test/python-fernet.ts), which is what AgentVault stores wallet keys with:
 * tokens cross in both directions, keys made on either side work on the other, and MultiFernet's
 * rotation semantics (first key encrypts, every key decrypts) match our provider's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { FernetKeyProvider, fernetDecrypt, fernetEncrypt, generateFernetKey } from './fernet.ts';
import { KeyProviderError, type WrapContext, type WrappedKey } from './index.ts';
import { pyDecrypt, pyEncrypt, pyGenerateKey, pyRotate, pythonCryptographyVersion } from '../test/python-fernet.ts';

const context: WrapContext = { tenantId: 't1', address: '0x0000000000000000000000000000000000000001' };
const asWrapped = (token: string, keyRef = 'agentvault'): WrappedKey => ({ provider: 'fernet', keyRef, keyVersion: '1', ciphertext: token });

async function deniedUnwrap(provider: FernetKeyProvider, token: string): Promise<void> {
  await assert.rejects(provider.unwrap(asWrapped(token), context), (err: unknown) => err instanceof KeyProviderError && err.code === 'KEY_PROVIDER_DENIED');
}

test('Python cryptography is available at /usr/bin/python3', () => {
  assert.match(pythonCryptographyVersion(), /^\d+\.\d+/);
});

test('a key from Python\'s Fernet.generate_key() has our format and works with our provider', async () => {
  const key = pyGenerateKey();
  assert.match(key, /^[A-Za-z0-9_-]{43}=$/);
  const provider = new FernetKeyProvider([key]);
  const secret = new Uint8Array(randomBytes(32));
  assert.deepEqual(await provider.unwrap(await provider.wrap(secret, context), context), secret);
});

test('tokens made by Python decrypt with fernetDecrypt and FernetKeyProvider (messages of every block length)', async () => {
  const key = pyGenerateKey();
  for (const length of [0, 1, 15, 16, 17, 31, 32, 33, 100]) {
    const message = new Uint8Array(randomBytes(length));
    const token = pyEncrypt(key, message);
    assert.deepEqual(fernetDecrypt(key, token), message, `length ${length}`);
  }
  const privateKey = new Uint8Array(randomBytes(32));
  const token = pyEncrypt(key, privateKey);
  assert.deepEqual(await new FernetKeyProvider([key]).unwrap(asWrapped(token), context), privateKey);
});

test('tokens made here (fernetEncrypt and FernetKeyProvider.wrap) decrypt in Python', async () => {
  const key = generateFernetKey();
  for (const length of [0, 1, 16, 32, 47]) {
    const message = new Uint8Array(randomBytes(length));
    assert.deepEqual(pyDecrypt(key, fernetEncrypt(key, message)), message, `length ${length}`);
  }
  const privateKey = new Uint8Array(randomBytes(32));
  const wrapped = await new FernetKeyProvider([key]).wrap(privateKey, context);
  assert.deepEqual(pyDecrypt(key, wrapped.ciphertext), privateKey);
});

test('both sides refuse a token under the wrong key, and a token altered by one character', async () => {
  const [k1, k2] = [pyGenerateKey(), pyGenerateKey()];
  const message = new Uint8Array(randomBytes(32));
  const pythonToken = pyEncrypt(k1, message);
  const ourToken = fernetEncrypt(k1, message);
  assert.throws(() => fernetDecrypt(k2, pythonToken), KeyProviderError);
  assert.equal(pyDecrypt(k2, ourToken), undefined);
  // Flip a character inside the ciphertext (not the last, whose low bits are padding in base64).
  const i = 60;
  const altered = ourToken.slice(0, i) + (ourToken[i] === 'A' ? 'B' : 'A') + ourToken.slice(i + 1);
  assert.throws(() => fernetDecrypt(k1, altered), KeyProviderError);
  assert.equal(pyDecrypt(k1, altered), undefined);
});

test('TTL semantics match: a token stamped 2 minutes ago passes ttl=300 and fails ttl=60 on both sides', () => {
  const key = pyGenerateKey();
  const message = new Uint8Array([1, 2, 3]);
  const token = fernetEncrypt(key, message, { now: new Date(Date.now() - 120_000) });
  assert.deepEqual(pyDecrypt(key, token, 300), message);
  assert.equal(pyDecrypt(key, token, 60), undefined);
  assert.deepEqual(fernetDecrypt(key, token, { ttlSeconds: 300 }), message);
  assert.throws(() => fernetDecrypt(key, token, { ttlSeconds: 60 }), /expired/);
});

test('MultiFernet rotation: [new, old] decrypts old tokens and encrypts under new, in Python and here', async () => {
  const oldKey = pyGenerateKey();
  const newKey = pyGenerateKey();
  const secret = new Uint8Array(randomBytes(32));
  const oldToken = pyEncrypt(oldKey, secret);

  // Python: MultiFernet([k2, k1]).decrypt(old_token) works; ours with [k2, k1] too.
  assert.deepEqual(pyDecrypt([newKey, oldKey], oldToken), secret);
  const provider = new FernetKeyProvider([newKey, oldKey]);
  assert.deepEqual(await provider.unwrap(asWrapped(oldToken), context), secret);
  // The keyRef only orders the attempts: a stale or foreign reference still finds the key.
  const [newRef, oldRef] = provider.keyRefs;
  assert.deepEqual(await provider.unwrap(asWrapped(oldToken, newRef), context), secret);
  assert.deepEqual(await provider.unwrap(asWrapped(oldToken, oldRef), context), secret);

  // Both encrypt with the first key only.
  const ours = await provider.wrap(secret, context);
  assert.equal(ours.keyRef, newRef);
  assert.deepEqual(pyDecrypt(newKey, ours.ciphertext), secret);
  assert.equal(pyDecrypt(oldKey, ours.ciphertext), undefined);
  const theirs = pyEncrypt([newKey, oldKey], secret);
  assert.deepEqual(fernetDecrypt(newKey, theirs), secret);
  assert.throws(() => fernetDecrypt(oldKey, theirs), KeyProviderError);

  // MultiFernet.rotate(old_token) re-encrypts under the new key: readable by a provider holding only it.
  const rotated = pyRotate([newKey, oldKey], oldToken);
  assert.deepEqual(await new FernetKeyProvider([newKey]).unwrap(asWrapped(rotated), context), secret);
  await deniedUnwrap(new FernetKeyProvider([oldKey]), rotated);

  // After dropping the old key, neither side reads old tokens any more.
  assert.equal(pyDecrypt([newKey], oldToken), undefined);
  await deniedUnwrap(new FernetKeyProvider([newKey]), oldToken);
});

test('a Python token whose message is not 32 bytes is refused by the provider (not a private key)', async () => {
  const key = pyGenerateKey();
  await deniedUnwrap(new FernetKeyProvider([key]), pyEncrypt(key, new Uint8Array(31)));
});
