/**
 * The pure parts of strategies: parsing (errors name `params.<field>`), decisions (every skip
 * reason, boundaries at exactly the cap and the ceiling), recurrence (intervals without
 * catch-up, cron in a time zone) and the equal split.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEther, parseUnits } from 'ethers';
import { ValidationError } from '../../errors.ts';
import { decide, kindOf, parseParams } from './index.ts';
import type { ChainFacts, GateFacts } from './common.ts';
import { equalSplit } from './micro-tip.ts';
import { nextOccurrence, parseRecurrence } from './schedule.ts';

const NOW = new Date('2026-12-01T12:00:00.000Z');
const TO = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const gwei = (n: string) => parseUnits(n, 9);

function facts(over: Partial<ChainFacts & GateFacts> = {}): ChainFacts & GateFacts {
  return { baseFeePerGas: gwei('10'), maxFeePerGas: gwei('21'), gasLimits: [21_000n], balanceWei: parseEther('1'), reservedWei: 0n, spent24hWei: 0n, runsSent: 0, ...over };
}

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ValidationError, String(err));
    return err.field;
  }
  assert.fail('expected a ValidationError');
}

test('bad params are refused naming the field', () => {
  const dca = kindOf('dca');
  const ok = { to_address: TO, amount_eth: '0.01', interval_seconds: 60 };
  assert.equal(fieldOf(() => kindOf('lottery')), 'kind');
  assert.equal(fieldOf(() => parseParams(dca, { ...ok, interval_seconds: 0 }, NOW)), 'params.interval_seconds');
  assert.equal(fieldOf(() => parseParams(dca, { ...ok, amount_eth: '-1' }, NOW)), 'params.amount_eth');
  assert.equal(fieldOf(() => parseParams(dca, { ...ok, daily_cap_eth: '0.001' }, NOW)), 'params.daily_cap_eth');
  assert.equal(fieldOf(() => parseParams(dca, { to_address: TO, amount_eth: '0.01', cron: '61 * * * *' }, NOW)), 'params.cron');
  assert.equal(fieldOf(() => parseParams(dca, { to_address: TO, amount_eth: '0.01', cron: '0 9 * * *', timezone: 'Mars/Base' }, NOW)), 'params.timezone');
  assert.equal(fieldOf(() => parseParams(dca, { ...ok, to_address: '0x1234' }, NOW)), 'params.to_address');
  assert.equal(fieldOf(() => parseParams(dca, { ...ok, cron: '* * * * *' }, NOW)), 'params.cron');
  assert.equal(fieldOf(() => parseParams(dca, { ...ok, lottery: true }, NOW)), 'params.lottery');
  assert.equal(fieldOf(() => parseParams(dca, { ...ok, ends_at: '2020-01-01T00:00:00Z' }, NOW)), 'params.ends_at');
  assert.equal(fieldOf(() => parseParams(dca, { ...ok, max_runs: 1.5 }, NOW)), 'params.max_runs');
  assert.equal(fieldOf(() => parseParams(dca, { ...ok, max_base_fee_gwei: '0.0000000001' }, NOW)), 'params.max_base_fee_gwei');
  assert.equal(fieldOf(() => parseParams(dca, { ...ok, max_base_fee_gwei: '9'.repeat(200) }, NOW)), 'params.max_base_fee_gwei');
  assert.equal(fieldOf(() => parseParams(dca, { ...ok, amount_eth: '9'.repeat(200) }, NOW)), 'params.amount_eth');
  const tip = kindOf('micro_tip');
  assert.equal(fieldOf(() => parseParams(tip, { recipients: [TO, TO], total_eth: '0.01' }, NOW)), 'params.recipients[1]');
  assert.equal(fieldOf(() => parseParams(tip, { recipients: [TO] }, NOW)), 'params.total_eth');
  assert.equal(fieldOf(() => parseParams(tip, { items: [{ to_address: 'nope', amount_eth: '1' }] }, NOW)), 'params.items[0].to_address');
  assert.equal(fieldOf(() => parseParams(kindOf('scheduled_send'), { to_address: TO, amount_eth: '1', run_at: 'tomorrow' }, NOW)), 'params.run_at');
  assert.equal(fieldOf(() => parseParams(dca, 'every minute', NOW)), 'params');
});

test('params are stored as wei strings and shown as decimal ETH and gwei', () => {
  const dca = kindOf('dca');
  const p = parseParams(dca, { to_address: TO.toLowerCase(), amount_eth: '0.015', interval_seconds: 60, max_base_fee_gwei: '30.5', daily_cap_eth: 1 }, NOW);
  assert.deepEqual(p, {
    to_address: TO, amount_wei: '15000000000000000', interval_seconds: 60, cron: null, timezone: null, max_base_fee_wei: '30500000000', start_at: null,
    daily_cap_wei: '1000000000000000000', max_runs: null, ends_at: null, min_balance_reserve_wei: null,
  });
  const tiny = parseParams(dca, { to_address: TO, amount_eth: 1e-7, interval_seconds: 60, max_base_fee_gwei: 1e-9 }, NOW);
  assert.equal((tiny as unknown as { max_base_fee_wei: string }).max_base_fee_wei, '1', 'JSON numbers in exponent form are read as decimals');
  const view = dca.view(dca.stored(JSON.parse(JSON.stringify(p))));
  assert.deepEqual(view.amount, { eth: '0.015', wei: '15000000000000000' });
  assert.equal(view.max_base_fee_gwei, '30.5');
});

test('decisions: gas ceiling, daily cap, funds and reserve, each at its boundary', () => {
  const dca = kindOf('dca');
  const p = parseParams(dca, { to_address: TO, amount_eth: '0.1', interval_seconds: 60, max_base_fee_gwei: '10', daily_cap_eth: '0.3', min_balance_reserve_eth: '0.5' }, NOW);
  assert.equal(decide(dca, p, NOW, NOW, facts()).action, 'send', 'base fee exactly at the ceiling sends');
  assert.deepEqual(pick(decide(dca, p, NOW, NOW, facts({ baseFeePerGas: gwei('10') + 1n }))), 'gas_above_ceiling');
  assert.equal(decide(dca, p, NOW, NOW, facts({ spent24hWei: parseEther('0.2') })).action, 'send', 'exactly reaching the cap is allowed');
  assert.equal(pick(decide(dca, p, NOW, NOW, facts({ spent24hWei: parseEther('0.2') + 1n }))), 'daily_cap');
  const fee = 21_000n * gwei('21');
  assert.equal(decide(dca, p, NOW, NOW, facts({ balanceWei: parseEther('0.6') + fee })).action, 'send', 'exactly the reserve left is allowed');
  assert.equal(pick(decide(dca, p, NOW, NOW, facts({ balanceWei: parseEther('0.6') + fee - 1n }))), 'reserve');
  assert.equal(pick(decide(dca, p, NOW, NOW, facts({ balanceWei: parseEther('1'), reservedWei: parseEther('0.95') }))), 'insufficient_funds', 'pending sends count against funds');
  const limited = parseParams(dca, { to_address: TO, amount_eth: '0.1', interval_seconds: 60, max_runs: 2 }, NOW);
  assert.deepEqual(decide(dca, limited, NOW, NOW, facts({ runsSent: 2 })).action, 'end');
});

function pick(d: { action: string; reason?: string }): string | undefined {
  return d.action === 'skip' ? d.reason : d.action;
}

test('one-shots: not_due before run_at, expired after expires_at, completed after the send', () => {
  const sched = kindOf('scheduled_send');
  const p = parseParams(sched, { to_address: TO, amount_eth: '0.1', run_at: '2026-12-01T13:00:00Z' }, NOW);
  assert.equal(pick(decide(sched, p, NOW, NOW, facts())), 'not_due');
  assert.equal(decide(sched, p, NOW, new Date('2026-12-01T13:00:00Z'), facts()).action, 'send');
  assert.equal(sched.next(p, NOW, NOW, 'sent'), 'sent');
  const gas = kindOf('send_when_gas_below');
  const g = parseParams(gas, { to_address: TO, amount_eth: '0.1', max_base_fee_gwei: '5', check_interval_seconds: 30, expires_at: '2026-12-01T12:01:00Z' }, NOW);
  assert.equal(pick(decide(gas, g, NOW, NOW, facts())), 'gas_above_ceiling');
  assert.deepEqual(gas.next(g, NOW, NOW, 'skipped'), new Date('2026-12-01T12:00:30Z'));
  assert.deepEqual(gas.next(g, NOW, new Date('2026-12-01T12:00:45Z'), 'skipped'), new Date('2026-12-01T12:01:00Z'), 'one last check at expires_at');
  assert.deepEqual(decide(gas, g, NOW, new Date('2026-12-01T12:01:00Z'), facts()), { action: 'end', reason: 'expired', detail: 'expires_at 2026-12-01T12:01:00.000Z passed before the base fee came down' });
});

test('recurrence: intervals keep their grid and skip missed slots; cron follows the time zone', () => {
  const every60 = parseRecurrence({ interval_seconds: 60 }, true)!;
  assert.deepEqual(nextOccurrence(every60, NOW, NOW), new Date('2026-12-01T12:01:00Z'));
  // A worker down for an hour resumes on the next grid slot, not with 60 catch-up sends.
  assert.deepEqual(nextOccurrence(every60, NOW, new Date('2026-12-01T13:00:30Z')), new Date('2026-12-01T13:01:00Z'));
  const berlin9 = parseRecurrence({ cron: '0 9 * * *', timezone: 'Europe/Berlin' }, true)!;
  assert.deepEqual(nextOccurrence(berlin9, NOW, NOW), new Date('2026-12-02T08:00:00Z'), '09:00 in Berlin is 08:00 UTC in winter');
  const summer = new Date('2026-07-01T12:00:00Z');
  assert.deepEqual(nextOccurrence(berlin9, summer, summer), new Date('2026-07-02T07:00:00Z'), 'and 07:00 UTC in summer');
});

test('equal split adds up to exactly the total', () => {
  assert.deepEqual(equalSplit(10n, 3), [4n, 3n, 3n]);
  const parts = equalSplit(parseEther('0.01'), 7);
  assert.equal(parts.reduce((a, b) => a + b, 0n), parseEther('0.01'));
  const tip = kindOf('micro_tip');
  const p = parseParams(tip, { recipients: [TO, '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'], total_eth: '0.000000000000000003' }, NOW);
  assert.deepEqual(tip.sends(p).map((s) => s.valueWei), [2n, 1n]);
});
