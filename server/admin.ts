/**
 * Serves the operator's admin UI: `admin-ui/` (index.html + ES modules, no bundler) and the three
 * vendored modules its import map points at (preact, preact/hooks, htm), read from node_modules so
 * the UI works offline and never touches a CDN. The UI itself talks to `/api` with the session
 * cookie; nothing here authenticates, because these files hold no data.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import type { Context } from 'hono';
import { etag } from 'hono/etag';

/** The folder served under `/admin/`, resolved from this file so the working directory doesn't matter. */
const UI_DIR = fileURLToPath(new URL('../admin-ui/', import.meta.url));

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

const IMPORT_MAP = /<script\s+type=["']importmap["']\s*>([\s\S]*?)<\/script>/i;
// Source-map comments would make devtools ask for .map files we don't serve.
const SOURCE_MAP_COMMENT = /\n?\/\/# sourceMappingURL=\S+\s*$/;

/** Where each vendored module lives; resolved through Node so hoisting or a version bump can't break it. */
function vendorFiles(): Readonly<Record<string, string>> {
  const require = createRequire(import.meta.url);
  return {
    'preact.mjs': require.resolve('preact'),
    'preact-hooks.mjs': require.resolve('preact/hooks'),
    // htm's `require` condition points at its CommonJS build; the ES module sits beside it.
    'htm.mjs': path.join(path.dirname(require.resolve('htm')), 'htm.mjs'),
  };
}

/**
 * The Content-Security-Policy for every admin response. Scripts come only from this origin, plus
 * the one inline `<script type="importmap">` in index.html, allowed by its sha256 (an import map
 * can't be an external file). `connect-src 'self'` keeps the UI's fetches same-origin.
 */
export function adminCsp(importMapHash?: string): string {
  const scriptSrc = importMapHash ? `'self' 'sha256-${importMapHash}'` : `'self'`;
  return [
    `default-src 'none'`,
    `script-src ${scriptSrc}`,
    `style-src 'self'`,
    `img-src 'self' data:`,
    `font-src 'self'`,
    `connect-src 'self'`,
    `manifest-src 'self'`,
    `base-uri 'none'`,
    `form-action 'none'`,
    `frame-ancestors 'none'`,
  ].join('; ');
}

/** The base64 sha256 of the inline import map's exact text, as CSP hash sources expect. */
function importMapHash(indexHtml: string): string | undefined {
  const match = IMPORT_MAP.exec(indexHtml);
  if (!match) return undefined;
  return createHash('sha256').update(match[1] ?? '', 'utf8').digest('base64');
}

/**
 * Maps a request path below `/admin/` to a file inside `root`, or `null` if it could escape it.
 * Dot segments and dotfiles are refused outright rather than normalised, so `..%2f` and friends
 * (already percent-decoded by the router) never reach the filesystem.
 */
function resolveInside(root: string, rel: string): string | null {
  if (rel === '' || rel.includes('\0') || rel.includes('\\')) return null;
  const segments = rel.split('/');
  if (segments.some((s) => s === '' || s.startsWith('.'))) return null;
  const full = path.resolve(root, rel);
  return full.startsWith(root.endsWith(path.sep) ? root : root + path.sep) ? full : null;
}

function notFound(c: Context): Response {
  return c.json({ error: { code: 'NOT_FOUND', message: `no admin file at ${c.req.path}` } }, 404);
}

/**
 * Routes for the admin UI, to be mounted with `app.route('/admin', adminRoutes())`.
 *
 * - `GET /admin` and `GET /admin/` → `admin-ui/index.html` (`text/html`; read once, when this is
 *   called, because the CSP carries its import map's hash).
 * - `GET /admin/vendor/preact.mjs`, `…/preact-hooks.mjs`, `…/htm.mjs` → the installed preact,
 *   preact/hooks and htm ES modules (`text/javascript`).
 * - `GET /admin/<path>` → that file from `admin-ui/` when its extension has a known content type.
 *
 * Every response carries a strict `Content-Security-Policy` (see {@link adminCsp}),
 * `Cache-Control: no-cache` with an `ETag` (so revalidation is a cheap 304),
 * `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer` and `X-Frame-Options: DENY`.
 *
 * Errors: anything not served — a missing file, a directory, an unknown extension, a dotfile, or a
 * path that tries to leave `admin-ui/` (`..`, encoded `%2f`, backslashes, symlinks pointing out) —
 * is `404 {"error":{"code":"NOT_FOUND","message"}}`; the reason is not revealed.
 *
 * @throws if preact or htm is not installed or `admin-ui/index.html` can't be read (at call
 *   time, so a broken install fails at startup rather than on the first page load).
 */
export function adminRoutes(): Hono {
  const vendor = vendorFiles();
  // index.html is read once: the CSP must carry its import map's hash on every response, including
  // a 304 (which keeps no body-specific headers), so the page and its hash have to agree for the
  // life of the process. Other admin-ui/ files are read per request; vendored modules are cached.
  const indexHtml = readFileSync(path.join(UI_DIR, 'index.html'), 'utf8');
  const csp = adminCsp(importMapHash(indexHtml));
  const vendorCache = new Map<string, Promise<string>>();
  let uiRoot: Promise<string> | undefined;

  const app = new Hono();

  // Registered before etag() so these land on its 304s too.
  app.use('*', async (c, next) => {
    await next();
    c.header('Content-Security-Policy', csp);
    c.header('Cache-Control', 'no-cache');
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('X-Frame-Options', 'DENY');
  });
  app.use('*', etag());

  const serveIndex = (c: Context): Response => {
    c.header('Content-Type', CONTENT_TYPES['.html']);
    return c.body(indexHtml);
  };

  app.get('/', serveIndex);

  app.get('/vendor/:name', async (c) => {
    const name = c.req.param('name');
    const file = Object.hasOwn(vendor, name) ? vendor[name] : undefined;
    if (!file) return notFound(c);
    let source = vendorCache.get(name);
    if (!source) {
      source = readFile(file, 'utf8').then((s) => s.replace(SOURCE_MAP_COMMENT, '\n'));
      vendorCache.set(name, source);
      source.catch(() => vendorCache.delete(name));
    }
    c.header('Content-Type', CONTENT_TYPES['.mjs']);
    return c.body(await source);
  });

  app.get('/:file{.*}', async (c) => {
    const rel = c.req.param('file');
    if (rel === '' || rel === 'index.html') return serveIndex(c);
    const type = CONTENT_TYPES[path.extname(rel).toLowerCase()];
    if (!type) return notFound(c);
    try {
      uiRoot ??= realpath(UI_DIR).catch((err: unknown) => {
        uiRoot = undefined;
        throw err;
      });
      const root = await uiRoot;
      const full = resolveInside(root, rel);
      if (!full) return notFound(c);
      // A symlink inside admin-ui/ must not lead outside it.
      const real = await realpath(full);
      if (!real.startsWith(root + path.sep) || !(await stat(real)).isFile()) return notFound(c);
      c.header('Content-Type', type);
      return c.body(new Uint8Array(await readFile(real)));
    } catch {
      return notFound(c);
    }
  });

  return app;
}
