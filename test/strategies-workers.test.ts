/**
 * Exactly once, with real worker processes: two workers over 50 strategies send every slot once
 * (counted on chain), and a worker killed with SIGKILL after taking a nonce, before its database
 * transaction commits, leaves no trace; the restarted worker sends that slot once.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEther } from 'ethers';
import { sql } from 'kysely';
import { createStrategy, getStrategy, tickStrategy, type StrategyView } from '../core/strategies/service.ts';
import { chainProvider, eventually, freshAddress } from './harness.ts';
import { fundedWallet, runsOf, spawnWorker, strategyStack } from './strategy-harness.ts';

describe('two worker processes over 50 strategies', () => {
  const t = strategyStack();

  test('every slot is sent exactly once (count on chain)', async () => {
    const agents = Array.from({ length: 10 }, (_, i) => `w-agent-${i}`);
    for (const a of agents) await fundedWallet(t.stack, t.principal, a, '10');
    const strategies: Array<{ id: string; to: string }> = [];
    for (let i = 0; i < 50; i++) {
      const to = freshAddress();
      const s = await createStrategy(t.stack.server.ctx, t.principal, {
        kind: 'dca',
        label: `many-${i}`,
        agent_id: agents[i % agents.length]!,
        params: { to_address: to, amount_eth: '0.001', interval_seconds: 2, max_runs: 3 },
        start: false,
      });
      strategies.push({ id: s.id, to });
    }
    t.workers.push(await spawnWorker(t.stack), await spawnWorker(t.stack));
    // Start them all at once, so both workers' sweeps and ticks race for the same slots.
    await sql`update strategies set status = 'active', next_run_at = date_trunc('second', now()) + interval '1 second'`.execute(t.stack.server.ctx.db);

    await eventually(async () => {
      const r = await sql<{ n: string }>`select count(*)::text as n from strategies where status = 'completed'`.execute(t.stack.server.ctx.db);
      return Number(r.rows[0]!.n) === 50;
    }, 90_000, 'all 50 strategies to complete their 3 sends');
    const provider = chainProvider();
    for (const s of strategies) {
      await eventually(async () => (await provider.getBalance(s.to)) === parseEther('0.003'), 30_000, `exactly 3 sends to ${s.to}`);
    }
    provider.destroy();
    const runs = await sql<{ outcome: string; n: string }>`select outcome, count(*)::text as n from strategy_runs group by outcome`.execute(t.stack.server.ctx.db);
    assert.deepEqual(runs.rows.map((r) => [r.outcome, Number(r.n)]), [['sent', 150]]);
    const txs = await sql<{ n: string; wallets_ok: boolean }>`
      select count(*)::text as n,
             bool_and(gapless) as wallets_ok
        from (select count(*) as n, max(nonce) - min(nonce) + 1 = count(*) and count(distinct nonce) = count(*) as gapless
                from transactions group by wallet_id) per_wallet`.execute(t.stack.server.ctx.db);
    assert.equal(txs.rows[0]!.wallets_ok, true, 'nonces per wallet are gapless and unique');
    const total = await sql<{ n: string }>`select count(*)::text as n from transactions`.execute(t.stack.server.ctx.db);
    assert.equal(Number(total.rows[0]!.n), 150);
    // Each worker's own count of the sends it made (it logs nothing per tick).
    const ticked = await Promise.all(t.workers.map(async (w) => {
      const url = /"metrics":"(http:[^"]+)"/.exec(w.output())![1]!;
      const text = await (await fetch(url)).text();
      return [...text.matchAll(/^vaultpilot_strategy_ticks_total\{[^}]*result="sent"[^}]*\} (\d+)/gm)].reduce((s, m) => s + Number(m[1]), 0);
    }));
    // Which worker wins each slot is up to pg-boss's SKIP LOCKED; together they sent each once.
    assert.equal(ticked[0]! + ticked[1]!, 150, `sends per worker: ${ticked.join(', ')}`);
  });
});

describe('manual ticks racing the workers', () => {
  const t = strategyStack();
  before(async () => {
    t.workers.push(await spawnWorker(t.stack), await spawnWorker(t.stack));
  });

  test('tick_strategy ×5 at the moment two workers run the slot: the slot is sent once', async () => {
    await fundedWallet(t.stack, t.principal, 'race-agent');
    const to = freshAddress();
    const s = await createStrategy(t.stack.server.ctx, t.principal, {
      kind: 'dca',
      label: 'race',
      agent_id: 'race-agent',
      params: { to_address: to, amount_eth: '0.001', interval_seconds: 3600 },
      start: false,
    });
    const slot = new Date(Date.now() + 1_500);
    await sql`update strategies set status = 'active', next_run_at = ${slot} where id = ${s.id}`.execute(t.stack.server.ctx.db);
    await new Promise((r) => setTimeout(r, slot.getTime() - Date.now()));
    const ticks = await Promise.all(Array.from({ length: 5 }, () => tickStrategy(t.stack.server.ctx, t.principal, { id: s.id })));
    const runs = await eventually(async () => {
      const r = await runsOf(t.stack, s.id);
      return r.some((x) => x.slot_at.getTime() === slot.getTime()) ? r : undefined;
    }, 20_000, 'the slot to run');
    const ofSlot = runs.filter((r) => r.slot_at.getTime() === slot.getTime());
    assert.equal(ofSlot.length, 1, 'one run for the slot');
    assert.equal(ofSlot[0]!.outcome, 'sent');
    // The other manual ticks found the slot taken and recorded not_due at their own time.
    assert.ok(ticks.filter((t) => t.outcome === 'sent').length <= 1);
    assert.ok(runs.filter((r) => r.outcome === 'sent').length === 1);
    const provider = chainProvider();
    await eventually(async () => (await provider.getBalance(to)) === parseEther('0.001'), 20_000, 'the send');
    await new Promise((r) => setTimeout(r, 2_000));
    assert.equal(await provider.getBalance(to), parseEther('0.001'), 'exactly once');
    provider.destroy();
    const view = await getStrategy(t.stack.server.ctx, t.principal, { id: s.id });
    assert.equal(new Date(view.next_run_at!).getTime(), slot.getTime() + 3600_000, 'the next slot is an interval later');
  });
});

describe('kill -9 of a worker mid-tick', () => {
  const t = strategyStack();

  /** A funded wallet for `agent` and a scheduled send of `eth` to a fresh address, due in half a second. */
  async function payoutSoon(agent: string, label: string, eth: string): Promise<{ s: StrategyView; to: string }> {
    await fundedWallet(t.stack, t.principal, agent);
    const to = freshAddress();
    const s = await createStrategy(t.stack.server.ctx, t.principal, {
      kind: 'scheduled_send',
      label,
      agent_id: agent,
      params: { to_address: to, amount_eth: eth, run_at: new Date(Date.now() + 500).toISOString() },
    });
    return { s, to };
  }

  test('killed after taking the nonce, before commit: the restarted worker sends the slot once', async () => {
    const paused = await spawnWorker(t.stack, { VAULTPILOT_TEST_PAUSE_AFTER_NONCE_MS: '60000' });
    t.workers.push(paused);
    const { s, to } = await payoutSoon('kill-agent', 'kill-me', '0.01');
    await paused.waitFor(/paused after taking a nonce/, 20_000);
    await paused.kill9();
    assert.equal((await runsOf(t.stack, s.id)).length, 0, 'the killed tick left no run');
    const none = await t.stack.server.ctx.db.selectFrom('transactions').select('id').execute();
    assert.equal(none.length, 0, 'and no transaction');

    t.workers.push(await spawnWorker(t.stack));
    const provider = chainProvider();
    await eventually(async () => (await provider.getBalance(to)) === parseEther('0.01'), 60_000, 'the retried slot to be sent');
    const v = await eventually(async () => {
      const view = await getStrategy(t.stack.server.ctx, t.principal, { id: s.id });
      return view.status === 'completed' ? view : undefined;
    }, 20_000, 'completion');
    assert.equal(v.runs.sent, 1);
    await new Promise((r) => setTimeout(r, 3_000));
    assert.equal(await provider.getBalance(to), parseEther('0.01'), 'sent once, not twice');
    const txs = await t.stack.server.ctx.db.selectFrom('transactions').select(['nonce', 'status']).execute();
    assert.equal(txs.length, 1);
    assert.equal(Number(txs[0]!.nonce), 0, 'the nonce the dead worker took was not burnt');
    provider.destroy();
  });

  test('killed after commit, before broadcast: the next worker\'s tx-monitor broadcasts the recorded send once', async () => {
    // Only the worker that will pause may see this slot: stop the previous test's worker first.
    await Promise.all(t.workers.splice(0).map((w) => w.stop()));
    const w = await spawnWorker(t.stack, { VAULTPILOT_TEST_PAUSE_BEFORE_BROADCAST_MS: '60000' });
    t.workers.push(w);
    const { s, to } = await payoutSoon('kill-agent-2', 'kill-after-commit', '0.02');
    await w.waitFor(/paused before broadcast/, 20_000);
    await w.kill9();
    const recorded = await t.stack.server.ctx.db.selectFrom('transactions').select(['status']).where('to_address', '=', to).execute();
    assert.deepEqual(recorded.map((t) => t.status), ['queued'], 'recorded, not yet broadcast');
    const provider0 = chainProvider();
    assert.equal(await provider0.getBalance(to), 0n);
    provider0.destroy();
    t.workers.push(await spawnWorker(t.stack));
    const provider = chainProvider();
    await eventually(async () => (await provider.getBalance(to)) === parseEther('0.02'), 60_000, 'the send');
    await new Promise((r) => setTimeout(r, 3_000));
    assert.equal(await provider.getBalance(to), parseEther('0.02'));
    assert.equal((await runsOf(t.stack, s.id)).length, 1);
    provider.destroy();
  });
});
