/**
 * Authentication on every surface: no key or a wrong key gets a 401 and leaves nothing but the
 * refusals' aggregated row in the audit log; an HTTP+SSE session belongs to the key that opened it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateApiKey } from '../core/auth/api-keys.ts';
import { refusalAuditor } from '../server/auth.ts';
import { callOk, connectMcp, countRows, startStack, type Stack } from './harness.ts';

describe('authentication', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ worker: false });
  });
  after(async () => stack?.close());

  const initialize = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'curl', version: '1' } },
  });
  const mcpHeaders = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

  test('no key or a wrong key: 401 everywhere, only the refusal is recorded', async () => {
    const wrongKey = 'vp_deadbeef_thisIsNotARealKeyButLooksLikeOne0000000000';
    const attempts: Array<[string, RequestInit]> = [
      ['/mcp', { method: 'POST', headers: mcpHeaders, body: initialize }],
      ['/mcp', { method: 'POST', headers: { ...mcpHeaders, authorization: `Bearer ${wrongKey}` }, body: initialize }],
      ['/mcp', { method: 'POST', headers: { ...mcpHeaders, authorization: 'Basic abc' }, body: initialize }],
      ['/sse', { headers: { accept: 'text/event-stream' } }],
      ['/sse', { headers: { accept: 'text/event-stream', authorization: `Bearer ${wrongKey}` } }],
      ['/messages?sessionId=x', { method: 'POST', headers: { 'content-type': 'application/json' }, body: initialize }],
      ['/api/wallets', {}],
      ['/api/wallets', { headers: { authorization: `Bearer ${wrongKey}` } }],
      ['/api/events', { headers: { cookie: 'vp_session=forged' } }],
    ];
    for (const [path, init] of attempts) {
      const res = await fetch(`${stack.url}${path}`, init);
      assert.equal(res.status, 401, `${init.method ?? 'GET'} ${path}`);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'UNAUTHENTICATED');
      assert.match(res.headers.get('www-authenticate') ?? '', /Bearer/);
    }
    assert.equal(await countRows(stack, 'wallets'), 0);
    assert.equal(await countRows(stack, 'transactions'), 0);
    // Refusals from one source are aggregated: one row per source per minute, written when the
    // window ends (here: flushed now, as shutdown does). test/unauthenticated-flood.test.ts floods it.
    await refusalAuditor(stack.server.ctx).flush();
    const events = await stack.server.ctx.db.selectFrom('audit_events').selectAll().execute();
    assert.equal(events.length, 1, 'one aggregated row for every refusal from this source');
    const e = events[0]!;
    assert.deepEqual([e.kind, e.status, e.error_code, e.tenant_id, e.ip, e.action], ['auth', 'refused', 'UNAUTHENTICATED', null, '127.0.0.1', 'POST /mcp']);
    const summary = e.request as { refusals: number; reasons: Record<string, number>; key_ids: string[]; first: { method: string; path: string } };
    assert.equal(summary.refusals, attempts.length);
    assert.deepEqual(summary.reasons, { no_key: 5, unknown_key: 3, revoked_key: 0, expired_key: 0, bad_session: 1, sign_in_failed: 0 });
    assert.deepEqual(summary.first, { method: 'POST', path: '/mcp', path_length: 4 });
    assert.ok(!JSON.stringify(events).includes(wrongKey), 'the presented key is never stored');
    assert.deepEqual(summary.key_ids, ['vp_deadbeef'], 'a key in our format is named by its visible id');
    assert.equal(e.principal, 'vp_deadbeef');

    // Owners see the refusals (which belong to no tenant) in the event log.
    const listed = await fetch(`${stack.url}/api/events?kind=auth`, { headers: { authorization: `Bearer ${stack.adminKey}` } });
    const body = (await listed.json()) as { events: Array<{ status: string; action: string; request: { refusals: number } }> };
    assert.equal(body.events.length, 1);
    assert.ok(body.events.every((x) => x.status === 'refused' && x.request.refusals === attempts.length));
  });

  test('health and metrics need no key; the API does, and the right key works', async () => {
    assert.equal((await fetch(`${stack.url}/healthz`)).status, 200);
    const ready = await fetch(`${stack.url}/readyz`);
    assert.equal(ready.status, 200);
    const body = (await ready.json()) as { checks: Record<string, { ok: boolean }> };
    assert.deepEqual(Object.keys(body.checks).sort(), ['chain', 'database', 'key_provider']);
    assert.ok(Object.values(body.checks).every((c) => c.ok));
    assert.deepEqual(Object.keys(body).sort(), ['checks', 'status'], 'anonymous /readyz says ok or failing, no detail');
    const metrics = await (await fetch(`${stack.url}/metrics`)).text();
    assert.match(metrics, /process_cpu_seconds_total/);
    const ok = await fetch(`${stack.url}/api/wallets`, { headers: { authorization: `Bearer ${stack.adminKey}` } });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { wallets: [], next_cursor: null });
  });

  test('an HTTP+SSE session answers only the key that opened it', async () => {
    const other = generateApiKey();
    const tenant = await stack.server.ctx.db.selectFrom('tenants').select('id').executeTakeFirstOrThrow();
    await stack.server.ctx.db.insertInto('api_keys').values({ tenant_id: tenant.id, name: 'second', role: 'agent', key_prefix: other.prefix, key_hash: other.hash }).execute();

    // Open a raw SSE stream with the admin key and read the endpoint event with its session id.
    const controller = new AbortController();
    const res = await fetch(`${stack.url}/sse`, { headers: { authorization: `Bearer ${stack.adminKey}`, accept: 'text/event-stream' }, signal: controller.signal });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    let text = '';
    while (!/sessionId=[\w-]+/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    const endpoint = /data: (\S+)/.exec(text)![1]!;
    const post = (key: string) => fetch(new URL(endpoint, stack.url), { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: initialize });
    const foreign = await post(other.key);
    assert.equal(foreign.status, 404);
    const own = await post(stack.adminKey);
    assert.equal(own.status, 202);
    controller.abort();

    // The second key works on its own connection.
    const client = await connectMcp(stack.url, other.key, 'sse');
    const status = await callOk<{ chain_id: number }>(client, 'provider_status');
    assert.equal(status.chain_id, stack.server.ctx.chain.chainId);
    await client.close();
  });
});
