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
