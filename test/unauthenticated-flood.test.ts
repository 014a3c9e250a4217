/**
 * Requests without a valid key cannot fill the disk: 3,000 refusals with 8 KB paths from one
 * source (no key, unknown keys, a revoked and an expired key, forged session cookies, failed
 * sign-ins) add one aggregated audit row per chain and source per minute, a few hundred bytes
 * each, with the path cut; the metric counts every one. Sources forged through a trusted proxy
 * (`TRUSTED_PROXIES=127.0.0.1`) stay under the cap of tracked sources, IPv6 ones count by /64, and
 * shutdown writes the open window.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { generateApiKey } from '../core/auth/api-keys.ts';
import type { Database } from '../core/db/types.ts';
import { MAX_PATH_LENGTH, MAX_SOURCES } from '../core/audit/refusals.ts';
import { refusalAuditor } from '../server/auth.ts';
import { startStack, type Stack } from './harness.ts';

interface Summary {
  refusals: number;
  first: { method: string; path: string; path_length: number };
  reasons: Record<string, number>;
  key_ids: string[];
  source: string;
  window: { first_at: string; last_at: string; seconds: number };
}

/** Runs `fn(i)` for i in [0, n) with at most `concurrency` at once. */
async function pool(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

/** `vaultpilot_auth_refusals_total` by reason, from the server's /metrics. */
async function refusalMetric(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^vaultpilot_auth_refusals_total\{reason="(\w+)"\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

/** A path of `length` random characters (random, so TOAST compression cannot hide its size). */
const longPath = (length: number) => `/api/${randomBytes(length).toString('base64url').slice(0, length - 5)}`;

/** Inserts a key that will not authenticate (revoked or expired) and returns it. */
async function deadKey(db: Kysely<Database>, tenantId: string, state: 'revoked' | 'expired'): Promise<{ key: string; prefix: string }> {
  const k = generateApiKey();
  await db
    .insertInto('api_keys')
    .values({
      tenant_id: tenantId,
      name: `${state}-key`,
      role: 'admin',
      key_prefix: k.prefix,
      key_hash: k.hash,
      ...(state === 'revoked' ? { revoked_at: new Date() } : { expires_at: new Date(Date.now() - 60_000) }),
    })
    .execute();
  return { key: k.key, prefix: k.prefix };
}

describe('unauthenticated flood', () => {
  let stack: Stack;
  let db: Kysely<Database>;
  let defaultTenant: string;
  let acmeTenant: string;
  let revoked: { key: string; prefix: string };
  let expired: { key: string; prefix: string };

  before(async () => {
    stack = await startStack({ worker: false, env: { TRUSTED_PROXIES: '127.0.0.1' } });
    db = stack.server.ctx.db;
    defaultTenant = (await db.selectFrom('tenants').select('id').where('name', '=', 'default').executeTakeFirstOrThrow()).id;
    acmeTenant = (await db.insertInto('tenants').values({ name: 'acme' }).returning('id').executeTakeFirstOrThrow()).id;
    revoked = await deadKey(db, acmeTenant, 'revoked');
    expired = await deadKey(db, defaultTenant, 'expired');
  });
  let closed = false;
  after(async () => {
    if (!closed) await stack?.close();
  });

  test('3,000 refusals with 8 KB paths from one source: a row per chain, a few hundred bytes, every one counted', async (t) => {
    const auditor = refusalAuditor(stack.server.ctx);
    await auditor.flush();
    const rowsBefore = Number((await sql<{ n: string }>`select count(*)::text as n from audit_events`.execute(db)).rows[0]!.n);
    const maxIdBefore = (await sql<{ id: string | null }>`select max(id)::text as id from audit_events`.execute(db)).rows[0]!.id ?? '0';
    const bytesBefore = Number((await sql<{ b: string }>`select pg_total_relation_size('audit_events')::text as b`.execute(db)).rows[0]!.b);
    const metricBefore = await refusalMetric(stack.url);

    const N = 3_000;
    const PATH = 8_000;
    const started = Date.now();
    const statuses = new Map<number, number>();
    await pool(N, 16, async (i) => {
      const kind = i % 6;
      let res: Response;
      if (kind === 5) {
        // A failed sign-in: an unknown key, or now and then the revoked one.
        const apiKey = i % 12 === 5 ? revoked.key : `vp_${randomBytes(4).toString('hex')}_${randomBytes(32).toString('base64url')}`;
        res = await fetch(`${stack.url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api_key: apiKey }) });
      } else {
        const headers: Record<string, string> = {};
        if (kind === 1) headers.authorization = `Bearer vp_${randomBytes(4).toString('hex')}_${randomBytes(32).toString('base64url')}`;
        if (kind === 2) headers.authorization = `Bearer ${revoked.key}`;
        if (kind === 3) headers.authorization = `Bearer ${expired.key}`;
        if (kind === 4) headers.cookie = `vp_session=${randomBytes(32).toString('base64url')}`;
        res = await fetch(`${stack.url}${longPath(PATH)}`, { headers });
      }
      await res.arrayBuffer();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    });
    const elapsed = Date.now() - started;
    assert.deepEqual([...statuses], [[401, N]], 'every request is refused with a 401');

    const metricAfter = await refusalMetric(stack.url);
    const delta = Object.fromEntries(Object.keys(metricAfter).map((r) => [r, metricAfter[r]! - (metricBefore[r] ?? 0)]));
    assert.equal(sum(delta), N, 'the metric counts every refusal');
    assert.deepEqual(delta, { no_key: N / 6, unknown_key: N / 6, revoked_key: N / 6, expired_key: N / 6, bad_session: N / 6, sign_in_failed: N / 6 });

    await auditor.flush();
    const rows = await db.selectFrom('audit_events').selectAll().where('id', '>', maxIdBefore).orderBy('id').execute();
    const rowsAdded = Number((await sql<{ n: string }>`select count(*)::text as n from audit_events`.execute(db)).rows[0]!.n) - rowsBefore;
    const rowBytes = Number((await sql<{ b: string | null }>`select sum(pg_column_size(a.*))::text as b from audit_events a where id > ${maxIdBefore}`.execute(db)).rows[0]!.b ?? 0);
    const bytesAdded = Number((await sql<{ b: string }>`select pg_total_relation_size('audit_events')::text as b`.execute(db)).rows[0]!.b) - bytesBefore;
    t.diagnostic(`${N} refusals in ${elapsed} ms: ${rowsAdded} audit rows, ${rowBytes} bytes of rows, audit_events grew by ${bytesAdded} bytes`);

    // One row per chain (unscoped, acme for the revoked key, default for the expired one) per
    // window; a slow machine may have crossed one window boundary per minute of flood.
    const windows = 1 + Math.floor(elapsed / 60_000);
    assert.ok(rowsAdded <= 3 * windows, `${rowsAdded} rows for ${N} refusals`);
    assert.ok(rowBytes < 4_096 * windows, `${rowBytes} bytes of rows`);
    assert.ok(bytesAdded < 256 * 1024, `audit_events grew by ${bytesAdded} bytes`);

    const summaries = rows.map((r) => ({ r, s: r.request as unknown as Summary }));
    assert.ok(summaries.every(({ r }) => r.kind === 'auth' && r.status === 'refused' && r.error_code === 'UNAUTHENTICATED' && r.ip === '127.0.0.1'));
    assert.equal(summaries.reduce((a, { s }) => a + s.refusals, 0), N, 'the rows account for every refusal');
    const byChain = (tenant: string | null) => summaries.filter(({ r }) => r.tenant_id === tenant);
    const totals = (tenant: string | null) =>
      byChain(tenant).reduce<Record<string, number>>((acc, { s }) => {
        for (const [k, v] of Object.entries(s.reasons)) if (v) acc[k] = (acc[k] ?? 0) + v;
        return acc;
      }, {});
    assert.deepEqual(totals(acmeTenant), { revoked_key: N / 6, sign_in_failed: N / 12 }, 'the revoked key\'s refusals, sign-ins included, are in its tenant\'s chain');
    assert.deepEqual(totals(defaultTenant), { expired_key: N / 6 });
    assert.deepEqual(totals(null), { no_key: N / 6, unknown_key: N / 6, bad_session: N / 6, sign_in_failed: N / 12 });
    assert.ok(byChain(acmeTenant).every(({ r, s }) => r.principal === revoked.prefix && s.key_ids.includes(revoked.prefix)));
    assert.ok(byChain(defaultTenant).every(({ r }) => r.principal === expired.prefix));
    assert.ok(byChain(null).every(({ s }) => !s.key_ids.includes(revoked.prefix) && !s.key_ids.includes(expired.prefix)), 'no tenant\'s key id in the unscoped chain');
    for (const { r, s } of summaries) {
      assert.ok(s.first.path.length <= MAX_PATH_LENGTH, 'the stored path is cut');
      assert.ok(r.action.length <= MAX_PATH_LENGTH + 10, `action is ${r.action.length} characters`);
      assert.ok(s.key_ids.length <= 10);
      assert.equal(s.window.seconds, 60);
    }
    assert.ok(summaries.some(({ s }) => s.first.path_length >= PATH), 'the row says how long the path was');
    const stored = JSON.stringify(rows);
    assert.ok(!stored.includes(revoked.key) && !stored.includes(expired.key), 'no presented key is stored');
  });

  test('many sources through a trusted proxy: at most the cap of rows, IPv6 by /64, written at shutdown', async (t) => {
    await refusalAuditor(stack.server.ctx).flush();
    const maxIdBefore = (await sql<{ id: string | null }>`select max(id)::text as id from audit_events`.execute(db)).rows[0]!.id ?? '0';
    const get = (xff: string, headers: Record<string, string> = {}) =>
      fetch(`${stack.url}/api/wallets`, { headers: { 'x-forwarded-for': xff, ...headers } }).then(async (r) => {
        await r.arrayBuffer();
        assert.equal(r.status, 401);
      });
    const started = Date.now();
    // 200 addresses of one /64: one source.
    await pool(200, 16, (i) => get(`2001:db8:1:2:${(i + 1).toString(16)}:${randomBytes(2).toString('hex')}::1`));
    // 300 IPv4 addresses: the cap is reached, the rest share the unscoped "other" row.
    await pool(300, 16, (i) => get(`10.0.${i >> 8}.${i & 255}`));
    // The revoked key from 50 further addresses: acme's own "other" row, not the unscoped one.
    await pool(50, 16, (i) => get(`10.1.0.${i}`, { authorization: `Bearer ${revoked.key}` }));
    const elapsed = Date.now() - started;

    // Shutdown writes the open window (server/start.ts close); read back on a connection of our own.
    await stack.close();
    closed = true;
    const own = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: stack.databaseUrl, max: 1 }) }) });
    try {
      const rows = await own.selectFrom('audit_events').selectAll().where('id', '>', maxIdBefore).execute();
      const windows = 1 + Math.floor(elapsed / 60_000);
      t.diagnostic(`550 refusals from 351 sources: ${rows.length} rows`);
      assert.ok(rows.length <= (MAX_SOURCES + 2) * windows, `${rows.length} rows (cap ${MAX_SOURCES} sources + one "other" row per chain)`);
      const s = (r: (typeof rows)[number]) => r.request as unknown as Summary;
      assert.equal(rows.reduce((a, r) => a + s(r).refusals, 0), 550, 'the rows account for every refusal');
      const v6 = rows.filter((r) => r.ip === '2001:db8:1:2::/64');
      assert.equal(v6.reduce((a, r) => a + s(r).refusals, 0), 200, 'one /64 is one source');
      assert.ok(v6.length <= windows);
      assert.ok(!rows.some((r) => r.ip?.startsWith('2001:db8:1:2:') && r.ip !== '2001:db8:1:2::/64'), 'no single IPv6 address is tracked');
      const acme = rows.filter((r) => r.tenant_id === acmeTenant);
      assert.equal(acme.reduce((a, r) => a + s(r).refusals, 0), 50);
      assert.ok(acme.every((r) => s(r).source === 'other' && r.ip === null && r.principal === revoked.prefix), 'past the cap, the key\'s tenant gets its own "other" row');
      const unscopedOther = rows.filter((r) => r.tenant_id === null && s(r).source === 'other');
      assert.ok(unscopedOther.length >= 1 && unscopedOther.every((r) => !s(r).key_ids.includes(revoked.prefix)));
      if (windows === 1) {
        assert.equal(rows.length, MAX_SOURCES + 2, 'the cap of sources, then one "other" row per chain');
        assert.equal(s(unscopedOther[0]!).refusals, 300 - (MAX_SOURCES - 1));
      }
    } finally {
      await own.destroy();
    }
  });
});
