/**
 * Human approval end to end, on real parts: a server, the worker as its own OS process,
 * Postgres and anvil. Approvals are made as executeTransfer makes them (requestApproval); an
 * operator decides over REST with another key; the worker sends an approved one through the
 * normal path and the agent follows it with get_approval_status over MCP until it is mined.
 * Also: rejection, self-approval refused, roles, limits rechecked at execution (drained wallet,
 * a tighter policy), a retried or duplicated execute job never sends twice, and expiry (reads,
 * decisions, and the worker's sweep). Last, the whole flow through execute_transfer with a policy
 * file's approval threshold.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { parseEther, toBeHex } from 'ethers';
import { sql } from 'kysely';
import type { Principal } from '../core/auth/api-keys.ts';
import { decideApproval, expireApprovals, getApproval, type ApprovalView } from '../core/approvals/service.ts';
import { executeApproval } from '../core/approvals/execute.ts';
import { QUEUES } from '../core/jobs/queue.ts';
import { callError, callOk, chainProvider, connectMcp, eventually, freshAddress, startStack, type Stack } from './harness.ts';
import { adminPrincipal, fundedWallet, spawnWorker, strategyStack, type WorkerProcess } from './strategy-harness.ts';
import { approvalRow, createKey, pendingApproval, rest, type RestError } from './approval-harness.ts';

type Body = { approval: ApprovalView };
type Page = { approvals: ApprovalView[]; next_cursor: string | null };

describe('human approval end to end (worker process)', () => {
  const t = strategyStack();
  let agent: { key: string; principal: Principal };
  let operator: { key: string; principal: Principal };
  let operator2: { key: string; principal: Principal };
  let viewer: { key: string; principal: Principal };
  let mcp: Client;
  let executedId = '';
  let executedWallet = '';

  const ctx = () => t.stack.server.ctx;
  const txCount = async (walletId: string) => (await ctx().db.selectFrom('transactions').select('id').where('wallet_id', '=', walletId).execute()).length;
  const status = async (id: string) => (await callOk<Body>(mcp, 'get_approval_status', { approval_id: id })).approval;
  const audits = (action: string, approvalId: string) =>
    sql<{ kind: string; status: string; error_code: string | null; principal: string }>`
      select kind, status, error_code, principal from audit_events
       where action = ${action} and (request->>'approval_id' = ${approvalId} or request->>'id' = ${approvalId}) order by id`.execute(ctx().db).then((r) => r.rows);

  before(async () => {
    agent = await createKey(t.stack, 'agent', 'the agent');
    operator = await createKey(t.stack, 'operator', 'operator one');
    operator2 = await createKey(t.stack, 'operator', 'operator two');
    viewer = await createKey(t.stack, 'viewer', 'a viewer');
    t.workers.push(await spawnWorker(t.stack));
    mcp = await connectMcp(t.stack.url, agent.key, 'streamable');
  });
  after(async () => {
    await mcp?.close().catch(() => undefined);
  });

  test('the approval tools are listed, read-only, with output schemas', async () => {
    const { tools } = await mcp.listTools();
    for (const name of ['get_approval_status', 'list_approvals']) {
      const tool = tools.find((x) => x.name === name);
      assert.ok(tool, `${name} is listed`);
      assert.equal(tool.annotations?.readOnlyHint, true);
      assert.equal(tool.annotations?.destructiveHint, false);
      assert.equal(tool.outputSchema?.type, 'object');
    }
  });

  test('request → approved over REST by an operator → the worker sends it → mined; get_approval_status shows the tx', async () => {
    const w = await fundedWallet(t.stack, t.principal, 'appr-main', '1');
    const to = freshAddress();
    const created = await pendingApproval(t.stack, agent.principal, w.id, { to, eth: '0.05', reason: 'Invoice #42: GPU hours' });
    assert.equal(created.status, 'pending');
    assert.equal(created.requested_by, agent.principal.keyPrefix);
    assert.equal(Date.parse(created.expires_at) - Date.parse(created.created_at), t.stack.config.approvalTtlMs, 'expires after APPROVAL_TTL');
    assert.deepEqual(created.amount, { eth: '0.05', wei: parseEther('0.05').toString() });

    const pending = await callOk<Body>(mcp, 'get_approval_status', { approval_id: created.approval_id });
    assert.equal(pending.approval.status, 'pending');
    assert.equal(pending.approval.reason, 'Invoice #42: GPU hours');
    assert.equal(pending.approval.transaction, null);
    const listed = await rest<Page>(t.stack, operator.key, 'GET', '/api/approvals?status=pending');
    assert.equal(listed.status, 200);
    assert.ok(listed.body.approvals.some((a) => a.approval_id === created.approval_id), 'the operator sees it pending');
    assert.equal(await txCount(w.id), 0, 'nothing is sent before the decision');

    const approved = await rest<Body>(t.stack, operator.key, 'POST', `/api/approvals/${created.approval_id}/approve`, { note: 'invoice checked' });
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    assert.ok(['approved', 'executed'].includes(approved.body.approval.status));
    assert.equal(approved.body.approval.decided_by, operator.principal.keyPrefix);
    assert.equal(approved.body.approval.decision_note, 'invoice checked');

    const executed = await eventually(async () => {
      const a = await status(created.approval_id);
      return a.status === 'executed' ? a : null;
    }, 30_000, 'the worker to execute the approval');
    assert.ok(executed.transaction, 'the transaction is shown');
    assert.equal(executed.transaction.to_address, to);
    assert.equal(executed.transaction.value_wei, parseEther('0.05').toString());
    assert.equal(executed.transaction.source, 'worker');
    assert.equal(executed.transaction_id, executed.transaction.id);

    const provider = chainProvider();
    const receipt = await eventually(() => provider.getTransactionReceipt(executed.transaction!.tx_hash), 30_000, 'a receipt on anvil');
    assert.equal(receipt.status, 1);
    assert.equal(await provider.getBalance(to), parseEther('0.05'));
    provider.destroy();
    const mined = await eventually(async () => {
      const a = await status(created.approval_id);
      return a.transaction && ['mined', 'confirmed'].includes(a.transaction.status) ? a : null;
    }, 30_000, 'get_approval_status to show the transaction mined');
    assert.equal(mined.transaction!.tx_hash, executed.transaction.tx_hash);
    const text = await mcp.callTool({ name: 'get_approval_status', arguments: { approval_id: created.approval_id } });
    assert.match(JSON.stringify(text.content), new RegExp(executed.transaction.tx_hash));

    assert.deepEqual((await audits('POST /api/approvals/:id/approve', created.approval_id)).map((r) => [r.kind, r.status, r.principal]), [['api_write', 'ok', operator.principal.keyPrefix]]);
    assert.deepEqual((await audits('approval_execute', created.approval_id)).map((r) => [r.kind, r.status]), [['worker', 'ok']]);
    const executedList = await callOk<Page>(mcp, 'list_approvals', { status: 'executed' });
    assert.ok(executedList.approvals.some((a) => a.approval_id === created.approval_id));
    executedId = created.approval_id;
    executedWallet = w.id;
  });

  test('a retried or duplicated execute job does not send twice', async () => {
    assert.ok(executedId, 'runs after the end-to-end test');
    // A second job for an executed approval, and a direct call, change nothing.
    await ctx().boss.send(QUEUES.approvalExecute, { approvalId: executedId });
    assert.equal((await executeApproval(ctx(), executedId)).outcome, 'skipped');
    await eventually(async () => {
      const r = await sql<{ n: string }>`select count(*)::text as n from pgboss.job where name = ${QUEUES.approvalExecute} and state = 'completed' and data->>'approvalId' = ${executedId}`.execute(ctx().db);
      return Number(r.rows[0]!.n) >= 2;
    }, 20_000, 'the worker to finish the duplicate job');
    assert.equal(await txCount(executedWallet), 1);

    // Three executions at once (two here, one job in the worker process): exactly one sends.
    const w = await fundedWallet(t.stack, t.principal, 'appr-race', '1');
    const a = await pendingApproval(t.stack, agent.principal, w.id, { to: freshAddress(), eth: '0.02' });
    await ctx().db.updateTable('approvals').set({ status: 'approved', decided_by: 'test', decided_at: new Date() }).where('id', '=', a.approval_id).execute();
    await ctx().boss.send(QUEUES.approvalExecute, { approvalId: a.approval_id });
    const outcomes = await Promise.all([executeApproval(ctx(), a.approval_id), executeApproval(ctx(), a.approval_id)]);
    await eventually(async () => (await approvalRow(t.stack, a.approval_id)).status === 'executed', 20_000, 'the approval executed');
    await new Promise((r) => setTimeout(r, 2_000)); // let the worker's job finish too
    assert.ok(outcomes.filter((o) => o.outcome === 'executed').length <= 1, `outcomes: ${outcomes.map((o) => o.outcome)}`);
    assert.equal(await txCount(w.id), 1, 'one transaction, whoever won');
    const row = await approvalRow(t.stack, a.approval_id);
    const tx = await ctx().db.selectFrom('transactions').select(['id', 'nonce']).where('wallet_id', '=', w.id).executeTakeFirstOrThrow();
    assert.equal(row.transaction_id, tx.id);
    const wallet = await ctx().db.selectFrom('wallets').select('next_nonce').where('id', '=', w.id).executeTakeFirstOrThrow();
    assert.equal(Number(wallet.next_nonce), Number(tx.nonce) + 1, 'the losers gave their nonce back (rolled back)');
  });

  test('rejection: nothing is sent, the agent sees the note, a second decision is refused', async () => {
    const w = await fundedWallet(t.stack, t.principal, 'appr-reject', '1');
    const a = await pendingApproval(t.stack, agent.principal, w.id, { to: freshAddress(), eth: '0.3', reason: 'buy more compute' });
    const rejected = await rest<Body>(t.stack, operator.key, 'POST', `/api/approvals/${a.approval_id}/reject`, { note: 'not in this month\'s budget' });
    assert.equal(rejected.status, 200, JSON.stringify(rejected.body));
    assert.equal(rejected.body.approval.status, 'rejected');
    const seen = await mcp.callTool({ name: 'get_approval_status', arguments: { approval_id: a.approval_id } });
    const view = (seen.structuredContent as Body).approval;
    assert.equal(view.status, 'rejected');
    assert.equal(view.decision_note, 'not in this month\'s budget');
    assert.match(JSON.stringify(seen.content), /rejected by vp_[0-9a-f]{8}.*not in this month/);

    const again = await rest<RestError>(t.stack, operator2.key, 'POST', `/api/approvals/${a.approval_id}/approve`);
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'APPROVAL_NOT_PENDING');
    assert.equal(again.body.error.details?.status, 'rejected');
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(await txCount(w.id), 0);
    assert.equal((await approvalRow(t.stack, a.approval_id)).status, 'rejected');
    assert.deepEqual((await audits('POST /api/approvals/:id/reject', a.approval_id)).map((r) => r.status), ['ok']);
    assert.deepEqual((await audits('POST /api/approvals/:id/approve', a.approval_id)).map((r) => [r.status, r.error_code]), [['refused', 'APPROVAL_NOT_PENDING']]);
  });

  test('self-approval is refused with the same key; another key approves it', async () => {
    const w = await fundedWallet(t.stack, t.principal, 'appr-self', '1');
    const to = freshAddress();
    const a = await pendingApproval(t.stack, operator.principal, w.id, { to, eth: '0.04' });
    const self = await rest<RestError>(t.stack, operator.key, 'POST', `/api/approvals/${a.approval_id}/approve`);
    assert.equal(self.status, 403);
    assert.equal(self.body.error.code, 'APPROVAL_SELF');
    assert.equal(self.body.error.details?.rule, 'approval.self');
    await assert.rejects(decideApproval(ctx(), operator.principal, a.approval_id, 'reject'), { code: 'APPROVAL_SELF' });
    assert.equal((await approvalRow(t.stack, a.approval_id)).status, 'pending');
    assert.deepEqual((await audits('POST /api/approvals/:id/approve', a.approval_id)).map((r) => [r.status, r.error_code]), [['refused', 'APPROVAL_SELF']]);

    const other = await rest<Body>(t.stack, operator2.key, 'POST', `/api/approvals/${a.approval_id}/approve`);
    assert.equal(other.status, 200, JSON.stringify(other.body));
    assert.equal(other.body.approval.decided_by, operator2.principal.keyPrefix);
    await eventually(async () => (await status(a.approval_id)).status === 'executed', 30_000, 'the approval executed');
    const provider = chainProvider();
    await eventually(async () => (await provider.getBalance(to)) === parseEther('0.04'), 30_000, 'the send on chain');
    provider.destroy();
  });

  test('roles: viewers and agents cannot decide; viewers can read', async () => {
    const w = await fundedWallet(t.stack, t.principal, 'appr-roles', '1');
    const a = await pendingApproval(t.stack, agent.principal, w.id, { to: freshAddress(), eth: '0.02' });
    const read = await rest<Body>(t.stack, viewer.key, 'GET', `/api/approvals/${a.approval_id}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.approval.approval_id, a.approval_id);
    for (const who of [viewer, agent]) {
      const res = await rest<RestError>(t.stack, who.key, 'POST', `/api/approvals/${a.approval_id}/approve`);
      assert.equal(res.status, 403, `${who.principal.role}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'FORBIDDEN');
      assert.equal(res.body.error.details?.rule, 'role');
      await assert.rejects(decideApproval(ctx(), who.principal, a.approval_id, 'approve'), (err: { code?: string; details?: { rule?: string } }) => err.code === 'FORBIDDEN' && err.details?.rule === 'role');
    }
    assert.equal((await approvalRow(t.stack, a.approval_id)).status, 'pending');
    // Unknown ids, non-uuids and another tenant's approvals are all APPROVAL_NOT_FOUND.
    assert.equal((await callError(mcp, 'get_approval_status', { approval_id: 'not-a-uuid' })).code, 'APPROVAL_NOT_FOUND');
    assert.equal((await callError(mcp, 'get_approval_status', { approval_id: '00000000-0000-4000-8000-000000000000' })).code, 'APPROVAL_NOT_FOUND');
    const tenant = await ctx().db.insertInto('tenants').values({ name: 'other-tenant' }).returning('id').executeTakeFirstOrThrow();
    const outsider = await createKey(t.stack, 'owner', 'other tenant owner', tenant.id);
    await assert.rejects(getApproval(ctx(), outsider.principal, a.approval_id), { code: 'APPROVAL_NOT_FOUND' });
    const res = await rest<RestError>(t.stack, outsider.key, 'POST', `/api/approvals/${a.approval_id}/approve`);
    assert.equal(res.status, 404);
    assert.equal((await rest<Page>(t.stack, outsider.key, 'GET', '/api/approvals')).body.approvals.length, 0);
    // Leave it rejected so the expiry test below counts only its own.
    await decideApproval(ctx(), operator.principal, a.approval_id, 'reject');
  });

  test('limits are rechecked at execution: a wallet drained meanwhile → failed INSUFFICIENT_FUNDS', async () => {
    const w = await fundedWallet(t.stack, t.principal, 'appr-drained', '1');
    const a = await pendingApproval(t.stack, agent.principal, w.id, { to: freshAddress(), eth: '0.5' });
    const provider = chainProvider();
    await provider.send('anvil_setBalance', [w.address, toBeHex(parseEther('0.001'))]);
    provider.destroy();
    const res = await rest<Body>(t.stack, operator.key, 'POST', `/api/approvals/${a.approval_id}/approve`);
    assert.equal(res.status, 200);
    const failed = await eventually(async () => {
      const v = await status(a.approval_id);
      return v.status === 'failed' ? v : null;
    }, 30_000, 'the approval to fail at execution');
    assert.equal(failed.error_code, 'INSUFFICIENT_FUNDS');
    assert.match(failed.error_message ?? '', /0\.001/);
    assert.equal(failed.transaction, null);
    assert.equal(await txCount(w.id), 0);
    assert.deepEqual((await audits('approval_execute', a.approval_id)).map((r) => [r.kind, r.status, r.error_code]), [['worker', 'refused', 'INSUFFICIENT_FUNDS']]);
  });

  test('limits are rechecked at execution: a policy tightened meanwhile → failed POLICY_MAX_TX', async () => {
    const w = await fundedWallet(t.stack, t.principal, 'appr-policy', '1');
    const a = await pendingApproval(t.stack, agent.principal, w.id, { to: freshAddress(), eth: '0.05' });
    await ctx().db.insertInto('wallet_policies').values({ wallet_id: w.id, tenant_id: t.principal.tenantId, policy: JSON.stringify({ max_tx_eth: '0.01' }), updated_by: 'test' }).execute();
    const res = await rest<Body>(t.stack, operator.key, 'POST', `/api/approvals/${a.approval_id}/approve`);
    assert.equal(res.status, 200);
    const failed = await eventually(async () => {
      const v = await status(a.approval_id);
      return v.status === 'failed' ? v : null;
    }, 30_000, 'the approval to fail at execution');
    assert.equal(failed.error_code, 'POLICY_MAX_TX');
    assert.equal(await txCount(w.id), 0);
  });

  test('expiry: past expires_at it reads expired, cannot be decided, and the worker\'s sweep marks it', async () => {
    const w = await fundedWallet(t.stack, t.principal, 'appr-expiry', '1');
    const a = await pendingApproval(t.stack, agent.principal, w.id, { to: freshAddress(), eth: '0.02' });
    const b = await pendingApproval(t.stack, agent.principal, w.id, { to: freshAddress(), eth: '0.03' });
    await sql`update approvals set expires_at = now() - interval '1 second' where id in (${a.approval_id}, ${b.approval_id})`.execute(ctx().db);
    assert.equal((await approvalRow(t.stack, a.approval_id)).status, 'pending', 'not swept yet');
    assert.equal((await status(a.approval_id)).status, 'expired', 'but read as expired');
    const res = await rest<RestError>(t.stack, operator.key, 'POST', `/api/approvals/${a.approval_id}/approve`);
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'APPROVAL_EXPIRED');
    const pendingIds = (await rest<Page>(t.stack, operator.key, 'GET', '/api/approvals?status=pending')).body.approvals.map((x) => x.approval_id);
    assert.ok(!pendingIds.includes(a.approval_id), 'not listed as pending');
    const expiredIds = (await rest<Page>(t.stack, operator.key, 'GET', '/api/approvals?status=expired')).body.approvals.map((x) => x.approval_id);
    assert.ok(expiredIds.includes(a.approval_id) && expiredIds.includes(b.approval_id), 'listed as expired');

    // The sweep, as the worker runs it: a restarted worker sweeps at start (then every 30 s).
    await t.workers.pop()!.stop();
    t.workers.push(await spawnWorker(t.stack));
    await eventually(async () => (await approvalRow(t.stack, a.approval_id)).status === 'expired' && (await approvalRow(t.stack, b.approval_id)).status === 'expired', 20_000, 'the sweep');
    assert.deepEqual((await audits('approval_expire', a.approval_id)).map((r) => [r.kind, r.status]), [['worker', 'ok']]);
    assert.equal(await expireApprovals(ctx()), 0, 'a second sweep finds nothing');
    const after = await rest<RestError>(t.stack, operator.key, 'POST', `/api/approvals/${b.approval_id}/reject`);
    assert.equal(after.status, 409);
    assert.equal(after.body.error.code, 'APPROVAL_EXPIRED');
    assert.equal(await txCount(w.id), 0);
  });
});

describe('human approval through execute_transfer (POLICY_FILE approval_threshold_eth)', () => {
  let stack: Stack;
  let worker: WorkerProcess | undefined;
  let mcp: Client | undefined;
  let policyDir = '';

  before(async () => {
    policyDir = await mkdtemp(path.join(tmpdir(), 'vp-approvals-'));
    const policyFile = path.join(policyDir, 'vaultpilot.yml');
    await writeFile(policyFile, 'policy:\n  approval_threshold_eth: "0.01"\n');
    stack = await startStack({ env: { POLICY_FILE: policyFile }, worker: false });
    worker = await spawnWorker(stack, { POLICY_FILE: policyFile });
  });
  after(async () => {
    await mcp?.close().catch(() => undefined);
    await worker?.stop();
    await stack?.close();
    if (policyDir) await rm(policyDir, { recursive: true, force: true });
  });

  test('above the threshold: pending_approval → approved by another key → executed and mined; below it: sent at once', async () => {
    const agent = await createKey(stack, 'agent', 'the agent');
    const operator = await createKey(stack, 'operator', 'the operator');
    const w = await fundedWallet(stack, await adminPrincipal(stack), 'appr-e2e', '1');
    mcp = await connectMcp(stack.url, agent.key, 'streamable');
    const to = freshAddress();

    type Send = { status: string; approval_id?: string; approval?: ApprovalView; transaction?: { tx_hash: string } };
    const small = await callOk<Send>(mcp, 'execute_transfer', { agent_id: 'appr-e2e', to_address: freshAddress(), amount_eth: '0.005' });
    assert.equal(small.status, 'sent', 'at or below the threshold nothing waits');

    const held = await mcp.callTool({ name: 'execute_transfer', arguments: { agent_id: 'appr-e2e', to_address: to, amount_eth: '0.05', reason: 'Quarterly hosting bill' } });
    assert.ok(!held.isError, JSON.stringify(held.content));
    const out = held.structuredContent as Send;
    assert.equal(out.status, 'pending_approval');
    assert.ok(out.approval_id);
    assert.equal(out.approval!.status, 'pending');
    assert.equal(out.approval!.rule, 'approval_threshold_eth');
    assert.equal(out.approval!.reason, 'Quarterly hosting bill');
    assert.equal(out.approval!.requested_by, agent.principal.keyPrefix);
    assert.match(JSON.stringify(held.content), /get_approval_status/);
    assert.equal((await stack.server.ctx.db.selectFrom('transactions').select('id').where('wallet_id', '=', w.id).execute()).length, 1, 'only the small send was recorded');

    const self = await rest<RestError>(stack, agent.key, 'POST', `/api/approvals/${out.approval_id}/approve`);
    assert.equal(self.status, 403, 'the agent cannot approve its own send');
    const approved = await rest<Body>(stack, operator.key, 'POST', `/api/approvals/${out.approval_id}/approve`, { note: 'bill is due' });
    assert.equal(approved.status, 200, JSON.stringify(approved.body));

    const done = await eventually(async () => {
      const a = (await callOk<Body>(mcp!, 'get_approval_status', { approval_id: out.approval_id })).approval;
      return a.status === 'executed' && a.transaction && ['mined', 'confirmed'].includes(a.transaction.status) ? a : a.status === 'failed' ? a : null;
    }, 30_000, 'the approved send to be mined');
    assert.equal(done.status, 'executed', `${done.error_code}: ${done.error_message}`);
    const provider = chainProvider();
    const receipt = await provider.getTransactionReceipt(done.transaction!.tx_hash);
    assert.equal(receipt?.status, 1);
    assert.equal(await provider.getBalance(to), parseEther('0.05'));
    provider.destroy();
  });
});
