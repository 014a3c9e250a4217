/**
 * ChainClient against the run's real anvil: failover down the RPC_URLS list past an endpoint
 * that refuses connections, node errors returned without failover, and a coded error when every
 * endpoint is down.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChainClient } from './client.ts';
import { UpstreamError } from '../errors.ts';
import { freePort } from '../../scripts/embedded/free-port.ts';

const anvil = process.env.TEST_RPC_URL;

test('fails over past an unreachable endpoint and stays on the one that answered', { skip: !anvil && 'needs npm test (TEST_RPC_URL)' }, async () => {
  const dead = `http://127.0.0.1:${await freePort()}`;
  const chain = await ChainClient.connect([dead, anvil!]);
  try {
    assert.equal(chain.chainId, 31337);
    assert.ok((await chain.getBlockNumber()) >= 0);
    const status = await chain.status();
    assert.equal(status.endpoint, 1, 'the second URL is now preferred');
    assert.equal(status.endpoints, 2);
    const fees = await chain.getFees();
    assert.ok(fees.maxFeePerGas > fees.maxPriorityFeePerGas);
  } finally {
    chain.destroy();
  }
});

test('a node error is an answer, not an outage', { skip: !anvil && 'needs npm test (TEST_RPC_URL)' }, async () => {
  const chain = await ChainClient.connect([anvil!]);
  try {
    await assert.rejects(chain.broadcast('0x02deadbeef'), (err: unknown) => !(err instanceof UpstreamError));
  } finally {
    chain.destroy();
  }
});

test('every endpoint down: RPC_UNAVAILABLE', async () => {
  const urls = [`http://127.0.0.1:${await freePort()}`, `http://127.0.0.1:${await freePort()}`];
  await assert.rejects(ChainClient.connect(urls), (err: unknown) => err instanceof UpstreamError && err.code === 'RPC_UNAVAILABLE');
});
