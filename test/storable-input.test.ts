/**
 * "A send with no audit row" (issue item 3), on real parts. What was tried on the old main: a NUL
 * byte or a lone UTF-16 surrogate in execute_transfer's `reason` made the audit insert fail AFTER
 * the transfer had committed and been broadcast; the agent got INTERNAL and might retry and pay
 * twice. Now:
 * - strings Postgres cannot store are refused at validation with INVALID_INPUT naming the field,
 *   for every string argument of every tool (found from `tools/list`) and every REST body, path
 *   and query string; nothing is written or sent;
 * - a guarded write's audit row is written in the write's own transaction: with the audit insert
 *   made to fail (a trigger in this test's database), the write does not happen at all.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { parseEther } from 'ethers';
import { callError, callOk, chainProvider, connectMcp, countRows, freshAddress, startStack, type Stack } from './harness.ts';
import { rest, type RestError } from './approval-harness.ts';

const AGENT = 'storable-agent';
const BAD: Array<[string, string]> = [
  ['a NUL byte', 'pay\u0000ment'],
  ['a lone high surrogate', 'pay\ud800ment'],
  ['a lone low surrogate', '\udc00'],
];

/** Rows of the tables a refused call must not touch (the audit log and rate counters aside). */
async function businessRows(stack: Stack): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ['wallets', 'transactions', 'strategies', 'strategy_runs', 'approvals', 'api_keys', 'wallet_policies', 'tenants']) {
    const r = await sql<{ n: string }>`select count(*)::text as n from ${sql.table(t)}`.execute(stack.server.ctx.db);
    out[t] = Number(r.rows[0]!.n);
  }
  return out;
}

describe('strings Postgres cannot store are refused at validation', () => {
  let stack: Stack;
  let client: Client;
  before(async () => {
    stack = await startStack({ env: { MAX_TX_ETH: '10' } });
    client = await connectMcp(stack.url, stack.adminKey, 'streamable');
    await callOk(client, 'spin_up_wallet', { agent_id: AGENT });
    await callOk(client, 'request_faucet_funds', { agent_id: AGENT, amount_eth: '1' });
  });
  after(async () => {
    await client?.close();
    await stack?.close();
  });

  test('execute_transfer with a NUL or a lone surrogate in reason: INVALID_INPUT naming reason, nothing sent, audited', async () => {
    const provider = chainProvider();
    for (const [what, reason] of BAD) {
      const to = freshAddress();
      const rows = await businessRows(stack);
      const err = await callError(client, 'execute_transfer', { agent_id: AGENT, to_address: to, amount_eth: '0.01', reason });
      assert.equal(err.code, 'INVALID_INPUT', `${what}: ${err.text}`);
      assert.match(err.message, /^reason: contains a NUL character or an unpaired UTF-16 surrogate/);
      assert.deepEqual(await businessRows(stack), rows, `${what}: nothing written`);
      assert.equal(await provider.getBalance(to), 0n, `${what}: nothing sent`);
    }
    provider.destroy();
    // Each refusal has its audit row, the offending text stored as valid Unicode.
    const refused = await stack.server.ctx.db.selectFrom('audit_events').select(['request', 'error_code']).where('action', '=', 'execute_transfer').where('status', '=', 'refused').execute();
    assert.equal(refused.filter((r) => r.error_code === 'INVALID_INPUT').length, BAD.length);
    assert.ok(refused.some((r) => (r.request as { reason: string }).reason === 'pay\ufffdment'));
  });

  test('every string argument of every tool refuses a NUL, naming the field; nothing is written', async () => {
    const { tools } = await client.listTools();
    const rows = await businessRows(stack);
    let checked = 0;
    for (const tool of tools) {
      const props = (tool.inputSchema.properties ?? {}) as Record<string, { type?: string | string[]; anyOf?: Array<{ type?: string }> }>;
      for (const [name, schema] of Object.entries(props)) {
        const types = [schema.type, ...(schema.anyOf ?? []).map((s) => s.type)].flat();
        if (!types.includes('string')) continue;
        const err = await callError(client, tool.name, { [name]: `x\u0000${name}` });
        assert.equal(err.code, 'INVALID_INPUT', `${tool.name}.${name}: ${err.text}`);
        assert.match(err.message, new RegExp(`^${name}: contains a NUL`), `${tool.name}.${name}`);
        checked += 1;
      }
    }
    assert.ok(checked >= 60, `checked ${checked} string arguments`);
    // Nested strings and field names too (typed data, micro-tip items).
    const nested = await callError(client, 'micro_tip_equal', { agent_id: AGENT, recipients: [freshAddress(), 'x\ud800'], total_amount_eth: '0.002' });
    assert.equal(nested.code, 'INVALID_INPUT');
    assert.match(nested.message, /^recipients\[1\]: contains/);
    const badKey = await callError(client, 'micro_tip_amounts', { agent_id: AGENT, items: { [freshAddress()]: '0.001', 'x\udc00': '0.001' } });
    assert.match(badKey.message, /^items\["x\ufffd"\]: has a field name/);
    const key = await callError(client, 'sign_typed_data', { agent_id: AGENT, typed_data: { types: {}, primaryType: 'x', domain: {}, message: { 'bad\u0000key': 1 } } });
    assert.equal(key.code, 'INVALID_INPUT');
    assert.match(key.message, /typed_data\.message\["bad\ufffdkey"\]: has a field name/);
    const deep: Record<string, unknown> = {};
    let at = deep;
    for (let i = 0; i < 100; i++) at = (at.n = {}) as Record<string, unknown>;
    const tooDeep = await callError(client, 'sign_typed_data', { agent_id: AGENT, typed_data: deep });
    assert.equal(tooDeep.code, 'INVALID_INPUT');
    assert.match(tooDeep.message, /nested deeper than 32 levels/);
    assert.deepEqual(await businessRows(stack), rows);
  });

  test('REST: bodies, paths and query strings with unstorable text are 400 INVALID_INPUT naming them', async () => {
    const wallet = await stack.server.ctx.db.selectFrom('wallets').select('id').where('agent_id', '=', AGENT).executeTakeFirstOrThrow();
    const rows = await businessRows(stack);
    const cases: Array<[string, string, unknown, string]> = [
      ['POST', '/api/strategies', { kind: 'dca', label: 'nul\u0000label', agent_id: AGENT, params: { to_address: freshAddress(), amount_eth: '0.001', interval_seconds: 60 } }, 'label'],
      ['POST', '/api/wallets/import', { agent_id: 'nul-import', kind: 'private_key', private_key: '\ud83d' }, 'private_key'],
      ['PUT', `/api/wallets/${wallet.id}/policy`, { allowed_destinations: [{ address: freshAddress(), label: 'shop\u0000' }] }, 'policy.allowed_destinations[0].label'],
      ['POST', '/api/keys', { name: 'bad\u0000name', role: 'agent' }, 'name'],
      ['POST', '/api/tenants', { name: 'tenant\udfff' }, 'name'],
    ];
    for (const [method, path, body, field] of cases) {
      const r = await rest<RestError>(stack, stack.adminKey, method, path, body);
      assert.equal(r.status, 400, `${method} ${path}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, 'INVALID_INPUT');
      assert.equal(r.body.error.details?.field, field);
    }
    const pathNul = await rest<RestError>(stack, stack.adminKey, 'GET', '/api/wallets/%00');
    assert.equal(pathNul.status, 400);
    assert.equal(pathNul.body.error.details?.field, 'path');
    const badUtf8 = await rest<RestError>(stack, stack.adminKey, 'GET', '/api/strategies/%ED%A0%80');
    assert.equal(badUtf8.status, 400);
    const query = await rest<RestError>(stack, stack.adminKey, 'GET', '/api/events?action=x%00y');
    assert.equal(query.status, 400);
    assert.equal(query.body.error.details?.field, 'action');
    assert.deepEqual(await businessRows(stack), rows);
  });
});

describe('a write that cannot be audited does not happen', () => {
  let stack: Stack;
  let admin: Client;
  /** A client whose every request carries `X-Request-Id: fail-audit`: the trigger refuses its `ok` rows. */
  let failing: Client;

  before(async () => {
    stack = await startStack({ env: { MAX_TX_ETH: '10' } });
    // Fault injection in this test's own database: an `ok` audit row of a marked request fails.
    await sql`
      create function vp_test_fail_audit() returns trigger language plpgsql as $$
      begin
        if new.request_id = 'fail-audit' and new.status = 'ok' then raise exception 'injected audit failure'; end if;
        return new;
      end $$;
      create trigger vp_test_fail_audit before insert on audit_events for each row execute function vp_test_fail_audit();
    `.execute(stack.server.ctx.db);
    admin = await connectMcp(stack.url, stack.adminKey, 'streamable');
    await callOk(admin, 'spin_up_wallet', { agent_id: AGENT });
    await callOk(admin, 'request_faucet_funds', { agent_id: AGENT, amount_eth: '1' });
    failing = new Client({ name: 'fail-audit', version: '1.0.0' });
    await failing.connect(new StreamableHTTPClientTransport(new URL('/mcp', stack.url), { requestInit: { headers: { Authorization: `Bearer ${stack.adminKey}`, 'X-Request-Id': 'fail-audit' } } }));
  });
  after(async () => {
    await failing?.close();
    await admin?.close();
    await stack?.close();
  });

  test('MCP writes: the send, the wallet, the strategy, the import roll back with their audit row; nothing reaches the chain', async () => {
    const provider = chainProvider();
    const to = freshAddress();
    const nonceBefore = await provider.getTransactionCount((await callOk<{ address: string }>(admin, 'query_balance', { agent_id: AGENT })).address);
    const rows = await businessRows(stack);
    const calls: Array<[string, Record<string, unknown>]> = [
      ['execute_transfer', { agent_id: AGENT, to_address: to, amount_eth: '0.01' }],
      ['micro_tip_equal', { agent_id: AGENT, recipients: [to, freshAddress()], total_amount_eth: '0.002' }],
      ['spin_up_wallet', { agent_id: 'never-created' }],
      ['import_wallet_from_private_key', { agent_id: 'never-imported', private_key: `0x${'42'.repeat(32)}` }],
      ['create_strategy_dca', { label: 'never-stored', agent_id: AGENT, to_address: to, amount_eth: '0.001', interval_seconds: 60 }],
    ];
    for (const [name, args] of calls) {
      const err = await callError(failing, name, args);
      assert.equal(err.code, 'INTERNAL', `${name}: ${err.text}`);
    }
    assert.deepEqual(await businessRows(stack), rows, 'no write committed without its audit row');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await provider.getBalance(to), 0n, 'nothing was broadcast');
    const address = (await callOk<{ address: string }>(admin, 'query_balance', { agent_id: AGENT })).address;
    assert.equal(await provider.getTransactionCount(address), nonceBefore);
    provider.destroy();
    // The failures themselves are audited (status error), and the same calls work without the fault.
    assert.ok((await countRows(stack, 'audit_events', `request_id = 'fail-audit' and status = 'error' and error_code = 'INTERNAL'`)) >= calls.length);
    const sent = await callOk<{ transaction: { value_wei: string } }>(admin, 'execute_transfer', { agent_id: AGENT, to_address: to, amount_eth: '0.01' });
    assert.equal(sent.transaction.value_wei, parseEther('0.01').toString());
  });

  test('REST writes roll back with their audit row', async () => {
    const headers = { Authorization: `Bearer ${stack.adminKey}`, 'Content-Type': 'application/json', 'X-Request-Id': 'fail-audit' };
    const wallet = await stack.server.ctx.db.selectFrom('wallets').select('id').where('agent_id', '=', AGENT).executeTakeFirstOrThrow();
    const rows = await businessRows(stack);
    const cases: Array<[string, string, unknown]> = [
      ['POST', '/api/strategies', { kind: 'dca', label: 'rest-never', agent_id: AGENT, params: { to_address: freshAddress(), amount_eth: '0.001', interval_seconds: 60 } }],
      ['PUT', `/api/wallets/${wallet.id}/policy`, { max_tx_eth: '0.5' }],
      ['POST', '/api/keys', { name: 'never-made', role: 'agent' }],
      ['POST', '/api/wallets/import', { agent_id: 'rest-never', kind: 'private_key', private_key: `0x${'43'.repeat(32)}` }],
    ];
    for (const [method, path, body] of cases) {
      const res = await fetch(`${stack.url}${path}`, { method, headers, body: JSON.stringify(body) });
      assert.equal(res.status, 500, `${method} ${path}`);
    }
    assert.deepEqual(await businessRows(stack), rows);
  });
});
