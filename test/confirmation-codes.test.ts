/**
 * "Guessing the confirmation code" (issue item 2), on real parts. What was tried on the old main:
 * a viewer key learned a 4-digit TX_CONFIRM_CODE in 4,800 guesses (14 s), 100 guesses per HTTP
 * request (a JSON-RPC batch), from whether simulate_transfer said the code was right. Now no
 * answer but the send itself tells a right code; wrong codes are counted per key and per wallet
 * and lock out after 5 in 15 minutes with CONFIRMATION_LOCKED and an audit row; parallel guesses
 * cannot slip past the count.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { callError, callOk, connectMcp, countRows, freshAddress, startStack, type Stack } from './harness.ts';
import { createKey } from './approval-harness.ts';
import { loadConfig } from '../core/config.ts';

const CODE = '4821';

/** One HTTP request carrying a JSON-RPC batch of `tools/call`s, as the attacker sent them. */
async function batch(stack: Stack, key: string, calls: Array<{ name: string; arguments: Record<string, unknown> }>): Promise<Array<{ id: number; result: { isError?: boolean; structuredContent?: unknown; _meta?: Record<string, { code: string }> } }>> {
  const res = await fetch(`${stack.url}/mcp`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', 'MCP-Protocol-Version': '2025-03-26' },
    body: JSON.stringify(calls.map((c, i) => ({ jsonrpc: '2.0', id: i, method: 'tools/call', params: c }))),
  });
  assert.equal(res.status, 200);
  const out = (await res.json()) as Array<{ id: number; result: never }>;
  return out.sort((a, b) => a.id - b.id);
}

async function failures(stack: Stack): Promise<number> {
  const r = await sql<{ n: string }>`select count(*)::text as n from confirmation_failures`.execute(stack.server.ctx.db);
  return Number(r.rows[0]!.n);
}

describe('confirmation codes cannot be guessed', () => {
  let stack: Stack;
  let admin: Client;
  const wallets = ['guess-w1', 'guess-w2', 'guess-w3', 'guess-poor'];

  before(async () => {
    stack = await startStack({ env: { MAX_TX_ETH: '0.01', TX_CONFIRM_CODE: CODE } });
    admin = await connectMcp(stack.url, stack.adminKey, 'streamable');
    for (const w of wallets) await callOk(admin, 'spin_up_wallet', { agent_id: w });
    for (const w of wallets.slice(0, 3)) await callOk(admin, 'request_faucet_funds', { agent_id: w, amount_eth: '1' });
    await callOk(admin, 'request_faucet_funds', { agent_id: 'guess-poor', amount_eth: '0.02' });
  });
  after(async () => {
    await admin?.close();
    await stack?.close();
  });

  test('a viewer sends 100 guesses in one request: simulate_transfer answers all of them alike', async () => {
    const viewer = await createKey(stack, 'viewer', 'curious viewer');
    const to = freshAddress();
    const guesses = Array.from({ length: 100 }, (_, i) => String(4770 + i).padStart(4, '0'));
    assert.ok(guesses.includes(CODE));
    const answers = await batch(stack, viewer.key, guesses.map((code) => ({ name: 'simulate_transfer', arguments: { agent_id: 'guess-w1', to_address: to, amount_eth: '0.5', confirmation_code: code } })));
    assert.equal(answers.length, 100);
    const first = JSON.stringify(answers[0]!.result.structuredContent);
    for (const a of answers) assert.equal(JSON.stringify(a.result.structuredContent), first, 'the right code changes nothing in the answer');
    assert.equal(await failures(stack), 0, 'a simulation never checks, so never counts, a code');
  });

  test('only the send tells: with a refusal after the gate, a wrong and a right code get the same answer', async () => {
    const agent = await createKey(stack, 'agent', 'poor agent');
    const client = await connectMcp(stack.url, agent.key, 'streamable');
    try {
      const to = freshAddress();
      const wrong = await callError(client, 'execute_transfer', { agent_id: 'guess-poor', to_address: to, amount_eth: '0.5', confirmation_code: '0000' });
      const right = await callError(client, 'execute_transfer', { agent_id: 'guess-poor', to_address: to, amount_eth: '0.5', confirmation_code: CODE });
      assert.equal(wrong.code, 'INSUFFICIENT_FUNDS');
      assert.equal(right.code, 'INSUFFICIENT_FUNDS');
      assert.equal(wrong.message, right.message);
      assert.equal(await failures(stack), 0, 'the code was never reached');
    } finally {
      await client.close();
    }
  });

  test('wrong codes lock out after 5 in 15 minutes, per key and per wallet; the right one then tells nothing', async () => {
    const a = await createKey(stack, 'agent', 'guesser a');
    const b = await createKey(stack, 'agent', 'guesser b');
    const c = await createKey(stack, 'agent', 'honest c');
    const [ca, cb, cc] = await Promise.all([a, b, c].map((k) => connectMcp(stack.url, k.key, 'streamable')));
    try {
      const send = (client: Client, wallet: string, code: string) => callError(client, 'execute_transfer', { agent_id: wallet, to_address: freshAddress(), amount_eth: '0.5', confirmation_code: code });
      const before = await countRows(stack, 'transactions');
      const codes: string[] = [];
      for (let i = 0; i < 5; i++) codes.push((await send(ca!, 'guess-w1', `000${i}`)).code);
      assert.deepEqual(codes, ['CONFIRMATION_REQUIRED', 'CONFIRMATION_REQUIRED', 'CONFIRMATION_REQUIRED', 'CONFIRMATION_REQUIRED', 'CONFIRMATION_LOCKED']);
      const locked = await send(ca!, 'guess-w1', CODE);
      assert.equal(locked.code, 'CONFIRMATION_LOCKED', 'the right code is not even compared');
      assert.match(locked.message, /no code is checked until \d+ s from now/);
      assert.equal((await send(cb!, 'guess-w1', CODE)).code, 'CONFIRMATION_LOCKED', 'another key on the same wallet is locked out too');
      assert.equal((await send(ca!, 'guess-w2', CODE)).code, 'CONFIRMATION_LOCKED', 'the same key on another wallet is locked out too');
      assert.equal(await countRows(stack, 'transactions'), before, 'nothing was signed');
      assert.equal(await failures(stack), 5, 'locked-out attempts write no failure row');
      // An honest key on an untouched wallet is not affected.
      const ok = await callOk<{ transaction: { value_wei: string } }>(cc!, 'execute_transfer', { agent_id: 'guess-w2', to_address: freshAddress(), amount_eth: '0.5', confirmation_code: CODE });
      assert.equal(ok.transaction.value_wei, '500000000000000000');
      const audit = await stack.server.ctx.db.selectFrom('audit_events').select(['principal', 'error_code', 'rule', 'request']).where('action', '=', 'execute_transfer').where('error_code', '=', 'CONFIRMATION_LOCKED').execute();
      assert.equal(audit.length, 4);
      assert.ok(audit.every((r) => r.rule === 'confirmation_code' && (r.request as { confirmation_code: string }).confirmation_code === '[redacted]'));
    } finally {
      await Promise.all([ca, cb, cc].map((x) => x?.close()));
    }
  });

  test('100 parallel guesses in one request count exactly 5 failures', async () => {
    const d = await createKey(stack, 'agent', 'batch guesser');
    const before = await failures(stack);
    const answers = await batch(stack, d.key, Array.from({ length: 100 }, (_, i) => ({ name: 'execute_transfer', arguments: { agent_id: 'guess-w3', to_address: freshAddress(), amount_eth: '0.5', confirmation_code: `x${i}` } })));
    const codes = answers.map((a) => a.result._meta?.['vaultpilot/error']?.code);
    assert.equal(codes.filter((c) => c === 'CONFIRMATION_REQUIRED').length, 4);
    assert.equal(codes.filter((c) => c === 'CONFIRMATION_LOCKED').length, 96);
    assert.equal((await failures(stack)) - before, 5);
  });

  test('a strategy set up above MAX_TX_ETH checks the code the same way', async () => {
    const e = await createKey(stack, 'agent', 'strategy guesser');
    const client = await connectMcp(stack.url, e.key, 'streamable');
    try {
      const before = await failures(stack);
      const err = await callError(client, 'create_strategy_dca', { label: 'big-dca', agent_id: 'guess-poor', to_address: freshAddress(), amount_eth: '0.5', interval_seconds: 3600, confirmation_code: 'nope' });
      assert.equal(err.code, 'CONFIRMATION_REQUIRED');
      assert.equal((await failures(stack)) - before, 1);
      assert.equal(await countRows(stack, 'strategies'), 0);
    } finally {
      await client.close();
    }
  });

  test('production refuses a TX_CONFIRM_CODE shorter than 12 characters', () => {
    const prod = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://u:p@db/vp',
      RPC_URLS: 'https://rpc.example',
      FERNET_KEYS: 'dGVzdC1mZXJuZXQta2V5LTAwMDAwMDAwMDAwMDAwMDA=',
      ALLOWED_HOSTS: 'vaultpilot.example.com',
    };
    assert.throws(() => loadConfig({ ...prod, TX_CONFIRM_CODE: CODE }), /TX_CONFIRM_CODE must be at least 12 characters in production/);
    assert.throws(() => loadConfig({ ...prod, AGENTVAULT_TX_CONFIRM_CODE: 'short-code' }), /TX_CONFIRM_CODE must be at least 12/);
    assert.equal(loadConfig({ ...prod, TX_CONFIRM_CODE: 'a-long-enough-code' }).txConfirmCode, 'a-long-enough-code');
    assert.throws(() => loadConfig({ ...prod, EXPORT_CODE: 'short' }), /EXPORT_CODE must be at least 12/);
  });
});
