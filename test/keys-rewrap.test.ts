/**
 * `vaultpilot keys rewrap`, run as the real CLI process against a real Postgres: Fernet key
 * rotation, dry runs, and (in keys-rewrap-providers.test.ts) the Fernet → KMS → Vault → Fernet
 * migration with a crash mid-way.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateFernetKey } from '../keyproviders/fernet.ts';
import { createTenant, openWalletStore, runCli, signsWithAll, type WalletStoreHandle } from './custody-harness.ts';
import { createTestDatabase } from './harness.ts';

describe('keys rewrap: Fernet key rotation', () => {
  const oldKey = generateFernetKey();
  const newKey = generateFernetKey();
  let databaseUrl: string;
  let store: WalletStoreHandle;
  const agents: string[] = [];

  before(async () => {
    databaseUrl = await createTestDatabase();
    store = await openWalletStore(databaseUrl, { KEY_PROVIDER: 'fernet', FERNET_KEYS: oldKey });
    const tenants = [await createTenant(store.db, 'default'), await createTenant(store.db, 'other')];
    for (let i = 0; i < 30; i++) {
      const agentId = `rot-${i}`;
      await store.createWallet(tenants[i % 2]!, agentId);
      agents.push(agentId);
    }
    await store.close();
  });

  test('a dry run checks every wallet and writes nothing', async () => {
    const env = { KEY_PROVIDER: 'fernet', FERNET_KEYS: `${newKey},${oldKey}` };
    const before = await (await openWalletStore(databaseUrl, env)).snapshotAndClose();
    const run = await runCli(['keys', 'rewrap', '--to', 'fernet', '--dry-run', '--batch', '7'], { DATABASE_URL: databaseUrl, ...env });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /dry run: target fernet/);
    assert.match(run.stdout, /would move: 30/);
    assert.match(run.stdout, /batch 5: checked 2/);
    const afterRun = await (await openWalletStore(databaseUrl, env)).snapshotAndClose();
    assert.deepEqual(afterRun, before);
  });

  test('rotation: with the new key first, every wallet moves to it in batches; the old key can then be dropped', async () => {
    const env = { KEY_PROVIDER: 'fernet', FERNET_KEYS: `${newKey},${oldKey}` };
    const run = await runCli(['keys', 'rewrap', '--to', 'fernet', '--batch', '8', '--tenant', 'default'], { DATABASE_URL: databaseUrl, ...env });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /moved: 15/);
    const all = await runCli(['keys', 'rewrap', '--to', 'fernet', '--batch', '8', '--json'], { DATABASE_URL: databaseUrl, ...env });
    assert.equal(all.code, 0, all.stderr);
    const report = JSON.parse(all.stdout) as { moved: number; alreadyCurrent: number; failed: unknown[]; target: { keyRef: string } };
    assert.equal(report.moved, 15);
    assert.equal(report.alreadyCurrent, 15);
    assert.deepEqual(report.failed, []);

    // Only the new key now: every wallet still unwraps and signs for its own address.
    const store2 = await openWalletStore(databaseUrl, { KEY_PROVIDER: 'fernet', FERNET_KEYS: newKey });
    try {
      const rows = await store2.db.selectFrom('wallets').select(['key_ref', 'key_provider']).execute();
      assert.equal(rows.length, 30);
      assert.ok(rows.every((r) => r.key_provider === 'fernet' && r.key_ref === report.target.keyRef));
      assert.equal(await signsWithAll(store2), 30);
      const audit = await store2.db.selectFrom('audit_events').select(['action', 'status', 'request']).where('kind', '=', 'cli').execute();
      assert.equal(audit.filter((a) => a.action === 'keys.rewrap.wallet' && a.status === 'ok').length, 30);
      assert.equal(audit.filter((a) => a.action === 'keys.rewrap').length, 2);
      const text = JSON.stringify(audit);
      assert.ok(!text.includes(newKey) && !text.includes(oldKey), 'no Fernet key in the audit log');
    } finally {
      await store2.close();
    }

    // Nothing left to do: a re-run moves nothing.
    const again = await runCli(['keys', 'rewrap', '--to', 'fernet'], { DATABASE_URL: databaseUrl, KEY_PROVIDER: 'fernet', FERNET_KEYS: newKey });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /moved: 0/);
    assert.match(again.stdout, /already on target: 30/);
  });

  test('usage errors name the option and exit 2; an unconfigured target is KEY_PROVIDER_UNAVAILABLE', async () => {
    const env = { DATABASE_URL: databaseUrl, FERNET_KEYS: newKey };
    const missing = await runCli(['keys', 'rewrap'], env);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--to is required/);
    const bad = await runCli(['keys', 'rewrap', '--to', 'hsm'], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--to must be one of fernet, aws-kms, vault/);
    const batch = await runCli(['keys', 'rewrap', '--to', 'fernet', '--batch', '0'], env);
    assert.equal(batch.code, 2);
    assert.match(batch.stderr, /--batch must be an integer from 1 to 1000/);
    const tenant = await runCli(['keys', 'rewrap', '--to', 'fernet', '--tenant', 'nobody'], env);
    assert.equal(tenant.code, 2);
    assert.match(tenant.stderr, /no tenant named "nobody"/);
    const unconfigured = await runCli(['keys', 'rewrap', '--to', 'vault'], env);
    assert.equal(unconfigured.code, 1);
    assert.match(unconfigured.stderr, /KEY_PROVIDER_UNAVAILABLE: .*"vault" is not configured/);
  });

  test('a wallet whose key no configured Fernet key opens is reported, left unchanged, and the rest still move', async () => {
    const stray = generateFernetKey();
    const strayStore = await openWalletStore(databaseUrl, { KEY_PROVIDER: 'fernet', FERNET_KEYS: stray });
    const tenantId = await createTenant(strayStore.db, 'default');
    await strayStore.createWallet(tenantId, 'stray-agent');
    await strayStore.createWallet(tenantId, 'stray-agent-2');
    await strayStore.close();
    const third = generateFernetKey();
    // `third` first, `newKey` to read the 30 wallets; the stray key is not configured.
    const run = await runCli(['keys', 'rewrap', '--to', 'fernet'], { DATABASE_URL: databaseUrl, FERNET_KEYS: `${third},${newKey}` });
    assert.equal(run.code, 1);
    assert.match(run.stdout, /moved: 30/);
    assert.match(run.stdout, /failed: 2/);
    assert.match(run.stdout, /stray-agent .*KEY_PROVIDER_DENIED/);
    const check = await openWalletStore(databaseUrl, { FERNET_KEYS: stray });
    try {
      const strays = await check.db.selectFrom('wallets').select(['agent_id']).where('agent_id', 'like', 'stray-agent%').execute();
      assert.equal(strays.length, 2);
      // Still on the stray key, so the stray key still signs for them.
      assert.equal(await signsWithAll(check, 'stray-agent%'), 2);
    } finally {
      await check.close();
    }
  });

  after(async () => undefined);
});
