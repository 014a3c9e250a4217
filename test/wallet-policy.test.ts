/**
 * Per-wallet policies end to end, against a real server with a real `vaultpilot.yml`:
 * `GET|PUT|DELETE /api/wallets/:id/policy` round trips; the effective policy is the file's
 * defaults merged with the wallet's overrides, each field with its source; a bad rule is a 400
 * naming `policy.<field>` and changes nothing; only owner and admin keys write (viewer, operator
 * and agent keys are refused with rule `role`), another tenant sees nothing and a wallet-scoped key
 * only its wallets; a write waits for the wallet lock a send holds; `get_policy` over MCP returns
 * the same view. Then enforcement through `execute_transfer` after a PUT: the per-transaction
 * maximum, a 24 h cap reached exactly then refused, the file's and the wallet's denylist, an
 * allowlist, allowed chains, and `simulate_transfer` reporting the decision. Last, a server
 * refuses to start on an invalid policy file, naming file:line:col.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { generateApiKey, type Principal } from '../core/auth/api-keys.ts';
import { createWallet } from '../core/wallets/service.ts';
import { createLogger } from '../core/logger.ts';
import { ConfigError } from '../core/errors.ts';
import type { Role } from '../core/db/types.ts';
import type { WalletPolicyView } from '../core/policy/service.ts';
import { startServer } from '../server/start.ts';
import { callError, callOk, connectMcp, freshAddress, startStack, testConfig, textOf, type Stack } from './harness.ts';
import { adminPrincipal, fundedWallet } from './strategy-harness.ts';

const FILE_DENIED = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';
const dir = mkdtempSync(path.join(tmpdir(), 'vp-wallet-policy-'));
const policyFile = path.join(dir, 'vaultpilot.yml');
writeFileSync(
  policyFile,
  [
    'version: 1',
    'rate_limits:',
    '  default: {max_calls: 10000, window_seconds: 60}',
    '  tools:',
    '    execute_transfer: {max_calls: 5000, window_seconds: 60}',
    '  agents:',
    '    pol-view: {max_calls: 9000, window_seconds: 3600}',
    'policy:',
    '  max_tx_eth: "2"',
    '  spend_cap_7d_eth: "100"',
    '  denied_destinations:',
    `    - {address: "${FILE_DENIED}", label: file-mixer}`,
    '',
  ].join('\n'),
);

let stack: Stack;
let admin: Principal;
let agentKey: string;
let agent: Client;

const db = () => stack.server.ctx.db;

interface Rest<T = Record<string, unknown>> {
  status: number;
  body: T & { error?: { code: string; message: string; details: Record<string, unknown> | null } };
}

async function rest<T = Record<string, unknown>>(key: string, method: string, urlPath: string, body?: unknown): Promise<Rest<T>> {
  const res = await fetch(`${stack.url}${urlPath}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Rest<T>['body'] };
}

type PolicyBody = { policy: WalletPolicyView };
const getPolicy = (walletId: string, key = stack.adminKey) => rest<PolicyBody>(key, 'GET', `/api/wallets/${walletId}/policy`);
const putPolicy = (walletId: string, body: unknown, key = stack.adminKey) => rest<PolicyBody>(key, 'PUT', `/api/wallets/${walletId}/policy`, body);
const deletePolicy = (walletId: string, key = stack.adminKey) => rest<PolicyBody>(key, 'DELETE', `/api/wallets/${walletId}/policy`);

/** Inserts a key of `role` (optionally in another tenant, optionally wallet-scoped) and returns the plaintext. */
async function makeKey(role: Role, opts: { tenantId?: string; wallets?: string[] } = {}): Promise<string> {
  const k = generateApiKey();
  await db()
    .insertInto('api_keys')
    .values({ tenant_id: opts.tenantId ?? admin.tenantId, name: `${role} key`, role, key_prefix: k.prefix, key_hash: k.hash, allowed_wallets: opts.wallets ?? null })
    .execute();
  return k.key;
}

const storedRow = (walletId: string) => db().selectFrom('wallet_policies').selectAll().where('wallet_id', '=', walletId).executeTakeFirst();

before(async () => {
  stack = await startStack({ env: { POLICY_FILE: policyFile, MAX_TX_ETH: '100' }, worker: false });
  admin = await adminPrincipal(stack);
  agentKey = await makeKey('agent');
  agent = await connectMcp(stack.url, agentKey, 'streamable');
});

after(async () => {
  await agent?.close().catch(() => undefined);
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('REST: GET, PUT, DELETE /api/wallets/:id/policy', () => {
  let walletId = '';
  const WALLET_DENIED = freshAddress();

  before(async () => {
    walletId = (await createWallet(stack.server.ctx, admin, 'pol-view')).wallet.id;
  });

  test('before any override: the file defaults, each rule with its source, the rate limits, no spend', async () => {
    const res = await getPolicy(walletId);
    assert.equal(res.status, 200);
    const v = res.body.policy;
    assert.equal(v.agent_id, 'pol-view');
    assert.equal(v.wallet_id, walletId);
    assert.deepEqual(v.effective, {
      max_tx_eth: '2',
      spend_cap_24h_eth: null,
      spend_cap_7d_eth: '100',
      allowed_destinations: null,
      denied_destinations: [{ address: FILE_DENIED, label: 'file-mixer' }],
      allowed_chains: null,
      approval_threshold_eth: null,
      quiet_hours: null,
    });
    assert.equal(v.wallet, null);
    assert.deepEqual(v.defaults, { max_tx_eth: '2', spend_cap_7d_eth: '100', denied_destinations: [{ address: FILE_DENIED, label: 'file-mixer' }] });
    assert.deepEqual(v.sources, {
      max_tx_eth: 'file',
      spend_cap_24h_eth: 'none',
      spend_cap_7d_eth: 'file',
      allowed_destinations: 'none',
      denied_destinations: 'file',
      allowed_chains: 'none',
      approval_threshold_eth: 'none',
      quiet_hours: 'none',
    });
    assert.deepEqual(v.rate_limits, {
      default: { max_calls: 10000, window_seconds: 60 },
      tools: { execute_transfer: { max_calls: 5000, window_seconds: 60 } },
      agent: { max_calls: 9000, window_seconds: 3600 },
    });
    assert.deepEqual(v.spent, { last_24h: { eth: '0', wei: '0' }, last_7d: { eth: '0', wei: '0' } });
    assert.deepEqual(v.remaining, { spend_cap_24h: null, spend_cap_7d: { eth: '100', wei: '100000000000000000000' } });
    assert.equal(v.policy_file, path.resolve(policyFile));
    assert.equal(v.updated_at, null);
    assert.equal(v.updated_by, null);
  });

  test('PUT replaces the overrides; effective = file merged with wallet; sources follow; GET returns the same; audited', async () => {
    const res = await putPolicy(walletId, {
      max_tx_eth: '0.50',
      spend_cap_24h_eth: 0.3,
      spend_cap_7d_eth: null,
      denied_destinations: [{ address: WALLET_DENIED.toLowerCase(), label: 'wallet-mixer' }],
      quiet_hours: { start: '23:00', end: '23:01', days: ['sun'], action: 'require_approval' },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const v = res.body.policy;
    // Normalized: trailing zeros dropped, a number read as its decimal, checksummed address, defaults filled in.
    assert.deepEqual(v.wallet, {
      max_tx_eth: '0.5',
      spend_cap_24h_eth: '0.3',
      spend_cap_7d_eth: null,
      denied_destinations: [{ address: WALLET_DENIED, label: 'wallet-mixer' }],
      quiet_hours: { start: '23:00', end: '23:01', timezone: 'UTC', days: ['sun'], action: 'require_approval' },
    });
    assert.deepEqual(v.effective, {
      max_tx_eth: '0.5',
      spend_cap_24h_eth: '0.3',
      spend_cap_7d_eth: null,
      allowed_destinations: null,
      // Denylists add up: the file's entry stays.
      denied_destinations: [
        { address: FILE_DENIED, label: 'file-mixer' },
        { address: WALLET_DENIED, label: 'wallet-mixer' },
      ],
      allowed_chains: null,
      approval_threshold_eth: null,
      quiet_hours: { start: '23:00', end: '23:01', timezone: 'UTC', days: ['sun'], action: 'require_approval' },
    });
    assert.deepEqual(v.sources, {
      max_tx_eth: 'wallet',
      spend_cap_24h_eth: 'wallet',
      spend_cap_7d_eth: 'wallet',
      allowed_destinations: 'none',
      denied_destinations: 'wallet',
      allowed_chains: 'none',
      approval_threshold_eth: 'none',
      quiet_hours: 'wallet',
    });
    assert.deepEqual(v.remaining, { spend_cap_24h: { eth: '0.3', wei: '300000000000000000' }, spend_cap_7d: null });
    assert.equal(v.updated_by, admin.keyPrefix);
    assert.ok(v.updated_at && Date.now() - Date.parse(v.updated_at) < 60_000);

    const again = await getPolicy(walletId);
    assert.deepEqual(again.body.policy, v);
    const row = await storedRow(walletId);
    assert.deepEqual(row?.policy, v.wallet);
    assert.equal(row?.tenant_id, admin.tenantId);

    const audit = await db().selectFrom('audit_events').selectAll().where('action', '=', 'PUT /api/wallets/:id/policy').where('status', '=', 'ok').execute();
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.wallet_id, walletId);
    assert.equal(audit[0]!.agent_id, 'pol-view');
    assert.equal(audit[0]!.kind, 'api_write');
  });

  test('a bad rule is a 400 naming policy.<field> with the rule, and nothing changes', async () => {
    const before = (await getPolicy(walletId)).body.policy;
    const cases: Array<[unknown, string, RegExp]> = [
      [{ max_tx_eth: 'lots' }, 'policy.max_tx_eth', /decimal ETH amount/],
      [{ max_tx_eth: true }, 'policy.max_tx_eth', /decimal ETH amount/],
      [{ spend_cap_24h_eth: '0.1234567890123456789' }, 'policy.spend_cap_24h_eth', /at most 18 decimals/],
      [{ allowed_destinations: [{ address: '0x123', label: 'short' }] }, 'policy.allowed_destinations.0.address', /20-byte hex address/],
      [{ denied_destinations: ['not-an-address'] }, 'policy.denied_destinations.0', /20-byte hex address/],
      [{ allowed_chains: [] }, 'policy.allowed_chains', /at least one chainId/],
      [{ allowed_chains: [1.5] }, 'policy.allowed_chains.0', /integer chainId/],
      [{ quiet_hours: { start: '25:00', end: '06:00' } }, 'policy.quiet_hours.start', /HH:MM/],
      [{ quiet_hours: { start: '22:00', end: '06:00', timezone: 'Mars/Olympus' } }, 'policy.quiet_hours.timezone', /IANA time zone/],
      [{ max_tx: '1' }, 'policy.max_tx', /not a policy rule.*max_tx_eth/],
      [[], 'policy', /JSON object of policy rules/],
      ['{not json', 'policy', /JSON object/],
    ];
    for (const [body, field, message] of cases) {
      const res = await putPolicy(walletId, body);
      assert.equal(res.status, 400, `${JSON.stringify(body)} answered ${res.status}`);
      assert.equal(res.body.error?.code, 'INVALID_INPUT');
      assert.equal(res.body.error?.details?.field, field, JSON.stringify(res.body.error));
      assert.match(res.body.error!.message, message);
      assert.ok(res.body.error!.message.startsWith(`${field}: `), res.body.error!.message);
    }
    assert.deepEqual((await getPolicy(walletId)).body.policy, before, 'nothing changed');
    const refused = await db().selectFrom('audit_events').select(['status', 'error_code', 'request']).where('action', '=', 'PUT /api/wallets/:id/policy').where('status', '=', 'refused').execute();
    assert.equal(refused.length, cases.length, 'every refusal is audited');
    assert.ok(refused.every((r) => r.error_code === 'INVALID_INPUT' && r.request === null), 'a body that did not validate is not stored');
  });

  test('only owner and admin keys write: viewer, operator and agent keys are refused with rule role', async () => {
    const before = await storedRow(walletId);
    const viewer = await makeKey('viewer');
    const operator = await makeKey('operator');
    const adminRole = await makeKey('admin');
    assert.equal((await getPolicy(walletId, viewer)).status, 200, 'a viewer reads');
    assert.equal((await getPolicy(walletId, operator)).status, 200, 'an operator reads');
    for (const key of [viewer, operator, agentKey]) {
      for (const res of [await putPolicy(walletId, { max_tx_eth: '99' }, key), await deletePolicy(walletId, key)]) {
        assert.equal(res.status, 403);
        assert.equal(res.body.error?.code, 'FORBIDDEN');
        assert.equal(res.body.error?.details?.rule, 'role');
      }
    }
    // Agents use MCP only; REST reads are refused too.
    const agentGet = await getPolicy(walletId, agentKey);
    assert.equal(agentGet.status, 403);
    assert.equal(agentGet.body.error?.details?.rule, 'role');
    assert.deepEqual(await storedRow(walletId), before, 'nothing changed');

    // An admin key may write (and puts it back as it was).
    const put = await putPolicy(walletId, { ...before!.policy, approval_threshold_eth: '1' }, adminRole);
    assert.equal(put.status, 200);
    assert.equal(put.body.policy.effective.approval_threshold_eth, '1');
    assert.match(put.body.policy.updated_by!, /^vp_[0-9a-f]{8}$/);
    assert.notEqual(put.body.policy.updated_by, admin.keyPrefix);
    assert.equal((await putPolicy(walletId, before!.policy)).status, 200);
  });

  test('another tenant gets 404 and changes nothing; a wallet-scoped key sees only its wallets', async () => {
    const before = await storedRow(walletId);
    const other = await db().insertInto('tenants').values({ name: 'policy-other-tenant' }).returning('id').executeTakeFirstOrThrow();
    const stranger = await makeKey('owner', { tenantId: other.id });
    for (const res of [await getPolicy(walletId, stranger), await putPolicy(walletId, { max_tx_eth: '99' }, stranger), await deletePolicy(walletId, stranger)]) {
      assert.equal(res.status, 404);
      assert.equal(res.body.error?.code, 'WALLET_NOT_FOUND');
    }
    const scoped = await makeKey('owner', { wallets: ['someone-else'] });
    for (const res of [await getPolicy(walletId, scoped), await putPolicy(walletId, { max_tx_eth: '99' }, scoped)]) {
      assert.equal(res.status, 403);
      assert.equal(res.body.error?.details?.rule, 'scope.wallets');
    }
    assert.equal((await getPolicy('not-a-uuid')).status, 404);
    assert.deepEqual(await storedRow(walletId), before, 'nothing changed');
  });

  test('a PUT waits for the wallet lock a send holds: it never interleaves with a policy check', async () => {
    let settled = false;
    let put: Promise<Rest<PolicyBody>> | undefined;
    await db()
      .transaction()
      .execute(async (trx) => {
        await trx.selectFrom('wallets').select('id').where('id', '=', walletId).forUpdate().execute();
        put = putPolicy(walletId, { max_tx_eth: '0.7' }).finally(() => {
          settled = true;
        });
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(settled, false, 'the PUT is blocked while the wallet row is locked');
        const row = await trx.selectFrom('wallet_policies').select('policy').where('wallet_id', '=', walletId).executeTakeFirst();
        assert.notEqual((row?.policy as { max_tx_eth?: string }).max_tx_eth, '0.7');
      });
    const res = await put!;
    assert.equal(res.status, 200);
    assert.equal(res.body.policy.effective.max_tx_eth, '0.7');
  });

  test('DELETE (and PUT {}) remove the overrides: the file defaults apply again', async () => {
    const res = await deletePolicy(walletId);
    assert.equal(res.status, 200);
    assert.equal(res.body.policy.wallet, null);
    assert.equal(res.body.policy.effective.max_tx_eth, '2');
    assert.equal(res.body.policy.sources.max_tx_eth, 'file');
    assert.equal(res.body.policy.updated_at, null);
    assert.equal(await storedRow(walletId), undefined);
    // Deleting again changes nothing.
    assert.equal((await deletePolicy(walletId)).status, 200);

    assert.equal((await putPolicy(walletId, { max_tx_eth: '1' })).body.policy.sources.max_tx_eth, 'wallet');
    const cleared = await putPolicy(walletId, {});
    assert.equal(cleared.status, 200);
    assert.equal(cleared.body.policy.wallet, null);
    assert.equal(await storedRow(walletId), undefined);
    const audit = await db().selectFrom('audit_events').select('status').where('action', '=', 'DELETE /api/wallets/:id/policy').where('status', '=', 'ok').execute();
    assert.equal(audit.length, 2);
  });

  test('the OpenAPI document describes the policy routes', async () => {
    const res = await fetch(`${stack.url}/api/openapi.json`);
    const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } };
    assert.deepEqual(Object.keys(doc.paths['/api/wallets/{id}/policy'] ?? {}).sort(), ['delete', 'get', 'put']);
    assert.ok(doc.components.schemas.WalletPolicy);
    assert.ok(doc.components.schemas.WalletPolicyView);
  });
});

describe('MCP: get_policy', () => {
  let walletId = '';

  before(async () => {
    walletId = (await createWallet(stack.server.ctx, admin, 'pol-mcp')).wallet.id;
    assert.equal((await putPolicy(walletId, { spend_cap_24h_eth: '0.25', allowed_chains: [31337] })).status, 200);
  });

  test('is listed read-only; no tool changes a policy', async () => {
    const { tools } = await agent.listTools();
    const tool = tools.find((t) => t.name === 'get_policy');
    assert.ok(tool, 'get_policy is listed');
    assert.equal(tool.annotations?.readOnlyHint, true);
    assert.equal(tool.annotations?.destructiveHint, false);
    assert.ok(tool.outputSchema, 'it has an output schema');
    assert.match(tool.description ?? '', /no tool to change a policy/);
    assert.deepEqual(tools.filter((t) => /polic/.test(t.name)).map((t) => t.name), ['get_policy']);
  });

  test('an agent reads its wallet\'s policy: the same view as REST, with a summary', async () => {
    const result = (await agent.callTool({ name: 'get_policy', arguments: { agent_id: 'pol-mcp' } })) as CallToolResult;
    assert.ok(!result.isError, textOf(result));
    const rest = (await getPolicy(walletId)).body.policy;
    assert.deepEqual(result.structuredContent, JSON.parse(JSON.stringify(rest)));
    const text = textOf(result);
    assert.match(text, /24 h cap 0\.25 ETH, 0\.25 ETH left \[wallet\]/);
    assert.match(text, /at most 2 ETH per send \[file\]/);
    assert.match(text, /only on chainIds 31337/);
    assert.match(text, new RegExp(`never to ${FILE_DENIED} \\(file-mixer\\)`));
    assert.match(text, /Only an owner or admin can change this policy/);
    const audit = await db().selectFrom('audit_events').select(['status', 'wallet_id']).where('action', '=', 'get_policy').execute();
    assert.ok(audit.some((a) => a.status === 'ok' && a.wallet_id === walletId));
  });

  test('a viewer may call it; another wallet\'s scope and unknown agents are refused', async () => {
    const viewer = await connectMcp(stack.url, await makeKey('viewer'), 'streamable');
    const scoped = await connectMcp(stack.url, await makeKey('agent', { wallets: ['pol-other'] }), 'streamable');
    try {
      const v = await callOk<WalletPolicyView>(viewer, 'get_policy', { agent_id: 'pol-mcp' });
      assert.equal(v.effective.spend_cap_24h_eth, '0.25');
      const denied = await callError(scoped, 'get_policy', { agent_id: 'pol-mcp' });
      assert.equal(denied.code, 'FORBIDDEN');
      assert.equal((await callError(agent, 'get_policy', { agent_id: 'pol-nobody' })).code, 'WALLET_NOT_FOUND');
      assert.equal((await callError(agent, 'get_policy', { agent_id: 'bad agent id!' })).code, 'INVALID_INPUT');
    } finally {
      await viewer.close();
      await scoped.close();
    }
  });
});

describe('enforcement through execute_transfer after a PUT', () => {
  /** A funded wallet with `policy` PUT over REST. */
  async function policyWallet(agentId: string, policy: Record<string, unknown>): Promise<string> {
    const { id } = await fundedWallet(stack, admin, agentId, '5');
    const res = await putPolicy(id, policy);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return id;
  }
  const send = (agentId: string, to: string, amount: string) => agent.callTool({ name: 'execute_transfer', arguments: { agent_id: agentId, to_address: to, amount_eth: amount } }) as Promise<CallToolResult>;
  const sendOk = async (agentId: string, to: string, amount: string) => callOk<{ status: string; transaction: { value_eth: string } }>(agent, 'execute_transfer', { agent_id: agentId, to_address: to, amount_eth: amount });
  const sendError = (agentId: string, to: string, amount: string) => callError(agent, 'execute_transfer', { agent_id: agentId, to_address: to, amount_eth: amount });
  const txCount = async (walletId: string) => (await db().selectFrom('transactions').select('id').where('wallet_id', '=', walletId).execute()).length;

  test('max_tx_eth: at the maximum is sent, above it is refused with POLICY_MAX_TX and nothing is recorded; audited with the rule', async () => {
    const id = await policyWallet('pol-max', { max_tx_eth: '0.2' });
    const to = freshAddress();
    assert.equal((await sendOk('pol-max', to, '0.2')).status, 'sent');
    const err = await sendError('pol-max', to, '0.200000000000000001');
    assert.equal(err.code, 'POLICY_MAX_TX');
    assert.match(err.message, /per-transaction maximum of 0\.2 ETH/);
    assert.equal(await txCount(id), 1);
    const audit = await db()
      .selectFrom('audit_events')
      .select(['decision', 'rule', 'error_code'])
      .where('action', '=', 'execute_transfer')
      .where('agent_id', '=', 'pol-max')
      .where('status', '=', 'refused')
      .executeTakeFirstOrThrow();
    assert.deepEqual(audit, { decision: 'deny', rule: 'max_tx_eth', error_code: 'POLICY_MAX_TX' });

    // Lifting the wallet's rule falls back to the file's 2 ETH maximum.
    await putPolicy(id, {});
    assert.equal((await sendOk('pol-max', to, '0.5')).status, 'sent');
    assert.equal((await sendError('pol-max', to, '2.1')).code, 'POLICY_MAX_TX');
  });

  test('spend_cap_24h_eth: sends reaching the cap exactly are allowed, the next wei is refused with POLICY_SPEND_LIMIT', async () => {
    const id = await policyWallet('pol-cap', { spend_cap_24h_eth: '0.3' });
    const to = freshAddress();
    await sendOk('pol-cap', to, '0.1');
    await sendOk('pol-cap', to, '0.2');
    const view = (await getPolicy(id)).body.policy;
    assert.deepEqual(view.spent.last_24h, { eth: '0.3', wei: '300000000000000000' });
    assert.deepEqual(view.remaining.spend_cap_24h, { eth: '0', wei: '0' });
    const err = await sendError('pol-cap', to, '0.000000000000000001');
    assert.equal(err.code, 'POLICY_SPEND_LIMIT');
    assert.match(err.message, /rolling 24 hours spend cap of 0\.3 ETH/);
    assert.equal(await txCount(id), 2);
    // Raising the cap takes effect for the next send.
    await putPolicy(id, { spend_cap_24h_eth: '0.31' });
    await sendOk('pol-cap', to, '0.01');
  });

  test('denied_destinations: the file\'s and the wallet\'s lists refuse with POLICY_DESTINATION_DENIED; a wallet cannot lift the file\'s', async () => {
    const walletDenied = freshAddress();
    await policyWallet('pol-deny', { denied_destinations: [{ address: walletDenied, label: 'wallet-mixer' }] });
    const fromFile = await sendError('pol-deny', FILE_DENIED, '0.01');
    assert.equal(fromFile.code, 'POLICY_DESTINATION_DENIED');
    assert.match(fromFile.message, /file-mixer/);
    const fromWallet = await sendError('pol-deny', walletDenied, '0.01');
    assert.equal(fromWallet.code, 'POLICY_DESTINATION_DENIED');
    assert.match(fromWallet.message, /wallet-mixer/);
    await sendOk('pol-deny', freshAddress(), '0.01');

    const id = (await db().selectFrom('wallets').select('id').where('agent_id', '=', 'pol-deny').executeTakeFirstOrThrow()).id;
    const lifted = await putPolicy(id, { denied_destinations: null });
    assert.deepEqual(lifted.body.policy.effective.denied_destinations, [{ address: FILE_DENIED, label: 'file-mixer' }]);
    assert.equal((await sendError('pol-deny', FILE_DENIED, '0.01')).code, 'POLICY_DESTINATION_DENIED');
    await sendOk('pol-deny', walletDenied, '0.01');
  });

  test('allowed_destinations: anything else is refused with POLICY_DESTINATION_NOT_ALLOWED', async () => {
    const payroll = freshAddress();
    await policyWallet('pol-allow', { allowed_destinations: [{ address: payroll, label: 'payroll' }] });
    const err = await sendError('pol-allow', freshAddress(), '0.01');
    assert.equal(err.code, 'POLICY_DESTINATION_NOT_ALLOWED');
    assert.match(err.message, /not on the policy's allowlist/);
    assert.equal((await sendOk('pol-allow', payroll.toLowerCase(), '0.01')).status, 'sent');
  });

  test('allowed_chains: a wallet on an unlisted chain is refused with POLICY_CHAIN_NOT_ALLOWED', async () => {
    const id = await policyWallet('pol-chain', { allowed_chains: [1, 8453] });
    const err = await sendError('pol-chain', freshAddress(), '0.01');
    assert.equal(err.code, 'POLICY_CHAIN_NOT_ALLOWED');
    assert.match(err.message, /chainId 31337/);
    await putPolicy(id, { allowed_chains: [31337] });
    await sendOk('pol-chain', freshAddress(), '0.01');
  });

  test('simulate_transfer reports the policy decision and rule; nothing is sent', async () => {
    const id = await policyWallet('pol-sim', { max_tx_eth: '0.1', approval_threshold_eth: '0.05' });
    const to = freshAddress();
    type Sim = { would_succeed: boolean; reason: string | null; policy: { decision: string; rule: string | null; message: string | null } };
    const denied = await callOk<Sim>(agent, 'simulate_transfer', { agent_id: 'pol-sim', to_address: to, amount_eth: '0.5' });
    assert.equal(denied.would_succeed, false);
    assert.equal(denied.reason, 'POLICY_MAX_TX');
    assert.equal(denied.policy.decision, 'deny');
    assert.equal(denied.policy.rule, 'max_tx_eth');
    assert.match(denied.policy.message ?? '', /per-transaction maximum/);
    const held = await callOk<Sim>(agent, 'simulate_transfer', { agent_id: 'pol-sim', to_address: to, amount_eth: '0.08' });
    assert.equal(held.policy.decision, 'require_approval');
    assert.equal(held.policy.rule, 'approval_threshold_eth');
    const ok = await callOk<Sim>(agent, 'simulate_transfer', { agent_id: 'pol-sim', to_address: to, amount_eth: '0.05' });
    assert.equal(ok.would_succeed, true);
    assert.deepEqual(ok.policy, { decision: 'allow', rule: null, message: null });
    const dry = await callOk<{ status: string; simulation: Sim }>(agent, 'execute_transfer', { agent_id: 'pol-sim', to_address: to, amount_eth: '0.5', dry_run: true });
    assert.equal(dry.status, 'dry_run');
    assert.equal(dry.simulation.policy.rule, 'max_tx_eth');
    assert.equal(await txCount(id), 0);
    // A refused send's result is an error an agent can act on.
    const refused = await send('pol-sim', to, '0.5');
    assert.equal(refused.isError, true);
    assert.match(textOf(refused), /^POLICY_MAX_TX: /);
  });
});

test('a server refuses to start on an invalid POLICY_FILE, naming file:line:col and the rule', async () => {
  const bad = path.join(dir, 'bad.yml');
  writeFileSync(bad, ['policy:', '  max_tx_eth: "abc"', '  allowed_chains: []', ''].join('\n'));
  const config = testConfig(stack.databaseUrl, { POLICY_FILE: bad });
  await assert.rejects(startServer(config, createLogger('server', 'silent')), (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.problems[0], `${bad}:2:15: policy.max_tx_eth: must be a decimal ETH amount ≥ 0 with at most 18 decimals, such as "0.5" (got "abc")`);
    assert.match(err.problems[1]!, new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:19: policy.allowed_chains: must list at least one chainId`));
    assert.match(err.message, /invalid configuration/);
    return true;
  });
  const missing = testConfig(stack.databaseUrl, { POLICY_FILE: path.join(dir, 'nope.yml') });
  await assert.rejects(startServer(missing, createLogger('server', 'silent')), (err: unknown) => err instanceof ConfigError && /cannot be read \(no such file\)/.test(err.message));
});
