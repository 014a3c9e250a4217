/**
 * The chain format is a contract with third-party verifiers (docs/audit-log.md): the documented
 * test vector must keep hashing to the documented value, and every hashed field must matter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, chainedFields, chainLockKey, GENESIS_HASH, rowHash, type ChainableRow } from './chain.ts';

const VECTOR: ChainableRow = {
  tenant_id: '6f1c2a3e-0000-4000-8000-000000000001',
  occurred_at: new Date('2025-01-31T12:00:00.000Z'),
  kind: 'tool_call',
  action: 'query_balance',
  principal: 'vp_1a2b3c4d',
  agent_id: 'alice',
  wallet_id: '9e0a5b6c-0000-4000-8000-000000000002',
  status: 'ok',
  error_code: null,
  duration_ms: 3,
  request: { agent_id: 'alice' },
  response: { balance: { wei: '1000000000000000000', eth: '1' } },
  request_id: 'r1',
  ip: '127.0.0.1',
  decision: null,
  rule: null,
  chain_seq: '1',
  prev_hash: GENESIS_HASH,
};

test('the documented test vector: canonical JSON and hash', () => {
  assert.equal(
    canonicalJson(chainedFields(VECTOR)),
    '{"action":"query_balance","agent_id":"alice","chain_seq":"1","decision":null,"duration_ms":3,"error_code":null,"ip":"127.0.0.1","kind":"tool_call","occurred_at":"2025-01-31T12:00:00.000Z","prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","principal":"vp_1a2b3c4d","request":{"agent_id":"alice"},"request_id":"r1","response":{"balance":{"eth":"1","wei":"1000000000000000000"}},"rule":null,"status":"ok","tenant_id":"6f1c2a3e-0000-4000-8000-000000000001","wallet_id":"9e0a5b6c-0000-4000-8000-000000000002"}',
  );
  assert.equal(rowHash(VECTOR), '375df7c9dc70f447152d9fe50ffc4e2981c19ec2b870aeda67d5e3c7b4619983');
});

test('every hashed field changes the hash; id and hash are not hashed; key order does not matter', () => {
  const base = rowHash(VECTOR);
  const changes: Partial<ChainableRow>[] = [
    { tenant_id: null }, { occurred_at: new Date('2025-01-31T12:00:00.001Z') }, { kind: 'api_write' }, { action: 'x' }, { principal: null },
    { agent_id: 'bob' }, { wallet_id: null }, { status: 'error' }, { error_code: 'X' }, { duration_ms: 4 }, { request: { agent_id: 'bob' } },
    { response: null }, { request_id: null }, { ip: '::1' }, { decision: 'allow' }, { rule: 'spend_cap_24h_eth' }, { chain_seq: '2' }, { prev_hash: 'f'.repeat(64) },
  ];
  assert.equal(changes.length, Object.keys(chainedFields(VECTOR)).length);
  for (const change of changes) assert.notEqual(rowHash({ ...VECTOR, ...change }), base, JSON.stringify(change));
  assert.equal(rowHash({ ...VECTOR, id: '42', hash: 'whatever' } as ChainableRow), base);
  assert.equal(rowHash({ ...VECTOR, request: undefined }), rowHash({ ...VECTOR, request: null }));
});

test('lock keys are signed 64-bit integers, distinct per chain', () => {
  const keys = [chainLockKey(null), chainLockKey(VECTOR.tenant_id), chainLockKey('6f1c2a3e-0000-4000-8000-000000000002')];
  assert.equal(new Set(keys).size, 3);
  for (const k of keys) assert.ok(BigInt(k) >= -(2n ** 63n) && BigInt(k) < 2n ** 63n);
  assert.equal(chainLockKey(null), chainLockKey(null));
});
