/**
 * Guardrails under concurrency, end to end over MCP with a real `vaultpilot.yml`: rate limits
 * counted in Postgres (50 parallel calls against a limit of 10 → exactly 10 pass, across two
 * server replicas), per-agent limits shared by every key, a rolling spend cap that parallel sends
 * never exceed (the cap reached exactly is allowed), a send above the approval threshold held for
 * a human, and the decision of every guarded call in the audit log with the rule that made it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseEther } from 'ethers';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { callError, callOk, chainProvider, connectMcp, startStack, type Stack } from './harness.ts';
import { adminPrincipal, fundedWallet } from './strategy-harness.ts';
import { generateApiKey } from '../core/auth/api-keys.ts';
import { startServer, type RunningServer } from '../server/start.ts';
import { createLogger } from '../core/logger.ts';

const RECIPIENT = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';
const dir = mkdtempSync(path.join(tmpdir(), 'vp-guardrails-'));
const policyFile = path.join(dir, 'vaultpilot.yml');
writeFileSync(
  policyFile,
  [
    '# AgentVault rate_limits, read as is',
    'rate_limits:',
    '  tools:',
    '    list_wallets: {max_calls: 10, window_seconds: 3600}',
    '  agents:',
    '    shared: {max_calls: 6, window_seconds: 3600}',
    'policy:',
    '  spend_cap_24h_eth: "0.05"',
    '  approval_threshold_eth: "0.02"',
    '',
  ].join('\n'),
);

let stack: Stack;
let replica: RunningServer;
let admin: Client;

async function agentKey(name: string, allowedIps: string[] | null = null): Promise<string> {
  const k = generateApiKey();
  const tenant = await stack.server.ctx.db.selectFrom('tenants').select('id').where('name', '=', 'default').executeTakeFirstOrThrow();
  await stack.server.ctx.db.insertInto('api_keys').values({ tenant_id: tenant.id, name, role: 'agent', key_prefix: k.prefix, key_hash: k.hash, allowed_ips: allowedIps }).execute();
  return k.key;
}

before(async () => {
  stack = await startStack({ env: { POLICY_FILE: policyFile, MAX_TX_ETH: '10', TRUSTED_PROXIES: '127.0.0.1, ::1' } });
  // A second server replica on the same database: limits must be shared, not per process.
  replica = await startServer(stack.config, createLogger('server', 'silent'));
  admin = await connectMcp(stack.url, stack.adminKey, 'streamable');
});

after(async () => {
  await admin?.close();
  await replica?.close();
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('50 parallel calls against a limit of 10, over two replicas and both transports: exactly 10 pass', async () => {
  const key = await agentKey('rate-limited agent');
  const clients = await Promise.all([
    connectMcp(stack.url, key, 'streamable'),
    connectMcp(replica.url, key, 'streamable'),
    connectMcp(stack.url, key, 'sse'),
    connectMcp(replica.url, key, 'sse'),
  ]);
  try {
    const results = (await Promise.all(Array.from({ length: 50 }, (_, i) => clients[i % clients.length]!.callTool({ name: 'list_wallets', arguments: {} })))) as CallToolResult[];
    const ok = results.filter((r) => !r.isError);
    const limited = results.filter((r) => r.isError && (r._meta?.['vaultpilot/error'] as { code: string }).code === 'RATE_LIMITED');
    assert.equal(ok.length, 10);
    assert.equal(limited.length, 40);
    const err = limited[0]!._meta?.['vaultpilot/error'] as { message: string; details: Record<string, unknown> };
    assert.equal(err.details.rule, 'rate_limits.tools.list_wallets');
    assert.equal(err.details.max_calls, 10);
    assert.ok(Number(err.details.retry_after_seconds) > 0);
    // The limit is per key: the admin key still has its own 10.
    await callOk(admin, 'list_wallets');
    const rows = await stack.server.ctx.db
      .selectFrom('audit_events')
      .select(['status', 'decision', 'rule', 'error_code'])
      .where('action', '=', 'list_wallets')
      .where('error_code', '=', 'RATE_LIMITED')
      .execute();
    assert.equal(rows.length, 40);
    assert.ok(rows.every((r) => r.status === 'refused' && r.decision === 'deny' && r.rule === 'rate_limits.tools.list_wallets'));
    // Both replicas run in this process and share its registry: the counter has all 40.
    const metrics = await (await fetch(`${stack.url}/metrics`)).text();
    assert.match(metrics, /^vaultpilot_guardrail_decisions_total\{decision="deny",rule="rate_limits\.tools\.list_wallets"\} 40$/m);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
});

test('a per-agent limit counts every key naming that wallet; a refused call consumes nothing', async () => {
  await callOk(admin, 'spin_up_wallet', { agent_id: 'shared' });
  const other = await agentKey('second agent');
  const second = await connectMcp(stack.url, other, 'streamable');
  try {
    const calls = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? admin : second).callTool({ name: 'query_balance', arguments: { agent_id: 'shared' } })),
    );
    // spin_up_wallet named the wallet too: 1 + 5 = the limit of 6.
    assert.equal(calls.filter((r) => !r.isError).length, 5);
    const refused = await callError(second, 'query_balance', { agent_id: 'shared' });
    assert.equal(refused.code, 'RATE_LIMITED');
    assert.match(refused.message, /rate_limits\.agents\.shared/);
    // Another wallet is not limited by it.
    await callOk(admin, 'spin_up_wallet', { agent_id: 'unshared' });
    await callOk(second, 'query_balance', { agent_id: 'unshared' });
    const counted = await stack.server.ctx.db.selectFrom('rate_limit_counters').select('calls').where('counter', '=', 'agent:shared:3600s').executeTakeFirstOrThrow();
    assert.equal(counted.calls, 6, 'refused calls roll their increment back');
  } finally {
    await second.close();
  }
});

test('parallel sends never exceed the rolling 24 h cap; reaching it exactly is allowed', async () => {
  const principal = await adminPrincipal(stack);
  const wallet = await fundedWallet(stack, principal, 'capped', '10');
  const clients = [admin, await connectMcp(replica.url, stack.adminKey, 'streamable')];
  try {
    const results = (await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        clients[i % 2]!.callTool({ name: 'execute_transfer', arguments: { agent_id: 'capped', to_address: RECIPIENT, amount_eth: '0.01' } }),
      ),
    )) as CallToolResult[];
    const sent = results.filter((r) => !r.isError);
    const refused = results.filter((r) => r.isError);
    assert.equal(sent.length, 5, '5 × 0.01 reaches the 0.05 cap exactly');
    assert.ok(refused.every((r) => (r._meta?.['vaultpilot/error'] as { code: string }).code === 'POLICY_SPEND_LIMIT'));
    const spent = await stack.server.ctx.db
      .selectFrom('transactions')
      .select((eb) => eb.fn.sum<string>('value_wei').as('total'))
      .where('wallet_id', '=', wallet.id)
      .executeTakeFirstOrThrow();
    assert.equal(BigInt(spent.total), parseEther('0.05'));
    const provider = chainProvider();
    assert.equal(await provider.getTransactionCount(wallet.address, 'pending'), 5);
    provider.destroy();
    const sim = await callOk<{ would_succeed: boolean; reason: string; policy: { decision: string; rule: string } }>(admin, 'simulate_transfer', {
      agent_id: 'capped',
      to_address: RECIPIENT,
      amount_eth: '0.000000000000000001',
    });
    assert.deepEqual([sim.would_succeed, sim.reason, sim.policy.decision, sim.policy.rule], [false, 'POLICY_SPEND_LIMIT', 'deny', 'spend_cap_24h_eth']);
  } finally {
    await clients[1]!.close();
  }
});

test('a send above the approval threshold is held: pending_approval, nothing signed, audited as require_approval', async () => {
  const principal = await adminPrincipal(stack);
  const wallet = await fundedWallet(stack, principal, 'big-spender', '1');
  const out = await callOk<{ status: string; approval_id: string; approval: { status: string; rule: string; reason: string; amount: { eth: string } } }>(admin, 'execute_transfer', {
    agent_id: 'big-spender',
    to_address: RECIPIENT,
    amount_eth: '0.03',
    reason: 'monthly hosting invoice',
  });
  assert.equal(out.status, 'pending_approval');
  assert.deepEqual([out.approval.status, out.approval.rule, out.approval.reason, out.approval.amount.eth], ['pending', 'approval_threshold_eth', 'monthly hosting invoice', '0.03']);
  const txs = await stack.server.ctx.db.selectFrom('transactions').select('id').where('wallet_id', '=', wallet.id).execute();
  assert.equal(txs.length, 0);
  const audit = await stack.server.ctx.db
    .selectFrom('audit_events')
    .select(['status', 'decision', 'rule'])
    .where('action', '=', 'execute_transfer')
    .where('wallet_id', '=', wallet.id)
    .executeTakeFirstOrThrow();
  assert.deepEqual(audit, { status: 'ok', decision: 'require_approval', rule: 'approval_threshold_eth' });
  // At the threshold exactly, it is sent and audited as allowed.
  const sent = await callOk<{ status: string; transaction: { value_eth: string } }>(admin, 'execute_transfer', { agent_id: 'big-spender', to_address: RECIPIENT, amount_eth: '0.02' });
  assert.deepEqual([sent.status, sent.transaction.value_eth], ['sent', '0.02']);
  const allowed = await stack.server.ctx.db
    .selectFrom('audit_events')
    .select(['decision', 'rule'])
    .where('action', '=', 'execute_transfer')
    .where('wallet_id', '=', wallet.id)
    .where('decision', '=', 'allow')
    .execute();
  assert.equal(allowed.length, 1);
  // A bad reason is refused before anything happens.
  const bad = await callError(admin, 'execute_transfer', { agent_id: 'big-spender', to_address: RECIPIENT, amount_eth: '0.03', reason: 'x'.repeat(501) });
  assert.equal(bad.code, 'INVALID_INPUT');
});

test('a strategy run above the approval threshold is a failed run with APPROVAL_REQUIRED and sends nothing', async () => {
  const principal = await adminPrincipal(stack);
  await fundedWallet(stack, principal, 'dca-agent', '1');
  // 0.03 per run is above the 0.02 approval threshold: strategies cannot wait for a human.
  await callOk(admin, 'create_strategy_dca', { label: 'too-big', agent_id: 'dca-agent', to_address: RECIPIENT, amount_eth: '0.03', interval_seconds: 3600, start: true });
  const out = await callOk<{ outcome: string; run: { outcome: string; error_code: string } }>(admin, 'tick_strategy', { label: 'too-big' });
  assert.equal(out.outcome, 'failed');
  assert.equal(out.run.error_code, 'APPROVAL_REQUIRED');
  const wallet = await stack.server.ctx.db.selectFrom('wallets').select('id').where('agent_id', '=', 'dca-agent').executeTakeFirstOrThrow();
  const txs = await stack.server.ctx.db.selectFrom('transactions').select('id').where('wallet_id', '=', wallet.id).execute();
  assert.equal(txs.length, 0);
  await callOk(admin, 'stop_strategy', { label: 'too-big' });
});

test('behind TRUSTED_PROXIES, IP scopes and the audit log see the forwarded client, never a forged hop', async () => {
  const key = await agentKey('behind a proxy', ['198.51.100.0/24']);
  const status = async (forwardedFor?: string) => {
    const headers: Record<string, string> = { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    if (forwardedFor) headers['x-forwarded-for'] = forwardedFor;
    const res = await fetch(`${stack.url}/mcp`, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) });
    await res.text();
    return res.status;
  };
  assert.equal(await status('198.51.100.7'), 200, 'the proxy (127.0.0.1, trusted) forwards a client inside the scope');
  assert.equal(await status(), 403, 'no header: the client is the proxy itself, outside the scope');
  assert.equal(await status('198.51.100.7, 203.0.113.9'), 403, 'the rightmost untrusted hop decides; the left entry is the client\'s own claim');
  const refused = await stack.server.ctx.db.selectFrom('audit_events').select('ip').where('rule', '=', 'scope.ips').orderBy('id', 'desc').executeTakeFirstOrThrow();
  assert.equal(refused.ip, '203.0.113.9');
});

test('one-shots: a dry run reports the policy decision; a micro-tip needing approval is refused with APPROVAL_REQUIRED, nothing sent', async () => {
  const principal = await adminPrincipal(stack);
  const wallet = await fundedWallet(stack, principal, 'tipper', '1');
  const recipients = [RECIPIENT, '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65'];
  const dry = await callOk<{ simulation: { would_succeed: boolean; reason: string; policy: { decision: string; rule: string } } }>(admin, 'micro_tip_equal', {
    agent_id: 'tipper',
    recipients,
    total_amount_eth: '0.06',
    dry_run: true,
  });
  assert.deepEqual([dry.simulation.would_succeed, dry.simulation.reason, dry.simulation.policy.rule], [false, 'POLICY_SPEND_LIMIT', 'spend_cap_24h_eth']);
  // 0.025 each: under the cap together, but each above the 0.02 threshold, and a micro-tip cannot wait.
  const held = await callError(admin, 'micro_tip_equal', { agent_id: 'tipper', recipients, total_amount_eth: '0.05' });
  assert.equal(held.code, 'APPROVAL_REQUIRED');
  const audit = await stack.server.ctx.db
    .selectFrom('audit_events')
    .select(['decision', 'rule'])
    .where('action', '=', 'micro_tip_equal')
    .where('status', '=', 'refused')
    .executeTakeFirstOrThrow();
  assert.deepEqual(audit, { decision: 'require_approval', rule: 'approval_threshold_eth' });
  const txs = await stack.server.ctx.db.selectFrom('transactions').select('id').where('wallet_id', '=', wallet.id).execute();
  assert.equal(txs.length, 0);
});
