/**
 * Revocation that revokes, on real parts (a server, its worker, Postgres, anvil): an agent key
 * creates a DCA strategy over MCP that sends every 2 s; once an admin revokes the key over REST,
 * no further transaction of that strategy is recorded or mined, the strategy reads
 * `paused`/`key_revoked`, and the pause is audited in the revocation's transaction. The same for a
 * key that expires (the tick itself pauses it, then the worker's sweep has nothing left). A
 * pending approval of a revoked key is cancelled and cannot be approved afterwards; one whose key
 * expired before the sweep is cancelled by the decision itself. Strategy sends count toward the
 * wallet's rate limit (shared with agent calls naming it) and the key's. A valid key resumes a
 * paused strategy and becomes responsible for it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseEther, toBeHex } from 'ethers';
import { sql } from 'kysely';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { authenticateApiKey } from '../core/auth/api-keys.ts';
import { createStrategy } from '../core/strategies/service.ts';
import { runTick } from '../core/strategies/engine.ts';
import { retireInvalidKeys } from '../core/auth/keys.ts';
import { countersFor } from '../core/policy/rate-limit.ts';
import { createWallet } from '../core/wallets/service.ts';
import type { StrategyView } from '../core/strategies/service.ts';
import type { ApprovalView } from '../core/approvals/service.ts';
import { callError, callOk, chainProvider, connectMcp, eventually, freshAddress, startStack, type Stack } from './harness.ts';
import { createKey, pendingApproval, rest, type RestError } from './approval-harness.ts';
import { runsOf } from './strategy-harness.ts';
import { ARTIFACTS, openBrowser } from './browser.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dir = mkdtempSync(path.join(tmpdir(), 'vp-revocation-'));
const policyFile = path.join(dir, 'vaultpilot.yml');
writeFileSync(
  policyFile,
  [
    'rate_limits:',
    '  agents:',
    '    rl-agent: {max_calls: 5, window_seconds: 3600}',
    'policy:',
    '  approval_threshold_eth: "0.05"',
    '',
  ].join('\n'),
);

type StrategyBody = { strategy: StrategyView };

describe('revocation and expiry pause strategies and cancel approvals', () => {
  let stack: Stack;
  const clients: Client[] = [];
  const db = () => stack.server.ctx.db;

  before(async () => {
    stack = await startStack({ env: { POLICY_FILE: policyFile } });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** An agent key made over REST by the admin (optionally expiring), and its MCP client. */
  async function agentKey(name: string, expiresAt?: Date): Promise<{ key: string; keyId: string; mcp: Client }> {
    const made = await rest<{ key: { key_id: string }; api_key: string }>(stack, stack.adminKey, 'POST', '/api/keys', {
      name,
      role: 'agent',
      ...(expiresAt ? { expires_at: expiresAt.toISOString() } : {}),
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const mcp = await connectMcp(stack.url, made.body.api_key, 'streamable');
    clients.push(mcp);
    return { key: made.body.api_key, keyId: made.body.key.key_id, mcp };
  }

  /** A wallet made by the agent over MCP, funded on the dev chain. */
  async function agentWallet(mcp: Client, agentId: string): Promise<string> {
    const { wallet } = await callOk<{ wallet: { address: string } }>(mcp, 'spin_up_wallet', { agent_id: agentId });
    const provider = chainProvider();
    await provider.send('anvil_setBalance', [wallet.address, toBeHex(parseEther('1'))]);
    provider.destroy();
    return wallet.address;
  }

  /** The strategy's transactions as recorded. */
  const txsOf = (strategyId: string) =>
    db()
      .selectFrom('transactions as t')
      .innerJoin('strategy_runs as r', 'r.id', 't.strategy_run_id')
      .select(['t.id', 't.created_at', 't.tx_hash'])
      .where('r.strategy_id', '=', strategyId)
      .execute();
  const getStrategy = async (id: string) => {
    const res = await rest<StrategyBody>(stack, stack.adminKey, 'GET', `/api/strategies/${id}`);
    assert.equal(res.status, 200);
    return res.body.strategy;
  };
  const audits = (action: string, field: string, id: string) =>
    sql<{ kind: string; principal: string; status: string; error_code: string | null; decision: string | null; rule: string | null; response: Record<string, unknown> }>`
      select kind, principal, status, error_code, decision, rule, response from audit_events
       where action = ${action} and request->>${field} = ${id} order by id`.execute(db()).then((r) => r.rows);
  /** Mined transactions of an address (its latest nonce), once it has settled at `n`. */
  async function settlesAt(address: string, n: number): Promise<void> {
    const provider = chainProvider();
    try {
      await eventually(async () => (await provider.getTransactionCount(address, 'latest')) === n, 20_000, `${n} mined transactions from ${address}`);
    } finally {
      provider.destroy();
    }
  }

  let revokedStrategy = '';
  let revokedAddress = '';

  test('revoking the key (REST, admin) stops its DCA strategy from its commit on: paused/key_revoked, audited', async () => {
    const agent = await agentKey('dca agent');
    const address = await agentWallet(agent.mcp, 'rev-agent');
    const to = freshAddress();
    const { strategy } = await callOk<StrategyBody>(agent.mcp, 'create_strategy_dca', { label: 'rev-dca', agent_id: 'rev-agent', to_address: to, amount_eth: '0.001', interval_seconds: 2 });
    revokedStrategy = strategy.id;
    revokedAddress = address;
    await eventually(async () => (await txsOf(strategy.id)).length >= 2, 20_000, 'two sends before the revocation');
    const scheduled = await db().selectFrom('strategies').select('scheduled_job_id').where('id', '=', strategy.id).executeTakeFirstOrThrow();

    const revoked = await rest<{ key: { status: string; revoked_at: string } }>(stack, stack.adminKey, 'DELETE', `/api/keys/${agent.keyId}`);
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    assert.equal(revoked.body.key.status, 'revoked');
    // From the revocation's commit on: nothing more is recorded, over three intervals.
    const atRevocation = (await txsOf(strategy.id)).length;
    await sleep(7_000);
    const later = await txsOf(strategy.id);
    assert.equal(later.length, atRevocation, `no transaction after the revocation (had ${atRevocation}, now ${later.length})`);
    assert.ok(later.every((t) => t.created_at.getTime() <= Date.parse(revoked.body.key.revoked_at)), 'every transaction was recorded before the revocation');
    // ... and on chain, what was recorded before is all there is.
    await settlesAt(address, atRevocation);
    const provider = chainProvider();
    assert.equal(await provider.getBalance(to), parseEther('0.001') * BigInt(atRevocation));
    provider.destroy();

    const view = await getStrategy(strategy.id);
    assert.equal(strategy.created_by, agent.keyId, 'the creating key is responsible');
    assert.equal(view.status, 'paused');
    assert.equal(view.paused_reason, 'key_revoked');
    assert.equal(view.next_run_at, null);
    assert.equal(view.created_by, agent.keyId);
    const row = await db().selectFrom('strategies').select(['scheduled_job_id', 'scheduled_slot_at']).where('id', '=', strategy.id).executeTakeFirstOrThrow();
    assert.equal(row.scheduled_job_id, null, 'the next slot is cleared');
    if (scheduled.scheduled_job_id) {
      const job = await sql<{ state: string }>`select state from pgboss.job where id = ${scheduled.scheduled_job_id}::uuid`.execute(db());
      assert.ok(job.rows.every((j) => j.state === 'cancelled' || j.state === 'completed'), `the queued tick job is cancelled (${job.rows.map((j) => j.state).join(', ')})`);
    }
    const pending = await sql<{ n: string }>`select count(*)::text as n from pgboss.job where name = 'strategy-tick' and data->>'strategyId' = ${strategy.id} and state in ('created', 'retry')`.execute(db());
    assert.equal(pending.rows[0]!.n, '0', 'no tick job of the strategy is left queued');

    const admin = await authenticateApiKey(db(), stack.adminKey);
    const paused = await audits('strategy_pause', 'strategy_id', strategy.id);
    assert.equal(paused.length, 1);
    assert.deepEqual([paused[0]!.kind, paused[0]!.principal, paused[0]!.status], ['api_write', admin!.keyPrefix, 'ok']);
    assert.equal(paused[0]!.response.paused_reason, 'key_revoked');
    const revokeRow = await sql<{ status: string }>`select status from audit_events where action = 'DELETE /api/keys/:id' and request->>'id' = ${agent.keyId}`.execute(db());
    assert.deepEqual(revokeRow.rows.map((r) => r.status), ['ok']);
    // The revoked key is refused, and the sweep finds nothing left to do.
    assert.equal((await fetch(`${stack.url}/api/session`, { headers: { Authorization: `Bearer ${agent.key}` } })).status, 401);
    const swept = await retireInvalidKeys(stack.server.ctx);
    assert.equal(swept.strategies, 0);
  });

  test('a key that expires: nothing of its strategy is recorded after expires_at; it reads paused/key_expired', async () => {
    const expiresAt = new Date(Date.now() + 7_000);
    const agent = await agentKey('expiring agent', expiresAt);
    const address = await agentWallet(agent.mcp, 'exp-agent');
    const to = freshAddress();
    const { strategy } = await callOk<StrategyBody>(agent.mcp, 'create_strategy_dca', { label: 'exp-dca', agent_id: 'exp-agent', to_address: to, amount_eth: '0.001', interval_seconds: 2 });
    await eventually(async () => (await txsOf(strategy.id)).length >= 1, 20_000, 'a send before the expiry');

    // Three intervals past the expiry.
    await sleep(Math.max(0, expiresAt.getTime() + 6_000 - Date.now()));
    const txs = await txsOf(strategy.id);
    assert.ok(txs.length >= 1);
    const late = txs.filter((t) => t.created_at.getTime() >= expiresAt.getTime());
    assert.equal(late.length, 0, `no transaction recorded after expires_at (${late.length} were)`);
    await settlesAt(address, txs.length);

    const view = await getStrategy(strategy.id);
    assert.equal(strategy.created_by, agent.keyId);
    assert.equal(view.status, 'paused');
    assert.equal(view.paused_reason, 'key_expired');
    await sleep(3_000);
    assert.equal((await txsOf(strategy.id)).length, txs.length, 'nothing is recorded once paused');
    const paused = await audits('strategy_pause', 'strategy_id', strategy.id);
    assert.equal(paused.length, 1, 'paused once, by its tick or the sweep');
    assert.deepEqual([paused[0]!.kind, paused[0]!.principal], ['worker', 'worker']);
    assert.equal(paused[0]!.response.paused_reason, 'key_expired');
    assert.equal((await retireInvalidKeys(stack.server.ctx)).strategies, 0, 'nothing left for the sweep');
  });

  test('a pending approval of a revoked key is cancelled; approving it is APPROVAL_NOT_PENDING and nothing is sent', async () => {
    const agent = await agentKey('approval agent');
    await agentWallet(agent.mcp, 'appr-agent');
    const to = freshAddress();
    const out = await callOk<{ status: string; approval_id: string }>(agent.mcp, 'execute_transfer', { agent_id: 'appr-agent', to_address: to, amount_eth: '0.1', reason: 'above the threshold' });
    assert.equal(out.status, 'pending_approval');

    const revoked = await rest(stack, stack.adminKey, 'POST', `/api/keys/${agent.keyId}/revoke`);
    assert.equal(revoked.status, 200);
    const read = await rest<{ approval: ApprovalView }>(stack, stack.adminKey, 'GET', `/api/approvals/${out.approval_id}`);
    assert.equal(read.body.approval.status, 'cancelled');
    assert.equal(read.body.approval.error_code, 'KEY_REVOKED');
    const listed = await rest<{ approvals: ApprovalView[] }>(stack, stack.adminKey, 'GET', '/api/approvals?status=cancelled');
    assert.ok(listed.body.approvals.some((a) => a.approval_id === out.approval_id), 'listed under cancelled');

    const approve = await rest<RestError>(stack, stack.adminKey, 'POST', `/api/approvals/${out.approval_id}/approve`);
    assert.equal(approve.status, 409);
    assert.equal(approve.body.error.code, 'APPROVAL_NOT_PENDING');
    assert.equal(approve.body.error.details?.status, 'cancelled');
    await sleep(1_500);
    const wallet = await db().selectFrom('wallets').select('id').where('agent_id', '=', 'appr-agent').executeTakeFirstOrThrow();
    assert.equal((await db().selectFrom('transactions').select('id').where('wallet_id', '=', wallet.id).execute()).length, 0, 'nothing is sent');
    const provider = chainProvider();
    assert.equal(await provider.getBalance(to), 0n);
    provider.destroy();
    const cancelled = await audits('approval_cancel', 'approval_id', out.approval_id);
    assert.equal(cancelled.length, 1);
    assert.equal(cancelled[0]!.kind, 'api_write');
    assert.equal(cancelled[0]!.response.status, 'cancelled');
  });

  test('deciding an approval whose key expired before the sweep: refused, and the approval cancelled', async () => {
    const requester = await createKey(stack, 'agent', 'soon expired');
    const operator = await createKey(stack, 'operator', 'decider');
    const admin = await connectMcp(stack.url, stack.adminKey, 'streamable');
    clients.push(admin);
    const { wallet } = await callOk<{ wallet: { id: string } }>(admin, 'spin_up_wallet', { agent_id: 'exp-appr' });
    const approval = await pendingApproval(stack, requester.principal, wallet.id, { to: freshAddress(), eth: '0.1' });
    await db().updateTable('api_keys').set({ expires_at: new Date(Date.now() - 1_000) }).where('id', '=', requester.principal.keyId).execute();
    const res = await rest<RestError>(stack, operator.key, 'POST', `/api/approvals/${approval.approval_id}/approve`);
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'APPROVAL_NOT_PENDING');
    assert.equal(res.body.error.details?.status, 'cancelled');
    const read = await rest<{ approval: ApprovalView }>(stack, stack.adminKey, 'GET', `/api/approvals/${approval.approval_id}`);
    assert.equal(read.body.approval.status, 'cancelled');
    assert.equal(read.body.approval.error_code, 'KEY_EXPIRED');
    assert.equal((await audits('approval_cancel', 'approval_id', approval.approval_id)).length, 1);
  });

  test('rate limits: strategy sends count on the wallet\'s rate_limits.agents counter, shared with agent calls', async () => {
    const agent = await agentKey('rate-limited agent');
    await agentWallet(agent.mcp, 'rl-agent'); // call 1 naming rl-agent
    const to = freshAddress();
    // call 2; then sends 3, 4 and 5 reach the limit of 5.
    const { strategy } = await callOk<StrategyBody>(agent.mcp, 'create_strategy_dca', { label: 'rl-dca', agent_id: 'rl-agent', to_address: to, amount_eth: '0.001', interval_seconds: 1 });
    const runs = await eventually(async () => {
      const r = await runsOf(stack, strategy.id);
      return r.filter((x) => x.outcome === 'failed').length >= 2 ? r : undefined;
    }, 30_000, 'runs refused by the rate limit');
    const sent = runs.filter((r) => r.outcome === 'sent');
    assert.equal(sent.length, 3, 'three sends fit in what the limit leaves');
    const failed = runs.filter((r) => r.outcome === 'failed');
    assert.ok(failed.every((r) => r.error_code === 'RATE_LIMITED'), failed.map((r) => r.error_code).join(', '));
    assert.ok(runs.findIndex((r) => r.outcome === 'failed') > runs.findLastIndex((r) => r.outcome === 'sent'), 'the limit stops sends for good in this window');
    const refused = await callError(agent.mcp, 'query_balance', { agent_id: 'rl-agent' });
    assert.equal(refused.code, 'RATE_LIMITED');
    assert.match(refused.message, /rate_limits\.agents\.rl-agent/);
    const counter = await db().selectFrom('rate_limit_counters').select('calls').where('counter', '=', 'agent:rl-agent:3600s').executeTakeFirstOrThrow();
    assert.equal(counter.calls, 5, 'refused runs and calls consume nothing');
    const ticks = await sql<{ status: string; error_code: string | null; decision: string | null; rule: string | null }>`
      select status, error_code, decision, rule from audit_events where action = 'strategy_tick' and request->>'strategy_id' = ${strategy.id} and error_code = 'RATE_LIMITED'`.execute(db());
    assert.ok(ticks.rows.length >= 2);
    assert.ok(ticks.rows.every((r) => r.status === 'error' && r.decision === 'deny' && r.rule === 'rate_limits.agents.rl-agent'));
    await callOk(agent.mcp, 'stop_strategy', { label: 'rl-dca' }).catch(() => undefined); // stop_strategy names no wallet
    const provider = chainProvider();
    await eventually(async () => (await provider.getBalance(to)) === parseEther('0.003'), 20_000, 'three sends on chain');
    provider.destroy();
  });

  test('resume: another valid key starts the paused strategy; it sends again and that key is responsible', async () => {
    assert.ok(revokedStrategy, 'the revocation test ran');
    const other = await agentKey('second agent');
    const before = (await txsOf(revokedStrategy)).length;
    const { strategy } = await callOk<StrategyBody>(other.mcp, 'start_strategy', { label: 'rev-dca' });
    assert.equal(strategy.status, 'active');
    assert.equal(strategy.paused_reason, null);
    assert.equal(strategy.created_by, other.keyId, 'the starting key is now responsible');
    await eventually(async () => (await txsOf(revokedStrategy)).length >= before + 2, 20_000, 'sends after the resume');
    await callOk(other.mcp, 'stop_strategy', { label: 'rev-dca' });
    await sleep(500);
    await settlesAt(revokedAddress, (await txsOf(revokedStrategy)).length);
    const row = await db().selectFrom('strategies').select(['created_by_key_id', 'created_by']).where('id', '=', revokedStrategy).executeTakeFirstOrThrow();
    assert.equal(row.created_by, other.keyId);
  });

  test('a one-shot persisted as a strategy records its key; revoking the key pauses it', async () => {
    const agent = await agentKey('one-shot agent');
    await agentWallet(agent.mcp, 'oneshot-agent');
    const sendAt = new Date(Date.now() + 3_600_000).toISOString();
    const out = await callOk<{ action: string; strategy: StrategyView }>(agent.mcp, 'scheduled_send_once', { agent_id: 'oneshot-agent', to_address: freshAddress(), amount_eth: '0.001', send_at_iso: sendAt, persist: true, label: 'oneshot-later' });
    assert.equal(out.action, 'persisted');
    assert.equal(out.strategy.created_by, agent.keyId);
    assert.equal((await rest(stack, stack.adminKey, 'DELETE', `/api/keys/${agent.keyId}`)).status, 200);
    const view = await getStrategy(out.strategy.id);
    assert.deepEqual([view.status, view.paused_reason, view.next_run_at], ['paused', 'key_revoked', null]);
  });

  test('the admin UI lists the paused strategy with its reason and responsible key, and offers Resume', async () => {
    const browser = await openBrowser();
    try {
      const { page } = browser;
      await page.goto(`${stack.url}/admin`);
      await page.getByTestId('api-key-input').fill(stack.adminKey);
      await page.getByTestId('sign-in-button').click();
      await page.getByTestId('nav-strategies').waitFor();
      await page.goto(`${stack.url}/admin#/strategies?status=paused`);
      const row = page.locator('[data-testid="strategy-row"][data-label="exp-dca"]');
      await row.waitFor();
      assert.equal((await row.getByTestId('strategy-status').innerText()).trim(), 'paused');
      assert.equal((await row.getByTestId('strategy-paused-reason').innerText()).trim(), 'key_expired');
      assert.equal(await page.locator('[data-testid="strategy-row"][data-label="rev-dca"]').count(), 0, 'the resumed one is not listed as paused');
      await row.click();
      const detail = page.getByTestId('strategy-detail');
      await detail.waitFor();
      const view = await getStrategy(await row.getAttribute('data-strategy-id') as string);
      assert.equal((await detail.getByTestId('strategy-created-by').innerText()).trim(), view.created_by);
      assert.match(await detail.getByTestId('strategy-paused-note').innerText(), new RegExp(`key_expired.*${view.created_by}.*expired`, 's'));
      assert.equal((await detail.getByTestId('strategy-start').innerText()).trim(), 'Resume');
      await page.screenshot({ path: path.join(ARTIFACTS, 'revocation-paused-strategy.png'), fullPage: true });
      assert.deepEqual(browser.pageErrors, []);
      // Before sign-in the UI asks /api/session and gets its expected 401.
      assert.deepEqual(browser.consoleErrors.filter((e) => !e.url.endsWith('/api/session')), []);
    } finally {
      await browser.close();
    }
  });
});

describe('strategy sends count toward the responsible key\'s rate_limits.default', () => {
  let stack: Stack;
  const keyDir = mkdtempSync(path.join(tmpdir(), 'vp-revocation-key-'));
  const keyPolicy = path.join(keyDir, 'vaultpilot.yml');
  writeFileSync(keyPolicy, ['rate_limits:', '  default: {max_calls: 2, window_seconds: 3600}', ''].join('\n'));
  before(async () => {
    stack = await startStack({ worker: false, env: { POLICY_FILE: keyPolicy } });
  });
  after(async () => {
    await stack?.close();
    rmSync(keyDir, { recursive: true, force: true });
  });

  test('two sends per key and window; the third tick is a failed RATE_LIMITED run; imported strategies have no key counter', async () => {
    const ctx = stack.server.ctx;
    const agent = await createKey(stack, 'agent', 'key-limited');
    const admin = (await authenticateApiKey(ctx.db, stack.adminKey))!;
    const { wallet } = await createWallet(ctx, admin, 'key-limited');
    const provider = chainProvider();
    await provider.send('anvil_setBalance', [wallet.address, toBeHex(parseEther('1'))]);
    const s = await createStrategy(ctx, agent.principal, { kind: 'dca', label: 'key-dca', agent_id: 'key-limited', params: { to_address: freshAddress(), amount_eth: '0.001', interval_seconds: 1 } });
    const outcomes: string[] = [];
    for (let i = 0; i < 3; i++) {
      await sleep(1_100); // the next slot is due
      const r = await runTick(ctx, s.id, { source: 'manual' });
      outcomes.push(`${r.outcome}${r.run?.error_code ? `:${r.run.error_code}` : ''}`);
    }
    assert.deepEqual(outcomes, ['sent', 'sent', 'failed:RATE_LIMITED']);
    const counter = await ctx.db.selectFrom('rate_limit_counters').select('calls').where('counter', '=', `key:${agent.principal.keyId}:3600s`).executeTakeFirstOrThrow();
    assert.equal(counter.calls, 2);
    provider.destroy();
    // A strategy without a responsible key (imported) and a strategy send count no per-key or per-tool counter.
    assert.deepEqual(countersFor({ default: { max_calls: 1, window_seconds: 60 }, tools: { x: { max_calls: 1, window_seconds: 60 } } }, { tenantId: 't', keyId: null, tool: null, agentId: null }), []);
  });

  test('the tick itself pauses a strategy whose key expired, before any sweep, and sends nothing', async () => {
    const ctx = stack.server.ctx;
    const agent = await createKey(stack, 'agent', 'expires under the tick');
    const s = await createStrategy(ctx, agent.principal, { kind: 'dca', label: 'tick-pause', agent_id: 'key-limited', params: { to_address: freshAddress(), amount_eth: '0.001', interval_seconds: 1 } });
    await ctx.db.updateTable('api_keys').set({ expires_at: new Date(Date.now() - 1_000) }).where('id', '=', agent.principal.keyId).execute();
    await sleep(1_100);
    const dry = await runTick(ctx, s.id, { source: 'manual', dryRun: true });
    assert.equal(dry.outcome, 'paused', 'a dry run reports it and writes nothing');
    assert.equal(dry.strategy?.status, 'active');
    const r = await runTick(ctx, s.id, { source: 'manual' });
    assert.equal(r.outcome, 'paused');
    assert.equal(r.run, null);
    assert.equal(r.transactions.length, 0);
    assert.equal(r.strategy?.status, 'paused');
    assert.equal(r.strategy?.paused_reason, 'key_expired');
    assert.equal((await runsOf(stack, s.id)).length, 0, 'no run is recorded');
    const audit = await ctx.db.selectFrom('audit_events').select(['kind', 'principal']).where('action', '=', 'strategy_pause').where(sql<boolean>`request->>'strategy_id' = ${s.id}`).execute();
    assert.deepEqual(audit, [{ kind: 'worker', principal: 'worker' }]);
  });
});
