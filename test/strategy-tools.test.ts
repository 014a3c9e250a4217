/**
 * The agent and operator interface for strategies, on real parts (server, Postgres, anvil): the
 * strategy tools over MCP, the one-shot tools (gas ceiling, send time, micro tips) with on-chain
 * balances checked to the wei, and the `/api/strategies` REST routes with their refusal shapes.
 *
 * The stack runs without a worker, so nothing ticks on its own here and every run is one this
 * file made (the worker-driven cadence and exactly-once tests are test/strategies*.test.ts).
 * The anvil chain is shared by the whole run: its base fee is only read, never set.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { parseEther, type JsonRpcProvider } from 'ethers';
import { callError, callOk, chainProvider, connectMcp, countRows, freshAddress, startStack, type Stack } from './harness.ts';

interface Amount {
  eth: string;
  wei: string;
}
interface Strategy {
  id: string;
  label: string;
  kind: string;
  agent_id: string;
  status: 'active' | 'stopped' | 'completed';
  params: Record<string, unknown>;
  next_run_at: string | null;
  runs: { sent: number; skipped: number; failed: number };
  spent_total: Amount;
}
interface Run {
  id: string;
  outcome: string;
  reason: string | null;
  source: string;
  amount: Amount;
  transactions: Array<{ tx_hash: string; to_address: string; value_eth: string }>;
}
interface Tx {
  id: string;
  tx_hash: string;
  nonce: number;
  to_address: string;
  value_wei: string;
  status: string;
  source: string;
}
interface OneShot {
  action: 'sent' | 'skipped' | 'persisted' | 'simulated';
  reason: string | null;
  detail: string;
  dry_run: boolean;
  sends: Array<{ to_address: string; amount: Amount }>;
  total: Amount;
  base_fee_gwei: string | null;
  max_base_fee_gwei: string | null;
  seconds_until_due: number | null;
  transactions: Tx[];
  simulation: { would_succeed: boolean; reason: string | null; gas_limits: string[]; max_fee: Amount } | null;
  strategy: Strategy | null;
}
interface Tick {
  outcome: string;
  dry_run: boolean;
  decision: { action: string; reason: string | null; sends: Array<{ to_address: string; amount: Amount }> } | null;
  run: Run | null;
  strategy: Strategy;
}

const NEW_TOOLS = [
  'create_strategy_dca', 'create_strategy', 'start_strategy', 'stop_strategy', 'update_strategy', 'delete_strategy', 'strategy_status',
  'list_strategies', 'tick_strategy', 'send_when_gas_below', 'dca_once', 'scheduled_send_once', 'micro_tip_equal', 'micro_tip_amounts',
];
const DESTRUCTIVE = ['create_strategy_dca', 'create_strategy', 'start_strategy', 'update_strategy', 'tick_strategy', 'send_when_gas_below', 'dca_once', 'scheduled_send_once', 'micro_tip_equal', 'micro_tip_amounts'];
const READ_ONLY = ['strategy_status', 'list_strategies'];

const agent = 'strategist';
let stack: Stack;
let client: Client;
let provider: JsonRpcProvider;

async function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> {
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${stack.adminKey}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as T };
}

/** Waits for every transaction to be mined successfully. */
async function mined(txs: Tx[]): Promise<void> {
  for (const t of txs) {
    const receipt = await provider.waitForTransaction(t.tx_hash, 1, 20_000);
    assert.equal(receipt?.status, 1, `${t.tx_hash} mined`);
  }
}

function dcaArgs(label: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { label, agent_id: agent, to_address: freshAddress(), amount_eth: '0.001', interval_seconds: 3600, ...extra };
}

before(async () => {
  stack = await startStack({ worker: false });
  client = await connectMcp(stack.url, stack.adminKey, 'streamable');
  provider = chainProvider();
  await callOk(client, 'spin_up_wallet', { agent_id: agent });
  await callOk(client, 'request_faucet_funds', { agent_id: agent, amount_eth: '5' });
});
after(async () => {
  provider?.destroy();
  await client?.close();
  await stack?.close();
});

describe('strategy tools are listed', () => {
  test('every new tool has annotations, an outputSchema and described arguments', async () => {
    const { tools } = await client.listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    for (const name of NEW_TOOLS) {
      const tool = byName.get(name);
      assert.ok(tool, `${name} is listed`);
      assert.ok(tool.outputSchema && tool.outputSchema.type === 'object', `${name} has an outputSchema`);
      assert.ok(tool.description && tool.description.length > 40, `${name} is described`);
      assert.equal(typeof tool.annotations?.readOnlyHint, 'boolean', `${name} readOnlyHint`);
      assert.equal(typeof tool.annotations?.openWorldHint, 'boolean', `${name} openWorldHint`);
      for (const [arg, schema] of Object.entries(tool.inputSchema.properties ?? {})) {
        assert.ok((schema as { description?: string }).description, `${name}.${arg} is described`);
      }
    }
    for (const name of DESTRUCTIVE) {
      assert.equal(byName.get(name)!.annotations!.destructiveHint, true, `${name} is destructive`);
      assert.equal(byName.get(name)!.annotations!.readOnlyHint, false, `${name} is not read-only`);
    }
    for (const name of READ_ONLY) assert.equal(byName.get(name)!.annotations!.readOnlyHint, true, `${name} is read-only`);
    assert.equal(byName.get('stop_strategy')!.annotations!.idempotentHint, true);
    const create = byName.get('create_strategy')!;
    for (const kind of ['dca', 'scheduled_send', 'send_when_gas_below', 'micro_tip']) assert.match(create.description!, new RegExp(kind));
    assert.match(create.description!, /amount_eth/);
    const dca = (byName.get('create_strategy_dca')!.inputSchema.properties as Record<string, { description?: string }>);
    assert.match(dca.interval_seconds!.description!, /[Ss]econds/);
    assert.match(dca.max_base_fee_gwei!.description!, /gwei/);
    assert.match(dca.amount_eth!.description!, /ETH/);
  });
});

describe('lifecycle', () => {
  test('over MCP: create -> status -> list -> stop -> start -> update -> delete', async () => {
    const to = freshAddress();
    const created = await callOk<{ strategy: Strategy }>(client, 'create_strategy_dca', {
      label: 'weekly-buy', agent_id: agent, to_address: to, amount_eth: '0.002', interval_seconds: 3600, max_base_fee_gwei: '50', daily_cap_eth: '0.01',
    });
    const s = created.strategy;
    assert.equal(s.kind, 'dca');
    assert.equal(s.status, 'active');
    assert.equal(s.agent_id, agent);
    assert.ok(s.next_run_at);
    assert.deepEqual(s.params.amount, { eth: '0.002', wei: parseEther('0.002').toString() });
    assert.equal(s.params.interval_seconds, 3600);
    assert.equal(s.params.max_base_fee_gwei, '50');
    assert.deepEqual(s.params.daily_cap, { eth: '0.01', wei: parseEther('0.01').toString() });
    assert.equal(s.params.to_address, to);
    assert.equal(s.params.cron, null, 'omitted arguments are not sent as params');

    const status = await callOk<{ strategy: Strategy; last_runs: Run[] }>(client, 'strategy_status', { label: 'weekly-buy' });
    assert.equal(status.strategy.id, s.id);
    assert.deepEqual(status.last_runs, []);

    const listed = await callOk<{ strategies: Strategy[] }>(client, 'list_strategies', { agent_id: agent });
    assert.ok(listed.strategies.some((x) => x.id === s.id));
    const none = await callOk<{ strategies: Strategy[] }>(client, 'list_strategies', { agent_id: agent, status: 'completed' });
    assert.ok(!none.strategies.some((x) => x.id === s.id));

    const stopped = await callOk<{ strategy: Strategy }>(client, 'stop_strategy', { label: 'weekly-buy' });
    assert.equal(stopped.strategy.status, 'stopped');
    assert.equal(stopped.strategy.next_run_at, null);
    const again = await callOk<{ strategy: Strategy }>(client, 'stop_strategy', { label: 'weekly-buy' });
    assert.equal(again.strategy.status, 'stopped', 'stop is idempotent');
    assert.equal((await callError(client, 'tick_strategy', { label: 'weekly-buy' })).code, 'STRATEGY_NOT_ACTIVE');

    const started = await callOk<{ strategy: Strategy }>(client, 'start_strategy', { label: 'weekly-buy' });
    assert.equal(started.strategy.status, 'active');
    assert.ok(started.strategy.next_run_at);

    const updated = await callOk<{ strategy: Strategy }>(client, 'update_strategy', { label: 'weekly-buy', params: { to_address: to, amount_eth: '0.003', cron: '0 9 * * 1', timezone: 'Europe/Berlin' } });
    assert.deepEqual(updated.strategy.params.amount, { eth: '0.003', wei: parseEther('0.003').toString() });
    assert.equal(updated.strategy.params.cron, '0 9 * * 1');
    assert.equal(updated.strategy.params.interval_seconds, null, 'update replaces all params');
    assert.equal(new Date(updated.strategy.next_run_at!).getUTCDay(), 1, 'rescheduled to the next Monday');

    const deleted = await callOk<{ strategy: Strategy }>(client, 'delete_strategy', { label: 'weekly-buy' });
    assert.equal(deleted.strategy.id, s.id);
    assert.equal(deleted.strategy.status, 'stopped');
    const gone = await callError(client, 'strategy_status', { label: 'weekly-buy' });
    assert.equal(gone.code, 'STRATEGY_NOT_FOUND');
    assert.match(gone.message, /weekly-buy/);
    assert.equal((await callError(client, 'delete_strategy', { label: 'weekly-buy' })).code, 'STRATEGY_NOT_FOUND');
    assert.equal(await countRows(stack, 'strategies', `id = '${s.id}' and deleted_at is not null`), 1, 'kept in history');
    const reused = await callOk<{ strategy: Strategy }>(client, 'create_strategy_dca', dcaArgs('weekly-buy', { start: false }));
    assert.equal(reused.strategy.status, 'stopped', 'the label is free again; start: false creates it stopped');
    await callOk(client, 'delete_strategy', { label: 'weekly-buy' });
  });

  test('create_strategy takes every kind', async () => {
    const a = freshAddress();
    const b = freshAddress();
    const kinds: Array<[string, Record<string, unknown>]> = [
      ['dca', { to_address: a, amount_eth: '0.001', cron: '*/5 * * * *' }],
      ['scheduled_send', { to_address: a, amount_eth: '0.001', run_at: new Date(Date.now() + 86_400_000).toISOString() }],
      ['send_when_gas_below', { to_address: a, amount_eth: '0.001', max_base_fee_gwei: '0.000000001', check_interval_seconds: 60 }],
      ['micro_tip', { recipients: [a, b], total_eth: '0.001', interval_seconds: 86_400 }],
    ];
    for (const [kind, params] of kinds) {
      const { strategy } = await callOk<{ strategy: Strategy }>(client, 'create_strategy', { kind, label: `any-${kind}`, agent_id: agent, params, start: false });
      assert.equal(strategy.kind, kind);
      assert.equal(strategy.status, 'stopped');
      await callOk(client, 'delete_strategy', { label: `any-${kind}` });
    }
  });

  test('over REST: create -> get -> list -> stop -> start -> patch -> runs -> tick -> delete, every write audited', async () => {
    const to = freshAddress();
    const created = await api<{ strategy: Strategy }>('POST', '/api/strategies', {
      kind: 'dca', label: 'rest-dca', agent_id: agent, params: { to_address: to, amount_eth: '0.001', interval_seconds: 600 }, confirmation_code: 'not-needed-here',
    });
    assert.equal(created.status, 201);
    const id = created.json.strategy.id;
    assert.equal(created.json.strategy.status, 'active');

    const got = await api<{ strategy: Strategy; last_runs: Run[] }>('GET', `/api/strategies/${id}`);
    assert.equal(got.status, 200);
    assert.equal(got.json.strategy.label, 'rest-dca');
    assert.deepEqual(got.json.last_runs, []);

    const list = await api<{ strategies: Strategy[]; next_cursor: string | null }>('GET', `/api/strategies?agent_id=${agent}&status=active&limit=1`);
    assert.equal(list.status, 200);
    assert.equal(list.json.strategies.length, 1);
    assert.equal(list.json.strategies[0]!.id, id, 'newest first');
    const unfiltered = await api<{ strategies: Strategy[] }>('GET', '/api/strategies?agent_id=&status=&limit=&cursor=');
    assert.equal(unfiltered.status, 200, 'empty filters are no filters');
    assert.ok(unfiltered.json.strategies.some((x) => x.id === id));

    assert.equal((await api<{ strategy: Strategy }>('POST', `/api/strategies/${id}/stop`)).json.strategy.status, 'stopped');
    assert.equal((await api<{ strategy: Strategy }>('POST', `/api/strategies/${id}/start`)).json.strategy.status, 'active');
    const patched = await api<{ strategy: Strategy }>('PATCH', `/api/strategies/${id}`, { params: { to_address: to, amount_eth: '0.0015', interval_seconds: 1200 } });
    assert.equal(patched.status, 200);
    assert.equal(patched.json.strategy.params.interval_seconds, 1200);

    // The run is due (the first slot of a started interval strategy is now): a tick with no body sends.
    const tick = await api<Tick>('POST', `/api/strategies/${id}/tick`);
    assert.equal(tick.status, 200);
    assert.equal(tick.json.outcome, 'sent');
    assert.equal(tick.json.run!.transactions.length, 1);
    await provider.waitForTransaction(tick.json.run!.transactions[0]!.tx_hash, 1, 20_000);
    assert.equal(await provider.getBalance(to), parseEther('0.0015'));

    const runs = await api<{ runs: Run[]; next_cursor: string | null }>('GET', `/api/strategies/${id}/runs?limit=10`);
    assert.equal(runs.status, 200);
    assert.equal(runs.json.runs.length, 1);
    assert.equal(runs.json.runs[0]!.outcome, 'sent');
    assert.equal(runs.json.runs[0]!.source, 'manual');
    assert.equal(runs.json.next_cursor, null);

    const deleted = await api<{ strategy: Strategy }>('DELETE', `/api/strategies/${id}`);
    assert.equal(deleted.status, 200);
    assert.equal(deleted.json.strategy.id, id);
    assert.equal((await api('GET', `/api/strategies/${id}`)).status, 404);

    const audit = await stack.server.ctx.db.selectFrom('audit_events').select(['action', 'status', 'request', 'agent_id']).where('kind', '=', 'api_write').where('action', 'like', '%/api/strategies%').execute();
    const actions = audit.map((a) => a.action);
    for (const action of ['POST /api/strategies', 'POST /api/strategies/:id/stop', 'POST /api/strategies/:id/start', 'PATCH /api/strategies/:id', 'POST /api/strategies/:id/tick', 'DELETE /api/strategies/:id']) {
      assert.ok(actions.includes(action), `${action} is audited`);
    }
    assert.ok(audit.every((a) => a.agent_id === agent));
    assert.ok(!JSON.stringify(audit).includes('not-needed-here'), 'confirmation_code is redacted');
  });
});

describe('bad input: a coded error naming the field, nothing stored', () => {
  test('over MCP', async () => {
    await callOk(client, 'create_strategy_dca', dcaArgs('taken', { start: false }));
    const before = await countRows(stack, 'strategies');
    const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
      ['create_strategy', { kind: 'yolo', label: 'bad', agent_id: agent, params: {} }, 'INVALID_INPUT', /^kind: .*dca/],
      ['create_strategy_dca', dcaArgs('bad', { interval_seconds: 0 }), 'INVALID_INPUT', /^interval_seconds: /],
      ['create_strategy_dca', dcaArgs('bad', { amount_eth: '-0.01' }), 'INVALID_AMOUNT', /^amount_eth: .*positive/],
      ['create_strategy_dca', dcaArgs('bad', { amount_eth: '0.01', daily_cap_eth: '0.005' }), 'INVALID_AMOUNT', /^daily_cap_eth: .*below/],
      ['create_strategy_dca', dcaArgs('bad', { interval_seconds: undefined, cron: 'every tuesday' }), 'INVALID_INPUT', /^cron: /],
      ['create_strategy_dca', dcaArgs('bad', { interval_seconds: undefined, cron: '0 9 * * *', timezone: 'Mars/Olympus' }), 'INVALID_INPUT', /^timezone: .*IANA/],
      ['create_strategy_dca', dcaArgs('bad', { to_address: '0x1234' }), 'INVALID_ADDRESS', /^to_address: /],
      ['create_strategy_dca', dcaArgs('bad', { max_base_fee_gwei: 'cheap' }), 'INVALID_AMOUNT', /^max_base_fee_gwei: /],
      ['create_strategy_dca', dcaArgs('taken'), 'STRATEGY_EXISTS', /taken/],
      ['create_strategy_dca', dcaArgs('bad', { agent_id: 'nobody' }), 'WALLET_NOT_FOUND', /nobody/],
      ['create_strategy_dca', dcaArgs(''), 'INVALID_INPUT', /^label: /],
      ['create_strategy_dca', dcaArgs('bad', { amount_eth: '0.2' }), 'CONFIRMATION_REQUIRED', /MAX_TX_ETH/],
      ['create_strategy', { kind: 'dca', label: 'bad', agent_id: agent, params: { to_address: freshAddress(), amount_eth: '0.001', interval_seconds: 60, colour: 'red' } }, 'INVALID_INPUT', /^params\.colour: /],
      ['create_strategy', { kind: 'dca', label: 'bad', agent_id: agent, params: { to_address: freshAddress(), amount_eth: '0.001', interval_seconds: 1.5 } }, 'INVALID_INPUT', /^params\.interval_seconds: /],
      ['create_strategy', { kind: 'micro_tip', label: 'bad', agent_id: agent, params: { recipients: [freshAddress(), 'nope'], total_eth: '0.001' } }, 'INVALID_ADDRESS', /^params\.recipients\[1\]: /],
      ['update_strategy', { label: 'taken', params: { to_address: freshAddress(), amount_eth: '0' , interval_seconds: 60 } }, 'INVALID_AMOUNT', /^params\.amount_eth: /],
      ['update_strategy', { label: 'missing', params: {} }, 'STRATEGY_NOT_FOUND', /missing/],
      ['start_strategy', { label: 'missing' }, 'STRATEGY_NOT_FOUND', /missing/],
    ];
    for (const [tool, args, code, message] of cases) {
      const err = await callError(client, tool, Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined)));
      assert.equal(err.code, code, `${tool} ${JSON.stringify(args)} -> ${err.text}`);
      assert.match(err.message, message, `${tool} ${JSON.stringify(args)}`);
    }
    assert.equal(await countRows(stack, 'strategies'), before, 'nothing was stored');
    await callOk(client, 'delete_strategy', { label: 'taken' });
  });

  test('over REST: {"error":{code,message,details}} with 400, 404 and 409', async () => {
    await api('POST', '/api/strategies', { kind: 'dca', label: 'rest-taken', agent_id: agent, params: { to_address: freshAddress(), amount_eth: '0.001', interval_seconds: 60 }, start: false });
    const before = await countRows(stack, 'strategies');
    type Err = { error: { code: string; message: string; details: unknown } };
    const cases: Array<[string, string, unknown, number, string, RegExp]> = [
      ['POST', '/api/strategies', { kind: 'yolo', label: 'x', agent_id: agent, params: {} }, 400, 'INVALID_INPUT', /^kind: /],
      ['POST', '/api/strategies', { kind: 'dca', label: 'x', agent_id: agent, params: { to_address: freshAddress(), amount_eth: '0.001', interval_seconds: 0 } }, 400, 'INVALID_INPUT', /^params\.interval_seconds: /],
      ['POST', '/api/strategies', { kind: 'dca', label: 'x', agent_id: agent, params: { to_address: freshAddress(), amount_eth: '0.001', interval_seconds: 60 }, colour: 'red' }, 400, 'INVALID_INPUT', /^colour: /],
      ['POST', '/api/strategies', { kind: 'dca', label: 'x', agent_id: agent }, 400, 'INVALID_INPUT', /^params: is required/],
      ['POST', '/api/strategies', 'not json', 400, 'INVALID_INPUT', /^body: /],
      ['POST', '/api/strategies', { kind: 'dca', label: 'rest-taken', agent_id: agent, params: { to_address: freshAddress(), amount_eth: '0.001', interval_seconds: 60 } }, 409, 'STRATEGY_EXISTS', /rest-taken/],
      ['GET', '/api/strategies/00000000-0000-0000-0000-000000000000', undefined, 404, 'STRATEGY_NOT_FOUND', /00000000/],
      ['GET', '/api/strategies/not-an-id/runs', undefined, 404, 'STRATEGY_NOT_FOUND', /not-an-id/],
      ['PATCH', '/api/strategies/00000000-0000-0000-0000-000000000000', { params: {} }, 404, 'STRATEGY_NOT_FOUND', /no strategy/],
      ['POST', '/api/strategies/00000000-0000-0000-0000-000000000000/start', undefined, 404, 'STRATEGY_NOT_FOUND', /no strategy/],
      ['DELETE', '/api/strategies/00000000-0000-0000-0000-000000000000', undefined, 404, 'STRATEGY_NOT_FOUND', /no strategy/],
      ['GET', '/api/strategies?status=sleeping', undefined, 400, 'INVALID_INPUT', /^status: /],
      ['GET', '/api/strategies?limit=0', undefined, 400, 'INVALID_INPUT', /^limit: /],
    ];
    for (const [method, path, body, status, code, message] of cases) {
      const res = await api<Err>(method, path, body);
      assert.equal(res.status, status, `${method} ${path} ${JSON.stringify(body)} -> ${JSON.stringify(res.json)}`);
      assert.equal(res.json.error.code, code);
      assert.match(res.json.error.message, message);
      assert.ok('details' in res.json.error);
    }
    const taken = (await api<{ strategies: Strategy[] }>('GET', '/api/strategies?limit=200')).json.strategies.find((s) => s.label === 'rest-taken')!;
    const notActive = await api<Err>('POST', `/api/strategies/${taken.id}/tick`, { dry_run: false });
    assert.equal(notActive.status, 409);
    assert.equal(notActive.json.error.code, 'STRATEGY_NOT_ACTIVE');
    const stray = await api<Err>('POST', `/api/strategies/${taken.id}/tick`, { dryrun: true });
    assert.equal(stray.status, 400);
    assert.match(stray.json.error.message, /^dryrun: /);
    assert.equal(await countRows(stack, 'strategies'), before, 'nothing was stored');
    const refused = await countRows(stack, 'audit_events', `kind = 'api_write' and status = 'refused' and action = 'POST /api/strategies'`);
    assert.ok(refused >= 5, 'refusals are audited too');
    await api('DELETE', `/api/strategies/${taken.id}`);
  });
});

describe('OpenAPI', () => {
  test('documents every strategy route, and every $ref resolves', async () => {
    const doc = (await (await fetch(`${stack.url}/api/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } };
    const routes: Array<[string, string]> = [
      ['/api/strategies', 'get'], ['/api/strategies', 'post'], ['/api/strategies/{id}', 'get'], ['/api/strategies/{id}', 'patch'], ['/api/strategies/{id}', 'delete'],
      ['/api/strategies/{id}/runs', 'get'], ['/api/strategies/{id}/start', 'post'], ['/api/strategies/{id}/stop', 'post'], ['/api/strategies/{id}/tick', 'post'],
    ];
    for (const [path, method] of routes) assert.ok(doc.paths[path]?.[method], `${method.toUpperCase()} ${path}`);
    for (const name of ['Strategy', 'StrategyRun', 'ManualTick']) assert.ok(doc.components.schemas[name], name);
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)].map((m) => m[1]!);
    assert.ok(refs.includes('StrategyRun') && refs.length > 10, 'refs were found');
    for (const ref of new Set(refs)) assert.ok(doc.components.schemas[ref], `$ref ${ref} resolves`);
  });
});

describe('one-shot tools', () => {
  test('micro_tip_equal to 3 recipients: each gets its exact part, consecutive nonces, remainder to the first', async () => {
    const recipients = [freshAddress(), freshAddress(), freshAddress()];
    const out = await callOk<OneShot>(client, 'micro_tip_equal', { agent_id: agent, recipients, total_amount_eth: '0.01' });
    assert.equal(out.action, 'sent');
    assert.equal(out.transactions.length, 3);
    const parts = [3333333333333334n, 3333333333333333n, 3333333333333333n];
    assert.equal(parts.reduce((a, b) => a + b, 0n), parseEther('0.01'));
    assert.deepEqual(out.sends.map((s) => s.amount.wei), parts.map(String));
    assert.equal(out.total.wei, parseEther('0.01').toString());
    const nonces = out.transactions.map((t) => t.nonce);
    assert.deepEqual(nonces, [nonces[0]!, nonces[0]! + 1, nonces[0]! + 2]);
    assert.ok(out.transactions.every((t) => t.source === 'mcp'));
    await mined(out.transactions);
    for (const [i, to] of recipients.entries()) assert.equal(await provider.getBalance(to), parts[i]);
  });

  test('micro_tip_amounts to 2: each balance is exactly its amount', async () => {
    const a = freshAddress();
    const b = freshAddress();
    const out = await callOk<OneShot>(client, 'micro_tip_amounts', { agent_id: agent, items: { [a]: '0.001', [b.toLowerCase()]: 0.0025 } });
    assert.equal(out.action, 'sent');
    assert.equal(out.transactions.length, 2);
    assert.equal(out.total.wei, parseEther('0.0035').toString());
    await mined(out.transactions);
    assert.equal(await provider.getBalance(a), parseEther('0.001'));
    assert.equal(await provider.getBalance(b), parseEther('0.0025'));
  });

  test('micro tips: bad recipients and amounts name the field; above MAX_TX_ETH needs the code; nothing is written', async () => {
    const txs = await countRows(stack, 'transactions');
    const a = freshAddress();
    const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
      ['micro_tip_equal', { agent_id: agent, recipients: [a, freshAddress(), '0xnope'], total_amount_eth: '0.01' }, 'INVALID_ADDRESS', /^recipients\[2\]: /],
      ['micro_tip_equal', { agent_id: agent, recipients: [a, a.toLowerCase()], total_amount_eth: '0.01' }, 'INVALID_ADDRESS', /^recipients\[1\]: .*twice/],
      ['micro_tip_equal', { agent_id: agent, recipients: [], total_amount_eth: '0.01' }, 'INVALID_INPUT', /^recipients: /],
      ['micro_tip_equal', { agent_id: agent, recipients: [a], total_amount_eth: '-1' }, 'INVALID_AMOUNT', /^total_amount_eth: /],
      ['micro_tip_equal', { agent_id: agent, recipients: [a, freshAddress()], total_amount_eth: '0.000000000000000001' }, 'INVALID_AMOUNT', /^total_amount_eth: .*1 wei/],
      ['micro_tip_amounts', { agent_id: agent, items: { [a]: '0.001', '0xBAD': '0.001' } }, 'INVALID_ADDRESS', /^items\.0xBAD: /],
      ['micro_tip_amounts', { agent_id: agent, items: { [a]: '0' } }, 'INVALID_AMOUNT', new RegExp(`^items\\.${a}: `)],
      ['micro_tip_amounts', { agent_id: agent, items: {} }, 'INVALID_INPUT', /^items: /],
      ['micro_tip_amounts', { agent_id: agent, items: { [a]: '0.001', [freshAddress()]: '0.2' } }, 'CONFIRMATION_REQUIRED', /MAX_TX_ETH/],
      // The code is checked last, after funds (only the send tells whether a code was right).
      ['micro_tip_amounts', { agent_id: agent, items: { [a]: '0.001', [freshAddress()]: '4999' } }, 'INSUFFICIENT_FUNDS', /less than/],
      ['micro_tip_equal', { agent_id: 'nobody', recipients: [a], total_amount_eth: '0.001' }, 'WALLET_NOT_FOUND', /nobody/],
    ];
    for (const [tool, args, code, message] of cases) {
      const err = await callError(client, tool, args);
      assert.equal(err.code, code, `${tool} ${JSON.stringify(args)} -> ${err.text}`);
      assert.match(err.message, message, `${tool} ${JSON.stringify(args)}`);
    }
    assert.equal(await countRows(stack, 'transactions'), txs, 'nothing was signed or recorded');
    assert.equal(await provider.getBalance(a), 0n);
  });

  test('micro tip dry run and a tip the wallet cannot cover: nothing is sent', async () => {
    const txs = await countRows(stack, 'transactions');
    const a = freshAddress();
    const dry = await callOk<OneShot>(client, 'micro_tip_equal', { agent_id: agent, recipients: [a, freshAddress()], total_amount_eth: '0.002', dry_run: true });
    assert.equal(dry.action, 'simulated');
    assert.equal(dry.simulation!.would_succeed, true);
    assert.deepEqual(dry.simulation!.gas_limits, ['21000', '21000']);
    await callOk(client, 'spin_up_wallet', { agent_id: 'poor-tipper' });
    await callOk(client, 'request_faucet_funds', { agent_id: 'poor-tipper', amount_eth: '0.05' });
    const poor = await callError(client, 'micro_tip_amounts', { agent_id: 'poor-tipper', items: { [a]: '0.03', [freshAddress()]: '0.03' } });
    assert.equal(poor.code, 'INSUFFICIENT_FUNDS');
    const nearly = await callError(client, 'micro_tip_amounts', { agent_id: 'poor-tipper', items: { [a]: '0.025', [freshAddress()]: '0.025' } });
    assert.equal(nearly.code, 'INSUFFICIENT_FUNDS', 'amounts alone fit, amounts plus fees do not: all or nothing');
    assert.equal(await countRows(stack, 'transactions'), txs);
    assert.equal(await provider.getBalance(a), 0n);
  });

  test('dca_once: a ceiling above the base fee sends; a ceiling of 1 wei does not, and says why', async () => {
    const block = await provider.getBlock('latest');
    assert.ok(block!.baseFeePerGas! > 1n, 'the dev chain has a base fee above 1 wei');
    const to = freshAddress();
    const sent = await callOk<OneShot>(client, 'dca_once', { agent_id: agent, to_address: to, amount_eth: '0.004', max_base_fee_gwei: '1000' });
    assert.equal(sent.action, 'sent');
    assert.equal(sent.reason, null);
    assert.equal(sent.max_base_fee_gwei, '1000');
    assert.ok(sent.base_fee_gwei);
    await mined(sent.transactions);
    assert.equal(await provider.getBalance(to), parseEther('0.004'));

    const txs = await countRows(stack, 'transactions');
    const other = freshAddress();
    const skipped = await callOk<OneShot>(client, 'dca_once', { agent_id: agent, to_address: other, amount_eth: '0.004', max_base_fee_gwei: '0.000000001' });
    assert.equal(skipped.action, 'skipped');
    assert.equal(skipped.reason, 'gas_above_ceiling');
    assert.equal(skipped.max_base_fee_gwei, '0.000000001');
    assert.ok(Number(skipped.base_fee_gwei) > 0);
    assert.match(skipped.detail, /above max_base_fee_gwei/);
    assert.deepEqual(skipped.transactions, []);
    assert.equal(await countRows(stack, 'transactions'), txs);
    assert.equal(await provider.getBalance(other), 0n);

    const noCeiling = await callOk<OneShot>(client, 'dca_once', { agent_id: agent, to_address: other, amount_eth: '0.001', dry_run: true });
    assert.equal(noCeiling.action, 'simulated');
    assert.equal(noCeiling.simulation!.would_succeed, true);
    assert.equal(await countRows(stack, 'transactions'), txs, 'dry run writes nothing');
  });

  test('send_when_gas_below: sends under the ceiling; above it skips, or persists a strategy', async () => {
    const to = freshAddress();
    const sent = await callOk<OneShot>(client, 'send_when_gas_below', { agent_id: agent, to_address: to, amount_eth: '0.001', max_base_fee_gwei: 1000 });
    assert.equal(sent.action, 'sent');
    await mined(sent.transactions);
    assert.equal(await provider.getBalance(to), parseEther('0.001'));

    const before = await countRows(stack, 'strategies');
    const waiting = await callOk<OneShot>(client, 'send_when_gas_below', { agent_id: agent, to_address: to, amount_eth: '0.001', max_base_fee_gwei: '0.000000001' });
    assert.equal(waiting.action, 'skipped');
    assert.equal(waiting.reason, 'gas_above_ceiling');
    assert.equal(waiting.strategy, null);
    assert.equal((await callError(client, 'send_when_gas_below', { agent_id: agent, to_address: to, amount_eth: '0.001', max_base_fee_gwei: '1', persist: true })).code, 'INVALID_INPUT');
    const noLabel = await callError(client, 'send_when_gas_below', { agent_id: agent, to_address: to, amount_eth: '0.001', max_base_fee_gwei: '0.000000001', persist: true });
    assert.match(noLabel.message, /^label: .*persist/);
    const badInterval = await callError(client, 'send_when_gas_below', { agent_id: agent, to_address: to, amount_eth: '0.001', max_base_fee_gwei: '0.000000001', persist: true, label: 'cheap-gas', check_interval_seconds: 0 });
    assert.match(badInterval.message, /^check_interval_seconds: /);
    const strayLabel = await callError(client, 'send_when_gas_below', { agent_id: agent, to_address: to, amount_eth: '0.001', max_base_fee_gwei: '0.000000001', label: 'cheap-gas' });
    assert.match(strayLabel.message, /^label: .*persist/);
    assert.equal(await countRows(stack, 'strategies'), before);

    const persisted = await callOk<OneShot>(client, 'send_when_gas_below', {
      agent_id: agent, to_address: to, amount_eth: '0.001', max_base_fee_gwei: '0.000000001', persist: true, label: 'cheap-gas', check_interval_seconds: 120,
    });
    assert.equal(persisted.action, 'persisted');
    assert.equal(persisted.reason, 'gas_above_ceiling');
    assert.equal(persisted.strategy!.kind, 'send_when_gas_below');
    assert.equal(persisted.strategy!.label, 'cheap-gas');
    assert.equal(persisted.strategy!.status, 'active');
    assert.equal(persisted.strategy!.params.check_interval_seconds, 120);
    assert.equal(persisted.strategy!.params.max_base_fee_gwei, '0.000000001');
    assert.equal(await countRows(stack, 'strategies'), before + 1);
    await callOk(client, 'delete_strategy', { label: 'cheap-gas' });
  });

  test('scheduled_send_once: a past time sends; a future one skips with seconds left, or with persist creates a scheduled_send strategy', async () => {
    const to = freshAddress();
    const past = await callOk<OneShot>(client, 'scheduled_send_once', { agent_id: agent, to_address: to, amount_eth: '0.001', send_at_iso: '2020-01-01T00:00:00' });
    assert.equal(past.action, 'sent', 'a zoneless time is read as UTC');
    await mined(past.transactions);
    assert.equal(await provider.getBalance(to), parseEther('0.001'));

    const at = new Date(Date.now() + 3_600_000).toISOString();
    const txs = await countRows(stack, 'transactions');
    const later = await callOk<OneShot>(client, 'scheduled_send_once', { agent_id: agent, to_address: to, amount_eth: '0.001', send_at_iso: at });
    assert.equal(later.action, 'skipped');
    assert.equal(later.reason, 'not_due');
    assert.ok(later.seconds_until_due! > 3500 && later.seconds_until_due! <= 3600);
    assert.equal((await callError(client, 'scheduled_send_once', { agent_id: agent, to_address: to, amount_eth: '0.001', send_at_iso: 'tomorrow' })).message.split(':')[0], 'send_at_iso');

    const persisted = await callOk<OneShot>(client, 'scheduled_send_once', { agent_id: agent, to_address: to, amount_eth: '0.001', send_at_iso: at, persist: true, label: 'later-send' });
    assert.equal(persisted.action, 'persisted');
    assert.equal(persisted.reason, 'not_due');
    const s = persisted.strategy!;
    assert.equal(s.kind, 'scheduled_send');
    assert.ok(s.status === 'active' || s.status === 'stopped');
    assert.equal(s.params.run_at, at);
    assert.equal(s.next_run_at, at);
    const dup = await callError(client, 'scheduled_send_once', { agent_id: agent, to_address: to, amount_eth: '0.001', send_at_iso: at, persist: true, label: 'later-send' });
    assert.equal(dup.code, 'STRATEGY_EXISTS');
    assert.equal(await countRows(stack, 'transactions'), txs, 'nothing sent for a future time');
    await callOk(client, 'delete_strategy', { label: 'later-send' });
  });
});

describe('tick_strategy', () => {
  test('dry_run decides and writes no run; a real tick of a due slot sends and records it', async () => {
    const to = freshAddress();
    await callOk(client, 'create_strategy_dca', { label: 'tick-me', agent_id: agent, to_address: to, amount_eth: '0.002', interval_seconds: 3600 });
    const runs = await countRows(stack, 'strategy_runs');
    const txs = await countRows(stack, 'transactions');
    const dry = await callOk<Tick>(client, 'tick_strategy', { label: 'tick-me', dry_run: true });
    assert.equal(dry.outcome, 'dry_run');
    assert.equal(dry.dry_run, true);
    assert.equal(dry.run, null);
    assert.equal(dry.decision!.action, 'send');
    assert.equal(dry.decision!.sends[0]!.amount.eth, '0.002');
    assert.equal(await countRows(stack, 'strategy_runs'), runs, 'a dry run writes no strategy_runs row');
    assert.equal(await countRows(stack, 'transactions'), txs);

    const real = await callOk<Tick>(client, 'tick_strategy', { label: 'tick-me' });
    assert.equal(real.outcome, 'sent');
    assert.equal(real.run!.outcome, 'sent');
    assert.equal(real.run!.source, 'manual');
    assert.equal(real.strategy.runs.sent, 1);
    await provider.waitForTransaction(real.run!.transactions[0]!.tx_hash, 1, 20_000);
    assert.equal(await provider.getBalance(to), parseEther('0.002'));

    // The next slot is an hour away: a tick now is recorded as skipped (not_due) and sends nothing.
    const early = await callOk<Tick>(client, 'tick_strategy', { label: 'tick-me' });
    assert.equal(early.outcome, 'skipped');
    assert.equal(early.run!.reason, 'not_due');
    const status = await callOk<{ strategy: Strategy; last_runs: Run[] }>(client, 'strategy_status', { label: 'tick-me' });
    assert.deepEqual(status.last_runs.map((r) => r.outcome), ['skipped', 'sent']);
    assert.equal(status.strategy.spent_total.eth, '0.002');
    assert.equal(await provider.getBalance(to), parseEther('0.002'));
    await callOk(client, 'delete_strategy', { label: 'tick-me' });
  });
});
