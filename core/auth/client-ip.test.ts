/** Client address resolution behind trusted proxies: forged, garbled and chained headers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientAddress } from './client-ip.ts';

const PROXIES = ['10.0.0.0/8', '::1'];

test('without trusted proxies, or from an untrusted peer, the header is ignored', () => {
  assert.equal(clientAddress('203.0.113.7', '198.51.100.1', []), '203.0.113.7');
  assert.equal(clientAddress('203.0.113.7', '198.51.100.1', PROXIES), '203.0.113.7');
  assert.equal(clientAddress(null, '198.51.100.1', PROXIES), null);
});

test('from a trusted proxy, the rightmost untrusted hop is the client; forged entries to its left are ignored', () => {
  assert.equal(clientAddress('10.0.0.2', '198.51.100.1', PROXIES), '198.51.100.1');
  assert.equal(clientAddress('10.0.0.2', '6.6.6.6, 198.51.100.1', PROXIES), '198.51.100.1');
  assert.equal(clientAddress('10.0.0.2', '198.51.100.1, 10.0.0.3', PROXIES), '198.51.100.1');
  assert.equal(clientAddress('::ffff:10.0.0.2', '198.51.100.1', PROXIES), '198.51.100.1', 'IPv4-mapped peer');
  assert.equal(clientAddress('::1', '2001:db8::5', PROXIES), '2001:db8::5');
});

test('a missing or garbled header leaves the last trusted address', () => {
  assert.equal(clientAddress('10.0.0.2', undefined, PROXIES), '10.0.0.2');
  assert.equal(clientAddress('10.0.0.2', 'not-an-ip', PROXIES), '10.0.0.2');
  assert.equal(clientAddress('10.0.0.2', '198.51.100.1, garbage, 10.0.0.3', PROXIES), '10.0.0.3');
  assert.equal(clientAddress('10.0.0.2', '10.0.0.9, 10.0.0.3', PROXIES), '10.0.0.9', 'all trusted: the leftmost');
});
