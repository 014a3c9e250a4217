/**
 * Two smaller holes of the hostile-agent issue, on real parts (anvil's fee controls):
 * - nothing capped the fee a node suggests: with MAX_FEE_PER_GAS_GWEI below what the chain asks,
 *   sends, simulations and strategy ticks are refused with FEE_CAP_EXCEEDED and nothing is signed;
 * - a send the node rejected put the signed raw transaction into the transaction's error, the
 *   API's answers and the logs (ethers quotes the request payload in its messages): now none of
 *   them holds it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { callError, callOk, chainProvider, connectMcp, countRows, freshAddress, LogSink, startStack, type Stack } from './harness.ts';
import { rest } from './approval-harness.ts';

describe('MAX_FEE_PER_GAS_GWEI caps what a send pays', () => {
  let stack: Stack;
  let client: Client;
  before(async () => {
    // Anvil's base fee is about 1 gwei, so a send asks 2 × base + 1 gwei tip: above a 1 gwei cap.
    stack = await startStack({ env: { MAX_FEE_PER_GAS_GWEI: '1' } });
    client = await connectMcp(stack.url, stack.adminKey, 'streamable');
    await callOk(client, 'spin_up_wallet', { agent_id: 'capped' });
    const provider = chainProvider();
    const { address } = await callOk<{ address: string }>(client, 'query_balance', { agent_id: 'capped' });
    await provider.send('anvil_setBalance', [address, '0xde0b6b3a7640000']);
    provider.destroy();
  });
  after(async () => {
    await client?.close();
    await stack?.close();
  });

  test('execute_transfer, micro-tips and strategy ticks are refused; the simulation says why; nothing is signed', async () => {
    const before = await countRows(stack, 'transactions');
    const sent = await callError(client, 'execute_transfer', { agent_id: 'capped', to_address: freshAddress(), amount_eth: '0.01' });
    assert.equal(sent.code, 'FEE_CAP_EXCEEDED');
    assert.match(sent.message, /MAX_FEE_PER_GAS_GWEI \(1 gwei\)/);
    const tip = await callError(client, 'micro_tip_equal', { agent_id: 'capped', recipients: [freshAddress(), freshAddress()], total_amount_eth: '0.01' });
    assert.equal(tip.code, 'FEE_CAP_EXCEEDED');
    const sim = await callOk<{ would_succeed: boolean; reason: string }>(client, 'simulate_transfer', { agent_id: 'capped', to_address: freshAddress(), amount_eth: '0.01' });
    assert.equal(sim.would_succeed, false);
    assert.equal(sim.reason, 'FEE_CAP_EXCEEDED');
    await callOk(client, 'create_strategy_dca', { label: 'capped-dca', agent_id: 'capped', to_address: freshAddress(), amount_eth: '0.001', interval_seconds: 3600, start: false });
    await callOk(client, 'start_strategy', { label: 'capped-dca' });
    const tick = await callOk<{ outcome: string; run: { error_code: string } }>(client, 'tick_strategy', { label: 'capped-dca' });
    assert.equal(tick.outcome, 'failed');
    assert.equal(tick.run.error_code, 'FEE_CAP_EXCEEDED');
    assert.equal(await countRows(stack, 'transactions'), before);
  });
});

describe('a rejected send never shows its signed raw transaction', () => {
  let stack: Stack;
  let client: Client;
  const logs = new LogSink();
  before(async () => {
    stack = await startStack({ logs });
    client = await connectMcp(stack.url, stack.adminKey, 'sse');
    await callOk(client, 'spin_up_wallet', { agent_id: 'rejected' });
    await callOk(client, 'request_faucet_funds', { agent_id: 'rejected', amount_eth: '1' });
  });
  after(async () => {
    await client?.close();
    await stack?.close();
  });

  test('the node refuses it; the error, REST, MCP, the audit log and the logs hold no raw transaction', async () => {
    const provider = chainProvider();
    // The next block's base fee far above what the send offers (2 × the latest + tip): anvil
    // refuses the transaction when it is broadcast, after VaultPilot recorded and signed it.
    await provider.send('anvil_setNextBlockBaseFeePerGas', ['0x2540be400000']);
    let sent: { transaction: { id: string; status: string; error: string | null; tx_hash: string } };
    try {
      sent = await callOk(client, 'execute_transfer', { agent_id: 'rejected', to_address: freshAddress(), amount_eth: '0.01' });
    } finally {
      await provider.send('anvil_setNextBlockBaseFeePerGas', ['0x3b9aca00']);
      await provider.send('evm_mine', []);
      provider.destroy();
    }
    assert.equal(sent.transaction.status, 'failed', JSON.stringify(sent.transaction));
    const row = await stack.server.ctx.db.selectFrom('transactions').select(['raw_tx', 'error']).where('id', '=', sent.transaction.id).executeTakeFirstOrThrow();
    const raw = row.raw_tx.slice(2).toLowerCase();
    assert.ok(raw.length > 200);
    assert.ok(row.error && row.error.length > 0, 'the node\'s reason is kept');
    const viaRest = await rest(stack, stack.adminKey, 'GET', '/api/transactions?status=failed');
    assert.ok(JSON.stringify(viaRest.body).includes(sent.transaction.id));
    const viaMcp = await callOk(client, 'get_transaction', { id: sent.transaction.id });
    const audit = await stack.server.ctx.db.selectFrom('audit_events').select(['request', 'response']).execute();
    for (const [where, text] of [
      ['the stored error', row.error],
      ['the execute_transfer result', JSON.stringify(sent)],
      ['REST', JSON.stringify(viaRest.body)],
      ['get_transaction', JSON.stringify(viaMcp)],
      ['the audit log', JSON.stringify(audit)],
      ['the logs', logs.text()],
    ] as const) {
      assert.ok(!text.toLowerCase().includes(raw), `${where} holds the signed raw transaction`);
      assert.ok(!/0x[0-9a-fA-F]{161,}/.test(text), `${where} holds a long hex payload`);
    }
    assert.match(logs.text(), /transaction rejected by the node/);
  });
});
