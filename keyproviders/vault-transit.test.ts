/**
 * The Vault transit provider against the local Vault emulator (test/emulators/vault.ts), which
 * speaks Vault's HTTP API with real AES-256-GCM and HKDF-derived keys, so context binding,
 * tampering, rotation, rewrap, outages and token lifetimes are exercised end to end over HTTP.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { VaultTransitKeyProvider, transitContext, type VaultTransitOptions, type VaultTransitSettings } from './vault-transit.ts';
import { KeyProviderError, createProvider } from './index.ts';
import type { WrapContext } from './index.ts';
import { startVaultEmulator, type VaultEmulator } from '../test/emulators/vault.ts';

const context: WrapContext = { tenantId: 't1', address: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266' };
const otherTenant: WrapContext = { ...context, tenantId: 't2' };
const otherAddress: WrapContext = { ...context, address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' };

/** Every error the tests provoke, checked for secrets at the end of the file's last test. */
const seenErrors: KeyProviderError[] = [];
const seenSecrets = new Set<string>();

async function withEmulator(fn: (emu: VaultEmulator) => Promise<void>, options = {}): Promise<void> {
  const emu = await startVaultEmulator(options);
  seenSecrets.add(emu.rootToken);
  try {
    await fn(emu);
  } finally {
    await emu.close();
  }
}

function provider(emu: VaultEmulator, settings: Partial<VaultTransitSettings> = {}, options: VaultTransitOptions = {}): VaultTransitKeyProvider {
  return new VaultTransitKeyProvider(
    { addr: emu.url, token: emu.rootToken, mount: 'transit', key: 'vaultpilot', ...settings },
    options,
  );
}

function privateKey(): Uint8Array {
  const key = new Uint8Array(randomBytes(32));
  seenSecrets.add(Buffer.from(key).toString('base64'));
  seenSecrets.add(Buffer.from(key).toString('hex'));
  return key;
}

async function rejectsWith(promise: Promise<unknown>, code: string, pattern?: RegExp): Promise<KeyProviderError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof KeyProviderError, `expected a KeyProviderError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.equal(caught.provider, 'vault');
  if (pattern) assert.match(caught.message, pattern);
  seenErrors.push(caught);
  return caught;
}

function tamper(ciphertext: string): string {
  const i = ciphertext.length - 10; // inside the GCM tag / body, away from the prefix
  return ciphertext.slice(0, i) + (ciphertext[i] === 'A' ? 'B' : 'A') + ciphertext.slice(i + 1);
}

const countPath = (emu: VaultEmulator, suffix: string) => emu.requests.filter((r) => r.path.endsWith(suffix)).length;

test('wrap → unwrap round trip: keyVersion 1, context and token sent on encrypt and decrypt', async () => {
  await withEmulator(async (emu) => {
    const p = provider(emu);
    const key = privateKey();
    const wrapped = await p.wrap(key, context);
    seenSecrets.add(wrapped.ciphertext);
    assert.equal(wrapped.provider, 'vault');
    assert.equal(wrapped.keyRef, 'vaultpilot');
    assert.equal(wrapped.keyVersion, '1');
    assert.match(wrapped.ciphertext, /^vault:v1:[A-Za-z0-9+/]+=*$/);
    assert.deepEqual(await p.unwrap(wrapped, context), key);

    const expected = Buffer.from(`vaultpilot:t1:${context.address}`, 'utf8').toString('base64');
    assert.equal(transitContext(context), expected);
    const encrypt = emu.requests.find((r) => r.path === '/v1/transit/encrypt/vaultpilot')!;
    const decrypt = emu.requests.find((r) => r.path === '/v1/transit/decrypt/vaultpilot')!;
    for (const r of [encrypt, decrypt]) {
      assert.equal(r.method, 'POST');
      assert.equal(r.status, 200);
      assert.equal(r.context, expected);
      assert.equal(r.hasToken, true);
    }
    assert.ok(emu.requests.every((r) => r.hasToken), 'every request carries X-Vault-Token');
    p.close();
  });
});

test('the ciphertext is bound: another tenant or address, tampering, a Fernet row, bad input → DENIED', async () => {
  await withEmulator(async (emu) => {
    const p = provider(emu);
    const wrapped = await p.wrap(privateKey(), context);
    seenSecrets.add(wrapped.ciphertext);
    const bound = /wrong context, another key, or altered ciphertext/;
    await rejectsWith(p.unwrap(wrapped, otherTenant), 'KEY_PROVIDER_DENIED', bound);
    await rejectsWith(p.unwrap(wrapped, otherAddress), 'KEY_PROVIDER_DENIED', bound);
    await rejectsWith(p.unwrap({ ...wrapped, ciphertext: tamper(wrapped.ciphertext) }, context), 'KEY_PROVIDER_DENIED', bound);
    await rejectsWith(p.rewrap({ ...wrapped, ciphertext: tamper(wrapped.ciphertext) }, context), 'KEY_PROVIDER_DENIED', bound);
    await rejectsWith(p.unwrap({ ...wrapped, provider: 'fernet' }, context), 'KEY_PROVIDER_DENIED', /"fernet" provider/);
    // Caught locally, before any request: not a transit ciphertext, or a keyRef that is a path.
    const before = emu.requests.length;
    await rejectsWith(p.unwrap({ ...wrapped, ciphertext: 'gAAAAAB-not-vault' }, context), 'KEY_PROVIDER_DENIED', /not a Vault transit ciphertext/);
    await rejectsWith(p.unwrap({ ...wrapped, keyRef: '../../sys/seal' }, context), 'KEY_PROVIDER_DENIED', /keyRef/);
    await rejectsWith(p.wrap(new Uint8Array(31), context), 'KEY_PROVIDER_DENIED', /32-byte/);
    assert.equal(emu.requests.length, before);
    // Another transit key (same mount) cannot decrypt it either.
    emu.createKey('other', { derived: true });
    await rejectsWith(p.unwrap({ ...wrapped, keyRef: 'other' }, context), 'KEY_PROVIDER_DENIED', bound);
    p.close();
  });
});

test('rotation: current() follows the key (cached unless cacheMs: 0), wrap uses v2, rewrap moves v1 to v2', async () => {
  await withEmulator(async (emu) => {
    const fresh = provider(emu, {}, { cacheMs: 0 });
    const cached = provider(emu);
    const key = privateKey();
    const v1 = await fresh.wrap(key, context);
    seenSecrets.add(v1.ciphertext);
    assert.deepEqual(await cached.current(), { keyRef: 'vaultpilot', keyVersion: '1' });

    assert.equal(emu.rotateKey('vaultpilot'), 2);
    assert.deepEqual(await fresh.current(), { keyRef: 'vaultpilot', keyVersion: '2' });
    assert.equal((await cached.current()).keyVersion, '1', 'within cacheMs the last read is reused');

    const v2 = await cached.wrap(key, context);
    assert.equal(v2.keyVersion, '2');
    assert.match(v2.ciphertext, /^vault:v2:/);
    assert.equal((await cached.current()).keyVersion, '2', 'a wrap under a newer version refreshes the cached one');

    const rewrapped = await fresh.rewrap(v1, context);
    seenSecrets.add(rewrapped.ciphertext);
    assert.equal(rewrapped.provider, 'vault');
    assert.equal(rewrapped.keyRef, 'vaultpilot');
    assert.equal(rewrapped.keyVersion, '2');
    assert.match(rewrapped.ciphertext, /^vault:v2:/);
    assert.notEqual(rewrapped.ciphertext, v1.ciphertext);
    assert.equal(emu.requests.find((r) => r.path.endsWith('/rewrap/vaultpilot'))!.context, transitContext(context));
    assert.deepEqual(await fresh.unwrap(rewrapped, context), key);
    assert.deepEqual(await fresh.unwrap(v1, context), key, 'v1 still decrypts until min_decryption_version moves');
    await rejectsWith(fresh.rewrap(v1, otherTenant), 'KEY_PROVIDER_DENIED');
    fresh.close();
    cached.close();
  });
});

test('outages: deny → DENIED, sealed → UNAVAILABLE, down and slow → UNAVAILABLE quickly, then the same instance recovers', async () => {
  await withEmulator(async (emu) => {
    const p = provider(emu, { timeoutMs: 200 }, { cacheMs: 0 });
    const key = privateKey();
    const wrapped = await p.wrap(key, context);
    seenSecrets.add(wrapped.ciphertext);

    await emu.setMode('deny');
    await rejectsWith(p.unwrap(wrapped, context), 'KEY_PROVIDER_DENIED', /Vault denied decrypt on transit key "vaultpilot": permission denied \(check the token's policy\)/);
    await rejectsWith(p.wrap(key, context), 'KEY_PROVIDER_DENIED', /permission denied/);
    assert.match((await p.health()).detail, /permission denied/);

    await emu.setMode('sealed');
    await rejectsWith(p.unwrap(wrapped, context), 'KEY_PROVIDER_UNAVAILABLE', /^Vault is sealed$/);
    assert.deepEqual(await p.health(), { ok: false, detail: 'vault: Vault is sealed' });

    await emu.setMode('down');
    let started = Date.now();
    await rejectsWith(p.unwrap(wrapped, context), 'KEY_PROVIDER_UNAVAILABLE', /Vault is unreachable at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
    await rejectsWith(p.wrap(key, context), 'KEY_PROVIDER_UNAVAILABLE', /unreachable/);
    assert.ok(Date.now() - started < 1000, 'a refused connection fails fast');
    const down = await p.health();
    assert.equal(down.ok, false);
    assert.match(down.detail, /unreachable/);

    await emu.setMode('ok');
    emu.setLatency(1000);
    started = Date.now();
    await rejectsWith(p.unwrap(wrapped, context), 'KEY_PROVIDER_UNAVAILABLE', /decrypt timed out after 200 ms/);
    assert.ok(Date.now() - started < 800, 'the timeout bounds the wait');
    assert.equal((await p.health()).ok, false);

    emu.setLatency(0);
    assert.deepEqual(await p.unwrap(wrapped, context), key);
    assert.equal((await p.wrap(key, context)).keyVersion, '1');
    assert.equal((await p.health()).ok, true);
    p.close();
  });
});

test('a renewable token with a 2 s TTL is renewed in the background and keeps working after 3 s', async () => {
  await withEmulator(async (emu) => {
    const token = emu.issueToken({ ttlSeconds: 2, renewable: true });
    seenSecrets.add(token);
    const p = provider(emu, { token });
    const key = privateKey();
    const wrapped = await p.wrap(key, context);
    seenSecrets.add(wrapped.ciphertext);
    await sleep(3000);
    assert.ok(countPath(emu, '/auth/token/lookup-self') >= 1, 'looked itself up at start');
    assert.ok(countPath(emu, '/auth/token/renew-self') >= 2, 'renewed at about half the TTL, repeatedly');
    assert.ok(emu.requests.filter((r) => r.path.endsWith('/renew-self')).every((r) => r.status === 200));
    assert.deepEqual(await p.unwrap(wrapped, context), key);
    p.close();

    // Without renewal the same kind of token dies: the control for the test above.
    const unrenewed = emu.issueToken({ ttlSeconds: 1, renewable: false });
    seenSecrets.add(unrenewed);
    const q = provider(emu, { token: unrenewed });
    await sleep(1100);
    await rejectsWith(q.unwrap(wrapped, context), 'KEY_PROVIDER_DENIED', /permission denied/);
    q.close();
  });
});

test('AppRole: one shared lazy login, re-login after expiry and after a 403, bad credentials → UNAVAILABLE', async () => {
  await withEmulator(async (emu) => {
    const roleId = 'vaultpilot-role';
    const secretId = randomBytes(16).toString('hex');
    seenSecrets.add(secretId);
    emu.addAppRole(roleId, secretId, { ttlSeconds: 1, renewable: false });
    const p = provider(emu, { token: undefined, roleId, secretId });
    assert.equal(emu.requests.length, 0, 'no request before first use');

    const key = privateKey();
    const results = await Promise.all(Array.from({ length: 5 }, () => p.wrap(key, context)));
    assert.equal(countPath(emu, '/auth/approle/login'), 1, 'concurrent first calls share one login');
    for (const w of results) seenSecrets.add(w.ciphertext);

    await sleep(1300); // the 1 s token has expired by now
    assert.deepEqual(await p.unwrap(results[0]!, context), key);
    assert.ok(countPath(emu, '/auth/approle/login') >= 2, 'logged in again after expiry');

    // A revoked token: the call gets 403, logs in again and retries once.
    emu.revokeTokens();
    const logins = countPath(emu, '/auth/approle/login');
    emu.requests.length = 0;
    assert.deepEqual(await p.unwrap(results[1]!, context), key);
    assert.deepEqual(
      emu.requests.map((r) => `${r.path} ${r.status}`),
      ['/v1/transit/decrypt/vaultpilot 403', '/v1/auth/approle/login 200', '/v1/transit/decrypt/vaultpilot 200'],
    );
    assert.equal(countPath(emu, '/auth/approle/login'), 1);
    assert.ok(logins >= 2);
    p.close();

    const bad = provider(emu, { token: undefined, roleId, secretId: 'wrong-secret-id-value' });
    seenSecrets.add('wrong-secret-id-value');
    await rejectsWith(bad.wrap(key, context), 'KEY_PROVIDER_UNAVAILABLE', /AppRole login failed.*check VAULT_ROLE_ID and VAULT_SECRET_ID/);
    const health = await bad.health();
    assert.equal(health.ok, false);
    assert.match(health.detail, /AppRole login failed/);
    bad.close();

    // A renewable AppRole token is renewed instead of replaced.
    const renewable = randomBytes(16).toString('hex');
    seenSecrets.add(renewable);
    emu.addAppRole('renewing-role', renewable, { ttlSeconds: 1, renewable: true });
    const r = provider(emu, { token: undefined, roleId: 'renewing-role', secretId: renewable });
    emu.requests.length = 0;
    await r.current();
    await sleep(1200);
    assert.ok(countPath(emu, '/auth/token/renew-self') >= 2);
    assert.equal(countPath(emu, '/auth/approle/login'), 1);
    assert.equal((await r.current()).keyVersion, '1');
    r.close();
  });
});

test('health(): ok names the key and version; not derived, missing key or bad token → not ok with the reason', async () => {
  await withEmulator(async (emu) => {
    const p = provider(emu);
    assert.deepEqual(await p.health(), { ok: true, detail: 'vault: transit key "vaultpilot" v1 (derived) on mount "transit"' });
    emu.rotateKey('vaultpilot');
    assert.match((await p.health()).detail, /v2 \(derived\)/, 'health reads uncached');
    p.close();

    emu.createKey('plain', { derived: false });
    const plain = provider(emu, { key: 'plain' });
    const health = await plain.health();
    assert.equal(health.ok, false);
    assert.match(health.detail, /key "plain" must be created with derived=true/);
    await rejectsWith(plain.wrap(privateKey(), context), 'KEY_PROVIDER_UNAVAILABLE', /must be created with derived=true/);
    assert.equal(countPath(emu, '/encrypt/plain'), 0, 'never encrypts without context binding');
    plain.close();

    const missing = provider(emu, { key: 'nope' });
    assert.deepEqual(await missing.health(), {
      ok: false,
      detail: 'vault: transit key "nope" not found at transit (or no transit engine is mounted there)',
    });
    await rejectsWith(missing.current(), 'KEY_PROVIDER_UNAVAILABLE', /not found at transit/);
    missing.close();

    const badToken = 'hvs.invalidtokeninvalidtoken00';
    seenSecrets.add(badToken);
    const denied = provider(emu, { token: badToken });
    const deniedHealth = await denied.health();
    assert.equal(deniedHealth.ok, false);
    assert.match(deniedHealth.detail, /Vault denied read on transit key "vaultpilot": permission denied/);
    denied.close();

    const wrongMount = provider(emu, { mount: 'elsewhere' });
    assert.match((await wrongMount.health()).detail, /not found at elsewhere/);
    wrongMount.close();
  });
});

test('settings: namespace header sent, environment ignored, malformed settings → UNAVAILABLE, factory builds it', async () => {
  await withEmulator(async (emu) => {
    const saved = process.env.VAULT_NAMESPACE;
    process.env.VAULT_NAMESPACE = 'from-env';
    try {
      const plain = provider(emu);
      await plain.current();
      assert.equal(emu.requests.at(-1)!.namespace, undefined, 'node-vault must not pick VAULT_NAMESPACE from the environment');
      plain.close();
    } finally {
      if (saved === undefined) delete process.env.VAULT_NAMESPACE;
      else process.env.VAULT_NAMESPACE = saved;
    }
    const ns = provider(emu, { namespace: 'team-a' });
    await ns.current();
    assert.equal(emu.requests.at(-1)!.namespace, 'team-a');
    ns.close();

    const built = await createProvider('vault', { active: 'vault', vault: { addr: emu.url, token: emu.rootToken, mount: 'transit', key: 'vaultpilot' } });
    assert.equal(built.name, 'vault');
    assert.equal((await built.health()).ok, true);
    built.close();
    built.close(); // idempotent
  });

  const base: VaultTransitSettings = { addr: 'http://127.0.0.1:8200', token: 'hvs.x', mount: 'transit', key: 'vaultpilot' };
  const bad: [Partial<VaultTransitSettings>, RegExp][] = [
    [{ addr: 'not a url' }, /VAULT_ADDR/],
    [{ addr: 'ftp://vault' }, /http/],
    [{ key: 'a/b' }, /VAULT_TRANSIT_KEY/],
    [{ mount: '../sys' }, /VAULT_TRANSIT_MOUNT/],
    [{ token: undefined }, /VAULT_TOKEN, or VAULT_ROLE_ID and VAULT_SECRET_ID/],
    [{ timeoutMs: 0 }, /timeout/],
  ];
  for (const [override, pattern] of bad) {
    assert.throws(
      () => new VaultTransitKeyProvider({ ...base, ...override }),
      (err: unknown) => err instanceof KeyProviderError && err.code === 'KEY_PROVIDER_UNAVAILABLE' && pattern.test(err.message),
    );
  }
});

test('errors never contain tokens, secret ids, ciphertexts or plaintexts', () => {
  assert.ok(seenErrors.length >= 15, `expected many errors to inspect, saw ${seenErrors.length}`);
  for (const err of seenErrors) {
    const text = `${err.message}\n${err.stack ?? ''}\n${JSON.stringify(err)}\n${String((err as { cause?: unknown }).cause ?? '')}`;
    for (const secret of seenSecrets) assert.ok(!text.includes(secret), `error "${err.message}" leaks a secret`);
    assert.doesNotMatch(text, /vault:v\d+:[A-Za-z0-9+/]{8,}/);
    assert.doesNotMatch(text, /hvs\.[A-Za-z0-9]{10,}/);
    assert.equal((err as { cause?: unknown }).cause, undefined, 'no axios error (it holds the token and body) is attached');
  }
});

