/**
 * The request's scheme and origin on their own: when X-Forwarded-Proto counts (only from a
 * trusted proxy), how a Host header parses, and which Origin values are the server's own or
 * allowed. Over real HTTP: test/http-edge.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Hono } from 'hono';
import type { AppEnv } from '../../env.ts';
import { detectTls, isAllowedOrigin, parseHost, requestIsTls, serverOrigin } from './index.ts';

describe('requestIsTls', () => {
  const trusted = ['10.0.0.0/8', '127.0.0.1/32'];
  const cases: Array<[string, Parameters<typeof requestIsTls>[0], boolean]> = [
    ['a TLS socket', { encrypted: true, peer: '203.0.113.9', forwardedProto: undefined, trustedProxies: [] }, true],
    ['plain, no header', { encrypted: false, peer: '127.0.0.1', forwardedProto: undefined, trustedProxies: trusted }, false],
    ['https from an untrusted peer', { encrypted: false, peer: '203.0.113.9', forwardedProto: 'https', trustedProxies: trusted }, false],
    ['https with no trusted proxies', { encrypted: false, peer: '127.0.0.1', forwardedProto: 'https', trustedProxies: [] }, false],
    ['https from a trusted proxy', { encrypted: false, peer: '10.1.2.3', forwardedProto: 'https', trustedProxies: trusted }, true],
    ['HTTPS, any case', { encrypted: false, peer: '10.1.2.3', forwardedProto: ' HTTPS ', trustedProxies: trusted }, true],
    ['http from a trusted proxy', { encrypted: false, peer: '10.1.2.3', forwardedProto: 'http', trustedProxies: trusted }, false],
    ['a list: the leftmost counts (https)', { encrypted: false, peer: '10.1.2.3', forwardedProto: 'https, http', trustedProxies: trusted }, true],
    ['a list: the leftmost counts (http)', { encrypted: false, peer: '10.1.2.3', forwardedProto: 'http,https', trustedProxies: trusted }, false],
    ['unknown peer', { encrypted: false, peer: null, forwardedProto: 'https', trustedProxies: trusted }, false],
    ['an IPv4-mapped trusted peer', { encrypted: false, peer: '::ffff:127.0.0.1', forwardedProto: 'https', trustedProxies: trusted }, true],
  ];
  for (const [name, facts, expected] of cases) test(name, () => assert.equal(requestIsTls(facts), expected));
});

describe('parseHost', () => {
  test('names, addresses and ports', () => {
    assert.deepEqual(parseHost('127.0.0.1:8080'), { name: '127.0.0.1', host: '127.0.0.1:8080' });
    assert.deepEqual(parseHost('VaultPilot.Example.com'), { name: 'vaultpilot.example.com', host: 'vaultpilot.example.com' });
    assert.deepEqual(parseHost('[::1]:8080'), { name: '::1', host: '[::1]:8080' });
    assert.deepEqual(parseHost('localhost:80'), { name: 'localhost', host: 'localhost' });
  });
  test('anything that is not a plain host is refused', () => {
    for (const bad of [undefined, '', 'evil.com/path', 'user@evil.com', 'evil.com:8080:1', 'a b', 'evil.com?x', '::1', 'evil.com:99999', '[zz]']) {
      assert.equal(parseHost(bad), null, String(bad));
    }
  });
});

describe('serverOrigin and isAllowedOrigin', () => {
  const app = (allowedOrigins: string[] = []) => {
    const a = new Hono<AppEnv>();
    a.use('*', detectTls({ trustedProxies: [] }));
    a.get('/', (c) => {
      const origin = c.req.header('origin');
      return c.json({ own: serverOrigin(c), allowed: origin === undefined ? null : isAllowedOrigin(origin, c, { allowedOrigins }) });
    });
    return a;
  };
  const ask = async (a: Hono<AppEnv>, url: string, headers: Record<string, string>) => (await a.request(url, { headers })).json() as Promise<{ own: string | null; allowed: boolean | null }>;

  test('the own origin is the scheme and the Host header, serialized as a browser does', async () => {
    assert.deepEqual(await ask(app(), 'http://x/', { host: '127.0.0.1:8080' }), { own: 'http://127.0.0.1:8080', allowed: null });
    assert.deepEqual(await ask(app(), 'http://x/', { host: 'Admin.Example.com:80' }), { own: 'http://admin.example.com', allowed: null });
    // Without Node bindings the URL's scheme stands for the socket's.
    assert.deepEqual(await ask(app(), 'https://x/', { host: 'admin.example.com:443' }), { own: 'https://admin.example.com', allowed: null });
    assert.deepEqual(await ask(app(), 'http://x/', {}), { own: null, allowed: null });
  });

  test('an Origin must be exactly the own origin or listed', async () => {
    const a = app(['https://console.example.com']);
    const host = { host: '127.0.0.1:8080' };
    assert.equal((await ask(a, 'http://x/', { ...host, origin: 'http://127.0.0.1:8080' })).allowed, true);
    assert.equal((await ask(a, 'http://x/', { ...host, origin: 'https://console.example.com' })).allowed, true);
    for (const origin of ['http://127.0.0.1:3000', 'https://127.0.0.1:8080', 'http://localhost:8080', 'null', 'http://127.0.0.1:8080/', 'HTTP://127.0.0.1:8080', 'file://', 'chrome-extension://abc', 'https://console.example.com.evil.com', '']) {
      assert.equal((await ask(a, 'http://x/', { ...host, origin })).allowed, false, origin);
    }
  });
});
