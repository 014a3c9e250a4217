/**
 * End to end over MCP, on real parts: the SDK's own client over both transports, a real server
 * and worker, Postgres and anvil. An agent creates a wallet, funds it from the faucet, sends
 * 0.01 ETH, and the chain, the transactions table and the audit log all agree.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { parseEther } from 'ethers';
import { callError, callOk, chainProvider, connectMcp, countRows, eventually, freshAddress, startStack, type Stack } from './harness.ts';

const EXPECTED_TOOLS = [
  'provider_status', 'spin_up_wallet', 'list_wallets', 'query_balance', 'simulate_transfer', 'execute_transfer', 'get_transaction', 'request_faucet_funds',
  // the wallet toolkit (test/toolkit.test.ts)
  'import_wallet_from_private_key', 'import_wallet_from_mnemonic', 'import_wallet_from_encrypted_json', 'export_wallet_keystore',
  'encrypt_wallet_keystore', 'decrypt_wallet_keystore', 'export_wallet_private_key', 'generate_mnemonic', 'sign_message',
  'verify_message', 'sign_typed_data', 'verify_typed_data', 'inspect_contract',
  // strategies (test/strategy-tools.test.ts)
  'create_strategy_dca', 'create_strategy', 'start_strategy', 'stop_strategy', 'update_strategy', 'delete_strategy', 'strategy_status',
  'list_strategies', 'tick_strategy', 'send_when_gas_below', 'dca_once', 'scheduled_send_once', 'micro_tip_equal', 'micro_tip_amounts',
  // human approval (test/approvals.test.ts)
  'get_approval_status', 'list_approvals',
  // per-wallet policies (test/wallet-policy.test.ts)
  'get_policy',
];

interface Tx {
  id: string;
  status: string;
  nonce: number;
  tx_hash: string;
  value_wei: string;
  wallet_id: string;
}

for (const transport of ['streamable', 'sse'] as const) {
  describe(`MCP over ${transport === 'streamable' ? 'Streamable HTTP' : 'HTTP+SSE'}`, () => {
    let stack: Stack;
    let client: Client;
    before(async () => {
      stack = await startStack();
      client = await connectMcp(stack.url, stack.adminKey, transport);
    });
    after(async () => {
      await client?.close();
      await stack?.close();
    });

    test('every tool is listed with annotations and an outputSchema', async () => {
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), [...EXPECTED_TOOLS].sort());
      for (const tool of tools) {
        assert.ok(tool.annotations, `${tool.name} has annotations`);
        assert.equal(typeof tool.annotations.readOnlyHint, 'boolean', `${tool.name} readOnlyHint`);
        assert.equal(typeof tool.annotations.openWorldHint, 'boolean', `${tool.name} openWorldHint`);
        assert.ok(tool.outputSchema && tool.outputSchema.type === 'object', `${tool.name} has an outputSchema`);
        assert.ok(tool.description && tool.description.length > 20, `${tool.name} is described`);
      }
      const send = tools.find((t) => t.name === 'execute_transfer')!;
      assert.equal(send.annotations!.destructiveHint, true);
      assert.equal(send.annotations!.readOnlyHint, false);
      const amount = (send.inputSchema.properties as Record<string, { description?: string }>).amount_eth!;
      assert.match(amount.description ?? '', /ETH/);
    });

    test('create, fund, send 0.01 ETH: the chain, transactions and the event log agree', async () => {
      const created = await callOk<{ wallet: { id: string; address: string; agent_id: string }; created: boolean }>(client, 'spin_up_wallet', { agent_id: `alice-${transport}` });
      assert.equal(created.created, true);
      assert.match(created.wallet.address, /^0x[0-9a-fA-F]{40}$/);
      const again = await callOk<{ wallet: { address: string }; created: boolean }>(client, 'spin_up_wallet', { agent_id: `alice-${transport}` });
      assert.equal(again.created, false);
      assert.equal(again.wallet.address, created.wallet.address);

      const funded = await callOk<{ amount: { eth: string } ; block_number: number | null }>(client, 'request_faucet_funds', { agent_id: `alice-${transport}`, amount_eth: '1' });
      assert.equal(funded.amount.eth, '1');
      assert.ok(funded.block_number !== null);
      const balance = await callOk<{ balance: { eth: string; wei: string } }>(client, 'query_balance', { agent_id: `alice-${transport}` });
      assert.equal(balance.balance.wei, parseEther('1').toString());

      const to = freshAddress();
      const sent = await callOk<{ dry_run: boolean; transaction: Tx }>(client, 'execute_transfer', { agent_id: `alice-${transport}`, to_address: to, amount_eth: '0.01' });
      assert.equal(sent.dry_run, false);
      assert.equal(sent.transaction.status, 'broadcast');
      assert.equal(sent.transaction.value_wei, '10000000000000000');
      assert.equal(sent.transaction.nonce, 0);

      const provider = chainProvider();
      const receipt = await provider.waitForTransaction(sent.transaction.tx_hash, 1, 20_000);
      assert.equal(receipt?.status, 1);
      assert.equal(await provider.getBalance(to), 10n ** 16n);
      provider.destroy();

      const mined = await eventually(async () => {
        const r = await callOk<{ transaction: Tx & { block_number: number | null; gas_used: string | null } }>(client, 'get_transaction', { tx_hash: sent.transaction.tx_hash });
        return ['mined', 'confirmed'].includes(r.transaction.status) ? r.transaction : undefined;
      }, 20_000, 'the worker to record the receipt');
      assert.equal(mined.block_number, receipt!.blockNumber);
      assert.equal(mined.gas_used, '21000');

      const rows = await stack.server.ctx.db.selectFrom('transactions').selectAll().where('tx_hash', '=', sent.transaction.tx_hash).execute();
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.to_address, to);
      assert.ok(rows[0]!.raw_tx.startsWith('0x02'), 'the signed EIP-1559 raw transaction is stored');

      const res = await fetch(`${stack.url}/api/events?action=execute_transfer`, { headers: { Authorization: `Bearer ${stack.adminKey}` } });
      // The audit row commits with the send, before broadcast: it holds the transaction as recorded.
      const { events } = (await res.json()) as { events: Array<{ status: string; agent_id: string; response: { status?: string; transactions?: Array<{ tx_hash: string; status: string }> } }> };
      assert.ok(events.some((e) => e.status === 'ok' && e.agent_id === `alice-${transport}` && e.response.status === 'recorded' && e.response.transactions?.[0]?.tx_hash === sent.transaction.tx_hash && e.response.transactions[0].status === 'queued'));

      const txs = await fetch(`${stack.url}/api/transactions`, { headers: { Authorization: `Bearer ${stack.adminKey}` } });
      const { transactions } = (await txs.json()) as { transactions: Tx[] };
      assert.ok(transactions.some((t) => t.tx_hash === sent.transaction.tx_hash));
    });
  });
}

describe('guardrails and input rules', () => {
  let stack: Stack;
  let client: Client;
  const agent = 'bob';
  before(async () => {
    stack = await startStack({ env: { MAX_TX_ETH: '0.05', TX_CONFIRM_CODE: 'orange-falcon-42' } });
    client = await connectMcp(stack.url, stack.adminKey, 'streamable');
    await callOk(client, 'spin_up_wallet', { agent_id: agent });
    await callOk(client, 'request_faucet_funds', { agent_id: agent, amount_eth: '2' });
  });
  after(async () => {
    await client?.close();
    await stack?.close();
  });

  test('above MAX_TX_ETH without the code: refused, nothing signed; with the code it goes through', async () => {
    const before = await countRows(stack, 'transactions');
    const to = freshAddress();
    const missing = await callError(client, 'execute_transfer', { agent_id: agent, to_address: to, amount_eth: '0.06' });
    assert.equal(missing.code, 'CONFIRMATION_REQUIRED');
    assert.match(missing.message, /MAX_TX_ETH/);
    const wrong = await callError(client, 'execute_transfer', { agent_id: agent, to_address: to, amount_eth: '0.06', confirmation_code: 'guess' });
    assert.equal(wrong.code, 'CONFIRMATION_REQUIRED');
    assert.doesNotMatch(wrong.text, /orange-falcon-42/);
    assert.equal(await countRows(stack, 'transactions'), before, 'nothing was recorded or signed');

    const ok = await callOk<{ transaction: Tx }>(client, 'execute_transfer', { agent_id: agent, to_address: to, amount_eth: '0.06', confirmation_code: 'orange-falcon-42' });
    assert.equal(ok.transaction.value_wei, parseEther('0.06').toString());
    const provider = chainProvider();
    await provider.waitForTransaction(ok.transaction.tx_hash, 1, 20_000);
    assert.equal(await provider.getBalance(to), parseEther('0.06'));
    provider.destroy();

    const audit = await stack.server.ctx.db.selectFrom('audit_events').select(['request', 'status', 'error_code']).where('action', '=', 'execute_transfer').execute();
    assert.ok(audit.some((a) => a.error_code === 'CONFIRMATION_REQUIRED'));
    assert.ok(!JSON.stringify(audit).includes('orange-falcon-42'), 'the confirmation code never reaches the audit log');
  });

  test('dry_run and simulate_transfer send nothing', async () => {
    const before = await countRows(stack, 'transactions');
    const to = freshAddress();
    const dry = await callOk<{ dry_run: boolean; simulation: { would_succeed: boolean; gas_limit: string; amount: { wei: string } } }>(client, 'execute_transfer', { agent_id: agent, to_address: to, amount_eth: '0.01', dry_run: true });
    assert.equal(dry.dry_run, true);
    assert.equal(dry.simulation.would_succeed, true);
    assert.equal(dry.simulation.gas_limit, '21000');
    assert.equal(dry.simulation.amount.wei, '10000000000000000');
    // A simulation never checks a code: it says a code is needed, and nothing about any code given.
    const big = await callOk<{ would_succeed: boolean; reason: string | null; requires_confirmation: boolean }>(client, 'simulate_transfer', { agent_id: agent, to_address: to, amount_eth: '0.5' });
    assert.equal(big.would_succeed, true);
    assert.equal(big.reason, null);
    assert.equal(big.requires_confirmation, true);
    const poor = await callOk<{ would_succeed: boolean; reason: string }>(client, 'simulate_transfer', { agent_id: agent, to_address: to, amount_eth: '500', confirmation_code: 'orange-falcon-42' });
    assert.equal(poor.reason, 'INSUFFICIENT_FUNDS');
    assert.equal(await countRows(stack, 'transactions'), before);
    const provider = chainProvider();
    assert.equal(await provider.getBalance(to), 0n);
    provider.destroy();
  });

  test('bad input: a clear error naming the field, nothing written', async () => {
    const wallets = await countRows(stack, 'wallets');
    const txs = await countRows(stack, 'transactions');
    const to = freshAddress();
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ agent_id: agent, to_address: '0x1234', amount_eth: '0.01' }, 'INVALID_ADDRESS', /to_address/],
      [{ agent_id: agent, to_address: 'not-an-address', amount_eth: '0.01' }, 'INVALID_ADDRESS', /to_address/],
      // EIP-55's own example address with one letter's case flipped.
      [{ agent_id: agent, to_address: '0x5aaeb6053F3E94C9b9A09f33669435E7Ef1BeAed', amount_eth: '0.01' }, 'INVALID_ADDRESS', /to_address.*checksum/],
      [{ agent_id: agent, to_address: to, amount_eth: '-0.01' }, 'INVALID_AMOUNT', /amount_eth.*positive/],
      [{ agent_id: agent, to_address: to, amount_eth: '0' }, 'INVALID_AMOUNT', /amount_eth.*greater than zero/],
      [{ agent_id: agent, to_address: to, amount_eth: 'ten' }, 'INVALID_AMOUNT', /amount_eth/],
      [{ agent_id: agent, to_address: to, amount_eth: '0.0000000000000000001' }, 'INVALID_AMOUNT', /amount_eth.*18 decimals/],
      [{ agent_id: 'nobody', to_address: to, amount_eth: '0.01' }, 'WALLET_NOT_FOUND', /nobody/],
      [{ agent_id: '', to_address: to, amount_eth: '0.01' }, 'INVALID_INPUT', /agent_id/],
    ];
    for (const [args, code, message] of cases) {
      const err = await callError(client, 'execute_transfer', args);
      assert.equal(err.code, code, `${JSON.stringify(args)} -> ${err.text}`);
      assert.match(err.message, message);
    }
    // JSON type errors are caught by the tool's schema check, with the same code, naming the field.
    const typed = await callError(client, 'execute_transfer', { agent_id: agent, amount_eth: '0.01' });
    assert.equal(typed.code, 'INVALID_INPUT');
    assert.match(typed.message, /^to_address: is required/);
    assert.equal(await countRows(stack, 'wallets'), wallets);
    assert.equal(await countRows(stack, 'transactions'), txs);
    const provider = chainProvider();
    assert.equal(await provider.getBalance(to), 0n);
    provider.destroy();
  });

  test('20 concurrent transfers from one wallet: 20 mined transactions with nonces n..n+19', async () => {
    const before = await callOk<{ transaction: Tx }>(client, 'execute_transfer', { agent_id: agent, to_address: freshAddress(), amount_eth: '0.001' });
    const n = before.transaction.nonce + 1;
    const recipients = Array.from({ length: 20 }, () => freshAddress());
    const results = await Promise.all(recipients.map((to) => callOk<{ transaction: Tx }>(client, 'execute_transfer', { agent_id: agent, to_address: to, amount_eth: '0.001' })));
    const nonces = results.map((r) => r.transaction.nonce).sort((a, b) => a - b);
    assert.deepEqual(nonces, Array.from({ length: 20 }, (_, i) => n + i));
    const provider = chainProvider();
    for (const r of results) {
      const receipt = await provider.waitForTransaction(r.transaction.tx_hash, 1, 30_000);
      assert.equal(receipt?.status, 1);
    }
    for (const to of recipients) assert.equal(await provider.getBalance(to), parseEther('0.001'));
    provider.destroy();
    await eventually(async () => {
      const rows = await stack.server.ctx.db.selectFrom('transactions').select('status').where('nonce', '>=', String(n)).execute();
      return rows.length === 20 && rows.every((r) => r.status === 'mined' || r.status === 'confirmed');
    }, 30_000, 'all 20 to be recorded as mined');
  });
});
