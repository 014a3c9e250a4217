/**
 * The response headers on their own: HSTS only when the request arrived over TLS, the defaults on
 * every answer, a route's own CSP and framing kept. Over real HTTP, with a trusted and an
 * untrusted X-Forwarded-Proto: test/http-edge.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Hono } from 'hono';
import type { AppEnv } from '../../env.ts';
import { API_CSP, HSTS, securityHeaders } from './index.ts';

function app(tls: boolean) {
  const a = new Hono<AppEnv>();
  a.use('*', async (c, next) => {
    c.set('tls', tls);
    await next();
  });
  a.use('*', securityHeaders());
  a.get('/json', (c) => c.json({ ok: true }));
  a.get('/page', (c) => c.html('<p>hi</p>', 200, { 'Content-Security-Policy': "default-src 'self'", 'X-Frame-Options': 'SAMEORIGIN' }));
  return a;
}

describe('securityHeaders', () => {
  test('over TLS: Strict-Transport-Security max-age=31536000', async () => {
    const res = await app(true).request('/json');
    assert.equal(res.headers.get('strict-transport-security'), HSTS);
    assert.equal(HSTS, 'max-age=31536000');
  });

  test('over plain HTTP: no HSTS', async () => {
    assert.equal((await app(false).request('/json')).headers.get('strict-transport-security'), null);
  });

  test('the defaults on every answer', async () => {
    const res = await app(false).request('/json');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('cross-origin-resource-policy'), 'same-origin');
    assert.equal(res.headers.get('content-security-policy'), API_CSP);
  });

  test('a route\'s own CSP and framing are kept', async () => {
    const res = await app(true).request('/page');
    assert.equal(res.headers.get('content-security-policy'), "default-src 'self'");
    assert.equal(res.headers.get('x-frame-options'), 'SAMEORIGIN');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('strict-transport-security'), HSTS);
  });
});
