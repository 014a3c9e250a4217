/**
 * Audit redaction: secret fields are replaced at any depth; a `token` that is an EVM address
 * (Permit2's `PermitDetails.token`) stays visible, since it names the ERC-20 being approved.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactSecrets } from './log.ts';

test('secret fields are redacted at any depth, case-insensitively', () => {
  const out = redactSecrets({
    agent_id: 'a',
    private_key: '0x' + '11'.repeat(32),
    nested: { Password: 'pw', list: [{ mnemonic: 'test test junk' }], keystore_json: '{}' },
    token: 'session-token-value',
    amount: 5n,
  });
  assert.deepEqual(out, {
    agent_id: 'a',
    private_key: '[redacted]',
    nested: { Password: '[redacted]', list: [{ mnemonic: '[redacted]' }], keystore_json: '[redacted]' },
    token: '[redacted]',
    amount: '5',
  });
});

test('a token field holding an address is kept (EIP-712 Permit2 PermitDetails.token)', () => {
  const typed = {
    primaryType: 'PermitSingle',
    message: {
      details: { token: '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48', amount: '1000000', expiration: 1893456000, nonce: 0 },
      spender: '0x3fC91A3afd70395Cd496C647d5a6CC9D4B2b7FAD',
      sigDeadline: 1893456000,
    },
  };
  assert.deepEqual(redactSecrets(typed), typed);
  // Not an address: still treated as a credential.
  assert.deepEqual(redactSecrets({ details: { token: '0xA0b8' } }), { details: { token: '[redacted]' } });
});

test('redaction has no depth limit: a secret 50 levels down is redacted; past 64 levels the subtree is dropped whole', () => {
  const nest = (depth: number, leaf: Record<string, unknown>): Record<string, unknown> => {
    let v: Record<string, unknown> = leaf;
    for (let i = 0; i < depth; i++) v = { n: v };
    return v;
  };
  const at = (v: unknown, depth: number): unknown => {
    let x = v;
    for (let i = 0; i < depth; i++) x = (x as { n: unknown }).n;
    return x;
  };
  // The old walk stopped at depth 8 and stored what lay below as it was.
  const out = redactSecrets(nest(50, { private_key: '0x' + '22'.repeat(32), keep: 'visible' }));
  assert.deepEqual(at(out, 50), { private_key: '[redacted]', keep: 'visible' });
  const deep = JSON.stringify(redactSecrets(nest(200, { mnemonic: 'test test junk' })));
  assert.ok(!deep.includes('test test junk'));
  assert.ok(deep.includes('[nested too deep]'));
});

test('stored strings are valid Unicode for Postgres: NUL and unpaired surrogates become U+FFFD, keys too; long strings can be cut', () => {
  assert.deepEqual(redactSecrets({ 'k\u0000': 'a\u0000b\ud800c' }), { 'k\ufffd': 'a\ufffdb\ufffdc' });
  const cut = redactSecrets({ s: 'x'.repeat(2000) }, { maxStringLength: 100 }) as { s: string };
  assert.equal(cut.s, `${'x'.repeat(100)}… [1900 more characters]`);
  // A cut never splits a surrogate pair (fuzz test: 5,000 characters of emoji made the refusal's audit row fail).
  const emoji = redactSecrets({ s: '\u{1F600}'.repeat(100) }, { maxStringLength: 51 }) as { s: string };
  assert.equal(emoji.s, `${'\u{1F600}'.repeat(25)}… [150 more characters]`);
  assert.ok(emoji.s.isWellFormed());
});
