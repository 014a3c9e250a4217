/**
 * The body limit on its own: a declared Content-Length over the limit is refused without reading
 * the body; a streamed body without one is read only until it passes the limit; a body under it
 * reaches the route whole; both refusal shapes. Over real HTTP (chunked, 300 MB):
 * test/http-edge.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Hono } from 'hono';
import type { AppEnv } from '../../env.ts';
import { bodyLimit, formatBytes } from './index.ts';

const LIMIT = 8 * 1024;

function app(format: 'rest' | 'jsonrpc' = 'rest') {
  const a = new Hono<AppEnv>();
  a.use('*', bodyLimit({ maxBytes: LIMIT, format, what: 'the test route' }));
  a.post('/', async (c) => c.json({ length: (await c.req.text()).length }));
  a.get('/', (c) => c.json({ ok: true }));
  return a;
}

/** A body of `chunks` × 1 KiB that counts how much of it was pulled. */
function countingStream(chunks: number): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  let pulled = 0;
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent === chunks) return controller.close();
      sent += 1;
      pulled += 1024;
      controller.enqueue(new Uint8Array(1024).fill(32));
    },
  }, { highWaterMark: 0 });
  return { stream, pulled: () => pulled };
}

describe('bodyLimit', () => {
  test('a Content-Length over the limit is a 413 before the body is read', async () => {
    const { stream, pulled } = countingStream(1024);
    const res = await app().request('/', { method: 'POST', body: stream, headers: { 'content-length': String(1024 * 1024) }, duplex: 'half' } as RequestInit);
    assert.equal(res.status, 413);
    assert.equal(res.headers.get('connection'), 'close');
    const body = (await res.json()) as { error: { code: string; message: string; details: { limit_bytes: number } } };
    assert.equal(body.error.code, 'PAYLOAD_TOO_LARGE');
    assert.equal(body.error.details.limit_bytes, LIMIT);
    assert.match(body.error.message, /larger than 8 KiB, the limit for the test route/);
    assert.equal(pulled(), 0, 'nothing was read');
  });

  test('a streamed body without Content-Length is read only until it passes the limit', async () => {
    const { stream, pulled } = countingStream(100_000);
    const res = await app().request('/', { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    assert.equal(res.status, 413);
    assert.ok(pulled() <= LIMIT + 2 * 1024, `read ${pulled()} bytes of a 100 MB body`);
  });

  test('bodies up to the limit reach the route whole, streamed or not; GET passes', async () => {
    const streamed = countingStream(8);
    const res = await app().request('/', { method: 'POST', body: streamed.stream, duplex: 'half' } as RequestInit);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { length: LIMIT });
    const exact = await app().request('/', { method: 'POST', body: 'x'.repeat(LIMIT), headers: { 'content-length': String(LIMIT) } });
    assert.deepEqual(await exact.json(), { length: LIMIT });
    assert.equal((await app().request('/')).status, 200);
  });

  test('the JSON-RPC shape, for MCP', async () => {
    const res = await app('jsonrpc').request('/', { method: 'POST', body: 'x'.repeat(LIMIT + 1), headers: { 'content-length': String(LIMIT + 1) } });
    assert.equal(res.status, 413);
    const body = (await res.json()) as { jsonrpc: string; id: null; error: { code: number; message: string; data: { code: string; limit_bytes: number } } };
    assert.equal(body.jsonrpc, '2.0');
    assert.equal(body.id, null);
    assert.equal(body.error.code, -32000);
    assert.match(body.error.message, /^Payload Too Large: /);
    assert.deepEqual(body.error.data, { code: 'PAYLOAD_TOO_LARGE', limit_bytes: LIMIT });
  });

  test('formatBytes', () => {
    assert.equal(formatBytes(1024 * 1024), '1 MiB');
    assert.equal(formatBytes(8192), '8 KiB');
    assert.equal(formatBytes(1000), '1000 bytes');
  });
});
