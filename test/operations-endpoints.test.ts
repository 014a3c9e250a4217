/**
 * The operations endpoints leak nothing and cost little: anonymous `/readyz` says ok or failing
 * per check (no ARN, URL, provider name or error text, even while KMS refuses), its checks are
 * cached and single-flight (50 concurrent calls, one KMS request), state changes are logged once
 * with their detail, and `GET /api/readiness` shows the detail to the host operator only.
 * `METRICS_TOKEN` protects `/metrics` on the server and the worker. HTTP+SSE sessions are capped
 * per key (429 `TOO_MANY_SESSIONS` before a transport exists) and free their slot on disconnect.
 * Real server, Postgres, anvil and the KMS emulator (test/emulators/kms.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { generateApiKey } from '../core/auth/api-keys.ts';
import type { Role } from '../core/db/types.ts';
import { startServer, type RunningServer } from '../server/start.ts';
import { refusalAuditor } from '../server/auth.ts';
import { READINESS_CACHE_MS, scrubDetail } from '../server/health.ts';
import { MAX_SSE_SESSIONS_PER_KEY } from '../server/mcp/transports.ts';
import { startKmsEmulator, type KmsEmulator } from './emulators/kms.ts';
import { callOk, connectMcp, countRows, createTestDatabase, startStack, testConfig, type Stack } from './harness.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Adds a key of `role` to the default tenant and returns the plaintext key. */
async function addKey(db: RunningServer['ctx']['db'], role: Role): Promise<string> {
  const k = generateApiKey();
  const tenant = await db.selectFrom('tenants').select('id').where('name', '=', 'default').executeTakeFirstOrThrow();
  await db.insertInto('api_keys').values({ tenant_id: tenant.id, name: `${role}-${k.prefix}`, role, key_prefix: k.prefix, key_hash: k.hash }).execute();
  return k.key;
}

test('readiness details keep scheme and host of a URL, never its credentials, path or query', () => {
  assert.equal(scrubDetail('unreachable https://mainnet.infura.io/v3/0123456789abcdef (timeout)'), 'unreachable https://mainnet.infura.io (timeout)');
  assert.equal(scrubDetail('failed http://ops:s3cret@vault.internal:8200/v1/transit/keys/k?x=1, retrying'), 'failed http://vault.internal:8200, retrying');
  assert.equal(scrubDetail('aws-kms: key arn:aws:kms:us-east-1:111122223333:key/k Enabled'), 'aws-kms: key arn:aws:kms:us-east-1:111122223333:key/k Enabled');
  assert.equal(scrubDetail('x'.repeat(500)).length, 200);
});

describe('/readyz and /api/readiness (aws-kms through the KMS emulator)', () => {
  let kms: KmsEmulator;
  let server: RunningServer;
  let adminKey: string;
  const logs: Array<{ level: number; msg: string; check?: string; ok?: boolean; detail?: string }> = [];

  before(async () => {
    kms = await startKmsEmulator();
    process.env.AWS_ACCESS_KEY_ID = kms.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = kms.secretAccessKey;
    const config = testConfig(await createTestDatabase(), {
      KEY_PROVIDER: 'aws-kms',
      AWS_KMS_KEY_ID: kms.aliasName,
      AWS_REGION: kms.region,
      AWS_ENDPOINT_URL_KMS: kms.url,
      KEY_PROVIDER_TIMEOUT_MS: '500',
    });
    adminKey = config.adminApiKey!;
    // The server's log, captured, to see what operators get and when.
    const logger = pino({ level: 'info', base: { process: 'server' } }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    server = await startServer(config, logger);
  });

  after(async () => {
    await server?.close();
    await kms?.close();
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
  });

  const readyz = async () => {
    const res = await fetch(`${server.url}/readyz`);
    return { status: res.status, text: await res.text() };
  };
  /** Waits until the cached result is stale, so the next call checks again. */
  const staleCache = () => sleep(READINESS_CACHE_MS + 100);
  const readinessLogs = () => logs.filter((l) => l.msg.startsWith('readiness:'));

  test('anonymous /readyz: ok or failing per check, nothing else, even while KMS refuses; the detail is logged once per change', async () => {
    const up = await readyz();
    assert.equal(up.status, 200);
    assert.deepEqual(JSON.parse(up.text), { status: 'ready', checks: { database: { ok: true }, chain: { ok: true }, key_provider: { ok: true } } });

    await kms.setMode('deny');
    try {
      await staleCache();
      const bodies: string[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await readyz();
        assert.equal(r.status, 503);
        bodies.push(r.text);
      }
      assert.deepEqual(JSON.parse(bodies[0]!), { status: 'not_ready', checks: { database: { ok: true }, chain: { ok: true }, key_provider: { ok: false } } });
      const leaks = [kms.keyArn, kms.aliasName, 'arn:', kms.url, new URL(kms.url).host, '111122223333', 'not authorized', 'AccessDenied', 'aws-kms', 'fernet', 'FAILING', 'detail', 'key_providers'];
      for (const body of bodies) for (const leak of leaks) assert.ok(!body.includes(leak), `/readyz shows ${leak}: ${body}`);

      // Operators: one warning with the detail, however many calls saw the failure.
      const failing = readinessLogs().filter((l) => l.check === 'key_provider' && l.ok === false);
      assert.equal(failing.length, 1, JSON.stringify(readinessLogs()));
      assert.match(failing[0]!.detail ?? '', /aws-kms \(active\): FAILING/);
      assert.ok(!JSON.stringify(logs).includes(kms.secretAccessKey), 'no credential in the log');

      // The host operator's detail view names the provider and the failure.
      const detail = await fetch(`${server.url}/api/readiness`, { headers: { authorization: `Bearer ${adminKey}` } });
      assert.equal(detail.status, 200);
      const body = (await detail.json()) as { status: string; checks: Record<string, { ok: boolean; detail: string }>; key_providers: Array<{ provider: string; active: boolean; ok: boolean }> };
      assert.equal(body.status, 'not_ready');
      assert.match(body.checks.key_provider!.detail, /aws-kms \(active\): FAILING/);
      assert.equal(body.key_providers.find((p) => p.provider === 'aws-kms')?.ok, false);
    } finally {
      await kms.setMode('ok');
    }
    await staleCache();
    assert.equal((await readyz()).status, 200);
    assert.equal((await readyz()).status, 200);
    const recovered = readinessLogs().filter((l) => l.check === 'key_provider' && l.ok === true && /again/.test(l.msg));
    assert.equal(recovered.length, 1, 'the recovery is logged once');
    assert.ok(readinessLogs().length <= 6, `readiness log lines: ${readinessLogs().length}`);
  });

  test('50 concurrent /readyz calls cost one KMS request; repeated calls within the cache period none', async () => {
    await staleCache();
    kms.requests.length = 0;
    const results = await Promise.all(Array.from({ length: 50 }, () => readyz()));
    assert.ok(results.every((r) => r.status === 200));
    assert.equal(kms.requests.filter((r) => r.target === 'DescribeKey').length, 1, 'one upstream check for 50 callers');
    await Promise.all(Array.from({ length: 50 }, () => readyz()));
    assert.equal(kms.requests.length, 1, 'cached: no further upstream call');
  });

  test('GET /api/readiness: owner and admin keys of the default tenant; others 403, no key 401', async () => {
    const admin = await addKey(server.ctx.db, 'admin');
    const viewer = await addKey(server.ctx.db, 'viewer');
    const get = (key?: string) => fetch(`${server.url}/api/readiness`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
    const ok = await get(admin);
    assert.equal(ok.status, 200);
    const body = (await ok.json()) as { checks: Record<string, { ok: boolean; detail: string }>; checked_at: string };
    assert.match(body.checks.key_provider!.detail, new RegExp(kms.keyArn.replace(/[/.]/g, '\\$&')));
    assert.ok(!Number.isNaN(Date.parse(body.checked_at)));
    const refused = await get(viewer);
    assert.equal(refused.status, 403);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'FORBIDDEN');
    const other = await server.ctx.db.insertInto('tenants').values({ name: `other-${randomBytes(3).toString('hex')}` }).returning('id').executeTakeFirstOrThrow();
    const k = generateApiKey();
    await server.ctx.db.insertInto('api_keys').values({ tenant_id: other.id, name: 'other owner', role: 'owner', key_prefix: k.prefix, key_hash: k.hash }).execute();
    assert.equal((await get(k.key)).status, 403, 'another tenant\'s owner does not see the host\'s infrastructure');
    assert.equal((await get()).status, 401);
  });
});

describe('METRICS_TOKEN', () => {
  const token = randomBytes(24).toString('base64url');
  let stack: Stack;
  before(async () => {
    stack = await startStack({ env: { METRICS_TOKEN: token } });
  });
  after(async () => stack?.close());

  for (const proc of ['server', 'worker'] as const) {
    test(`${proc}: /metrics needs the bearer token; refusals are 401 JSON with no audit row`, async () => {
      const url = proc === 'server' ? `${stack.url}/metrics` : `${stack.worker!.metricsUrl}/metrics`;
      await refusalAuditor(stack.server.ctx).flush();
      const rowsBefore = await countRows(stack, 'audit_events');
      for (const headers of [{}, { authorization: `Bearer ${token}x` }, { authorization: `Bearer ${token.slice(0, -1)}` }, { authorization: `Basic ${token}` }, { authorization: `Bearer ${stack.adminKey}` }] as Array<Record<string, string>>) {
        const res = await fetch(url, { headers });
        assert.equal(res.status, 401, JSON.stringify(headers));
        assert.match(res.headers.get('content-type') ?? '', /application\/json/);
        const text = await res.text();
        assert.equal((JSON.parse(text) as { error: { code: string } }).error.code, 'UNAUTHENTICATED');
        assert.ok(!text.includes(token.slice(0, 8)), 'the token is not echoed');
      }
      const ok = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /process_cpu_seconds_total/);
      await refusalAuditor(stack.server.ctx).flush();
      assert.equal(await countRows(stack, 'audit_events'), rowsBefore, 'a metrics refusal writes no audit row');
    });
  }

  test('/healthz and /readyz stay open', async () => {
    assert.equal((await fetch(`${stack.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${stack.url}/readyz`)).status, 200);
    assert.equal((await fetch(`${stack.worker!.metricsUrl}/healthz`)).status, 200);
  });
});

describe('HTTP+SSE sessions per key', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ worker: false });
  });
  after(async () => stack?.close());

  const openRaw = (key: string, signal?: AbortSignal) => fetch(`${stack.url}/sse`, { headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' }, ...(signal ? { signal } : {}) });

  test(`${MAX_SSE_SESSIONS_PER_KEY} sessions per key; the next is 429 TOO_MANY_SESSIONS; another key connects; closing one frees a slot`, async () => {
    const viewer = await addKey(stack.server.ctx.db, 'viewer');
    const clients: Client[] = [];
    try {
      for (let i = 0; i < MAX_SSE_SESSIONS_PER_KEY; i++) clients.push(await connectMcp(stack.url, viewer, 'sse'));
      await callOk(clients[0]!, 'provider_status');

      const refused = await openRaw(viewer);
      assert.equal(refused.status, 429);
      assert.equal(refused.headers.get('retry-after'), '5');
      const body = (await refused.json()) as { error: { code: string; message: string; details: { limit: number } } };
      assert.equal(body.error.code, 'TOO_MANY_SESSIONS');
      assert.equal(body.error.details.limit, MAX_SSE_SESSIONS_PER_KEY);
      await assert.rejects(connectMcp(stack.url, viewer, 'sse'), 'the SDK client is refused too');

      // Another key is not affected.
      const other = await connectMcp(stack.url, stack.adminKey, 'sse');
      await callOk(other, 'provider_status');
      await other.close();

      // A client that goes away frees its slot.
      await clients.pop()!.close();
      let again: Client | undefined;
      for (let i = 0; i < 50 && !again; i++) again = await connectMcp(stack.url, viewer, 'sse').catch(async () => void (await sleep(100)));
      assert.ok(again, 'a slot was freed');
      clients.push(again);

      // So does a raw stream whose socket is dropped.
      await clients.pop()!.close();
      await sleep(200);
      const controller = new AbortController();
      const raw = await openRaw(viewer, controller.signal);
      assert.equal(raw.status, 200);
      const full = await openRaw(viewer);
      assert.equal(full.status, 429);
      await full.text();
      controller.abort();
      let status = 0;
      for (let i = 0; i < 50 && status !== 200; i++) {
        await sleep(100);
        const c = new AbortController();
        const r = await openRaw(viewer, c.signal);
        status = r.status;
        c.abort();
        if (r.status !== 200) await r.text();
      }
      assert.equal(status, 200, 'the dropped socket freed its slot');
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });
});
