/**
 * The pure policy: every rule's allowed and refused case with its code, boundaries (exactly at a
 * cap, exactly at a threshold), rule order, quiet hours across midnight and days, merging a
 * wallet's policy over the file's defaults, the rate-limit counters a call touches, and policy
 * file errors with their line and column.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEther } from 'ethers';
import { ConfigError } from '../errors.ts';
import { evaluateSends, inQuietHours, type SendFacts } from './evaluate.ts';
import { compilePolicy, mergePolicies, walletPolicySchema, type WalletPolicy } from './schema.ts';
import { parsePolicyYaml } from './file.ts';
import { countersFor } from './rate-limit.ts';

const TO = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const OTHER = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';
const NOW = new Date('2026-12-02T12:00:00.000Z'); // a Wednesday

function decide(policy: Record<string, unknown>, over: Partial<SendFacts> = {}) {
  const p = compilePolicy(walletPolicySchema.parse(policy));
  return evaluateSends(p, { chainId: 31337, sends: [{ to: TO, valueWei: parseEther('0.1') }], spent24hWei: 0n, spent7dWei: 0n, now: NOW, approved: false, ...over });
}

test('an empty policy allows everything', () => {
  assert.deepEqual(decide({}), { decision: 'allow' });
});

test('max_tx_eth: at the maximum is allowed, one wei above is refused with POLICY_MAX_TX', () => {
  assert.equal(decide({ max_tx_eth: '0.1' }).decision, 'allow');
  const d = decide({ max_tx_eth: '0.1' }, { sends: [{ to: TO, valueWei: parseEther('0.1') + 1n }] });
  assert.equal(d.decision, 'deny');
  assert.equal(d.decision === 'deny' && d.code, 'POLICY_MAX_TX');
  assert.equal(d.decision === 'deny' && d.rule, 'max_tx_eth');
});

test('spend caps: a send reaching the cap exactly is allowed, one wei more is refused; pending spend counts', () => {
  assert.equal(decide({ spend_cap_24h_eth: '1' }, { spent24hWei: parseEther('0.9') }).decision, 'allow');
  const over = decide({ spend_cap_24h_eth: '1' }, { spent24hWei: parseEther('0.9') + 1n });
  assert.equal(over.decision === 'deny' && over.code, 'POLICY_SPEND_LIMIT');
  assert.equal(over.decision === 'deny' && over.rule, 'spend_cap_24h_eth');
  assert.equal(over.decision === 'deny' && over.details.remaining_eth, '0.099999999999999999');
  const week = decide({ spend_cap_24h_eth: '1', spend_cap_7d_eth: '2' }, { spent24hWei: 0n, spent7dWei: parseEther('1.95') });
  assert.equal(week.decision === 'deny' && week.rule, 'spend_cap_7d_eth');
  assert.equal(decide({ spend_cap_7d_eth: '2' }, { spent7dWei: parseEther('1.9') }).decision, 'allow');
});

test('several sends count together against a cap and each against the per-transaction maximum', () => {
  const sends = [
    { to: TO, valueWei: parseEther('0.3') },
    { to: OTHER, valueWei: parseEther('0.3') },
  ];
  assert.equal(decide({ spend_cap_24h_eth: '0.6' }, { sends }).decision, 'allow');
  assert.equal(decide({ spend_cap_24h_eth: '0.59' }, { sends }).decision, 'deny');
  assert.equal(decide({ max_tx_eth: '0.3' }, { sends }).decision, 'allow');
  assert.equal(decide({ max_tx_eth: '0.29' }, { sends }).decision, 'deny');
});

test('destinations: denylist refuses with its label, allowlist refuses anything else; addresses compare case-insensitively', () => {
  const denied = decide({ denied_destinations: [{ address: TO.toLowerCase(), label: 'mixer' }] });
  assert.equal(denied.decision === 'deny' && denied.code, 'POLICY_DESTINATION_DENIED');
  assert.match(denied.decision === 'deny' ? denied.message : '', /mixer/);
  assert.equal(decide({ denied_destinations: [OTHER] }).decision, 'allow');
  assert.equal(decide({ allowed_destinations: [{ address: TO, label: 'payroll' }] }).decision, 'allow');
  const notAllowed = decide({ allowed_destinations: [OTHER] });
  assert.equal(notAllowed.decision === 'deny' && notAllowed.code, 'POLICY_DESTINATION_NOT_ALLOWED');
  // The denylist wins over the allowlist.
  assert.equal(decide({ allowed_destinations: [TO], denied_destinations: [TO] }).decision === 'deny' && 'denied', 'denied');
});

test('allowed_chains: the wallet chain must be listed', () => {
  assert.equal(decide({ allowed_chains: [31337, 1] }).decision, 'allow');
  const d = decide({ allowed_chains: [1] });
  assert.equal(d.decision === 'deny' && d.code, 'POLICY_CHAIN_NOT_ALLOWED');
});

test('approval threshold: at the threshold is allowed, above needs approval, an approved send passes but caps still apply', () => {
  assert.equal(decide({ approval_threshold_eth: '0.1' }).decision, 'allow');
  const d = decide({ approval_threshold_eth: '0.09' });
  assert.equal(d.decision === 'require_approval' && d.code, 'APPROVAL_REQUIRED');
  assert.equal(d.decision === 'require_approval' && d.rule, 'approval_threshold_eth');
  assert.equal(decide({ approval_threshold_eth: '0.09' }, { approved: true }).decision, 'allow');
  const capped = decide({ approval_threshold_eth: '0.09', spend_cap_24h_eth: '0.1' }, { approved: true, spent24hWei: 1n });
  assert.equal(capped.decision === 'deny' && capped.code, 'POLICY_SPEND_LIMIT');
});

test('rule order: deny rules come before the approval threshold', () => {
  const d = decide({ approval_threshold_eth: '0.01', max_tx_eth: '0.05' });
  assert.equal(d.decision === 'deny' && d.rule, 'max_tx_eth');
});

test('quiet hours: deny or require approval inside the window, nothing outside; across midnight and by day', () => {
  const q = { start: '11:00', end: '13:00', timezone: 'UTC' };
  const inside = decide({ quiet_hours: q });
  assert.equal(inside.decision === 'deny' && inside.code, 'POLICY_QUIET_HOURS');
  assert.equal(decide({ quiet_hours: { ...q, action: 'require_approval' } }).decision, 'require_approval');
  assert.equal(decide({ quiet_hours: { ...q, action: 'require_approval' } }, { approved: true }).decision, 'allow');
  assert.equal(decide({ quiet_hours: { start: '12:01', end: '13:00' } }).decision, 'allow');
  // end is exclusive
  assert.equal(decide({ quiet_hours: { start: '10:00', end: '12:00' } }).decision, 'allow');
  // 12:00 UTC is 13:00 in Berlin (CET): inside 13:00-14:00 there.
  assert.equal(decide({ quiet_hours: { start: '13:00', end: '14:00', timezone: 'Europe/Berlin' } }).decision, 'deny');
  const night = walletPolicySchema.parse({ quiet_hours: { start: '22:00', end: '07:00', timezone: 'UTC', days: ['fri'] } }).quiet_hours!;
  assert.equal(inQuietHours(night, new Date('2026-12-04T23:00:00Z')), true, 'Friday 23:00');
  assert.equal(inQuietHours(night, new Date('2026-12-05T06:59:00Z')), true, 'Saturday 06:59 belongs to Friday night');
  assert.equal(inQuietHours(night, new Date('2026-12-05T07:00:00Z')), false, 'Saturday 07:00');
  assert.equal(inQuietHours(night, new Date('2026-12-05T23:00:00Z')), false, 'Saturday night is not listed');
  assert.equal(inQuietHours(night, new Date('2026-12-04T06:00:00Z')), false, 'Friday morning belongs to Thursday night');
});

test('merge: wallet fields override the defaults, null lifts a rule, denylists add up', () => {
  const defaults = walletPolicySchema.parse({ max_tx_eth: '1', spend_cap_24h_eth: '5', denied_destinations: [TO] });
  const wallet = walletPolicySchema.parse({ max_tx_eth: '0.5', spend_cap_24h_eth: null, denied_destinations: [{ address: OTHER, label: 'x' }] });
  const merged = mergePolicies(defaults, wallet);
  assert.equal(merged.max_tx_eth, '0.5');
  assert.equal(merged.spend_cap_24h_eth, null);
  assert.deepEqual(merged.denied_destinations?.map((d) => d.address), [TO, OTHER]);
  assert.deepEqual(mergePolicies(defaults, null), defaults);
});

test('schema: amounts normalize, numbers are read as decimals, bad values name the field', () => {
  const p: WalletPolicy = walletPolicySchema.parse({ max_tx_eth: 0.5, spend_cap_24h_eth: '1.50', approval_threshold_eth: '2.0' });
  assert.deepEqual([p.max_tx_eth, p.spend_cap_24h_eth, p.approval_threshold_eth], ['0.5', '1.5', '2']);
  const bad = walletPolicySchema.safeParse({ max_tx_eth: '-1', allowed_chains: [], quiet_hours: { start: '25:00', end: '01:00', timezone: 'Mars/Base' }, nope: 1 });
  assert.equal(bad.success, false);
  const paths = bad.error!.issues.map((i) => i.path.join('.')).sort();
  assert.deepEqual(paths, ['', 'allowed_chains', 'max_tx_eth', 'quiet_hours.start', 'quiet_hours.timezone'].sort());
  // More than 2^256 - 1 wei is refused here, before compilePolicy's parseUnits would overflow.
  const huge = walletPolicySchema.safeParse({ spend_cap_7d_eth: '9'.repeat(200) });
  assert.equal(huge.success, false);
  assert.deepEqual(huge.error!.issues.map((i) => i.path.join('.')), ['spend_cap_7d_eth']);
});

test('policy file: AgentVault rate_limits carry over; errors give file, line and column', () => {
  const { policy, ignored } = parsePolicyYaml(
    ['rate_limits:', '  default: {max_calls: 60, window_seconds: 60}', '  tools:', '    execute_transfer: {max_calls: 5, window_seconds: 60}', '  agents:', '    alice: {max_calls: 10, window_seconds: 3600}', 'wallet_store: ./wallets.json', 'policy:', '  max_tx_eth: "0.5"', ''].join('\n'),
    'vaultpilot.yml',
  );
  assert.deepEqual(policy.rateLimits.tools, { execute_transfer: { max_calls: 5, window_seconds: 60 } });
  assert.equal(policy.defaults.max_tx_eth, '0.5');
  assert.deepEqual(ignored, ['wallet_store']);

  const err = (() => {
    try {
      parsePolicyYaml(['policy:', '  max_tx_eth: "0.5"', '  spend_cap_24h_eth: lots', 'rate_limits:', '  default: {max_calls: 0, window_seconds: 60}', ''].join('\n'), 'vaultpilot.yml');
    } catch (e) {
      return e;
    }
    return null;
  })();
  assert.ok(err instanceof ConfigError);
  assert.deepEqual(
    err.problems.map((p) => p.split(': ')[0]),
    ['vaultpilot.yml:3:22', 'vaultpilot.yml:5:24'],
  );
  assert.match(err.problems[0]!, /policy\.spend_cap_24h_eth: must be a decimal ETH amount/);
  assert.match(err.problems[1]!, /rate_limits\.default\.max_calls: must be at least 1/);

  // Destinations and wrong types are described like the REST API does, at the value's position.
  const destination = (() => {
    try {
      parsePolicyYaml('policy:\n  allowed_destinations:\n    - {address: "0x123", label: x}\n  nope: 1\n', 'vaultpilot.yml');
    } catch (e) {
      return e as ConfigError;
    }
    return null;
  })();
  assert.deepEqual(destination?.problems, [
    'vaultpilot.yml:3:17: policy.allowed_destinations.0.address: must be a 0x-prefixed 20-byte hex address (got "0x123")',
    `vaultpilot.yml:4:9: policy.nope: is not a policy rule; the rules are max_tx_eth, spend_cap_24h_eth, spend_cap_7d_eth, allowed_destinations, denied_destinations, allowed_chains, approval_threshold_eth, quiet_hours`,
  ]);

  assert.throws(() => parsePolicyYaml('policy:\n  max_tx_eth: [1\n', 'bad.yml'), (e: unknown) => e instanceof ConfigError && /^bad\.yml:\d+:\d+: /.test(e.problems[0]!));
  assert.throws(() => parsePolicyYaml('policy: {}\npolicy: {}\n', 'dup.yml'), ConfigError);
});

test('rate-limit counters: default per key, tool per key, agent for everyone, in a fixed order', () => {
  const limits = { default: { max_calls: 60, window_seconds: 60 }, tools: { execute_transfer: { max_calls: 5, window_seconds: 60 } }, agents: { alice: { max_calls: 10, window_seconds: 3600 } } };
  const c = countersFor(limits, { tenantId: 't', keyId: 'k1', tool: 'execute_transfer', agentId: 'alice' });
  assert.deepEqual(c.map((x) => [x.rule, x.counter]), [
    ['rate_limits.agents.alice', 'agent:alice:3600s'],
    ['rate_limits.default', 'key:k1:60s'],
    ['rate_limits.tools.execute_transfer', 'tool:execute_transfer:key:k1:60s'],
  ]);
  assert.deepEqual(countersFor(limits, { tenantId: 't', keyId: 'k1', tool: 'query_balance', agentId: 'bob' }).map((x) => x.rule), ['rate_limits.default']);
  assert.deepEqual(countersFor({}, { tenantId: 't', keyId: 'k1', tool: 'x', agentId: null }), []);
});
