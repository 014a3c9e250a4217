/**
 * Cross-site writes in a real browser (Debian's headless Chromium, see browser.ts). The victim
 * signs in to the admin UI at http://127.0.0.1:<server port>; then, in the same browser, a page
 * served from another port of 127.0.0.1 (same site, so the SameSite=Strict cookie goes along, but
 * another origin) auto-submits a text/plain form, an application/x-www-form-urlencoded form and
 * no-cors fetches: to create a strategy paying the attacker, to stop the victim's strategy, to
 * create an owner key and to sign the browser in with the attacker's key (login CSRF). Every one
 * is refused (403 ORIGIN_NOT_ALLOWED) and nothing changes in the database; the cookie refusals
 * are audited in the victim's tenant. The admin UI's own origin still writes with JSON, and a
 * same-origin write that is not JSON is refused (415).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { authenticateApiKey } from '../core/auth/api-keys.ts';
import { createApiKey } from '../core/auth/keys.ts';
import { createStrategy } from '../core/strategies/service.ts';
import { callOk, connectMcp, countRows, eventually, freshAddress, startStack, type Stack } from './harness.ts';
import { openBrowser, type BrowserSession } from './browser.ts';

const AGENT = 'csrf-victim';
const ATTACKER = freshAddress();

/** One request the browser made to the VaultPilot server. */
interface Seen {
  method: string;
  path: string;
  status: number;
}

describe('cross-site writes from another origin of the same site, in headless Chromium', () => {
  let stack: Stack;
  let client: Client | undefined;
  let browser: BrowserSession | undefined;
  let attacker: http.Server | undefined;
  let attackerUrl = '';
  let strategyId = '';
  let attackerKey = '';
  let tenantId = '';
  const seen: Seen[] = [];

  const db = () => stack.server.ctx.db;
  const count = async (table: 'api_keys' | 'admin_sessions') => Number((await db().selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);

  /** The attacker's page: forms and fetches aimed at the server, fired on load. */
  function attackPage(target: string): string {
    const strategy = (label: string) => ({ kind: 'dca', agent_id: AGENT, params: { to_address: ATTACKER, amount_eth: '0.001', interval_seconds: 3600 }, label });
    // text/plain forms send `name=value`: the name opens a JSON object and its last string field,
    // the value closes them, so the body is that object with "=" at the end of the last field.
    const plainJson = (obj: Record<string, unknown>) => ({ name: JSON.stringify(obj).slice(0, -2), value: '"}' });
    const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
    const plainForm = (id: string, action: string, field?: { name: string; value: string }) =>
      `<iframe name="${id}-frame"></iframe><form id="${id}" method="POST" enctype="text/plain" action="${target}${action}" target="${id}-frame">${
        field ? `<input type="hidden" name="${esc(field.name)}" value="${esc(field.value)}">` : ''
      }</form>`;
    const create = plainJson(strategy('csrf-form'));
    const key = plainJson({ role: 'owner', name: 'csrf-key' });
    const login = plainJson({ api_key: attackerKey, x: '' });
    const urlencoded = `<iframe name="urlencoded-frame"></iframe><form id="urlencoded" method="POST" action="${target}/api/strategies" target="urlencoded-frame">${
      Object.entries({ kind: 'dca', agent_id: AGENT, label: 'csrf-urlencoded', params: JSON.stringify(strategy('x').params) }).map(([n, v]) => `<input type="hidden" name="${n}" value="${esc(v)}">`).join('')
    }</form>`;
    const fetchBody = JSON.stringify(JSON.stringify(strategy('csrf-fetch')));
    return `<!doctype html><html><body>
${plainForm('create', '/api/strategies', create)}
${plainForm('stop', `/api/strategies/${strategyId}/stop`)}
${plainForm('key', '/api/keys', key)}
${plainForm('login', '/api/session', login)}
${urlencoded}
<script>
  for (const f of document.forms) f.submit();
  fetch(${JSON.stringify(`${target}/api/strategies`)}, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'Content-Type': 'text/plain' }, body: ${fetchBody} });
  fetch(${JSON.stringify(`${target}/api/strategies/${strategyId}/stop`)}, { method: 'POST', mode: 'no-cors', credentials: 'include' });
</script></body></html>`;
  }

  before(async () => {
    stack = await startStack({ worker: false });
    client = await connectMcp(stack.url, stack.adminKey, 'streamable');
    await callOk(client, 'spin_up_wallet', { agent_id: AGENT });
    const principal = await authenticateApiKey(db(), stack.adminKey);
    assert.ok(principal);
    tenantId = principal.tenantId;
    const strategy = await createStrategy(stack.server.ctx, principal, { kind: 'dca', label: 'victim-dca', agent_id: AGENT, params: { to_address: freshAddress(), amount_eth: '0.001', interval_seconds: 3600 } });
    strategyId = strategy.id;
    attackerKey = (await createApiKey(db(), null, { tenantId, name: 'attacker', role: 'viewer' })).apiKey;

    attacker = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(attackPage(stack.url));
    });
    await new Promise<void>((resolve) => attacker!.listen(0, '127.0.0.1', resolve));
    attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`;

    browser = await openBrowser();
    const { page } = browser;
    await page.goto(`${stack.url}/admin`);
    await page.getByTestId('api-key-input').fill(stack.adminKey);
    await page.getByTestId('sign-in-button').click();
    await page.getByTestId('nav-strategies').waitFor();
  });

  after(async () => {
    await browser?.close();
    await client?.close().catch(() => undefined);
    await new Promise((resolve) => (attacker ? attacker.close(resolve) : resolve(undefined)));
    await stack?.close();
  });

  test('the forms and no-cors fetches of the other origin are refused and change nothing', async () => {
    const { context } = browser!;
    const strategies = await countRows(stack, 'strategies');
    const keys = await count('api_keys');
    const sessions = await count('admin_sessions');
    assert.ok(sessions >= 1, 'the victim is signed in');
    const cookies = await context.cookies(stack.url);
    assert.ok(cookies.some((c) => c.name === 'vp_session'), 'the browser holds the session cookie');

    const evil = await context.newPage();
    // The refusals carry X-Frame-Options, frame-ancestors and Cross-Origin-Resource-Policy, so the
    // browser also blocks what it got back: read the statuses at the network layer (CDP), which
    // sees every response, blocked or not.
    const cdp = await context.newCDPSession(evil);
    const sent = new Map<string, { method: string; url: string }>();
    cdp.on('Network.requestWillBeSent', (e) => sent.set(e.requestId, { method: e.request.method, url: e.request.url }));
    cdp.on('Network.responseReceivedExtraInfo', (e) => {
      const req = sent.get(e.requestId);
      if (!req) return;
      const url = new URL(req.url);
      if (url.origin === stack.url && url.pathname.startsWith('/api/')) seen.push({ method: req.method, path: url.pathname, status: e.statusCode });
    });
    await cdp.send('Network.enable');
    await evil.goto(attackerUrl);
    const writes = () => seen.filter((s) => s.method === 'POST');
    // 5 forms + 2 fetches.
    await eventually(async () => writes().length >= 7, 15_000, `7 cross-site requests (saw ${JSON.stringify(seen)})`);
    await evil.close();

    const answers = writes().map((s) => `${s.method} ${s.path.replace(strategyId, ':id')} ${s.status}`).sort();
    assert.deepEqual(answers, [
      'POST /api/keys 403',
      'POST /api/session 403',
      'POST /api/strategies 403',
      'POST /api/strategies 403',
      'POST /api/strategies 403',
      'POST /api/strategies/:id/stop 403',
      'POST /api/strategies/:id/stop 403',
    ]);
    assert.equal(await countRows(stack, 'strategies'), strategies, 'no strategy was created');
    assert.equal(await countRows(stack, 'strategies', `params->>'to_address' = '${ATTACKER}'`), 0, 'nothing pays the attacker');
    const victim = await db().selectFrom('strategies').select('status').where('id', '=', strategyId).executeTakeFirstOrThrow();
    assert.equal(victim.status, 'active', 'the victim\'s strategy is still running');
    assert.equal(await count('api_keys'), keys, 'no key was created');
    assert.equal(await count('admin_sessions'), sessions, 'the browser was not signed in as the attacker');

    const refusals = await db().selectFrom('audit_events').selectAll().where('status', '=', 'refused').where('error_code', '=', 'ORIGIN_NOT_ALLOWED').execute();
    // The four cookie writes of the forms and the two fetches (the sign-in has no principal).
    assert.equal(refusals.length, 6, JSON.stringify(refusals.map((r) => r.action)));
    assert.ok(refusals.every((r) => r.kind === 'api_write' && r.tenant_id === tenantId && r.rule === 'csrf.origin' && r.decision === 'deny' && r.ip === '127.0.0.1'));
  });

  test('the admin UI\'s own origin still writes with JSON, and its non-JSON writes are refused', async () => {
    const { page } = browser!;
    const plain = await page.evaluate(async (id) => (await fetch(`/api/strategies/${id}/stop`, { method: 'POST', headers: { 'Content-Type': 'text/plain' } })).status, strategyId);
    assert.equal(plain, 415);
    const json = await page.evaluate(async (id) => (await fetch(`/api/strategies/${id}/stop`, { method: 'POST', headers: { 'Content-Type': 'application/json' } })).status, strategyId);
    assert.equal(json, 200);
    const victim = await db().selectFrom('strategies').select('status').where('id', '=', strategyId).executeTakeFirstOrThrow();
    assert.equal(victim.status, 'stopped');
    // The UI itself: sign out (a bodiless DELETE through admin-ui/api.js) works.
    await page.getByTestId('sign-out-button').click();
    await page.getByTestId('api-key-input').waitFor();
    assert.equal((await browser!.context.cookies(stack.url)).find((c) => c.name === 'vp_session'), undefined);
  });
});
