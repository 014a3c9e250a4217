/**
 * The cross-site write rules on their own: which requests pass, what each refusal says, that a
 * cookie refusal writes one audit row, and sign-in's variant (a request without Origin passes).
 * In a real browser: test/csrf.test.ts; over real HTTP with the cookie: test/http-edge.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Hono } from 'hono';
import type { CoreContext } from '../../../core/context.ts';
import type { Principal } from '../../../core/auth/api-keys.ts';
import type { AppEnv } from '../../env.ts';
import { detectTls } from '../request-origin/index.ts';
import { crossSiteWriteRefusal, isJsonContentType, refuseCrossSiteWrite, signInGuard } from './index.ts';

const OWN = 'http://127.0.0.1:8080';
const config = { allowedOrigins: ['https://console.example.com'], trustedProxies: [] as string[] };

type Refusal = { status: number; code: string; message: string; details: Record<string, unknown> } | null;

/** The refusal for one request, passed back in a header (HEAD answers have no body). */
async function check(method: string, headers: Record<string, string>, originRequired = true): Promise<Refusal> {
  const a = new Hono<AppEnv>();
  a.use('*', detectTls(config));
  a.all('/', (c) => {
    const err = crossSiteWriteRefusal(c, config, { what: 'a write with the session cookie', originRequired });
    c.header('x-refusal', encodeURIComponent(JSON.stringify(err ? { status: err.status, code: err.code, message: err.message, details: err.details } : null)));
    return c.body(null, 204);
  });
  const res = await a.request('http://127.0.0.1:8080/', { method, headers: { host: '127.0.0.1:8080', ...headers } });
  return JSON.parse(decodeURIComponent(res.headers.get('x-refusal')!)) as Refusal;
}

describe('isJsonContentType', () => {
  test('application/json with or without parameters, nothing else', () => {
    assert.equal(isJsonContentType('application/json'), true);
    assert.equal(isJsonContentType('Application/JSON; charset=utf-8'), true);
    for (const t of [undefined, '', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp', 'text/json', 'application/json-patch+json']) {
      assert.equal(isJsonContentType(t), false, String(t));
    }
  });
});

describe('crossSiteWriteRefusal', () => {
  const json = { 'content-type': 'application/json' };

  test('reads pass without Origin or content type', async () => {
    for (const m of ['GET', 'HEAD', 'OPTIONS']) assert.equal(await check(m, { origin: 'http://evil.example' }), null, m);
  });

  test('a JSON write from the own origin or an allowed one passes', async () => {
    assert.equal(await check('POST', { ...json, origin: OWN }), null);
    assert.equal(await check('DELETE', { 'content-type': 'application/json; charset=utf-8', origin: 'https://console.example.com' }), null);
  });

  test('a write without Origin, or from another origin, is 403 ORIGIN_NOT_ALLOWED naming what to do', async () => {
    const missing = await check('POST', json);
    assert.deepEqual([missing?.status, missing?.code, missing?.details.rule, missing?.details.origin], [403, 'ORIGIN_NOT_ALLOWED', 'csrf.origin', null]);
    assert.match(missing!.message, /Authorization: Bearer/);
    for (const origin of ['http://127.0.0.1:3000', 'http://localhost:8080', 'https://127.0.0.1:8080', 'null', 'http://grafana.example.com']) {
      const r = await check('PUT', { ...json, origin });
      assert.equal(r?.code, 'ORIGIN_NOT_ALLOWED', origin);
      assert.match(r!.message, /ALLOWED_ORIGINS/);
      assert.deepEqual(r!.details.expected, [OWN, 'https://console.example.com']);
    }
    const long = await check('POST', { ...json, origin: `http://${'a'.repeat(1000)}.example` });
    assert.ok(String(long?.details.origin).length < 220, 'a long Origin is cut short');
  });

  test('a write from the own origin that is not JSON is 415 UNSUPPORTED_MEDIA_TYPE, bodiless ones too', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const r = await check('POST', { 'content-type': type, origin: OWN });
      assert.deepEqual([r?.status, r?.code, r?.details.rule, r?.details.content_type], [415, 'UNSUPPORTED_MEDIA_TYPE', 'csrf.content_type', type]);
    }
    const none = await check('POST', { origin: OWN });
    assert.equal(none?.code, 'UNSUPPORTED_MEDIA_TYPE');
    assert.match(none!.message, /Content-Type: application\/json \(got none\)/);
  });

  test('the Origin is checked before the content type', async () => {
    assert.equal((await check('POST', { 'content-type': 'text/plain', origin: 'http://evil.example' }))?.code, 'ORIGIN_NOT_ALLOWED');
  });

  test('with originRequired false (sign-in), a missing Origin passes but a foreign one does not', async () => {
    assert.equal(await check('POST', json, false), null);
    assert.equal((await check('POST', { ...json, origin: 'http://evil.example' }, false))?.code, 'ORIGIN_NOT_ALLOWED');
    assert.equal((await check('POST', {}, false))?.code, 'UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('refuseCrossSiteWrite and signInGuard', () => {
  const principal: Principal = { tenantId: 't1', keyId: 'k', keyPrefix: 'vp_0123abcd', name: 'n', role: 'owner', scopes: { tools: null, wallets: null, ips: null } };
  function fakeCore() {
    const rows: Array<Record<string, unknown>> = [];
    const warnings: unknown[] = [];
    const core = {
      config,
      db: { insertInto: () => ({ values: (v: Record<string, unknown>) => ({ execute: async () => void rows.push(v) }) }) },
      logger: { error: () => undefined, warn: (o: unknown) => void warnings.push(o) },
    } as unknown as CoreContext;
    return { core, rows, warnings };
  }

  test('a refused cookie write answers the error and writes one api_write row with its rule', async () => {
    const { core, rows } = fakeCore();
    const a = new Hono<AppEnv>();
    a.use('*', detectTls(config));
    a.use('*', async (c, next) => {
      c.set('requestId', 'req-1');
      c.set('clientIp', '127.0.0.1');
      const refused = await refuseCrossSiteWrite(core, c, principal);
      if (refused) return refused;
      await next();
    });
    a.post('/api/strategies', (c) => c.json({ created: true }, 201));
    const res = await a.request('http://127.0.0.1:8080/api/strategies', { method: 'POST', headers: { host: '127.0.0.1:8080', 'content-type': 'text/plain', origin: 'http://127.0.0.1:3000' }, body: '{}' });
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'ORIGIN_NOT_ALLOWED');
    assert.equal(rows.length, 1);
    const row = rows[0]!;
    assert.equal(row.tenant_id, 't1');
    assert.equal(row.kind, 'api_write');
    assert.equal(row.action, 'POST /api/strategies');
    assert.equal(row.principal, 'vp_0123abcd');
    assert.equal(row.status, 'refused');
    assert.equal(row.error_code, 'ORIGIN_NOT_ALLOWED');
    assert.equal(row.rule, 'csrf.origin');
    assert.equal(row.decision, 'deny');
    assert.equal(row.ip, '127.0.0.1');

    const ok = await a.request('http://127.0.0.1:8080/api/strategies', { method: 'POST', headers: { host: '127.0.0.1:8080', 'content-type': 'application/json', origin: OWN }, body: '{}' });
    assert.equal(ok.status, 201);
    assert.equal(rows.length, 1, 'an allowed write writes nothing here');
  });

  test('signInGuard refuses a foreign Origin before the route runs, writes nothing, and logs', async () => {
    const { core, rows, warnings } = fakeCore();
    let reached = 0;
    const a = new Hono<AppEnv>();
    a.use('*', detectTls(config));
    a.post('/api/session', signInGuard(core), (c) => {
      reached += 1;
      return c.json({ ok: true });
    });
    const foreign = await a.request('http://127.0.0.1:8080/api/session', { method: 'POST', headers: { host: '127.0.0.1:8080', 'content-type': 'application/json', origin: 'http://127.0.0.1:5173' }, body: '{}' });
    assert.equal(foreign.status, 403);
    const plain = await a.request('http://127.0.0.1:8080/api/session', { method: 'POST', headers: { host: '127.0.0.1:8080', 'content-type': 'text/plain', origin: OWN }, body: '{}' });
    assert.equal(plain.status, 415);
    assert.equal(reached, 0);
    assert.equal(rows.length, 0);
    assert.equal(warnings.length, 2);
    const script = await a.request('http://127.0.0.1:8080/api/session', { method: 'POST', headers: { host: '127.0.0.1:8080', 'content-type': 'application/json' }, body: '{}' });
    assert.equal(script.status, 200);
    assert.equal(reached, 1);
  });
});
