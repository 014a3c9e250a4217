/**
 * A key provider that goes down, refuses, or comes back, seen from an agent and an operator: the
 * server runs with KEY_PROVIDER=aws-kms against the local KMS emulator (real wire protocol).
 * Calls fail with KEY_PROVIDER_UNAVAILABLE / KEY_PROVIDER_DENIED, nothing is half-written,
 * /readyz says failing and the operator's GET /api/readiness names the provider, and service
 * resumes when KMS is back.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startKmsEmulator, type KmsEmulator } from './emulators/kms.ts';
import { callError, callOk, connectMcp, countRows, eventually, freshAddress, startStack, type Stack } from './harness.ts';

interface Ready {
  status: string;
  checks: { key_provider: { ok: boolean; detail: string } };
  key_providers: Array<{ provider: string; active: boolean; ok: boolean; detail: string }>;
}

describe('key provider outage (aws-kms through the KMS emulator)', () => {
  let kms: KmsEmulator;
  let stack: Stack;
  let mcp: Client;

  before(async () => {
    kms = await startKmsEmulator();
    // The SDK's default credential chain reads these, as it would on a machine with static keys.
    process.env.AWS_ACCESS_KEY_ID = kms.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = kms.secretAccessKey;
    stack = await startStack({
      env: {
        KEY_PROVIDER: 'aws-kms',
        AWS_KMS_KEY_ID: kms.aliasName,
        AWS_REGION: kms.region,
        AWS_ENDPOINT_URL_KMS: kms.url,
        KEY_PROVIDER_TIMEOUT_MS: '500',
      },
    });
    mcp = await connectMcp(stack.url, stack.adminKey, 'streamable');
  });

  after(async () => {
    await mcp?.close();
    await stack?.close();
    await kms?.close();
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
  });

  /**
   * `/readyz`'s status once it reports `want` (its result is cached for a few seconds), with the
   * detail the host operator reads from `GET /api/readiness` (anonymous /readyz has none).
   */
  const ready = async (want: 'ready' | 'not_ready'): Promise<{ status: number; body: Ready }> => {
    const status = await eventually(async () => {
      const res = await fetch(`${stack.url}/readyz`);
      await res.text();
      return res.status === (want === 'ready' ? 200 : 503) && res.status;
    }, 15_000, `/readyz ${want}`);
    const detail = await fetch(`${stack.url}/api/readiness`, { headers: { authorization: `Bearer ${stack.adminKey}` } });
    return { status, body: (await detail.json()) as Ready };
  };

  test('wallets are wrapped by KMS, bound to tenant and address', async () => {
    const { wallet } = await callOk<{ wallet: { key_provider: string; address: string } }>(mcp, 'spin_up_wallet', { agent_id: 'kms-agent' });
    assert.equal(wallet.key_provider, 'aws-kms');
    const encrypt = kms.requests.filter((r) => r.target === 'Encrypt').at(-1);
    assert.equal(encrypt?.encryptionContext?.vaultpilot_address, wallet.address);
    assert.ok(encrypt?.encryptionContext?.vaultpilot_tenant);
    assert.ok(encrypt?.hasAuthorization);
    const r = await ready('ready');
    assert.equal(r.status, 200);
    const active = r.body.key_providers.find((p) => p.active);
    assert.equal(active?.provider, 'aws-kms');
    // The Fernet key the harness sets stays configured as a reader.
    assert.ok(r.body.key_providers.some((p) => p.provider === 'fernet' && !p.active));
  });

  test('KMS down: coded errors, no wallet or transaction written, /api/readiness says aws-kms; back up: service resumes', async () => {
    await callOk(mcp, 'request_faucet_funds', { agent_id: 'kms-agent', amount_eth: '1' });
    const walletsBefore = await countRows(stack, 'wallets');
    const txBefore = await countRows(stack, 'transactions');
    await kms.setMode('down');
    try {
      const create = await callError(mcp, 'spin_up_wallet', { agent_id: 'kms-agent-2' });
      assert.equal(create.code, 'KEY_PROVIDER_UNAVAILABLE');
      assert.match(create.message, /aws-kms/);
      const send = await callError(mcp, 'execute_transfer', { agent_id: 'kms-agent', to_address: freshAddress(), amount_eth: '0.001' });
      assert.equal(send.code, 'KEY_PROVIDER_UNAVAILABLE');
      assert.equal(await countRows(stack, 'wallets'), walletsBefore);
      assert.equal(await countRows(stack, 'transactions'), txBefore);
      const r = await ready('not_ready');
      assert.equal(r.status, 503);
      assert.equal(r.body.status, 'not_ready');
      assert.match(r.body.checks.key_provider.detail, /aws-kms \(active\): FAILING/);
      assert.equal(r.body.key_providers.find((p) => p.provider === 'aws-kms')?.ok, false);
    } finally {
      await kms.setMode('ok');
    }
    assert.equal((await ready('ready')).status, 200);
    const { wallet } = await callOk<{ wallet: { key_provider: string } }>(mcp, 'spin_up_wallet', { agent_id: 'kms-agent-2' });
    assert.equal(wallet.key_provider, 'aws-kms');
    const sent = await callOk<{ transaction: { status: string; nonce: number } }>(mcp, 'execute_transfer', { agent_id: 'kms-agent', to_address: freshAddress(), amount_eth: '0.001' });
    // The refused attempt took no nonce.
    assert.equal(sent.transaction.nonce, 0);
  });

  test('KMS refuses (AccessDenied): KEY_PROVIDER_DENIED, nothing written', async () => {
    const before = await countRows(stack, 'wallets');
    await kms.setMode('deny');
    try {
      const create = await callError(mcp, 'spin_up_wallet', { agent_id: 'kms-agent-3' });
      assert.equal(create.code, 'KEY_PROVIDER_DENIED');
      const send = await callError(mcp, 'execute_transfer', { agent_id: 'kms-agent', to_address: freshAddress(), amount_eth: '0.001' });
      assert.equal(send.code, 'KEY_PROVIDER_DENIED');
      assert.equal(await countRows(stack, 'wallets'), before);
    } finally {
      await kms.setMode('ok');
    }
  });

  test('slower than KEY_PROVIDER_TIMEOUT_MS counts as unavailable', async () => {
    kms.setLatency(2_000);
    try {
      const create = await callError(mcp, 'spin_up_wallet', { agent_id: 'kms-agent-4' });
      assert.equal(create.code, 'KEY_PROVIDER_UNAVAILABLE');
    } finally {
      kms.setLatency(0);
    }
  });
});
