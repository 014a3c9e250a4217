/**
 * Restart: a new server and worker on the same database find the wallets and sign with them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { callOk, chainProvider, connectMcp, freshAddress, startStack } from './harness.ts';

test('after a restart on the same database, wallets are still there and still sign', async () => {
  const first = await startStack();
  const adminKey = first.adminKey;
  let client = await connectMcp(first.url, adminKey, 'streamable');
  const { wallet } = await callOk<{ wallet: { address: string } }>(client, 'spin_up_wallet', { agent_id: 'carol' });
  await callOk(client, 'request_faucet_funds', { agent_id: 'carol', amount_eth: '0.5' });
  const firstSend = await callOk<{ transaction: { nonce: number; tx_hash: string } }>(client, 'execute_transfer', { agent_id: 'carol', to_address: freshAddress(), amount_eth: '0.01' });
  await client.close();
  await first.close();

  const second = await startStack({ databaseUrl: first.databaseUrl, adminKey });
  try {
    client = await connectMcp(second.url, adminKey, 'sse');
    const listed = await callOk<{ wallets: Array<{ agent_id: string; address: string }> }>(client, 'list_wallets');
    assert.deepEqual(listed.wallets.map((w) => [w.agent_id, w.address]), [['carol', wallet.address]]);
    const to = freshAddress();
    const sent = await callOk<{ transaction: { nonce: number; tx_hash: string; from_address: string } }>(client, 'execute_transfer', { agent_id: 'carol', to_address: to, amount_eth: '0.02' });
    assert.equal(sent.transaction.from_address, wallet.address);
    assert.equal(sent.transaction.nonce, firstSend.transaction.nonce + 1);
    const provider = chainProvider();
    const receipt = await provider.waitForTransaction(sent.transaction.tx_hash, 1, 20_000);
    assert.equal(receipt?.status, 1);
    assert.equal(await provider.getBalance(to), 2n * 10n ** 16n);
    provider.destroy();
    await client.close();
  } finally {
    await second.close();
  }
});
