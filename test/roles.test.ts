/**
 * Roles and key scopes end to end, against a real server and Postgres: the role matrix (each
 * role against each REST route group and a representative set of MCP tools, read-only and
 * destructive, over both MCP transports), tool / wallet / IP scopes, expiry and revocation, the
 * key-management rank rules, the `tenants` and `keys` CLI commands run as real processes, and
 * the admin UI in headless Chromium for a viewer and an owner.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Role } from '../core/db/types.ts';
import { createApiKey, type CreateApiKeyInput } from '../core/auth/keys.ts';
import { callError, callOk, connectMcp, freshAddress, startStack, TEST_FERNET_KEY, type Stack } from './harness.ts';
import { adminPrincipal, fundedWallet } from './strategy-harness.ts';
import { runCli } from './custody-harness.ts';
import { ARTIFACTS, openBrowser, type BrowserSession } from './browser.ts';

const ALL: Role[] = ['owner', 'admin', 'operator', 'viewer', 'agent'];
const READERS: Role[] = ['owner', 'admin', 'operator', 'viewer'];
const WRITERS: Role[] = ['owner', 'admin', 'operator'];
const MANAGERS: Role[] = ['owner', 'admin'];
const MCP_WRITERS: Role[] = ['owner', 'admin', 'operator', 'agent'];

let stack: Stack;
let tenantId: string;
const keys = {} as Record<Role, string>;
let walletA = '';
let walletB = '';
let strategyA = '';
let txHashB = '';

/** Creates a key in the default tenant from the CLI's seat (no creator) and returns the plaintext. */
async function makeKey(role: Role, extra: Partial<CreateApiKeyInput> = {}): Promise<{ key: string; id: string; prefix: string }> {
  const created = await createApiKey(stack.server.ctx.db, null, { tenantId, name: `${role} key`, role, ...extra });
  return { key: created.apiKey, id: created.key.id, prefix: created.key.key_id };
}

interface Reply<T> {
  status: number;
  json: T;
  headers: Headers;
}

/** A REST call with a bearer key or a cookie. */
async function rest<T = Record<string, unknown>>(auth: { key?: string; cookie?: string }, method: string, path: string, body?: unknown): Promise<Reply<T>> {
  const headers: Record<string, string> = {};
  if (auth.key) headers.authorization = `Bearer ${auth.key}`;
  if (auth.cookie) headers.cookie = auth.cookie;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${stack.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : null) as T, headers: res.headers };
}

type ErrorBody = { error: { code: string; message: string; details: Record<string, unknown> | null } };

/** Signs in over REST and returns the session cookie. */
async function signIn(key: string): Promise<string> {
  const res = await fetch(`${stack.url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api_key: key }) });
  assert.equal(res.status, 200, await res.clone().text());
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<{ ok: boolean; code?: string; rule?: unknown; result: CallToolResult }> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const meta = result._meta?.['vaultpilot/error'] as { code: string; details: { rule?: unknown } | null } | undefined;
  return { ok: !result.isError, code: meta?.code, rule: meta?.details?.rule, result };
}

before(async () => {
  stack = await startStack({ worker: false });
  const db = stack.server.ctx.db;
  tenantId = (await db.selectFrom('tenants').select('id').where('name', '=', 'default').executeTakeFirstOrThrow()).id;
  for (const role of ALL) keys[role] = (await makeKey(role)).key;

  const principal = await adminPrincipal(stack);
  walletA = (await fundedWallet(stack, principal, 'rm-a', '5')).id;
  walletB = (await fundedWallet(stack, principal, 'rm-b', '5')).id;
  const owner = await connectMcp(stack.url, stack.adminKey, 'streamable');
  const sent = await callOk<{ transaction: { tx_hash: string } }>(owner, 'execute_transfer', { agent_id: 'rm-b', to_address: freshAddress(), amount_eth: '0.001' });
  txHashB = sent.transaction.tx_hash;
  const dca = { to_address: freshAddress(), amount_eth: '0.001', interval_seconds: 3600, start: false };
  strategyA = (await callOk<{ strategy: { id: string } }>(owner, 'create_strategy_dca', { label: 'rm-a-dca', agent_id: 'rm-a', ...dca })).strategy.id;
  await callOk(owner, 'create_strategy_dca', { label: 'rm-b-dca', agent_id: 'rm-b', ...dca });
  await owner.close();
});

after(async () => stack?.close());

describe('role matrix: REST', () => {
  const none = randomUUID();
  const routes: Array<{ method: string; path: () => string; body?: unknown; allow: Role[] | 'all'; ok: number }> = [
    { method: 'GET', path: () => '/api/session', allow: 'all', ok: 200 },
    { method: 'GET', path: () => '/api/openapi.json', allow: 'all', ok: 200 },
    { method: 'GET', path: () => '/api/wallets', allow: READERS, ok: 200 },
    { method: 'GET', path: () => `/api/wallets/${walletA}`, allow: READERS, ok: 200 },
    { method: 'POST', path: () => '/api/wallets/import', body: {}, allow: WRITERS, ok: 400 },
    // Key export is off by default (ALLOW_KEY_EXPORT): 403 KEY_EXPORT_DISABLED (test/key-export.test.ts has it on).
    { method: 'POST', path: () => `/api/wallets/${walletA}/keystore`, body: { passphrase: 'short' }, allow: WRITERS, ok: 403 },
    { method: 'GET', path: () => '/api/transactions', allow: READERS, ok: 200 },
    { method: 'GET', path: () => '/api/strategies', allow: READERS, ok: 200 },
    { method: 'GET', path: () => `/api/strategies/${strategyA}`, allow: READERS, ok: 200 },
    { method: 'GET', path: () => `/api/strategies/${strategyA}/runs`, allow: READERS, ok: 200 },
    { method: 'POST', path: () => '/api/strategies', body: {}, allow: WRITERS, ok: 400 },
    { method: 'PATCH', path: () => `/api/strategies/${none}`, body: { params: {} }, allow: WRITERS, ok: 404 },
    { method: 'POST', path: () => `/api/strategies/${none}/stop`, allow: WRITERS, ok: 404 },
    { method: 'POST', path: () => `/api/strategies/${none}/start`, allow: WRITERS, ok: 404 },
    { method: 'DELETE', path: () => `/api/strategies/${none}`, allow: WRITERS, ok: 404 },
    { method: 'GET', path: () => '/api/events', allow: READERS, ok: 200 },
    { method: 'GET', path: () => '/api/approvals', allow: READERS, ok: 200 },
    { method: 'POST', path: () => `/api/approvals/${none}/approve`, allow: WRITERS, ok: 404 },
    { method: 'POST', path: () => `/api/approvals/${none}/reject`, allow: WRITERS, ok: 404 },
    { method: 'GET', path: () => '/api/keys', allow: MANAGERS, ok: 200 },
    { method: 'POST', path: () => '/api/keys', body: { name: 'matrix', role: 'viewer' }, allow: MANAGERS, ok: 201 },
    { method: 'POST', path: () => `/api/keys/${none}/revoke`, allow: MANAGERS, ok: 404 },
    // The host operator's: owner keys of the default tenant only (test/tenants.test.ts has the rest).
    { method: 'GET', path: () => '/api/tenants', allow: ['owner'], ok: 200 },
  ];

  for (const role of ALL) {
    test(`${role}: every route group answers as the matrix says`, async () => {
      const got: string[] = [];
      const want: string[] = [];
      for (const r of routes) {
        const allowed = r.allow === 'all' || r.allow.includes(role);
        const res = await rest<ErrorBody>({ key: keys[role] }, r.method, r.path(), r.body);
        got.push(`${r.method} ${r.path()} ${res.status}`);
        want.push(`${r.method} ${r.path()} ${allowed ? r.ok : 403}`);
        if (!allowed) {
          assert.equal(res.json.error.code, 'FORBIDDEN');
          assert.equal(res.json.error.details?.rule, 'role');
        }
      }
      assert.deepEqual(got, want);
    });
  }

  test('refusals are audited with the rule; a session cookie gets the same answers as its key', async () => {
    const rows = await stack.server.ctx.db.selectFrom('audit_events').selectAll().where('error_code', '=', 'FORBIDDEN').where('rule', '=', 'role').execute();
    assert.ok(rows.some((r) => r.kind === 'api_write' && r.action.startsWith('POST /api/strategies') && r.decision === 'deny'));
    assert.ok(rows.some((r) => r.kind === 'auth' && r.action === 'GET /api/wallets'));
    const cookie = await signIn(keys.viewer);
    assert.equal((await rest({ cookie }, 'GET', '/api/wallets')).status, 200);
    assert.equal((await rest({ cookie }, 'POST', `/api/strategies/${strategyA}/start`)).status, 403);
    assert.equal((await rest({ cookie }, 'GET', '/api/keys')).status, 403);
  });

  test('GET /api/session reports the role, scopes and permissions', async () => {
    const scoped = await makeKey('agent', { allowedTools: ['query_balance'], allowedWallets: ['rm-a'], allowedIps: ['127.0.0.0/8'] });
    const res = await rest<{ principal: { role: string; scopes: unknown; permissions: string[] } }>({ key: scoped.key }, 'GET', '/api/session');
    assert.equal(res.status, 200);
    assert.equal(res.json.principal.role, 'agent');
    assert.deepEqual(res.json.principal.scopes, { tools: ['query_balance'], wallets: ['rm-a'], ips: ['127.0.0.0/8'] });
    assert.deepEqual(res.json.principal.permissions, ['mcp.read', 'mcp.write']);
    const owner = await rest<{ principal: { permissions: string[]; scopes: unknown } }>({ key: keys.owner }, 'GET', '/api/session');
    assert.ok(owner.json.principal.permissions.includes('keys.manage'));
    assert.ok(owner.json.principal.permissions.includes('tenants.manage'), 'an owner of the default tenant is the host operator');
    const admin = await rest<{ principal: { permissions: string[] } }>({ key: keys.admin }, 'GET', '/api/session');
    assert.ok(!admin.json.principal.permissions.includes('tenants.manage'));
    assert.deepEqual(owner.json.principal.scopes, { tools: null, wallets: null, ips: null });
  });
});

describe('role matrix: MCP tools', () => {
  const to = freshAddress();
  const tools: Array<{ name: string; args: Record<string, unknown>; readOnly: boolean }> = [
    { name: 'list_wallets', args: {}, readOnly: true },
    { name: 'query_balance', args: { agent_id: 'rm-a' }, readOnly: true },
    { name: 'provider_status', args: {}, readOnly: true },
    { name: 'simulate_transfer', args: { agent_id: 'rm-a', to_address: to, amount_eth: '0.001' }, readOnly: true },
    { name: 'list_strategies', args: {}, readOnly: true },
    { name: 'strategy_status', args: { label: 'rm-a-dca' }, readOnly: true },
    { name: 'spin_up_wallet', args: { agent_id: 'rm-a' }, readOnly: false },
    { name: 'sign_message', args: { agent_id: 'rm-a', message: 'hello' }, readOnly: false },
    { name: 'execute_transfer', args: { agent_id: 'rm-a', to_address: to, amount_eth: '0.001', dry_run: true }, readOnly: false },
    { name: 'stop_strategy', args: { label: 'rm-a-dca' }, readOnly: false },
  ];

  for (const transport of ['streamable', 'sse'] as const) {
    for (const role of ALL) {
      test(`${role} over ${transport}`, async () => {
        const client = await connectMcp(stack.url, keys[role], transport);
        try {
          const got: string[] = [];
          const want: string[] = [];
          for (const t of tools) {
            const allowed = t.readOnly || MCP_WRITERS.includes(role);
            const r = await call(client, t.name, t.args);
            got.push(`${t.name} ${r.ok ? 'ok' : `${r.code}/${String(r.rule)}`}`);
            want.push(`${t.name} ${allowed ? 'ok' : 'FORBIDDEN/role'}`);
          }
          assert.deepEqual(got, want);
        } finally {
          await client.close();
        }
      });
    }
  }

  test('a refused tool call is audited (tool_call, refused, FORBIDDEN, rule role)', async () => {
    const rows = await stack.server.ctx.db.selectFrom('audit_events').selectAll().where('kind', '=', 'tool_call').where('action', '=', 'execute_transfer').where('error_code', '=', 'FORBIDDEN').execute();
    assert.ok(rows.length >= 2, 'one per transport');
    assert.ok(rows.every((r) => r.status === 'refused' && r.rule === 'role' && r.decision === 'deny' && r.agent_id === 'rm-a'));
  });
});

describe('scopes', () => {
  test('tool scope: only the listed tools, refused with rule scope.tools', async () => {
    const k = await makeKey('agent', { allowedTools: ['query_balance', 'list_wallets'] });
    for (const transport of ['streamable', 'sse'] as const) {
      const client = await connectMcp(stack.url, k.key, transport);
      try {
        await callOk(client, 'query_balance', { agent_id: 'rm-a' });
        await callOk(client, 'list_wallets');
        const r = await call(client, 'provider_status', {});
        assert.deepEqual([r.ok, r.code, r.rule], [false, 'FORBIDDEN', 'scope.tools']);
        const e = await callError(client, 'execute_transfer', { agent_id: 'rm-a', to_address: freshAddress(), amount_eth: '0.001' });
        assert.equal(e.code, 'FORBIDDEN');
        assert.match(e.message, /query_balance, list_wallets/);
      } finally {
        await client.close();
      }
    }
    const audited = await stack.server.ctx.db.selectFrom('audit_events').select(['status', 'rule']).where('principal', '=', k.prefix).where('action', '=', 'provider_status').execute();
    assert.deepEqual(audited, [{ status: 'refused', rule: 'scope.tools' }, { status: 'refused', rule: 'scope.tools' }]);
  });

  test('wallet scope over MCP: tools with agent_id, strategies by label, reads by hash, listings', async () => {
    const k = await makeKey('agent', { allowedWallets: ['rm-a'] });
    for (const transport of ['streamable', 'sse'] as const) {
      const client = await connectMcp(stack.url, k.key, transport);
      try {
        await callOk(client, 'query_balance', { agent_id: 'rm-a' });
        const denied: Array<[string, Record<string, unknown>]> = [
          ['query_balance', { agent_id: 'rm-b' }],
          ['execute_transfer', { agent_id: 'rm-b', to_address: freshAddress(), amount_eth: '0.001' }],
          ['spin_up_wallet', { agent_id: 'rm-new' }],
          ['sign_message', { agent_id: 'rm-b', message: 'x' }],
          ['strategy_status', { label: 'rm-b-dca' }],
          ['stop_strategy', { label: 'rm-b-dca' }],
          ['list_strategies', { agent_id: 'rm-b' }],
        ];
        for (const [name, args] of denied) {
          const r = await call(client, name, args);
          assert.deepEqual([name, r.ok, r.code, r.rule], [name, false, 'FORBIDDEN', 'scope.wallets']);
        }
        // A transaction found only by its hash is out of scope like another tenant's: not found.
        const byHash = await call(client, 'get_transaction', { tx_hash: txHashB });
        assert.deepEqual([byHash.ok, byHash.code], [false, 'TRANSACTION_NOT_FOUND']);
        // A transfer to another wallet's address is fine: only the source wallet counts.
        const bAddress = (await stack.server.ctx.db.selectFrom('wallets').select('address').where('id', '=', walletB).executeTakeFirstOrThrow()).address;
        await callOk(client, 'simulate_transfer', { agent_id: 'rm-a', to_address: bAddress, amount_eth: '0.001' });
        const listed = await callOk<{ wallets: Array<{ agent_id: string }> }>(client, 'list_wallets');
        assert.deepEqual(listed.wallets.map((w) => w.agent_id), ['rm-a']);
        const strategies = await callOk<{ strategies: Array<{ label: string }> }>(client, 'list_strategies');
        assert.deepEqual(strategies.strategies.map((s) => s.label), ['rm-a-dca']);
      } finally {
        await client.close();
      }
    }
    assert.equal(await stack.server.ctx.db.selectFrom('wallets').select('id').where('agent_id', '=', 'rm-new').executeTakeFirst(), undefined, 'no wallet was created');
  });

  test('wallet scope over REST: lists hold only its wallets; another wallet by id is 403', async () => {
    const k = await makeKey('operator', { allowedWallets: ['rm-a'] });
    const auth = { key: k.key };
    const wallets = await rest<{ wallets: Array<{ agent_id: string }> }>(auth, 'GET', '/api/wallets');
    assert.deepEqual(wallets.json.wallets.map((w) => w.agent_id), ['rm-a']);
    assert.equal((await rest(auth, 'GET', `/api/wallets/${walletA}`)).status, 200);
    const other = await rest<ErrorBody>(auth, 'GET', `/api/wallets/${walletB}`);
    assert.deepEqual([other.status, other.json.error.code, other.json.error.details?.rule], [403, 'FORBIDDEN', 'scope.wallets']);
    assert.equal((await rest(auth, 'POST', `/api/wallets/${walletB}/keystore`, { passphrase: 'long enough passphrase' })).status, 403);
    assert.equal((await rest(auth, 'POST', '/api/wallets/import', { agent_id: 'rm-z', kind: 'private_key', private_key: `0x${'11'.repeat(32)}` })).status, 403);

    const txs = await rest<{ transactions: Array<{ agent_id: string }> }>(auth, 'GET', '/api/transactions');
    assert.equal(txs.status, 200);
    assert.ok(txs.json.transactions.every((t) => t.agent_id === 'rm-a'), 'no transaction of rm-b');
    const allTxs = await rest<{ transactions: Array<{ agent_id: string }> }>({ key: keys.owner }, 'GET', '/api/transactions');
    assert.ok(allTxs.json.transactions.some((t) => t.agent_id === 'rm-b'), 'an unscoped key sees rm-b\'s transaction');
    assert.equal((await rest(auth, 'GET', `/api/transactions?wallet_id=${walletB}`)).status, 403);

    const strategies = await rest<{ strategies: Array<{ label: string; id: string }> }>(auth, 'GET', '/api/strategies');
    assert.deepEqual(strategies.json.strategies.map((s) => s.label), ['rm-a-dca']);
    const allStrategies = await rest<{ strategies: Array<{ label: string; id: string }> }>({ key: keys.owner }, 'GET', '/api/strategies');
    const strategyB = allStrategies.json.strategies.find((s) => s.label === 'rm-b-dca')!.id;
    assert.equal((await rest(auth, 'GET', `/api/strategies/${strategyB}`)).status, 403);
    assert.equal((await rest(auth, 'POST', `/api/strategies/${strategyB}/start`)).status, 403);
    assert.equal((await rest(auth, 'POST', '/api/strategies', { kind: 'dca', label: 'rm-b-2', agent_id: 'rm-b', params: { to_address: freshAddress(), amount_eth: '0.001', interval_seconds: 3600 } })).status, 403);
  });

  test('IP scope: a key limited to 10.0.0.0/8 is refused from 127.0.0.1 (403 scope.ips, audited); 127.0.0.0/8 works', async () => {
    const outside = await makeKey('operator', { allowedIps: ['10.0.0.0/8'] });
    const inside = await makeKey('operator', { allowedIps: ['127.0.0.0/8', '::1'] });
    const mapped = await makeKey('agent', { allowedIps: ['::ffff:127.0.0.0/104'] });

    const res = await rest<ErrorBody>({ key: outside.key }, 'GET', '/api/wallets');
    assert.deepEqual([res.status, res.json.error.code, res.json.error.details?.rule], [403, 'FORBIDDEN', 'scope.ips']);
    const signin = await fetch(`${stack.url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api_key: outside.key }) });
    assert.equal(signin.status, 403);
    assert.equal(signin.headers.get('set-cookie'), null, 'no session from outside the scope');
    const mcp = await fetch(`${stack.url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${outside.key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
    });
    assert.equal(mcp.status, 403);
    const sse = await fetch(`${stack.url}/sse`, { headers: { authorization: `Bearer ${outside.key}`, accept: 'text/event-stream' } });
    assert.equal(sse.status, 403);
    await assert.rejects(connectMcp(stack.url, outside.key, 'streamable'));

    const audited = await stack.server.ctx.db.selectFrom('audit_events').selectAll().where('principal', '=', outside.prefix).execute();
    assert.ok(audited.length >= 4, `${audited.length} refusals recorded`);
    assert.ok(audited.every((r) => r.kind === 'auth' && r.status === 'refused' && r.error_code === 'FORBIDDEN' && r.rule === 'scope.ips' && r.tenant_id === tenantId && r.ip === '127.0.0.1'));

    assert.equal((await rest({ key: inside.key }, 'GET', '/api/wallets')).status, 200);
    for (const transport of ['streamable', 'sse'] as const) {
      for (const k of [inside.key, mapped.key]) {
        const client = await connectMcp(stack.url, k, transport);
        await callOk(client, 'provider_status');
        await client.close();
      }
    }
  });
});

describe('expiry and revocation', () => {
  test('an expired key is refused everywhere (401)', async () => {
    const k = await makeKey('operator', { expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    assert.equal((await rest({ key: k.key }, 'GET', '/api/wallets')).status, 200);
    const cookie = await signIn(k.key);
    await sql`update api_keys set expires_at = now() - interval '1 second' where id = ${k.id}`.execute(stack.server.ctx.db);
    assert.equal((await rest({ key: k.key }, 'GET', '/api/wallets')).status, 401);
    assert.equal((await rest({ cookie }, 'GET', '/api/wallets')).status, 401);
    await assert.rejects(connectMcp(stack.url, k.key, 'streamable'));
    const listed = await rest<{ keys: Array<{ id: string; status: string }> }>({ key: keys.owner }, 'GET', '/api/keys');
    assert.equal(listed.json.keys.find((x) => x.id === k.id)?.status, 'expired');
  });

  test('a revoked key stops working at once: REST, its session, and an open SSE session', async () => {
    const k = await makeKey('agent');
    const operatorKey = await makeKey('operator');
    const cookie = await signIn(operatorKey.key);
    const client = await connectMcp(stack.url, k.key, 'sse');
    await callOk(client, 'provider_status');

    const revoked = await rest<{ key: { status: string; revoked_at: string } }>({ key: keys.owner }, 'POST', `/api/keys/${k.prefix}/revoke`);
    assert.equal(revoked.status, 200);
    assert.equal(revoked.json.key.status, 'revoked');
    const again = await rest<{ key: { revoked_at: string } }>({ key: keys.owner }, 'DELETE', `/api/keys/${k.id}`);
    assert.equal(again.status, 200);
    assert.equal(again.json.key.revoked_at, revoked.json.key.revoked_at, 'revoking twice changes nothing');
    await assert.rejects(client.callTool({ name: 'provider_status', arguments: {} }));
    await client.close().catch(() => undefined);
    assert.equal((await rest({ key: k.key }, 'GET', '/api/session')).status, 401);

    assert.equal((await rest({ cookie }, 'GET', '/api/wallets')).status, 200);
    assert.equal((await rest({ key: keys.owner }, 'DELETE', `/api/keys/${operatorKey.id}`)).status, 200);
    assert.equal((await rest({ cookie }, 'GET', '/api/wallets')).status, 401, 'the session ended with its key');
  });
});

describe('key management over REST', () => {
  test('the key is returned once, the audit row has it redacted, the list never shows a hash', async () => {
    const created = await rest<{ key: { id: string; key_id: string; role: string; created_by: string }; api_key: string }>({ key: keys.owner }, 'POST', '/api/keys', {
      name: 'payouts bot',
      role: 'agent',
      allowed_tools: ['execute_transfer', 'query_balance'],
      allowed_wallets: ['rm-a'],
      allowed_ips: ['127.0.0.0/8'],
      expires_at: new Date(Date.now() + 86_400_000).toISOString(),
    });
    assert.equal(created.status, 201);
    assert.match(created.json.api_key, /^vp_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/);
    assert.ok(created.json.api_key.startsWith(`${created.json.key.key_id}_`));
    const ownerPrefix = (await rest<{ principal: { key_id: string } }>({ key: keys.owner }, 'GET', '/api/session')).json.principal.key_id;
    assert.equal(created.json.key.created_by, ownerPrefix);

    const client = await connectMcp(stack.url, created.json.api_key, 'streamable');
    await callOk(client, 'query_balance', { agent_id: 'rm-a' });
    await client.close();

    const db = stack.server.ctx.db;
    const row = await db.selectFrom('audit_events').selectAll().where('action', '=', 'POST /api/keys').where('status', '=', 'ok').orderBy('id', 'desc').executeTakeFirstOrThrow();
    const text = JSON.stringify(row);
    assert.ok(!text.includes(created.json.api_key), 'the key is not in the audit log');
    assert.equal((row.response as { api_key: string }).api_key, '[redacted]');
    const stored = await db.selectFrom('api_keys').selectAll().where('id', '=', created.json.key.id).executeTakeFirstOrThrow();
    assert.notEqual(stored.key_hash, created.json.api_key);
    assert.equal(stored.created_by_key_id, (await db.selectFrom('api_keys').select('id').where('key_prefix', '=', ownerPrefix).executeTakeFirstOrThrow()).id);

    const listed = await rest<{ keys: Array<Record<string, unknown>> }>({ key: keys.owner }, 'GET', '/api/keys');
    const listedText = JSON.stringify(listed.json);
    assert.ok(!listedText.includes(stored.key_hash) && !listedText.includes('key_hash') && !listedText.includes(created.json.api_key));
    const mine = listed.json.keys.find((k) => k.id === created.json.key.id)!;
    assert.deepEqual([mine.allowed_tools, mine.allowed_wallets, mine.allowed_ips, mine.status], [['execute_transfer', 'query_balance'], ['rm-a'], ['127.0.0.0/8'], 'active']);
  });

  test('invalid fields are 400s naming the field; nothing is stored', async () => {
    const before = (await stack.server.ctx.db.selectFrom('api_keys').select('id').execute()).length;
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ role: 'agent' }, /^name: is required/],
      [{ name: '  ', role: 'agent' }, /^name: must not be empty/],
      [{ name: 'x', role: 'superuser' }, /^role: must be one of/],
      [{ name: 'x', role: 'agent', allowed_ips: ['10.0.0.0/40'] }, /^allowed_ips\[0\]: /],
      [{ name: 'x', role: 'agent', allowed_tools: ['Execute-Transfer'] }, /^allowed_tools\[0\]: must be a snake_case/],
      [{ name: 'x', role: 'agent', expires_at: '2001-01-01T00:00:00Z' }, /^expires_at: must be in the future/],
      [{ name: 'x', role: 'agent', scopes: {} }, /^scopes: is not a field/],
    ];
    for (const [body, message] of cases) {
      const res = await rest<ErrorBody>({ key: keys.owner }, 'POST', '/api/keys', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.json.error.code, 'INVALID_INPUT');
      assert.match(res.json.error.message, message);
    }
    assert.equal((await stack.server.ctx.db.selectFrom('api_keys').select('id').execute()).length, before);
  });

  test('rank rules: an admin cannot create or revoke owner keys; nobody creates above their role', async () => {
    const admin = { key: keys.admin };
    const owner = await rest<ErrorBody>(admin, 'POST', '/api/keys', { name: 'escalate', role: 'owner' });
    assert.deepEqual([owner.status, owner.json.error.code, owner.json.error.details?.rule], [403, 'FORBIDDEN', 'role']);
    const peer = await rest<{ key: { role: string; id: string } }>(admin, 'POST', '/api/keys', { name: 'another admin', role: 'admin' });
    assert.equal(peer.status, 201);
    const ownerKeyId = (await stack.server.ctx.db.selectFrom('api_keys').select('id').where('role', '=', 'owner').where('revoked_at', 'is', null).executeTakeFirstOrThrow()).id;
    const revokeOwner = await rest<ErrorBody>(admin, 'POST', `/api/keys/${ownerKeyId}/revoke`);
    assert.deepEqual([revokeOwner.status, revokeOwner.json.error.details?.rule], [403, 'role']);
    assert.equal((await rest(admin, 'POST', `/api/keys/${peer.json.key.id}/revoke`)).status, 200, 'an admin may revoke an admin key');
    assert.equal((await rest({ key: keys.owner }, 'POST', '/api/keys', { name: 'second owner', role: 'owner' })).status, 201, 'an owner may create an owner key');
    const refused = await stack.server.ctx.db.selectFrom('audit_events').select(['status', 'error_code']).where('action', '=', 'POST /api/keys').where('principal', '=', (await rest<{ principal: { key_id: string } }>(admin, 'GET', '/api/session')).json.principal.key_id).execute();
    assert.ok(refused.some((r) => r.status === 'refused' && r.error_code === 'FORBIDDEN'), 'the refusal is audited');
  });

  test('a scoped creator passes its scopes on and cannot widen them', async () => {
    const scopedAdmin = await makeKey('admin', { allowedWallets: ['rm-a'], allowedIps: ['127.0.0.0/8'] });
    const inherited = await rest<{ key: { allowed_wallets: string[]; allowed_ips: string[] } }>({ key: scopedAdmin.key }, 'POST', '/api/keys', { name: 'child', role: 'agent' });
    assert.equal(inherited.status, 201);
    assert.deepEqual([inherited.json.key.allowed_wallets, inherited.json.key.allowed_ips], [['rm-a'], ['127.0.0.0/8']]);
    const narrower = await rest<{ key: { allowed_ips: string[] } }>({ key: scopedAdmin.key }, 'POST', '/api/keys', { name: 'child2', role: 'agent', allowed_ips: ['127.0.0.1'] });
    assert.equal(narrower.status, 201);
    const wider = await rest<ErrorBody>({ key: scopedAdmin.key }, 'POST', '/api/keys', { name: 'child3', role: 'agent', allowed_wallets: ['rm-a', 'rm-b'] });
    assert.deepEqual([wider.status, wider.json.error.details?.rule], [403, 'scope.wallets']);
    const widerIps = await rest<ErrorBody>({ key: scopedAdmin.key }, 'POST', '/api/keys', { name: 'child4', role: 'agent', allowed_ips: ['0.0.0.0/0'] });
    assert.deepEqual([widerIps.status, widerIps.json.error.details?.rule], [403, 'scope.ips']);
  });
});

describe('CLI: tenants and keys', () => {
  const env = () => ({ DATABASE_URL: stack.databaseUrl, FERNET_KEY: TEST_FERNET_KEY });

  test('tenants create / list; a taken name is TENANT_EXISTS; a bad name is a usage error', async () => {
    const created = await runCli(['tenants', 'create', 'acme'], env());
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /created tenant "acme"/);
    assert.match(created.stdout, /keys create --tenant acme/);
    const dup = await runCli(['tenants', 'create', 'acme'], env());
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /TENANT_EXISTS/);
    const bad = await runCli(['tenants', 'create', 'no spaces'], env());
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /NAME must be 1-64/);
    const list = await runCli(['tenants', 'list', '--json'], env());
    assert.equal(list.code, 0, list.stderr);
    const tenants = JSON.parse(list.stdout) as Array<{ name: string; keys: number; wallets: number }>;
    assert.deepEqual(tenants.map((t) => t.name), ['acme', 'default']);
    assert.equal(tenants.find((t) => t.name === 'acme')!.keys, 0);
    assert.equal(tenants.find((t) => t.name === 'default')!.wallets, 2);
    const text = await runCli(['tenants', 'list'], env());
    assert.match(text.stdout, /^NAME\s+ID\s+KEYS\s+WALLETS/);
  });

  test('keys create prints the key once; it works against the server; list shows it; revoke ends it', async () => {
    const created = await runCli(['keys', 'create', '--tenant', 'acme', '--name', 'acme owner', '--role', 'owner', '--ips', '127.0.0.0/8,::1', '--wallets', 'acme-1'], env());
    assert.equal(created.code, 0, created.stderr);
    const key = /^(vp_[0-9a-f]{8}_[A-Za-z0-9_-]{43})$/m.exec(created.stdout)?.[1];
    assert.ok(key, created.stdout);
    assert.match(created.stdout, /not shown again/);
    assert.match(created.stdout, /ips:\s+127\.0\.0\.0\/8,::1/);
    const prefix = key.slice(0, 11);

    const session = await rest<{ principal: { role: string; tenant_id: string; scopes: { wallets: string[] } } }>({ key }, 'GET', '/api/session');
    assert.equal(session.status, 200);
    assert.equal(session.json.principal.role, 'owner');
    assert.notEqual(session.json.principal.tenant_id, tenantId, 'a key of the new tenant');
    assert.deepEqual(session.json.principal.scopes.wallets, ['acme-1']);
    assert.deepEqual((await rest<{ wallets: unknown[] }>({ key }, 'GET', '/api/wallets')).json.wallets, [], 'another tenant\'s wallets are not visible');

    const list = await runCli(['keys', 'list', '--tenant', 'acme'], env());
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`${prefix}\\s+acme owner\\s+owner\\s+active`));
    assert.ok(!list.stdout.includes(key), 'list never prints a key');
    const json = JSON.parse((await runCli(['keys', 'list', '--tenant', 'acme', '--json'], env())).stdout) as Array<Record<string, unknown>>;
    assert.equal(json.length, 1);
    assert.ok(!('key_hash' in json[0]!));

    const revoked = await runCli(['keys', 'revoke', '--tenant', 'acme', prefix], env());
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, new RegExp(`revoked API key ${prefix}`));
    assert.equal((await rest({ key }, 'GET', '/api/session')).status, 401);

    const audit = await stack.server.ctx.db.selectFrom('audit_events').selectAll().where('kind', '=', 'cli').orderBy('id').execute();
    assert.deepEqual(
      audit.map((a) => `${a.action} ${a.status}`),
      ['tenants.create ok', 'tenants.create refused', 'keys.create ok', 'keys.revoke ok'],
    );
    assert.ok(!JSON.stringify(audit).includes(key), 'the key is not in the audit log');
  });

  test('usage errors name the option; unknown tenants and keys are refused', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['keys', 'create', '--tenant', 'acme', '--name', 'x', '--role', 'root'], 2, /--role: role: must be one of owner, admin, operator, viewer, agent/],
      [['keys', 'create', '--tenant', 'acme', '--name', 'x', '--role', 'agent', '--ips', '10.0.0.0/8,300.1.1.1'], 2, /--ips: allowed_ips\[1\]: must be an IPv4 or IPv6/],
      [['keys', 'create', '--tenant', 'acme', '--name', 'x', '--role', 'agent', '--expires', '2001-01-01T00:00:00Z'], 2, /--expires: expires_at: must be in the future/],
      [['keys', 'create', '--tenant', 'acme', '--role', 'agent'], 2, /--name is required/],
      [['keys', 'create', '--tenant', 'nope', '--name', 'x', '--role', 'agent'], 2, /--tenant: no tenant named "nope"/],
      [['keys', 'list'], 2, /--tenant is required/],
      [['keys', 'revoke', '--tenant', 'acme'], 2, /ID_OR_PREFIX is required/],
      [['keys', 'revoke', '--tenant', 'acme', 'vp_00000000'], 1, /KEY_NOT_FOUND/],
    ];
    for (const [args, code, message] of cases) {
      const run = await runCli(args, env());
      assert.equal(run.code, code, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message, args.join(' '));
    }
  });
});

describe('admin UI by role (headless Chromium)', () => {
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
  }

  test('a viewer sees data but no write buttons and no Keys page', async () => {
    const page = browser!.page;
    await signInUi(keys.viewer);
    await page.getByTestId('nav-wallets').waitFor();
    assert.equal(await page.getByTestId('nav-keys').count(), 0, 'no Keys in the nav');
    await page.goto(`${stack.url}/admin/#/strategies?id=${strategyA}`);
    await page.getByTestId('strategy-detail').waitFor();
    assert.equal((await page.getByTestId('detail-status').innerText()).trim(), 'stopped');
    assert.equal(await page.getByTestId('strategy-start').count(), 0, 'no Start for a viewer');
    assert.equal(await page.getByTestId('strategy-stop').count(), 0);
    await page.screenshot({ path: `${ARTIFACTS}admin-viewer-strategy.png`, fullPage: true });
    await page.goto(`${stack.url}/admin/#/keys`);
    await page.getByTestId('wallets-table').waitFor();
    assert.equal(await page.getByTestId('keys-table').count(), 0, '#/keys falls back to a view the role may open');
    await page.getByTestId('sign-out-button').click();
    await page.getByTestId('api-key-input').waitFor();
  });

  test('an owner creates a key (shown once), sees it listed, and revokes it', async () => {
    const page = browser!.page;
    await signInUi(keys.owner);
    await page.goto(`${stack.url}/admin/#/strategies?id=${strategyA}`);
    await page.getByTestId('strategy-start').waitFor();

    await page.getByTestId('nav-keys').click();
    await page.getByTestId('keys-table').waitFor();
    assert.deepEqual(await page.getByTestId('key-role').locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value)), ['owner', 'admin', 'operator', 'viewer', 'agent']);
    await page.getByTestId('key-name').fill('ui agent');
    await page.getByTestId('key-role').selectOption('agent');
    await page.getByTestId('key-wallets').fill('rm-a');
    await page.getByTestId('key-ips').fill('127.0.0.0/8');
    await page.getByTestId('key-create').click();
    const value = (await page.getByTestId('new-key-value').innerText()).trim();
    assert.match(value, /^vp_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/);
    const prefix = value.slice(0, 11);
    const row = page.locator(`[data-testid="key-row"][data-key-id="${prefix}"]`);
    await row.waitFor();
    assert.match(await row.innerText(), /ui agent/);
    assert.match(await row.getByTestId('key-scopes').innerText(), /rm-a/);
    await page.screenshot({ path: `${ARTIFACTS}admin-keys.png`, fullPage: true });

    // The key works, then the UI revokes it.
    assert.equal((await rest({ key: value }, 'GET', '/api/session')).status, 200);
    await page.getByTestId('new-key-done').click();
    assert.equal(await page.getByTestId('new-key').count(), 0, 'the key is gone from the page once dismissed');
    assert.ok(!(await page.content()).includes(value));
    await row.getByTestId('key-revoke').click();
    await row.getByTestId('key-revoke-confirm').click();
    await page.locator(`[data-testid="key-row"][data-key-id="${prefix}"][data-status="revoked"]`).waitFor();
    assert.equal((await rest({ key: value }, 'GET', '/api/session')).status, 401);

    // A refused create shows the field in the error.
    await page.getByTestId('key-name').fill('bad ips');
    await page.getByTestId('key-ips').fill('10.0.0.0/99');
    await page.getByTestId('key-create').click();
    assert.match(await page.getByTestId('error-box').innerText(), /allowed_ips\[0\]/);
  });

  test('no page errors', () => {
    assert.deepEqual(browser!.pageErrors, []);
  });
});
