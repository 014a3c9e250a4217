/**
 * The MCP Host/Origin check on its own: which Host names pass with and without ALLOWED_HOSTS,
 * which Origins pass, and the JSON-RPC 403. Over real HTTP on /mcp, /sse and /messages:
 * test/http-edge.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Hono } from 'hono';
import type { AppEnv } from '../../env.ts';
import { detectTls } from '../request-origin/index.ts';
import { dnsRebindingGuard, isAllowedHostName } from './index.ts';

describe('isAllowedHostName', () => {
  test('without ALLOWED_HOSTS: loopback names only', () => {
    for (const name of ['localhost', 'app.localhost', '127.0.0.1', '127.1.2.3', '::1']) assert.equal(isAllowedHostName(name, []), true, name);
    for (const name of ['evil.example', '127.0.0.1.evil.example', 'localhost.evil.example', '0.0.0.0', '10.0.0.1', '::2', '::ffff:7f00:1', 'localhost.']) assert.equal(isAllowedHostName(name, []), false, name);
  });
  test('with ALLOWED_HOSTS: exactly the listed names, loopback ones only if listed', () => {
    const allowed = ['vaultpilot.example.com', '[::1]', '10.0.0.5'];
    for (const name of ['vaultpilot.example.com', '::1', '10.0.0.5']) assert.equal(isAllowedHostName(name, allowed), true, name);
    for (const name of ['localhost', '127.0.0.1', 'sub.vaultpilot.example.com', 'vaultpilot.example.com.evil']) assert.equal(isAllowedHostName(name, allowed), false, name);
  });
});

describe('dnsRebindingGuard', () => {
  function app(allowedHosts: string[] = [], allowedOrigins: string[] = []) {
    let reached = 0;
    const a = new Hono<AppEnv>();
    a.use('*', detectTls({ trustedProxies: [] }));
    a.use('*', dnsRebindingGuard({ allowedHosts, allowedOrigins }));
    a.all('*', (c) => {
      reached += 1;
      return c.json({ ok: true });
    });
    return { a, reached: () => reached };
  }
  const send = (a: Hono<AppEnv>, headers: Record<string, string>) => a.request('http://x/mcp', { method: 'POST', headers });

  test('a foreign Host is a JSON-RPC 403 HOST_NOT_ALLOWED that names ALLOWED_HOSTS; the route never runs', async () => {
    const { a, reached } = app();
    const res = await send(a, { host: 'evil.example:8080' });
    assert.equal(res.status, 403);
    const body = (await res.json()) as { jsonrpc: string; id: null; error: { code: number; message: string; data: { code: string; host: string } } };
    assert.equal(body.jsonrpc, '2.0');
    assert.equal(body.id, null);
    assert.equal(body.error.code, -32000);
    assert.equal(body.error.data.code, 'HOST_NOT_ALLOWED');
    assert.equal(body.error.data.host, 'evil.example:8080');
    assert.match(body.error.message, /ALLOWED_HOSTS/);
    assert.equal((await send(a, {})).status, 403, 'no Host at all');
    assert.equal((await send(a, { host: 'evil.example/x' })).status, 403, 'a malformed Host');
    assert.equal(reached(), 0);
  });

  test('loopback Hosts pass on any port; with ALLOWED_HOSTS the listed ones', async () => {
    const loop = app();
    for (const host of ['127.0.0.1:8080', 'localhost', '[::1]:9000', 'LOCALHOST:1']) assert.equal((await send(loop.a, { host })).status, 200, host);
    const listed = app(['vaultpilot.example.com']);
    assert.equal((await send(listed.a, { host: 'vaultpilot.example.com:443' })).status, 200);
    assert.equal((await send(listed.a, { host: '127.0.0.1:8080' })).status, 403);
  });

  test('an Origin, when present, must be the own origin or listed', async () => {
    const { a } = app([], ['https://inspector.example.com']);
    const host = '127.0.0.1:8080';
    assert.equal((await send(a, { host })).status, 200, 'no Origin: not a browser');
    assert.equal((await send(a, { host, origin: 'http://127.0.0.1:8080' })).status, 200);
    assert.equal((await send(a, { host, origin: 'https://inspector.example.com' })).status, 200);
    for (const origin of ['http://evil.example', 'http://127.0.0.1:8081', 'https://127.0.0.1:8080', 'null']) {
      const res = await send(a, { host, origin });
      assert.equal(res.status, 403, origin);
      const body = (await res.json()) as { error: { message: string; data: { code: string } } };
      assert.equal(body.error.data.code, 'ORIGIN_NOT_ALLOWED');
      assert.match(body.error.message, /ALLOWED_ORIGINS/);
    }
  });
});
