import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { Hono } from 'hono';
import { adminRoutes } from './admin.ts';

// Mounted the way the real app mounts it.
const app = new Hono().route('/admin', adminRoutes());
const indexHtml = await readFile(new URL('../admin-ui/index.html', import.meta.url), 'utf8');

function cspDirectives(res: Response): Map<string, string> {
  const csp = res.headers.get('content-security-policy');
  assert.ok(csp, 'Content-Security-Policy header present');
  return new Map(
    csp
      .split(';')
      .map((d) => d.trim())
      .filter(Boolean)
      .map((d) => {
        const [name = '', ...rest] = d.split(/\s+/);
        return [name, rest.join(' ')] as [string, string];
      }),
  );
}

describe('admin routes', () => {
  for (const path of ['/admin', '/admin/', '/admin/index.html']) {
    it(`serves index.html at ${path}`, async () => {
      const res = await app.request(path);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
      assert.equal(res.headers.get('cache-control'), 'no-cache');
      const body = await res.text();
      assert.equal(body, indexHtml);
      assert.match(body, /<script type="importmap">/);
    });
  }

  it('allows exactly the inline import map by hash, and nothing else inline', async () => {
    const res = await app.request('/admin/');
    const d = cspDirectives(res);
    const map = /<script type="importmap">([\s\S]*?)<\/script>/.exec(indexHtml)?.[1];
    assert.ok(map !== undefined);
    const hash = createHash('sha256').update(map).digest('base64');
    assert.equal(d.get('script-src'), `'self' 'sha256-${hash}'`);
    assert.equal(d.get('default-src'), `'none'`);
    assert.equal(d.get('connect-src'), `'self'`);
    assert.equal(d.get('frame-ancestors'), `'none'`);
    for (const v of d.values()) assert.doesNotMatch(v, /unsafe-inline|unsafe-eval|\*/);
    // The import map must point at the vendored routes, never a CDN.
    const imports = JSON.parse(map).imports as Record<string, string>;
    assert.deepEqual(imports, {
      preact: '/admin/vendor/preact.mjs',
      'preact/hooks': '/admin/vendor/preact-hooks.mjs',
      htm: '/admin/vendor/htm.mjs',
    });
  });

  it('keeps the hashed CSP on a 304 for index.html', async () => {
    // Browsers merge a 304's headers into the cached response; a CSP without the hash there
    // would block the import map on every reload.
    const first = await app.request('/admin/');
    const tag = first.headers.get('etag');
    assert.ok(tag);
    const again = await app.request('/admin/', { headers: { 'If-None-Match': tag } });
    assert.equal(again.status, 304);
    assert.equal(again.headers.get('content-security-policy'), first.headers.get('content-security-policy'));
    assert.equal(again.headers.get('cache-control'), 'no-cache');
  });

  it('serves the vendored modules as JavaScript', async () => {
    const expectExport = { 'preact.mjs': /\brender\b/, 'preact-hooks.mjs': /\buseState\b/, 'htm.mjs': /export/ };
    for (const [name, pattern] of Object.entries(expectExport)) {
      const res = await app.request(`/admin/vendor/${name}`);
      assert.equal(res.status, 200, name);
      assert.match(res.headers.get('content-type') ?? '', /^text\/javascript/, name);
      assert.equal(res.headers.get('cache-control'), 'no-cache');
      assert.ok(res.headers.get('content-security-policy'));
      const body = await res.text();
      assert.match(body, pattern, name);
      assert.doesNotMatch(body, /sourceMappingURL/, name);
    }
    // hooks imports the bare specifier 'preact', which the import map resolves.
    const hooks = await (await app.request('/admin/vendor/preact-hooks.mjs')).text();
    assert.match(hooks, /from\s*["']preact["']/);
  });

  it('serves the UI modules and stylesheet with the right types', async () => {
    const cases: Array<[string, RegExp]> = [
      ['/admin/app.js', /^text\/javascript/],
      ['/admin/api.js', /^text\/javascript/],
      ['/admin/components/wallets.js', /^text\/javascript/],
      ['/admin/styles.css', /^text\/css/],
      ['/admin/favicon.svg', /^image\/svg\+xml/],
    ];
    for (const [path, type] of cases) {
      const res = await app.request(path);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', type, path);
      assert.equal(res.headers.get('cache-control'), 'no-cache', path);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
    }
  });

  it('answers a revalidation with 304 when the ETag matches', async () => {
    const first = await app.request('/admin/app.js');
    const tag = first.headers.get('etag');
    assert.ok(tag);
    const again = await app.request('/admin/app.js', { headers: { 'If-None-Match': tag } });
    assert.equal(again.status, 304);
  });

  it('refuses paths that leave admin-ui/ with 404', async () => {
    for (const path of [
      '/admin/..%2fpackage.json',
      '/admin/..%2F..%2Fetc%2Fpasswd',
      '/admin/%2e%2e%2fpackage.json',
      '/admin/components/..%2f..%2fpackage.json',
      '/admin/..%5cpackage.json',
      '/admin/%2e%2e/package.json',
      '/admin/../package.json',
      '/admin/vendor/..%2f..%2fpackage.json',
      '/admin/vendor/react.mjs',
      '/admin/%2fetc%2fpasswd',
      '/admin/app.js%00.css',
      '/admin/.git/config',
      '/admin/components/',
      '/admin/missing.js',
      '/admin/app.ts',
    ]) {
      const res = await app.request(path);
      assert.equal(res.status, 404, path);
      const body = await res.text();
      assert.doesNotMatch(body, /"name"\s*:\s*"vaultpilot"|root:/, path);
    }
  });

  it('sends a JSON error body and the CSP on a 404', async () => {
    const res = await app.request('/admin/..%2fpackage.json');
    assert.equal(res.status, 404);
    const body = (await res.json()) as { error: { code: string } };
    assert.equal(body.error.code, 'NOT_FOUND');
    assert.ok(cspDirectives(res).get('script-src'));
  });
});
