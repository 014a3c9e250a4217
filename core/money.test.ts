import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ethAmount, formatEth, parseAddress, parseEthAmount } from './money.ts';
import { ValidationError } from './errors.ts';

test('parseEthAmount: decimal strings and JSON numbers to wei, exactly', () => {
  assert.equal(parseEthAmount('amount_eth', '0.01'), 10n ** 16n);
  assert.equal(parseEthAmount('amount_eth', '1'), 10n ** 18n);
  assert.equal(parseEthAmount('amount_eth', '0.000000000000000001'), 1n);
  assert.equal(parseEthAmount('amount_eth', 0.1), 10n ** 17n);
  assert.equal(parseEthAmount('amount_eth', 1e-7), 10n ** 11n);
  assert.equal(parseEthAmount('amount_eth', 2.5e3), 2500n * 10n ** 18n);
  assert.equal(parseEthAmount('amount_eth', ' 0.015 '), 15n * 10n ** 15n);
  // The largest amount there is: 2^256 - 1 wei.
  const max = 2n ** 256n - 1n;
  assert.equal(parseEthAmount('amount_eth', `${max / 10n ** 18n}.${(max % 10n ** 18n).toString().padStart(18, '0')}`), max);
  assert.equal(parseEthAmount('amount_eth', `${'0'.repeat(100)}1`), 10n ** 18n);
});

test('parseEthAmount: each rule names the field', () => {
  const cases: Array<[unknown, RegExp]> = [
    ['-1', /positive/],
    ['0', /greater than zero/],
    ['0.0', /greater than zero/],
    ['abc', /decimal/],
    ['1e5', /decimal/],
    ['0.0000000000000000001', /18 decimals/],
    // Wider than ethers' fixed-width parser: was its bare overflow error, an INTERNAL (fuzz test).
    ['9'.repeat(200), /more ETH than can exist/],
    [`${(2n ** 256n).toString()}`, /more ETH than can exist/],
    [Number.NaN, /finite/],
    [null, /decimal string/],
    [true, /decimal string/],
  ];
  for (const [value, rule] of cases) {
    assert.throws(() => parseEthAmount('amount_eth', value), (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.equal(err.code, 'INVALID_AMOUNT');
      assert.match(err.message, /^amount_eth: /);
      assert.match(err.message, rule);
      return true;
    });
  }
});

test('formatEth and ethAmount', () => {
  assert.equal(formatEth(10n ** 16n), '0.01');
  assert.equal(formatEth(10n ** 18n), '1');
  assert.equal(formatEth(0n), '0');
  assert.deepEqual(ethAmount(1n), { eth: '0.000000000000000001', wei: '1' });
});

test('parseAddress: EIP-55', () => {
  assert.equal(parseAddress('to', '0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed'), '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed');
  assert.equal(parseAddress('to', '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed'), '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed');
  assert.throws(() => parseAddress('to', '0x5aaeb6053F3E94C9b9A09f33669435E7Ef1BeAed'), /to: .*checksum/);
  assert.throws(() => parseAddress('to', '0x1234'), /to: must be an address/);
  assert.throws(() => parseAddress('to', 42), /to: must be an address/);
});
