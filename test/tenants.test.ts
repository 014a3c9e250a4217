/**
 * Tenants over REST and in the admin UI, against a real server and Postgres: the host operator
 * (an owner key of the default tenant, here the bootstrap key) lists tenants and creates one with
 * its first owner key in one go; that key works and sees an empty tenant; every other key (another
 * tenant's owner, the default tenant's admin, operator, viewer and agent) is refused with 403
 * `FORBIDDEN` (`rule: 'role'`), audited, and nothing is written; bad fields are 400s naming the
 * field, a taken name is 409; the audit row of a creation has the key redacted. Then the Tenants
 * page in headless Chromium: shown to the host operator, absent for a viewer and another tenant's
 * owner.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Role } from '../core/db/types.ts';
import { createApiKey } from '../core/auth/keys.ts';
import { callOk, connectMcp, startStack, type Stack } from './harness.ts';
import { ARTIFACTS, openBrowser, type BrowserSession } from './browser.ts';

const KEY_RE = /^vp_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/;

let stack: Stack;
let defaultTenantId: string;
/** The default tenant's keys by role (the owner is the bootstrap key). */
const keys = {} as Record<Role, string>;
/** The owner key of a tenant created over REST in the first test. */
let acmeKey = '';
let acmeId = '';

interface Reply<T> {
  status: number;
  json: T;
}
type ErrorBody = { error: { code: string; message: string; details: Record<string, unknown> | null } };
interface TenantView {
  id: string;
  name: string;
  created_at: string;
  keys: number;
  wallets: number;
}
interface Created {
  tenant: TenantView;
  key: { id: string; key_id: string; name: string; role: string; status: string; expires_at: string | null; created_by: string | null };
  api_key: string;
}

async function rest<T = Record<string, unknown>>(key: string, method: string, path: string, body?: unknown): Promise<Reply<T>> {
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${stack.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : null) as T };
}

/** Row counts of what a refused create must leave alone. */
async function counts(): Promise<{ tenants: number; keys: number }> {
  const db = stack.server.ctx.db;
  const t = await db.selectFrom('tenants').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  const k = await db.selectFrom('api_keys').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  return { tenants: Number(t.n), keys: Number(k.n) };
}

before(async () => {
  stack = await startStack({ worker: false });
  const db = stack.server.ctx.db;
  defaultTenantId = (await db.selectFrom('tenants').select('id').where('name', '=', 'default').executeTakeFirstOrThrow()).id;
  keys.owner = stack.adminKey;
  for (const role of ['admin', 'operator', 'viewer', 'agent'] as const) {
    keys[role] = (await createApiKey(db, null, { tenantId: defaultTenantId, name: `${role} key`, role })).apiKey;
  }
});

after(async () => stack?.close());

describe('tenants over REST', () => {
  test('the host operator creates a tenant with its first owner key, once; the tenant list shows it', async () => {
    const before_ = await counts();
    const res = await rest<Created>(keys.owner, 'POST', '/api/tenants', { name: 'acme' });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    const { tenant, key, api_key } = res.json;
    assert.deepEqual([tenant.name, tenant.keys, tenant.wallets], ['acme', 1, 0]);
    assert.deepEqual([key.name, key.role, key.status, key.expires_at, key.created_by], ['owner', 'owner', 'active', null, null]);
    assert.match(api_key, KEY_RE);
    assert.ok(api_key.startsWith(`${key.key_id}_`));
    assert.deepEqual(await counts(), { tenants: before_.tenants + 1, keys: before_.keys + 1 });
    acmeKey = api_key;
    acmeId = tenant.id;

    const stored = await stack.server.ctx.db.selectFrom('api_keys').selectAll().where('id', '=', key.id).executeTakeFirstOrThrow();
    assert.equal(stored.tenant_id, acmeId);
    assert.notEqual(stored.key_hash, api_key);

    const listed = await rest<{ tenants: TenantView[] }>(keys.owner, 'GET', '/api/tenants');
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.json.tenants.map((t) => t.name), ['acme', 'default']);
    assert.deepEqual(listed.json.tenants.find((t) => t.name === 'acme'), { ...tenant });
    assert.equal(listed.json.tenants.find((t) => t.name === 'default')!.keys, 5, 'the bootstrap key and four more');
    assert.ok(!JSON.stringify(listed.json).includes(api_key));
  });

  test('the new owner key works and sees an empty tenant of its own', async () => {
    const session = await rest<{ principal: { role: string; tenant_id: string; permissions: string[] } }>(acmeKey, 'GET', '/api/session');
    assert.equal(session.status, 200);
    assert.deepEqual([session.json.principal.role, session.json.principal.tenant_id], ['owner', acmeId]);
    assert.ok(session.json.principal.permissions.includes('keys.manage'));
    assert.ok(!session.json.principal.permissions.includes('tenants.manage'), 'an owner of another tenant is not the host operator');
    assert.deepEqual((await rest<{ wallets: unknown[] }>(acmeKey, 'GET', '/api/wallets')).json.wallets, []);
    assert.deepEqual((await rest<{ strategies: unknown[] }>(acmeKey, 'GET', '/api/strategies')).json.strategies, []);
    const ownKeys = await rest<{ keys: Array<{ role: string }> }>(acmeKey, 'GET', '/api/keys');
    assert.deepEqual(ownKeys.json.keys.map((k) => k.role), ['owner'], 'only its own key');
    const client = await connectMcp(stack.url, acmeKey, 'streamable');
    try {
      assert.deepEqual((await callOk<{ wallets: unknown[] }>(client, 'list_wallets')).wallets, []);
    } finally {
      await client.close();
    }
    // It can make its tenant's keys.
    const viewer = await rest<Created>(acmeKey, 'POST', '/api/keys', { name: 'acme viewer', role: 'viewer' });
    assert.equal(viewer.status, 201);
    const host = await rest<{ principal: { permissions: string[] } }>(keys.owner, 'GET', '/api/session');
    assert.ok(host.json.principal.permissions.includes('tenants.manage'), 'the bootstrap owner is the host operator');
  });

  test('owner_key_name and owner_key_expires_at shape the first key', async () => {
    const expires = new Date(Date.now() + 7 * 86_400_000).toISOString();
    const res = await rest<Created>(keys.owner, 'POST', '/api/tenants', { name: 'globex', owner_key_name: 'globex root', owner_key_expires_at: expires });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.deepEqual([res.json.key.name, res.json.key.role, res.json.key.expires_at], ['globex root', 'owner', expires]);
    assert.equal((await rest(res.json.api_key, 'GET', '/api/session')).status, 200);
  });

  test('every key but the host operator\'s is refused (403, rule role), audited, and nothing is written', async () => {
    const before_ = await counts();
    const who: Array<[string, string]> = [
      ['another tenant\'s owner', acmeKey],
      ...(['admin', 'operator', 'viewer', 'agent'] as const).map((r): [string, string] => [`the default tenant's ${r}`, keys[r]]),
    ];
    for (const [label, key] of who) {
      for (const [method, body] of [['GET', undefined], ['POST', { name: `refused-${label.length}` }]] as const) {
        const res = await rest<ErrorBody>(key, method, '/api/tenants', body);
        assert.deepEqual([label, method, res.status, res.json.error.code, res.json.error.details?.rule], [label, method, 403, 'FORBIDDEN', 'role']);
        assert.equal(res.json.error.details?.action, 'tenants.manage');
      }
    }
    const other = await rest<ErrorBody>(acmeKey, 'POST', '/api/tenants', { name: 'sneaky' });
    assert.match(other.json.error.message, /default.*host operator/);
    assert.deepEqual(await counts(), before_, 'no tenant and no key was written');

    const db = stack.server.ctx.db;
    const rows = await db.selectFrom('audit_events').selectAll().where('action', 'in', ['GET /api/tenants', 'POST /api/tenants']).where('status', '=', 'refused').execute();
    assert.equal(rows.length, who.length * 2 + 1, 'one audit row per refusal');
    assert.ok(rows.every((r) => r.error_code === 'FORBIDDEN' && r.rule === 'role' && r.decision === 'deny'));
    assert.ok(rows.every((r) => r.kind === (r.action.startsWith('GET') ? 'auth' : 'api_write')));
    const acmeRows = rows.filter((r) => r.tenant_id === acmeId);
    assert.equal(acmeRows.length, 3, 'the other tenant\'s refusals are in its own log');
  });

  test('a taken name is 409 TENANT_EXISTS; bad fields are 400s naming the field; nothing is written', async () => {
    const before_ = await counts();
    for (const name of ['acme', 'default']) {
      const dup = await rest<ErrorBody>(keys.owner, 'POST', '/api/tenants', { name });
      assert.deepEqual([dup.status, dup.json.error.code], [409, 'TENANT_EXISTS']);
    }
    const cases: Array<[unknown, RegExp]> = [
      [{}, /^name: is required/],
      [{ name: 'no spaces' }, /^name: must be 1-64 letters/],
      [{ name: '-leading-dash' }, /^name: must be 1-64 letters/],
      [{ name: 'x'.repeat(65) }, /^name: must be 1-64 letters/],
      [{ name: 42 }, /^name: must be 1-64 letters/],
      [{ name: 'initech', owner_key_name: '  ' }, /^owner_key_name: must not be empty/],
      [{ name: 'initech', owner_key_name: 7 }, /^owner_key_name: must be a string/],
      [{ name: 'initech', owner_key_expires_at: '2001-01-01T00:00:00Z' }, /^owner_key_expires_at: must be in the future/],
      [{ name: 'initech', owner_key_expires_at: 'tomorrow' }, /^owner_key_expires_at: must be an ISO 8601 time/],
      [{ name: 'initech', role: 'admin' }, /^role: is not a field/],
      ['not an object', /^body: must be a JSON object/],
    ];
    for (const [body, message] of cases) {
      const res = await rest<ErrorBody>(keys.owner, 'POST', '/api/tenants', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.json.error.code, 'INVALID_INPUT');
      assert.match(res.json.error.message, message, JSON.stringify(body));
    }
    assert.deepEqual(await counts(), before_, 'no tenant and no key was written');
    const refused = await stack.server.ctx.db.selectFrom('audit_events').select(['error_code']).where('action', '=', 'POST /api/tenants').where('status', '=', 'refused').where('tenant_id', '=', defaultTenantId).execute();
    assert.ok(refused.some((r) => r.error_code === 'TENANT_EXISTS') && refused.some((r) => r.error_code === 'INVALID_INPUT'), 'refusals are audited');
  });

  test('the audit row of a creation has the key redacted, in the host operator\'s log', async () => {
    const db = stack.server.ctx.db;
    const rows = await db.selectFrom('audit_events').selectAll().where('action', '=', 'POST /api/tenants').where('status', '=', 'ok').orderBy('id').execute();
    assert.equal(rows.length, 2);
    const first = rows[0]!;
    assert.equal(first.tenant_id, defaultTenantId);
    assert.equal(first.kind, 'api_write');
    assert.deepEqual(first.request, { name: 'acme' });
    const response = first.response as Created;
    assert.equal(response.api_key, '[redacted]');
    assert.equal(response.tenant.id, acmeId);
    assert.ok(!JSON.stringify(rows).includes(acmeKey), 'the key is not in the audit log');
  });
});

describe('Tenants page in the admin UI (headless Chromium)', () => {
  let browser: BrowserSession | undefined;
  before(async () => {
    browser = await openBrowser();
  });
  after(async () => browser?.close());

  async function signInUi(key: string): Promise<void> {
    const page = browser!.page;
    await page.goto(`${stack.url}/admin/#/wallets`);
    await page.getByTestId('api-key-input').fill(key);
    await page.getByTestId('sign-in-button').click();
    await page.getByTestId('principal').waitFor();
    await page.getByTestId('nav-wallets').waitFor();
  }

  async function signOutUi(): Promise<void> {
    await browser!.page.getByTestId('sign-out-button').click();
    await browser!.page.getByTestId('api-key-input').waitFor();
  }

  test('the host operator sees Tenants, creates one and is shown its owner key once', async () => {
    const page = browser!.page;
    await signInUi(keys.owner);
    await page.getByTestId('nav-tenants').click();
    await page.getByTestId('tenants-table').waitFor();
    await page.locator('[data-testid="tenant-row"][data-tenant-name="acme"]').waitFor();

    await page.getByTestId('tenant-name').fill('umbrella');
    await page.getByTestId('tenant-owner-key-name').fill('umbrella owner');
    await page.getByTestId('tenant-create').click();
    const value = (await page.getByTestId('new-tenant-key-value').innerText()).trim();
    assert.match(value, KEY_RE);
    const row = page.locator('[data-testid="tenant-row"][data-tenant-name="umbrella"]');
    await row.waitFor();
    assert.equal((await row.getByTestId('tenant-keys').innerText()).trim(), '1');
    assert.equal((await row.getByTestId('tenant-wallets').innerText()).trim(), '0');
    await page.screenshot({ path: `${ARTIFACTS}admin-tenants.png`, fullPage: true });

    const session = await rest<{ principal: { role: string; name: string; tenant_id: string } }>(value, 'GET', '/api/session');
    assert.equal(session.status, 200);
    assert.deepEqual([session.json.principal.role, session.json.principal.name], ['owner', 'umbrella owner']);
    const umbrella = await stack.server.ctx.db.selectFrom('tenants').select('id').where('name', '=', 'umbrella').executeTakeFirstOrThrow();
    assert.equal(session.json.principal.tenant_id, umbrella.id);

    await page.getByTestId('new-tenant-key-done').click();
    assert.equal(await page.getByTestId('new-tenant-key').count(), 0, 'the key is gone once dismissed');
    assert.ok(!(await page.content()).includes(value));

    // A refused create shows the error with its field.
    await page.getByTestId('tenant-name').fill('umbrella');
    await page.getByTestId('tenant-create').click();
    await page.getByTestId('error-box').filter({ hasText: /TENANT_EXISTS.*already exists/ }).waitFor();
    await page.getByTestId('tenant-name').fill('bad name');
    await page.getByTestId('tenant-create').click();
    await page.getByTestId('error-box').filter({ hasText: /name: must be 1-64/ }).waitFor();
    await signOutUi();
  });

  for (const [who, key] of [['a viewer', () => keys.viewer], ['another tenant\'s owner', () => acmeKey]] as const) {
    test(`${who} has no Tenants page`, async () => {
      const page = browser!.page;
      await signInUi(key());
      assert.equal(await page.getByTestId('nav-tenants').count(), 0, 'no Tenants in the nav');
      await page.goto(`${stack.url}/admin/#/tenants`);
      await page.getByTestId('wallets-table').waitFor();
      assert.equal(await page.getByTestId('tenants-table').count(), 0, '#/tenants falls back to a view the key may open');
      await signOutUi();
    });
  }

  test('no page errors', () => {
    assert.deepEqual(browser!.pageErrors, []);
  });
});
