/**
 * Strategies run by the worker as its own process, on real Postgres and anvil: DCA cadence and
 * the daily cap (then raising it), the gas ceiling against anvil's base fee, a micro-tip to five
 * recipients, and a scheduled send.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEther } from 'ethers';
import { sql } from 'kysely';
import type { Principal } from '../core/auth/api-keys.ts';
import { createStrategy, getStrategy, stopStrategy, updateStrategy } from '../core/strategies/service.ts';
import { chainProvider, eventually, freshAddress, startStack, type Stack } from './harness.ts';
import { adminPrincipal, fundedWallet, runsOf, setBaseFeeGwei, spawnWorker, type WorkerProcess } from './strategy-harness.ts';

describe('strategies on the worker process', () => {
  let stack: Stack;
  let worker: WorkerProcess;
  let principal: Principal;
  before(async () => {
    stack = await startStack({ worker: false });
    principal = await adminPrincipal(stack);
    worker = await spawnWorker(stack);
  });
  after(async () => {
    await worker?.stop();
    await stack?.close();
    await setBaseFeeGwei(1n).catch(() => undefined);
  });

  test('DCA every 2 s sends on cadence; the daily cap skips with daily_cap; raising it resumes', async () => {
    await fundedWallet(stack, principal, 'dca-agent');
    const to = freshAddress();
    const params = { to_address: to, amount_eth: '0.001', interval_seconds: 2, daily_cap_eth: '0.003' };
    const s = await createStrategy(stack.server.ctx, principal, { kind: 'dca', label: 'dca-cadence', agent_id: 'dca-agent', params });
    assert.equal(s.status, 'active');

    const capped = await eventually(async () => {
      const runs = await runsOf(stack, s.id);
      return runs.some((r) => r.outcome === 'skipped' && r.reason === 'daily_cap') ? runs : undefined;
    }, 30_000, 'a daily_cap skip');
    const sent = capped.filter((r) => r.outcome === 'sent');
    assert.equal(sent.length, 3, 'three sends fit under a 0.003 ETH cap');
    for (let i = 1; i < sent.length; i++) {
      assert.equal(sent[i]!.slot_at.getTime() - sent[i - 1]!.slot_at.getTime(), 2_000, 'slots are exactly interval_seconds apart');
    }
    for (const r of sent) {
      assert.ok(r.started_at.getTime() - r.slot_at.getTime() < 2_000, `tick lag ${r.started_at.getTime() - r.slot_at.getTime()} ms`);
      assert.equal(r.transaction_ids.length, 1);
      assert.equal(r.amount_wei, parseEther('0.001').toString());
    }
    const provider = chainProvider();
    await eventually(async () => (await provider.getBalance(to)) === parseEther('0.003'), 20_000, 'three sends on chain');
    const view = await getStrategy(stack.server.ctx, principal, { id: s.id });
    assert.equal(view.spent_24h.eth, '0.003');
    assert.equal(view.runs.sent, 3);
    assert.ok(view.runs.skipped >= 1);

    await updateStrategy(stack.server.ctx, principal, { id: s.id }, { params: { ...params, daily_cap_eth: '0.005' } });
    await eventually(async () => (await provider.getBalance(to)) === parseEther('0.005'), 30_000, 'two more sends after raising the cap');
    await eventually(async () => (await runsOf(stack, s.id)).filter((r) => r.reason === 'daily_cap').length > capped.filter((r) => r.reason === 'daily_cap').length, 20_000, 'capped again');
    await stopStrategy(stack.server.ctx, principal, { id: s.id });
    const afterStop = (await runsOf(stack, s.id)).length;
    await new Promise((r) => setTimeout(r, 4_500));
    assert.equal((await runsOf(stack, s.id)).length, afterStop, 'a stopped strategy does not tick');
    assert.equal(await provider.getBalance(to), parseEther('0.005'), 'never more than the cap');
    provider.destroy();
  });

  test('gas ceiling: above it the strategy skips gas_above_ceiling; once the base fee drops it sends', async () => {
    await fundedWallet(stack, principal, 'gas-agent');
    const to = freshAddress();
    await setBaseFeeGwei(50n);
    const s = await createStrategy(stack.server.ctx, principal, {
      kind: 'dca',
      label: 'dca-gas',
      agent_id: 'gas-agent',
      params: { to_address: to, amount_eth: '0.002', interval_seconds: 1, max_base_fee_gwei: '20', max_runs: 1 },
    });
    await eventually(async () => (await runsOf(stack, s.id)).filter((r) => r.reason === 'gas_above_ceiling').length >= 2, 20_000, 'gas skips');
    const provider = chainProvider();
    assert.equal(await provider.getBalance(to), 0n);
    await setBaseFeeGwei(1n);
    await eventually(async () => (await provider.getBalance(to)) === parseEther('0.002'), 20_000, 'the send once the fee dropped');
    const done = await eventually(async () => {
      const v = await getStrategy(stack.server.ctx, principal, { id: s.id });
      return v.status === 'completed' ? v : undefined;
    }, 10_000, 'completion after max_runs');
    assert.equal(done.end_reason, 'max_runs');
    const runs = await runsOf(stack, s.id);
    assert.equal(runs.filter((r) => r.outcome === 'sent').length, 1);
    const skip = runs.find((r) => r.reason === 'gas_above_ceiling')!;
    assert.match(skip.detail ?? '', /base fee 50 gwei is above max_base_fee 20 gwei/);
    provider.destroy();
  });

  test('micro-tip to 5 recipients: each receives exactly its amount, consecutive nonces, one run', async () => {
    await fundedWallet(stack, principal, 'tip-agent');
    const items = ['0.001', '0.0015', '0.002', '0.0000001', '0.003'].map((amount_eth) => ({ to_address: freshAddress(), amount_eth }));
    const s = await createStrategy(stack.server.ctx, principal, { kind: 'micro_tip', label: 'tips', agent_id: 'tip-agent', params: { items } });
    const run = await eventually(async () => (await runsOf(stack, s.id)).find((r) => r.outcome === 'sent'), 20_000, 'the tip run');
    assert.equal(run.transaction_ids.length, 5);
    const provider = chainProvider();
    for (const it of items) {
      await eventually(async () => (await provider.getBalance(it.to_address)) === parseEther(it.amount_eth), 20_000, `tip to ${it.to_address}`);
    }
    const txs = await stack.server.ctx.db.selectFrom('transactions').select(['nonce', 'strategy_run_id', 'source']).where('strategy_run_id', '=', run.id).orderBy('nonce').execute();
    assert.deepEqual(txs.map((t) => Number(t.nonce)), [0, 1, 2, 3, 4]);
    assert.ok(txs.every((t) => t.source === 'strategy'));
    const v = await getStrategy(stack.server.ctx, principal, { id: s.id });
    assert.equal(v.status, 'completed');
    assert.equal(v.end_reason, 'sent');
    assert.equal(v.spent_total.eth, '0.0075001');
    provider.destroy();
  });

  test('scheduled send: nothing before run_at, one send after it, then completed; audited as worker ticks', async () => {
    await fundedWallet(stack, principal, 'sched-agent');
    const to = freshAddress();
    const runAt = new Date(Date.now() + 3_000);
    const s = await createStrategy(stack.server.ctx, principal, { kind: 'scheduled_send', label: 'payout', agent_id: 'sched-agent', params: { to_address: to, amount_eth: '0.01', run_at: runAt.toISOString() } });
    const provider = chainProvider();
    assert.equal(await provider.getBalance(to), 0n);
    const run = await eventually(async () => (await runsOf(stack, s.id)).find((r) => r.outcome === 'sent'), 20_000, 'the scheduled send');
    assert.ok(run.started_at.getTime() >= runAt.getTime() - 5, 'not before run_at');
    await eventually(async () => (await provider.getBalance(to)) === parseEther('0.01'), 20_000, 'on chain');
    assert.equal((await runsOf(stack, s.id)).length, 1);
    const audits = await stack.server.ctx.db.selectFrom('audit_events').selectAll().where('kind', '=', 'worker').where('action', '=', 'strategy_tick').where('agent_id', '=', 'sched-agent').execute();
    assert.equal(audits.length, 1);
    assert.equal((audits[0]!.response as { outcome: string }).outcome, 'sent');
    provider.destroy();
  });
  test('a tick that cannot sign is recorded as failed with its code, nothing is sent, and the next slot follows', async () => {
    const w = await fundedWallet(stack, principal, 'broken-key-agent');
    // A wrapped key that no longer authenticates (as after a wrong key rotation): the provider refuses.
    const row = await stack.server.ctx.db.selectFrom('wallets').select('wrapped_key').where('id', '=', w.id).executeTakeFirstOrThrow();
    const tampered = row.wrapped_key.slice(0, -6) + (row.wrapped_key.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA');
    await stack.server.ctx.db.updateTable('wallets').set({ wrapped_key: tampered }).where('id', '=', w.id).execute();
    const to = freshAddress();
    const s = await createStrategy(stack.server.ctx, principal, { kind: 'dca', label: 'broken', agent_id: 'broken-key-agent', params: { to_address: to, amount_eth: '0.001', interval_seconds: 1 } });
    const failed = await eventually(async () => {
      const runs = await runsOf(stack, s.id);
      return runs.filter((r) => r.outcome === 'failed').length >= 2 ? runs : undefined;
    }, 20_000, 'two failed runs');
    assert.ok(failed.every((r) => r.outcome === 'failed' && r.error_code === 'KEY_PROVIDER_DENIED'), JSON.stringify(failed.map((r) => [r.outcome, r.error_code])));
    assert.equal(new Set(failed.map((r) => r.slot_at.getTime())).size, failed.length, 'each failure is its own slot');
    await stopStrategy(stack.server.ctx, principal, { id: s.id });
    const txs = await stack.server.ctx.db.selectFrom('transactions').select('id').where('wallet_id', '=', w.id).execute();
    assert.equal(txs.length, 0);
    const wallet = await stack.server.ctx.db.selectFrom('wallets').select('next_nonce').where('id', '=', w.id).executeTakeFirstOrThrow();
    assert.equal(Number(wallet.next_nonce), 0, 'no nonce consumed');
    const audits = await stack.server.ctx.db.selectFrom('audit_events').select(['status', 'error_code']).where('kind', '=', 'worker').where('agent_id', '=', 'broken-key-agent').execute();
    assert.ok(audits.length >= 2 && audits.every((a) => a.status === 'error' && a.error_code === 'KEY_PROVIDER_DENIED'));
  });
  test('a slot whose job was lost is enqueued again and sent once', async () => {
    await fundedWallet(stack, principal, 'lost-agent');
    const to = freshAddress();
    const s = await createStrategy(stack.server.ctx, principal, { kind: 'scheduled_send', label: 'lost-job', agent_id: 'lost-agent', params: { to_address: to, amount_eth: '0.003', run_at: new Date(Date.now() + 3600_000).toISOString() }, start: false });
    // As if its job had been enqueued six minutes ago and then failed past its retries.
    const due = new Date(Date.now() - 6 * 60_000);
    await stack.server.ctx.db.updateTable('strategies').set({ status: 'active', next_run_at: due, scheduled_slot_at: due, updated_at: due, params: JSON.stringify({ ...(await stack.server.ctx.db.selectFrom('strategies').select('params').where('id', '=', s.id).executeTakeFirstOrThrow()).params, run_at: due.toISOString() }) }).where('id', '=', s.id).execute();
    const provider = chainProvider();
    await eventually(async () => (await provider.getBalance(to)) === parseEther('0.003'), 20_000, 'the recovered slot');
    await new Promise((r) => setTimeout(r, 2_000));
    assert.equal(await provider.getBalance(to), parseEther('0.003'));
    assert.deepEqual((await runsOf(stack, s.id)).map((r) => [r.outcome, r.slot_at.getTime()]), [['sent', due.getTime()]]);
    provider.destroy();
  });

  test('the worker exports tick counts, tick lag and the active gauge', async () => {
    const url = /"metrics":"(http:[^"]+)"/.exec(worker.output())![1]!;
    const text = await (await fetch(url)).text();
    assert.match(text, /^vaultpilot_strategy_ticks_total\{kind="dca",result="sent"\} [1-9]/m);
    assert.match(text, /^vaultpilot_strategy_ticks_total\{kind="dca",result="skipped"\} [1-9]/m);
    assert.match(text, /^vaultpilot_strategy_ticks_total\{kind="dca",result="failed"\} [1-9]/m);
    assert.match(text, /^vaultpilot_strategy_tick_lag_seconds_count\{kind="micro_tip"\} 1$/m);
    assert.match(text, /^vaultpilot_strategies_active \d+$/m);
  });
  test('editing reschedules a running strategy; stopping cancels its enqueued slot', async () => {
    await fundedWallet(stack, principal, 'edit-agent');
    const to = freshAddress();
    const later = new Date(Date.now() + 3600_000);
    const s = await createStrategy(stack.server.ctx, principal, { kind: 'dca', label: 'edit-me', agent_id: 'edit-agent', params: { to_address: to, amount_eth: '0.001', interval_seconds: 7200, start_at: later.toISOString() } });
    assert.equal(new Date(s.next_run_at!).getTime(), later.getTime());
    const soon = new Date(Date.now() + 4_000);
    const edited = await updateStrategy(stack.server.ctx, principal, { id: s.id }, { params: { to_address: to, amount_eth: '0.001', interval_seconds: 7200, start_at: soon.toISOString() } });
    assert.equal(new Date(edited.next_run_at!).getTime(), soon.getTime(), 'the new start time is the next run');
    const job = await eventually(async () => (await stack.server.ctx.db.selectFrom('strategies').select(['scheduled_job_id', 'scheduled_slot_at']).where('id', '=', s.id).executeTakeFirstOrThrow()).scheduled_job_id, 10_000, 'the slot to be enqueued');
    await stopStrategy(stack.server.ctx, principal, { id: s.id });
    const state = await sql<{ state: string }>`select state from pgboss.job where id = ${job}::uuid`.execute(stack.server.ctx.db);
    assert.equal(state.rows[0]?.state, 'cancelled');
    await new Promise((r) => setTimeout(r, soon.getTime() - Date.now() + 2_000));
    assert.equal((await runsOf(stack, s.id)).length, 0, 'the cancelled slot never ran');
    const provider = chainProvider();
    assert.equal(await provider.getBalance(to), 0n);
    provider.destroy();
  });
});
