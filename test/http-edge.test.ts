/**
 * The HTTP edge over real HTTP (node's `http.request`, so Host, Origin, X-Forwarded-Proto and
 * chunked bodies are ours to forge), against two servers over one database: `plain` with the
 * defaults (loopback, no trusted proxy) and `proxied` behind a trusted proxy (TRUSTED_PROXIES
 * 127.0.0.1/32) with ALLOWED_HOSTS and ALLOWED_ORIGINS set.
 * - Body limits: 8 KiB on sign-in, 1 MiB on the rest of /api, /mcp and /messages, refused 413
 *   before authentication from the Content-Length alone, or once a chunked body passes the limit;
 *   bodies under it (chunked too) still reach the route and the MCP SDK.
 * - Cross-site writes: a cookie write needs an allowed Origin and JSON; sign-in and sign-out too;
 *   bearer requests are not concerned; refusals change nothing and cookie ones are audited.
 * - DNS rebinding: /mcp, /sse and /messages refuse a foreign Host or Origin with a JSON-RPC 403
 *   before authentication; the SDK client still connects over both transports.
 * - Secure cookie and HSTS follow X-Forwarded-Proto only from a trusted proxy.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectMcp, startStack, type Stack } from './harness.ts';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

/** One request over real HTTP with exactly these headers (a `host` header replaces the real one). */
function raw(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Reply> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method, path, headers: { ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown = null;
        try {
          json = JSON.parse(text);
        } catch {
          json = null;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Streams `total` bytes of `fill` (chunked unless `headers` has a content-length) until the
 * server answers; `written` is how much had been handed to the socket when the answer came.
 */
function stream(base: string, path: string, headers: Record<string, string>, total: number, opts: { prefix?: string } = {}): Promise<Reply & { written: number }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    let written = 0;
    let answered = false;
    const req = http.request({ host: url.hostname, port: url.port, method: 'POST', path, headers }, (res) => {
      answered = true;
      const at = written;
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown = null;
        try {
          json = JSON.parse(text);
        } catch {
          json = null;
        }
        req.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json, written: at });
      });
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const pump = () => {
      if (opts.prefix && written === 0) {
        req.write(opts.prefix);
        written += Buffer.byteLength(opts.prefix);
      }
      while (!answered && written < total) {
        written += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered) req.end();
    };
    pump();
  });
}

/** A small body sent chunked (no Content-Length), in two pieces. */
function chunked(base: string, path: string, headers: Record<string, string>, body: string): Promise<Reply> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method: 'POST', path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown = null;
        try {
          json = JSON.parse(text);
        } catch {
          json = null;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    const half = Math.floor(body.length / 2);
    req.write(body.slice(0, half));
    setTimeout(() => req.end(body.slice(half)), 20);
  });
}

/** An HTTP+SSE session opened with raw HTTP: its endpoint, and the events received so far. */
async function openSse(base: string, key: string): Promise<{ endpoint: string; received: () => string; close: () => void }> {
  const url = new URL(base);
  let buffer = '';
  let req: http.ClientRequest | undefined;
  const endpoint = await new Promise<string>((resolve, reject) => {
    req = http.get({ host: url.hostname, port: url.port, path: '/sse', headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`GET /sse answered ${res.statusCode}`));
      res.on('data', (d: Buffer) => {
        buffer += d.toString('utf8');
        const m = /event: endpoint\ndata: (\S+)\n/.exec(buffer);
        if (m) resolve(m[1]!);
      });
    });
    req.on('error', reject);
  });
  return { endpoint, received: () => buffer, close: () => req?.destroy() };
}

const MiB = 1024 * 1024;
const INITIALIZE = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'edge-test', version: '1' } } });
const keyJson = (name: string) => JSON.stringify({ name, role: 'viewer' });
const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

describe('the HTTP edge', () => {
  let plain: Stack;
  let proxied: Stack;
  let plainHost = '';
  /** Audit rows of requests sent with `X-Request-Id: id` (unauthenticated refusals carry it too). */
  const rowsOf = async (id: string) => (await plain.server.ctx.db.selectFrom('audit_events').select('id').where('request_id', 'like', `${id}%`).execute()).length;
  let seq = 0;
  /** A fresh request id prefix for one test's requests. */
  const tag = () => `edge-${process.pid}-${++seq}`;
  const count = async (table: 'api_keys' | 'admin_sessions') => Number((await plain.server.ctx.db.selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
  const bearer = () => ({ authorization: `Bearer ${plain.adminKey}` });
  const settle = () => new Promise((r) => setTimeout(r, 300));

  /** Signs in on `stack` (no Origin, as a script does) and returns the cookie pair. */
  async function signIn(stack: Stack, headers: Record<string, string> = {}): Promise<{ cookie: string; reply: Reply }> {
    const reply = await raw(stack.url, 'POST', '/api/session', { 'content-type': 'application/json', ...headers }, JSON.stringify({ api_key: stack.adminKey }));
    assert.equal(reply.status, 200, reply.text);
    const setCookie = reply.headers['set-cookie']?.[0] ?? '';
    return { cookie: setCookie.split(';')[0]!, reply };
  }

  before(async () => {
    plain = await startStack({ worker: false });
    proxied = await startStack({
      worker: false,
      databaseUrl: plain.databaseUrl,
      adminKey: plain.adminKey,
      env: { TRUSTED_PROXIES: '127.0.0.1/32', ALLOWED_HOSTS: 'vaultpilot.test', ALLOWED_ORIGINS: 'https://console.example.com' },
    });
    plainHost = new URL(plain.url).host;
  });

  after(async () => {
    await proxied?.close();
    await plain?.close();
  });

  describe('body limits', () => {
    test('an unauthenticated 300 MB sign-in is refused (413) from its Content-Length, before anything reads it or writes a row', async () => {
      const [id, sessions] = [tag(), await count('admin_sessions')];
      const res = await stream(plain.url, '/api/session', { 'x-request-id': id, 'content-type': 'application/json', 'content-length': String(300 * MiB) }, 300 * MiB);
      assert.equal(res.status, 413);
      assert.equal(res.json.error.code, 'PAYLOAD_TOO_LARGE');
      assert.equal(res.json.error.details.limit_bytes, 8 * 1024);
      assert.match(res.json.error.message, /8 KiB/);
      assert.ok(res.written < 32 * MiB, `answered after ${res.written} bytes, not after the whole body`);
      await settle();
      assert.equal(await rowsOf(id), 0, 'no audit row');
      assert.equal(await count('admin_sessions'), sessions);
    });

    test('a chunked sign-in body (no Content-Length) is refused once it passes 8 KiB, not when it ends', async () => {
      const id = tag();
      const res = await stream(plain.url, '/api/session', { 'x-request-id': id, 'content-type': 'application/json' }, 128 * MiB, { prefix: '{"api_key":"' });
      assert.equal(res.status, 413);
      assert.equal(res.json.error.code, 'PAYLOAD_TOO_LARGE');
      assert.ok(res.written < 32 * MiB, `answered after ${res.written} of ${128 * MiB} bytes`);
      await settle();
      assert.equal(await rowsOf(id), 0, 'no audit row');
    });

    test('the rest of /api takes up to 1 MiB: over it is 413 before authentication, chunked or not; under it reaches the route', async () => {
      const id = tag();
      const unauth = await stream(plain.url, '/api/wallets/import', { 'x-request-id': id, 'content-type': 'application/json', 'content-length': String(2 * MiB) }, 2 * MiB);
      assert.equal(unauth.status, 413, 'refused before authentication (not 401)');
      assert.equal(unauth.json.error.details.limit_bytes, MiB);
      await settle();
      assert.equal(await rowsOf(id), 0, 'no audit row');

      const big = await stream(plain.url, '/api/keys', { ...bearer(), 'content-type': 'application/json' }, 2 * MiB);
      assert.equal(big.status, 413);
      // Under the limit: just over 8 KiB, chunked, is a valid body for this route.
      const ok = await chunked(plain.url, '/api/keys', { ...bearer(), 'content-type': 'application/json' }, keyJson('chunked'));
      assert.equal(ok.status, 201, ok.text);
      // 100 KB: over sign-in's limit, under the rest of /api's.
      const padded = await chunked(plain.url, '/api/keys', { ...bearer(), 'content-type': 'application/json' }, `${' '.repeat(100_000)}${keyJson('chunked padded')}`);
      assert.equal(padded.status, 201, padded.text);
    });

    test('/mcp takes up to 1 MiB, chunked or not, refused before authentication with a JSON-RPC 413; under it the SDK reads it', async () => {
      const id = tag();
      const unauth = await stream(plain.url, '/mcp', { ...MCP_HEADERS, 'x-request-id': id, 'content-length': String(2 * MiB) }, 2 * MiB);
      assert.equal(unauth.status, 413);
      assert.equal(unauth.json.jsonrpc, '2.0');
      assert.equal(unauth.json.id, null);
      assert.equal(unauth.json.error.code, -32000);
      assert.equal(unauth.json.error.data.code, 'PAYLOAD_TOO_LARGE');
      await settle();
      assert.equal(await rowsOf(id), 0, 'no audit row');
      const big = await stream(plain.url, '/mcp', { ...bearer(), ...MCP_HEADERS }, 2 * MiB);
      assert.equal(big.status, 413);
      const ok = await chunked(plain.url, '/mcp', { ...bearer(), ...MCP_HEADERS }, INITIALIZE);
      assert.equal(ok.status, 200, ok.text);
      assert.ok(ok.json.result.serverInfo, 'initialized from a chunked body');
    });

    test('/messages takes up to 1 MiB, chunked or not; a chunked message under it reaches the session', async () => {
      const sse = await openSse(plain.url, plain.adminKey);
      try {
        const unauth = await stream(plain.url, sse.endpoint, { 'content-type': 'application/json', 'content-length': String(2 * MiB) }, 2 * MiB);
        assert.equal(unauth.status, 413);
        assert.equal(unauth.json.error.data.code, 'PAYLOAD_TOO_LARGE');
        const big = await stream(plain.url, sse.endpoint, { ...bearer(), 'content-type': 'application/json' }, 2 * MiB);
        assert.equal(big.status, 413);
        const ok = await chunked(plain.url, sse.endpoint, { ...bearer(), 'content-type': 'application/json' }, JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'ping' }));
        assert.equal(ok.status, 202, ok.text);
        const withLength = await raw(plain.url, 'POST', sse.endpoint, { ...bearer(), 'content-type': 'application/json' }, JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'ping' }));
        assert.equal(withLength.status, 202, withLength.text);
        const deadline = Date.now() + 5_000;
        while (!(sse.received().includes('"id":7') && sse.received().includes('"id":8')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        assert.match(sse.received(), /"id":7/, 'the chunked ping was answered on the stream');
        assert.match(sse.received(), /"id":8/);
      } finally {
        sse.close();
      }
    });
  });

  describe('cross-site writes with the session cookie', () => {
    test('a cookie write needs an allowed Origin (403) and JSON (415); refusals change nothing and are audited', async () => {
      const { cookie } = await signIn(plain);
      const own = plain.url;
      const keys = await count('api_keys');
      const write = (headers: Record<string, string>, name: string) => raw(plain.url, 'POST', '/api/keys', { cookie, ...headers }, keyJson(name));

      const noOrigin = await write({ 'content-type': 'application/json' }, 'no-origin');
      assert.equal(noOrigin.status, 403);
      assert.equal(noOrigin.json.error.code, 'ORIGIN_NOT_ALLOWED');
      assert.equal(noOrigin.json.error.details.rule, 'csrf.origin');
      assert.match(noOrigin.json.error.message, /Bearer/);

      const foreign = await write({ 'content-type': 'application/json', origin: 'http://127.0.0.1:3000' }, 'grafana');
      assert.equal(foreign.status, 403);
      assert.equal(foreign.json.error.code, 'ORIGIN_NOT_ALLOWED');
      assert.match(foreign.json.error.message, /ALLOWED_ORIGINS/);
      assert.deepEqual(foreign.json.error.details.expected, [own]);

      const opaque = await write({ 'content-type': 'application/json', origin: 'null' }, 'sandboxed');
      assert.equal(opaque.status, 403);

      const textPlain = await write({ 'content-type': 'text/plain', origin: own }, 'text-plain');
      assert.equal(textPlain.status, 415);
      assert.equal(textPlain.json.error.code, 'UNSUPPORTED_MEDIA_TYPE');
      assert.equal(textPlain.json.error.details.rule, 'csrf.content_type');
      const form = await write({ 'content-type': 'application/x-www-form-urlencoded', origin: own }, 'form');
      assert.equal(form.status, 415);
      // A bodiless write needs the content type too (the admin UI sends it).
      const bodiless = await raw(plain.url, 'POST', '/api/keys/vp_00000000/revoke', { cookie, origin: own });
      assert.equal(bodiless.status, 415);
      assert.equal(await count('api_keys'), keys, 'nothing was created');

      const ok = await write({ 'content-type': 'application/json; charset=utf-8', origin: own }, 'same-origin');
      assert.equal(ok.status, 201, ok.text);
      assert.equal(await count('api_keys'), keys + 1);
      // Reads need neither.
      assert.equal((await raw(plain.url, 'GET', '/api/wallets', { cookie })).status, 200);

      const rows = await plain.server.ctx.db.selectFrom('audit_events').selectAll().where('action', '=', 'POST /api/keys').where('status', '=', 'refused').execute();
      const csrfRows = rows.filter((r) => r.rule?.startsWith('csrf.'));
      assert.equal(csrfRows.length, 5, JSON.stringify(rows.map((r) => [r.error_code, r.rule])));
      const me = (await raw(plain.url, 'GET', '/api/session', { cookie })).json.principal;
      assert.ok(csrfRows.every((r) => r.kind === 'api_write' && r.decision === 'deny' && r.principal === me.key_id && r.tenant_id === me.tenant_id), JSON.stringify(csrfRows));
      assert.deepEqual(csrfRows.map((r) => r.error_code).sort(), ['ORIGIN_NOT_ALLOWED', 'ORIGIN_NOT_ALLOWED', 'ORIGIN_NOT_ALLOWED', 'UNSUPPORTED_MEDIA_TYPE', 'UNSUPPORTED_MEDIA_TYPE']);
    });

    test('bearer-key requests are not browser-driven and are not concerned', async () => {
      const res = await raw(plain.url, 'POST', '/api/keys', { ...bearer(), origin: 'http://127.0.0.1:3000', 'content-type': 'application/json' }, keyJson('bearer-foreign-origin'));
      assert.equal(res.status, 201, res.text);
      const noType = await raw(plain.url, 'POST', '/api/keys/vp_00000000/revoke', bearer());
      assert.equal(noType.status, 404, noType.text);
    });

    test('sign-in takes the same Origin and content-type rules (login CSRF); a script without Origin still signs in', async () => {
      const sessions = await count('admin_sessions');
      const body = JSON.stringify({ api_key: plain.adminKey });
      const foreign = await raw(plain.url, 'POST', '/api/session', { 'content-type': 'application/json', origin: 'http://127.0.0.1:5173' }, body);
      assert.equal(foreign.status, 403);
      assert.equal(foreign.json.error.code, 'ORIGIN_NOT_ALLOWED');
      assert.equal(foreign.headers['set-cookie'], undefined);
      const textPlain = await raw(plain.url, 'POST', '/api/session', { 'content-type': 'text/plain', origin: plain.url }, body);
      assert.equal(textPlain.status, 415);
      const noType = await raw(plain.url, 'POST', '/api/session', {}, body);
      assert.equal(noType.status, 415);
      assert.equal(await count('admin_sessions'), sessions, 'no session was made');
      assert.equal((await raw(plain.url, 'POST', '/api/session', { 'content-type': 'application/json', origin: plain.url }, body)).status, 200);
      assert.equal((await raw(plain.url, 'POST', '/api/session', { 'content-type': 'application/json' }, body)).status, 200);
    });

    test('sign-out with the cookie takes them too', async () => {
      const { cookie } = await signIn(plain);
      const refused = await raw(plain.url, 'DELETE', '/api/session', { cookie, 'content-type': 'application/json' });
      assert.equal(refused.status, 403);
      assert.equal((await raw(plain.url, 'DELETE', '/api/session', { cookie, origin: 'http://localhost:3000', 'content-type': 'application/json' })).status, 403);
      assert.equal((await raw(plain.url, 'DELETE', '/api/session', { cookie, origin: plain.url })).status, 415);
      assert.equal((await raw(plain.url, 'GET', '/api/session', { cookie })).status, 200, 'still signed in');
      assert.equal((await raw(plain.url, 'DELETE', '/api/session', { cookie, origin: plain.url, 'content-type': 'application/json' })).status, 204);
      assert.equal((await raw(plain.url, 'GET', '/api/session', { cookie })).status, 401, 'signed out');
    });
  });

  describe('DNS rebinding: Host and Origin on /mcp, /sse and /messages', () => {
    const routes: Array<[string, string, Record<string, string>, string | undefined]> = [
      ['POST', '/mcp', MCP_HEADERS, INITIALIZE],
      ['GET', '/sse', { accept: 'text/event-stream' }, undefined],
      ['POST', '/messages?sessionId=00000000-0000-0000-0000-000000000000', { 'content-type': 'application/json' }, '{"jsonrpc":"2.0","id":1,"method":"ping"}'],
    ];

    test('a foreign Host is refused with a JSON-RPC 403 before authentication, on every route; loopback names pass', async () => {
      const id = tag();
      const port = new URL(plain.url).port;
      for (const [method, path, headers, body] of routes) {
        for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1.evil.example:${port}`, `[::2]:${port}`]) {
          // Without a key: refused as a foreign Host, not as unauthenticated, and nothing is written.
          const res = await raw(plain.url, method, path, { ...headers, host, 'x-request-id': `${id}-${method}-${host.length}` }, body);
          assert.equal(res.status, 403, `${method} ${path} Host ${host}: ${res.text}`);
          assert.equal(res.headers['www-authenticate'], undefined);
        }
      }
      await settle();
      assert.equal(await rowsOf(id), 0, 'no audit row for a refused Host');
      for (const [method, path, headers, body] of routes) {
        for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1.evil.example:${port}`, `[::2]:${port}`]) {
          // With a valid key too: the Host is checked first.
          const res = await raw(plain.url, method, path, { ...headers, ...bearer(), host }, body);
          assert.equal(res.status, 403, `${method} ${path} Host ${host}: ${res.text}`);
          assert.equal(res.json.jsonrpc, '2.0');
          assert.equal(res.json.id, null);
          assert.equal(res.json.error.code, -32000);
          assert.equal(res.json.error.data.code, 'HOST_NOT_ALLOWED');
          assert.match(res.json.error.message, /ALLOWED_HOSTS/);
        }
        for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'localhost']) {
          const res = await raw(plain.url, method, path, { ...headers, host }, body);
          assert.equal(res.status, 401, `${method} ${path} Host ${host} reaches authentication: ${res.text}`);
        }
      }
    });

    test('a foreign Origin is refused with a JSON-RPC 403; the server\'s own origin passes', async () => {
      const port = new URL(plain.url).port;
      for (const [method, path, headers, body] of routes) {
        for (const origin of ['http://evil.example', `http://evil.example:${port}`, 'null', `https://127.0.0.1:${port}`, `http://127.0.0.1:3000`]) {
          const res = await raw(plain.url, method, path, { ...headers, ...bearer(), origin }, body);
          assert.equal(res.status, 403, `${method} ${path} Origin ${origin}: ${res.text}`);
          assert.equal(res.json.error.data.code, 'ORIGIN_NOT_ALLOWED');
          assert.match(res.json.error.message, /ALLOWED_ORIGINS/);
        }
        const own = await raw(plain.url, method, path, { ...headers, origin: plain.url }, body);
        assert.equal(own.status, 401, `${method} ${path} from its own origin reaches authentication`);
        const localhost = await raw(plain.url, method, path, { ...headers, host: `localhost:${port}`, origin: `http://localhost:${port}` }, body);
        assert.equal(localhost.status, 401);
      }
    });

    test('the SDK client still connects and calls over both transports', async () => {
      for (const transport of ['streamable', 'sse'] as const) {
        const client: Client = await connectMcp(plain.url, plain.adminKey, transport);
        try {
          const tools = await client.listTools();
          assert.ok(tools.tools.some((t) => t.name === 'list_wallets'), transport);
          const result = await client.callTool({ name: 'list_wallets', arguments: {} });
          assert.notEqual(result.isError, true, transport);
        } finally {
          await client.close();
        }
      }
    });

    test('with ALLOWED_HOSTS, only the listed names pass (loopback ones too must be listed); ALLOWED_ORIGINS adds origins', async () => {
      const port = new URL(proxied.url).port;
      const [method, path, headers, body] = routes[0]!;
      assert.equal((await raw(proxied.url, method, path, { ...headers, host: `vaultpilot.test:${port}` }, body)).status, 401);
      assert.equal((await raw(proxied.url, method, path, { ...headers, host: 'VaultPilot.Test' }, body)).status, 401);
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `evil.example:${port}`]) {
        const res = await raw(proxied.url, method, path, { ...headers, host }, body);
        assert.equal(res.status, 403, `Host ${host}`);
        assert.equal(res.json.error.data.code, 'HOST_NOT_ALLOWED');
      }
      const host = `vaultpilot.test:${port}`;
      assert.equal((await raw(proxied.url, method, path, { ...headers, host, origin: 'https://console.example.com' }, body)).status, 401);
      assert.equal((await raw(proxied.url, method, path, { ...headers, host, origin: `http://vaultpilot.test:${port}` }, body)).status, 401);
      // Behind the trusted proxy's https, the own origin is https://.
      assert.equal((await raw(proxied.url, method, path, { ...headers, host, 'x-forwarded-proto': 'https', origin: `https://vaultpilot.test:${port}` }, body)).status, 401);
      assert.equal((await raw(proxied.url, method, path, { ...headers, host, 'x-forwarded-proto': 'https', origin: `http://vaultpilot.test:${port}` }, body)).status, 403);
      assert.equal((await raw(proxied.url, method, path, { ...headers, host, origin: 'https://console.example.com:8443' }, body)).status, 403);
    });
  });

  describe('TLS: the Secure cookie and HSTS follow X-Forwarded-Proto only from a trusted proxy', () => {
    test('from an untrusted peer, a forged X-Forwarded-Proto: https gets no Secure cookie and no HSTS', async () => {
      const { reply } = await signIn(plain, { 'x-forwarded-proto': 'https' });
      assert.doesNotMatch(reply.headers['set-cookie']![0]!, /;\s*Secure/i);
      assert.equal(reply.headers['strict-transport-security'], undefined);
      const admin = await raw(plain.url, 'GET', '/admin/', { 'x-forwarded-proto': 'https' });
      assert.equal(admin.status, 200);
      assert.equal(admin.headers['strict-transport-security'], undefined);
      // And the server's own origin stays http:// for the cookie rules.
      const { cookie } = await signIn(plain);
      const https = await raw(plain.url, 'POST', '/api/keys', { cookie, 'x-forwarded-proto': 'https', origin: `https://${plainHost}`, 'content-type': 'application/json' }, JSON.stringify({ name: 'x', role: 'viewer' }));
      assert.equal(https.status, 403);
    });

    test('from a trusted proxy saying https, the cookie is Secure and HSTS is sent; saying nothing or http, neither', async () => {
      const { reply, cookie } = await signIn(proxied, { 'x-forwarded-proto': 'https' });
      assert.match(reply.headers['set-cookie']![0]!, /;\s*Secure/i);
      assert.equal(reply.headers['strict-transport-security'], 'max-age=31536000');
      const admin = await raw(proxied.url, 'GET', '/admin/', { 'x-forwarded-proto': 'https' });
      assert.equal(admin.headers['strict-transport-security'], 'max-age=31536000');
      assert.match(String(admin.headers['content-security-policy']), /script-src 'self'/, 'the admin UI keeps its own CSP');
      for (const proto of [undefined, 'http', 'http, https']) {
        const { reply: r } = await signIn(proxied, proto ? { 'x-forwarded-proto': proto } : {});
        assert.doesNotMatch(r.headers['set-cookie']![0]!, /;\s*Secure/i, `X-Forwarded-Proto ${proto}`);
        assert.equal(r.headers['strict-transport-security'], undefined, `X-Forwarded-Proto ${proto}`);
      }
      // Behind that proxy the admin UI's origin is https://: that Origin may write, http:// may not.
      const host = new URL(proxied.url).host;
      const write = (origin: string) => raw(proxied.url, 'POST', '/api/keys', { cookie, 'x-forwarded-proto': 'https', origin, 'content-type': 'application/json' }, JSON.stringify({ name: `behind proxy ${origin}`, role: 'viewer' }));
      assert.equal((await write(`https://${host}`)).status, 201);
      assert.equal((await write(`http://${host}`)).status, 403);
      assert.equal((await write('https://console.example.com')).status, 201, 'ALLOWED_ORIGINS');
    });

    test('/api and /admin answers carry nosniff, no-referrer, DENY framing and a CSP', async () => {
      const api = await raw(plain.url, 'GET', '/api/wallets', bearer());
      assert.equal(api.headers['x-content-type-options'], 'nosniff');
      assert.equal(api.headers['referrer-policy'], 'no-referrer');
      assert.equal(api.headers['x-frame-options'], 'DENY');
      assert.equal(api.headers['content-security-policy'], "default-src 'none'; frame-ancestors 'none'");
      const admin = await raw(plain.url, 'GET', '/admin/');
      assert.equal(admin.headers['x-frame-options'], 'DENY');
      assert.match(String(admin.headers['content-security-policy']), /frame-ancestors 'none'/);
      assert.match(String(admin.headers['content-security-policy']), /script-src 'self'/);
    });
  });
});
