/**
 * Unit tests of the refusal aggregation (core/audit/refusals.ts), with a stand-in database that
 * records the rows it is given: sources by /64, the cap of tracked sources, one row per chain and
 * source, the path cut. test/unauthenticated-flood.test.ts does the same against a real server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Db } from '../db/connect.ts';
import { createLogger } from '../logger.ts';
import { MAX_PATH_LENGTH, RefusalAuditor, refusalSource, type Refusal } from './refusals.ts';

test('refusalSource: IPv4 as is, IPv6 by /64, mapped IPv4 unwrapped, anything else unknown', () => {
  const cases: Array<[string | null, string]> = [
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:DB8:1:2:ffff::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:db8:1:2::1.2.3.4', '2001:db8:1:2::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['::', '0:0:0:0::/64'],
    [null, 'unknown'],
    ['', 'unknown'],
    ['not an address', 'unknown'],
  ];
  for (const [ip, want] of cases) assert.equal(refusalSource(ip), want, String(ip));
});

/** A stand-in `Db` whose inserts land in `rows`. */
function fakeDb(rows: Array<Record<string, unknown>>): Db {
  return { insertInto: () => ({ values: (v: Record<string, unknown>) => ({ execute: async () => void rows.push(v) }) }) } as unknown as Db;
}

const refusal = (ip: string, extra: Partial<Refusal> = {}): Refusal => ({ reason: 'no_key', method: 'GET', path: '/api/wallets', ip, key: null, keyId: null, requestId: 'r', ...extra });

test('RefusalAuditor: one row per chain and source, at most maxSources sources plus one "other" row per chain', async () => {
  const rows: Array<Record<string, unknown>> = [];
  const auditor = new RefusalAuditor(fakeDb(rows), createLogger('test', 'silent'), { maxSources: 5 });
  for (let i = 0; i < 10_000; i++) auditor.record(refusal(`10.0.${i >> 8 & 255}.${i & 255}`));
  for (let i = 0; i < 1_000; i++) auditor.record(refusal(`2001:db8:1:2::${i.toString(16)}`));
  const key = { tenantId: 't1', keyPrefix: 'vp_0badc0de', state: 'revoked' as const };
  for (let i = 0; i < 100; i++) auditor.record(refusal(`192.0.2.${i}`, { reason: 'revoked_key', key, keyId: key.keyPrefix }));
  await auditor.flush();
  assert.equal(rows.length, 7, '5 sources, the unscoped "other" row and t1\'s "other" row');
  const summary = (r: Record<string, unknown>) => JSON.parse(r.request as string) as { refusals: number; source: string; reasons: Record<string, number> };
  assert.equal(rows.reduce((a, r) => a + summary(r).refusals, 0), 11_100);
  const other = rows.filter((r) => summary(r).source === 'other');
  assert.deepEqual(other.map((r) => [r.tenant_id, r.ip, summary(r).refusals]).sort(), [[null, null, 10_995], ['t1', null, 100]]);
  assert.equal(rows.find((r) => r.tenant_id === 't1')!.principal, 'vp_0badc0de');

  // A new window starts empty; an IPv6 /64 counts once.
  rows.length = 0;
  for (let i = 0; i < 1_000; i++) auditor.record(refusal(`2001:db8:1:2::${i.toString(16)}`, { path: `/api/${'x'.repeat(8_000)}` }));
  await auditor.flush();
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.ip, '2001:db8:1:2::/64');
  assert.ok((rows[0]!.action as string).length <= MAX_PATH_LENGTH + 4);
  assert.equal(summary(rows[0]!).refusals, 1_000);
  await auditor.flush();
  assert.equal(rows.length, 1, 'an empty window writes nothing');
});
