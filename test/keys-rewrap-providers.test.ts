/**
 * `vaultpilot keys rewrap` across providers, as the real CLI process over a real Postgres, with
 * AWS KMS and Vault answered by the local wire-protocol emulators: 200 wallets go Fernet → KMS
 * (killed with SIGKILL mid-way, then resumed) → Vault → Vault's next key version (transit
 * rewrap) → Fernet. Every wallet still signs after each step, none is lost, and the audit log
 * shows each wallet's every move.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateFernetKey } from '../keyproviders/fernet.ts';
import { startKmsEmulator, type KmsEmulator } from './emulators/kms.ts';
import { startVaultEmulator, type VaultEmulator } from './emulators/vault.ts';
import { createTenant, openWalletStore, runCli, signsWithAll } from './custody-harness.ts';
import { createTestDatabase } from './harness.ts';

const WALLETS = 200;
const BATCH = 20;

describe('keys rewrap: Fernet → KMS (crash, resume) → Vault → Vault v2 → Fernet over 200 wallets', () => {
  const fernetKey = generateFernetKey();
  let kms: KmsEmulator;
  let vault: VaultEmulator;
  let databaseUrl: string;
  let env: Record<string, string>;

  const distribution = async (): Promise<Record<string, number>> => {
    const store = await openWalletStore(databaseUrl, env);
    try {
      const rows = await store.db.selectFrom('wallets').select(['key_provider', 'key_version']).execute();
      const out: Record<string, number> = {};
      for (const r of rows) out[`${r.key_provider}:${r.key_version}`] = (out[`${r.key_provider}:${r.key_version}`] ?? 0) + 1;
      return out;
    } finally {
      await store.close();
    }
  };

  /** Every wallet unwraps through the provider on its row and signs for its own address. */
  const allSign = async (settings: Record<string, string> = env): Promise<number> => {
    const store = await openWalletStore(databaseUrl, settings);
    try {
      return await signsWithAll(store);
    } finally {
      await store.close();
    }
  };

  before(async () => {
    kms = await startKmsEmulator();
    vault = await startVaultEmulator();
    databaseUrl = await createTestDatabase();
    env = {
      DATABASE_URL: databaseUrl,
      KEY_PROVIDER: 'fernet',
      FERNET_KEYS: fernetKey,
      AWS_KMS_KEY_ID: kms.aliasName,
      AWS_REGION: kms.region,
      AWS_ENDPOINT_URL_KMS: kms.url,
      AWS_ACCESS_KEY_ID: kms.accessKeyId,
      AWS_SECRET_ACCESS_KEY: kms.secretAccessKey,
      VAULT_ADDR: vault.url,
      VAULT_TOKEN: vault.rootToken,
      VAULT_TRANSIT_KEY: 'vaultpilot',
    };
    // The in-process store reads AWS credentials through the SDK's default chain, like the CLI.
    process.env.AWS_ACCESS_KEY_ID = kms.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = kms.secretAccessKey;
    const store = await openWalletStore(databaseUrl, env);
    try {
      const tenantA = await createTenant(store.db, 'default');
      const tenantB = await createTenant(store.db, 'team-b');
      for (let i = 0; i < WALLETS; i++) await store.createWallet(i % 4 === 0 ? tenantB : tenantA, `agent-${String(i).padStart(3, '0')}`);
    } finally {
      await store.close();
    }
  });

  after(async () => {
    await kms?.close();
    await vault?.close();
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
  });

  test('Fernet → KMS: a SIGKILL mid-way leaves whole batches moved and every wallet usable; a re-run finishes', async () => {
    assert.deepEqual(await distribution(), { 'fernet:1': WALLETS });
    kms.setLatency(15);
    const crashed = await runCli(['keys', 'rewrap', '--to', 'aws-kms', '--batch', String(BATCH)], { ...env, KEY_PROVIDER: 'aws-kms' }, { killWhen: /batch 3:/ });
    kms.setLatency(0);
    assert.equal(crashed.signal, 'SIGKILL', `the run was killed mid-way (stdout: ${crashed.stdout})`);
    const mid = await distribution();
    const onKms = mid['aws-kms:1'] ?? 0;
    assert.ok(onKms >= 3 * BATCH && onKms < WALLETS, `some but not all moved (${JSON.stringify(mid)})`);
    assert.equal(onKms % BATCH, 0, 'only whole batches are committed');
    assert.equal(onKms + (mid['fernet:1'] ?? 0), WALLETS, 'no wallet lost');
    assert.equal(await allSign(), WALLETS);

    const resumed = await runCli(['keys', 'rewrap', '--to', 'aws-kms', '--batch', String(BATCH), '--json'], { ...env, KEY_PROVIDER: 'aws-kms' });
    assert.equal(resumed.code, 0, resumed.stderr);
    const report = JSON.parse(resumed.stdout) as { moved: number; alreadyCurrent: number; failed: unknown[]; target: { keyRef: string } };
    assert.equal(report.alreadyCurrent, onKms);
    assert.equal(report.moved, WALLETS - onKms);
    assert.deepEqual(report.failed, []);
    assert.match(report.target.keyRef, /^arn:aws:kms:/);
    assert.deepEqual(await distribution(), { 'aws-kms:1': WALLETS });
    // Every Decrypt carried the wallet's encryption context.
    assert.ok(kms.requests.filter((r) => r.target === 'Decrypt').every((r) => r.encryptionContext?.vaultpilot_address?.startsWith('0x')));
    assert.equal(await allSign(), WALLETS);
  });

  test('KMS → Vault, then Vault key rotation moves every wallet to v2 through transit rewrap', async () => {
    const toVault = await runCli(['keys', 'rewrap', '--to', 'vault', '--batch', '50'], { ...env, KEY_PROVIDER: 'vault' });
    assert.equal(toVault.code, 0, toVault.stderr);
    assert.match(toVault.stdout, /moved: 200/);
    assert.deepEqual(await distribution(), { 'vault:1': WALLETS });
    assert.equal(await allSign(), WALLETS);

    vault.rotateKey('vaultpilot');
    const rewrapsBefore = vault.requests.filter((r) => r.path.includes('/rewrap/')).length;
    const rotated = await runCli(['keys', 'rewrap', '--to', 'vault', '--batch', '50'], { ...env, KEY_PROVIDER: 'vault' });
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stdout, /target vault key vaultpilot version 2/);
    assert.match(rotated.stdout, /moved: 200/);
    assert.equal(vault.requests.filter((r) => r.path.includes('/rewrap/')).length - rewrapsBefore, WALLETS);
    assert.deepEqual(await distribution(), { 'vault:2': WALLETS });
    assert.equal(await allSign(), WALLETS);
  });

  test('Vault → Fernet; then Fernet alone opens every wallet, and the audit log shows each step', async () => {
    const back = await runCli(['keys', 'rewrap', '--to', 'fernet', '--batch', '100'], { ...env, KEY_PROVIDER: 'fernet' });
    assert.equal(back.code, 0, back.stderr);
    assert.deepEqual(await distribution(), { 'fernet:1': WALLETS });
    // KMS and Vault no longer configured at all.
    assert.equal(await allSign({ DATABASE_URL: databaseUrl, KEY_PROVIDER: 'fernet', FERNET_KEYS: fernetKey }), WALLETS);

    const store = await openWalletStore(databaseUrl, { FERNET_KEYS: fernetKey });
    try {
      const moves = await store.db
        .selectFrom('audit_events')
        .select(['wallet_id', 'request', 'status'])
        .where('action', '=', 'keys.rewrap.wallet')
        .orderBy('id')
        .execute();
      assert.ok(moves.every((m) => m.status === 'ok'));
      const trail = new Map<string, string[]>();
      for (const m of moves) {
        const req = m.request as { from: { provider: string; key_version: string }; to: { provider: string; keyVersion: string } };
        const steps = trail.get(m.wallet_id!) ?? [`${req.from.provider}:${req.from.key_version}`];
        steps.push(`${req.to.provider}:${req.to.keyVersion}`);
        trail.set(m.wallet_id!, steps);
      }
      assert.equal(trail.size, WALLETS);
      for (const steps of trail.values()) assert.deepEqual(steps, ['fernet:1', 'aws-kms:1', 'vault:1', 'vault:2', 'fernet:1']);
      // One summary row per completed run (the killed run never finished): resume, vault, rotation, fernet.
      const runs = await store.db.selectFrom('audit_events').select(['status']).where('action', '=', 'keys.rewrap').execute();
      assert.equal(runs.length, 4);
      const text = JSON.stringify(await store.db.selectFrom('audit_events').selectAll().execute());
      for (const secret of [fernetKey, vault.rootToken, kms.secretAccessKey]) assert.ok(!text.includes(secret), 'no secret in the audit log');
    } finally {
      await store.close();
    }
  });
});
