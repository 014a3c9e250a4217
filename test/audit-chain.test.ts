/**
 * The append-only, hash-chained audit log on real Postgres: a database upgraded from 0004 has its
 * old rows chained by the migration; concurrent appends from many connections (some inside
 * transactions, some rolled back) leave every chain intact; UPDATE, DELETE and TRUNCATE through
 * the application's connection are refused by the triggers; with the triggers bypassed as the
 * owner, an edited row and a deleted row are reported by the real `vaultpilot audit verify`
 * process; JSONL and CSV exports (CLI and REST) carry the rows as stored, secrets redacted, and an
 * unfiltered JSONL export re-verifies with nothing but the format in docs/audit-log.md.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import canonicalize from 'canonicalize';
import { Migrator, sql, type Migration } from 'kysely';
import pg from 'pg';
import { Wallet } from 'ethers';
import { connectDb, migrate, type Db } from '../core/db/connect.ts';
import * as m0001 from '../core/db/migrations/0001_initial.ts';
import * as m0002 from '../core/db/migrations/0002_key_custody.ts';
import * as m0003 from '../core/db/migrations/0003_strategies.ts';
import * as m0004 from '../core/db/migrations/0004_guardrails.ts';
import { recordAudit } from '../core/audit/log.ts';
import { verifyAuditLog } from '../core/audit/verify.ts';
import { sealAuditLog } from '../core/audit/seal.ts';
import { GENESIS_HASH } from '../core/audit/chain.ts';
import { refusalAuditor } from '../server/auth.ts';
import { createTestDatabase, startStack, TEST_FERNET_KEY, type Stack } from './harness.ts';
import { runCli } from './custody-harness.ts';

/** The CLI's environment for a database. */
const cliEnv = (databaseUrl: string) => ({ DATABASE_URL: databaseUrl, FERNET_KEY: TEST_FERNET_KEY, KEY_PROVIDER: 'fernet' });

/**
 * Re-verifies JSONL export lines exactly as docs/audit-log.md tells a third party to: per
 * tenant_id in chain_seq order, hash = sha256_hex(prev_hash || JCS(row without id and hash)).
 * @returns the number of rows checked per chain; throws on the first broken row.
 */
function reverifyExport(lines: Array<Record<string, unknown>>): Map<string, number> {
  const heads = new Map<string, string>();
  const counts = new Map<string, number>();
  for (const line of [...lines].sort((a, b) => Number(BigInt(String(a.chain_seq)) - BigInt(String(b.chain_seq))))) {
    const chain = String(line.tenant_id ?? 'unscoped');
    const { id, hash, ...fields } = line;
    const expectedPrev = heads.get(chain) ?? '0'.repeat(64);
    assert.equal(fields.prev_hash, expectedPrev, `row ${String(id)} links to the previous row of chain ${chain}`);
    const digest = createHash('sha256').update(String(fields.prev_hash)).update(canonicalize(fields)!).digest('hex');
    assert.equal(digest, hash, `row ${String(id)} hashes to its stored hash`);
    heads.set(chain, String(hash));
    counts.set(chain, (counts.get(chain) ?? 0) + 1);
  }
  return counts;
}

/** Runs `fn` on one pg client with both audit triggers disabled (as the table owner), in one transaction. */
async function asOwnerWithoutTriggers(databaseUrl: string, fn: (client: pg.Client) => Promise<void>): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('begin');
    await client.query('alter table audit_events disable trigger audit_events_no_update_delete');
    await fn(client);
    await client.query('alter table audit_events enable trigger audit_events_no_update_delete');
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    await client.end();
  }
}

describe('audit chain: upgrade from 0004', () => {
  let db: Db;
  let databaseUrl: string;

  before(async () => {
    databaseUrl = await createTestDatabase();
    ({ db } = connectDb(databaseUrl, 4));
  });
  after(async () => {
    await db.destroy();
  });

  test('rows written before 0005 are chained by the migration, and new rows extend the chains', async () => {
    const upTo0004: Record<string, Migration> = { '0001_initial': m0001, '0002_key_custody': m0002, '0003_strategies': m0003, '0004_guardrails': m0004 };
    const old = new Migrator({ db, provider: { getMigrations: async () => upTo0004 }, migrationTableName: 'vaultpilot_migrations', migrationLockTableName: 'vaultpilot_migrations_lock' });
    const { error } = await old.migrateToLatest();
    assert.equal(error, undefined);
    const a = (await db.insertInto('tenants').values({ name: 'alpha' }).returning('id').executeTakeFirstOrThrow()).id;
    const b = (await db.insertInto('tenants').values({ name: 'beta' }).returning('id').executeTakeFirstOrThrow()).id;
    // Old rows: microsecond timestamps, jsonb with keys in any order, trailing zeros, nesting.
    for (let i = 0; i < 25; i++) {
      const tenant = i % 5 === 4 ? null : i % 2 === 0 ? a : b;
      await sql`
        insert into audit_events (tenant_id, occurred_at, kind, action, principal, agent_id, status, duration_ms, request, response, request_id, ip)
        values (${tenant}, ${`2024-05-01 12:00:${String(i).padStart(2, '0')}.123456+00`}::timestamptz, 'tool_call', 'execute_transfer', 'vp_1234abcd',
                ${`agent-${i}`}, ${i % 3 === 0 ? 'refused' : 'ok'}, ${i}, ${`{"zeta": 1.50, "alpha": {"b": [1, 2, {"y": null, "x": "é"}], "a": ${i}}}`}::jsonb,
                ${i % 4 === 0 ? null : '{"ok": true}'}::jsonb, ${`req-${i}`}, '127.0.0.1')
      `.execute(db);
    }
    const applied = await migrate(db);
    assert.deepEqual(applied, ['0005_audit_chain', '0006_hostile_agent']);

    const result = await verifyAuditLog(db);
    assert.equal(result.ok, true, JSON.stringify(result.chains));
    assert.deepEqual(result.chains.map((c) => c.rows).sort(), [10, 10, 5].sort());
    const firsts = await sql<{ n: string }>`select count(*)::text as n from audit_events where prev_hash = ${GENESIS_HASH}`.execute(db);
    assert.equal(firsts.rows[0]!.n, '3', 'one chain start per tenant and one for the unscoped rows');

    await recordAudit(db, { tenantId: a, kind: 'cli', action: 'after.upgrade', principal: 'cli', status: 'ok', request: { n: 1n, nested: { z: 1, a: [undefined, 2] } } });
    await recordAudit(db, { tenantId: null, kind: 'auth', action: 'POST /api/session', principal: null, status: 'refused', errorCode: 'UNAUTHENTICATED' });
    const pending = await verifyAuditLog(db);
    assert.deepEqual(pending.chains.map((c) => c.unsealed).sort(), [0, 1, 1], 'new rows wait, unsealed, for the sealer');
    assert.equal(await sealAuditLog(db), 2);
    const again = await verifyAuditLog(db);
    assert.equal(again.ok, true, JSON.stringify(again.chains));
    assert.equal(again.chains.reduce((n, c) => n + c.rows, 0), 27);

    const run = await runCli(['audit', 'verify'], cliEnv(databaseUrl));
    assert.equal(run.code, 0, run.stderr + run.stdout);
    assert.match(run.stdout, /ok tenant alpha .*: 11 rows, head row \d+ hash [0-9a-f]{64}/);
    assert.match(run.stdout, /ok unscoped \(no tenant\): 6 rows/);
    assert.match(run.stdout, /audit log intact/);
  });
});

describe('audit chain: append-only, concurrent, tamper-evident, exportable', () => {
  let stack: Stack;
  let db: Db;
  let tenantId: string;
  let outDir: string;
  const privateKey = Wallet.createRandom().privateKey;

  const api = (route: string, init: RequestInit = {}) =>
    fetch(`${stack.url}${route}`, { ...init, headers: { Authorization: `Bearer ${stack.adminKey}`, 'Content-Type': 'application/json', ...(init.headers ?? {}) } });

  before(async () => {
    stack = await startStack({ worker: false });
    db = stack.server.ctx.db;
    tenantId = (await db.selectFrom('tenants').select('id').where('name', '=', 'default').executeTakeFirstOrThrow()).id;
    outDir = await mkdtemp(path.join(tmpdir(), 'vp-audit-'));
    // An audited write whose request holds a secret, and a refused sign-in (the unscoped chain).
    const imported = await api('/api/wallets/import', { method: 'POST', body: JSON.stringify({ agent_id: 'audit-pk', kind: 'private_key', private_key: privateKey }) });
    assert.equal(imported.status, 201, await imported.text());
    const refused = await fetch(`${stack.url}/api/wallets`, { headers: { Authorization: 'Bearer vp_deadbeef_not-a-key' } });
    assert.equal(refused.status, 401);
    // Refusals without a valid key are aggregated per source per minute: write this one's row now.
    await refusalAuditor(stack.server.ctx).flush();
  });
  after(async () => {
    await stack?.close();
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  test('concurrent appends from many connections, sealed by two sealers meanwhile, leave every chain intact', async (t) => {
    const other = (await db.insertInto('tenants').values({ name: 'concurrent' }).returning('id').executeTakeFirstOrThrow()).id;
    const { db: pool } = connectDb(stack.databaseUrl, 16);
    try {
      await sealAuditLog(db);
      const before = await verifyAuditLog(db);
      const rowsBefore = before.chains.reduce((n, c) => n + c.rows, 0);
      const tenants = [tenantId, other, null];
      let committed = 0;
      const jobs = Array.from({ length: 240 }, (_, i) => async () => {
        const tenant = tenants[i % 3]!;
        const entry = { tenantId: tenant, kind: 'tool_call' as const, action: `concurrent_${i % 7}`, principal: 'vp_00000000', agentId: `agent-${i % 5}`, status: 'ok' as const, durationMs: i / 3, request: { i, nested: { b: 2, a: 1 } }, response: { ok: true } };
        if (i % 10 === 0) {
          // Rolled back after appending: the row vanishes and the chain closes over it.
          await pool.transaction().execute(async (trx) => {
            await recordAudit(trx, entry);
            throw new Error('rollback');
          }).catch((err: unknown) => {
            if (!(err instanceof Error && err.message === 'rollback')) throw err;
          });
          return;
        }
        if (i % 4 === 1) {
          // Inside a caller's transaction, after its own write (as the strategy engine does).
          await pool.transaction().execute(async (trx) => {
            await sql`select pg_sleep(0.002)`.execute(trx);
            await recordAudit(trx, entry);
          });
        } else if (i % 20 === 3) {
          // Committed late: rows with higher ids are sealed before this one exists for the sealer.
          await pool.transaction().execute(async (trx) => {
            await recordAudit(trx, entry);
            await sql`select pg_sleep(0.05)`.execute(trx);
          });
        } else {
          await recordAudit(pool, entry);
        }
        committed += 1;
      });
      const started = performance.now();
      // Two sealers (as two workers would run) race the writers and each other.
      let writing = true;
      const sealer = async () => {
        while (writing) {
          await sealAuditLog(pool);
          await new Promise((r) => setTimeout(r, 5));
        }
      };
      const sealers = [sealer(), sealer()];
      await Promise.all(jobs.map((job) => job()));
      t.diagnostic(`240 concurrent appends over 16 connections in ${Math.round(performance.now() - started)} ms`);
      writing = false;
      await Promise.all(sealers);
      await sealAuditLog(pool);
      const after = await verifyAuditLog(db);
      assert.ok(after.chains.every((c) => c.unsealed === 0));
      // Late commits took later chain positions than rows with higher ids: chain order is not id order.
      const outOfIdOrder = await sql<{ n: string }>`
        select count(*)::text as n from (
          select id, lag(id) over (partition by tenant_id order by chain_seq) as prev_id from audit_events where chain_seq is not null
        ) x where prev_id > id
      `.execute(db);
      assert.ok(Number(outOfIdOrder.rows[0]!.n) > 0);
      assert.equal(after.ok, true, JSON.stringify(after.chains.filter((c) => c.broken)));
      assert.equal(after.chains.reduce((n, c) => n + c.rows, 0), rowsBefore + committed);
      assert.equal(committed, 240 - 24);
    } finally {
      await pool.destroy();
    }
  });

  test('the application connection can neither UPDATE, DELETE nor TRUNCATE audit rows; sealing sets only the chain columns, once', async () => {
    await sealAuditLog(db);
    const row = await db.selectFrom('audit_events').select(['id', 'response', 'hash']).orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow();
    assert.ok(row.hash, 'sealed');
    await assert.rejects(db.updateTable('audit_events').set({ hash: 'a'.repeat(64) }).where('id', '=', row.id).execute(), /audit_events is append-only: UPDATE refused/, 'a sealed row is never resealed');
    await recordAudit(db, { tenantId, kind: 'cli', action: 'unsealed', principal: 'cli', status: 'ok' });
    const fresh = await db.selectFrom('audit_events').select('id').where('action', '=', 'unsealed').executeTakeFirstOrThrow();
    await assert.rejects(
      db.updateTable('audit_events').set({ status: 'error', chain_seq: '999999', prev_hash: 'a'.repeat(64), hash: 'b'.repeat(64) }).where('id', '=', fresh.id).execute(),
      /audit_events is append-only: UPDATE refused/,
      'sealing cannot change the content',
    );
    await assert.rejects(db.updateTable('audit_events').set({ status: 'error' }).where('id', '=', fresh.id).execute(), /append-only: UPDATE refused/, 'nor can anything change an unsealed row');
    await assert.rejects(db.updateTable('audit_events').set({ status: 'error' }).where('id', '=', row.id).execute(), /audit_events is append-only: UPDATE refused/);
    await assert.rejects(db.deleteFrom('audit_events').where('id', '=', row.id).execute(), /audit_events is append-only: DELETE refused/);
    await assert.rejects(sql`truncate audit_events`.execute(db), /audit_events is append-only: TRUNCATE refused/);
    await assert.rejects(sql`delete from audit_events`.execute(db), /append-only/);
    const still = await db.selectFrom('audit_events').select(({ fn }) => fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    assert.ok(Number(still.n) > 200);
    // A forged row with a made-up hash is accepted by Postgres but not by the chain's links.
    await assert.rejects(
      sql`insert into audit_events (tenant_id, kind, action, status, prev_hash, hash) values (${tenantId}, 'cli', 'forged', 'ok', 'abc', 'def')`.execute(db),
      /audit_events_hash_format/,
    );
    assert.equal(await sealAuditLog(db), 1);
    assert.equal((await verifyAuditLog(db)).ok, true);
  });

  test('an edited row is reported by `audit verify` (exactly that row); restoring it makes the chain whole again', async () => {
    await sealAuditLog(db); // what the worker does within a second
    const target = await db
      .selectFrom('audit_events')
      .select(['id', 'response'])
      .where('tenant_id', '=', tenantId)
      .where('action', '=', 'POST /api/wallets/import')
      .executeTakeFirstOrThrow();
    const original = JSON.stringify(target.response);
    await asOwnerWithoutTriggers(stack.databaseUrl, async (client) => {
      await client.query(`update audit_events set response = jsonb_set(response, '{wallet,address}', '"0x0000000000000000000000000000000000000bad"') where id = $1`, [target.id]);
    });

    const run = await runCli(['audit', 'verify'], cliEnv(stack.databaseUrl));
    assert.equal(run.code, 1, run.stderr + run.stdout);
    const broken = run.stdout.split('\n').filter((l) => l.startsWith('BROKEN '));
    assert.equal(broken.length, 1, run.stdout);
    assert.match(broken[0]!, new RegExp(`^BROKEN tenant default \\(${tenantId}\\): row ${target.id}: hash_mismatch: row ${target.id} was edited`));
    assert.match(run.stdout, /ok tenant concurrent/);
    assert.match(run.stdout, /audit log BROKEN: 1 chain/);

    const json = await runCli(['audit', 'verify', '--tenant', 'default', '--json'], cliEnv(stack.databaseUrl));
    assert.equal(json.code, 1);
    const report = JSON.parse(json.stdout) as { ok: boolean; chains: Array<{ tenant: string; broken: { id: string; problem: string } | null }> };
    assert.equal(report.ok, false);
    assert.deepEqual(report.chains.map((c) => [c.tenant, c.broken?.id, c.broken?.problem]), [['default', target.id, 'hash_mismatch']]);

    await asOwnerWithoutTriggers(stack.databaseUrl, async (client) => {
      await client.query('update audit_events set response = $2::jsonb where id = $1', [target.id, original]);
    });
    const whole = await runCli(['audit', 'verify', '--tenant', 'default'], cliEnv(stack.databaseUrl));
    assert.equal(whole.code, 0, whole.stdout);
  });

  test('a deleted row is reported at the row after it (prev_hash mismatch); a deleted first row too', async () => {
    await sealAuditLog(db);
    // Chain order is chain_seq (a row committed late is sealed late), not id.
    const rows = await db.selectFrom('audit_events').select('id').where('tenant_id', '=', tenantId).where('chain_seq', 'is not', null).orderBy('chain_seq').execute();
    const [victim, next] = [rows[5]!.id, rows[6]!.id];
    // The other bypass: replica mode skips ordinary triggers for this session (superuser only).
    const client = new pg.Client({ connectionString: stack.databaseUrl });
    await client.connect();
    try {
      await client.query('set session_replication_role = replica');
      await client.query('delete from audit_events where id = $1', [victim]);
      const other = await client.query<{ id: string }>(`select id from audit_events where tenant_id = (select id from tenants where name = 'concurrent') order by chain_seq limit 2`);
      await client.query('delete from audit_events where id = $1', [other.rows[0]!.id]);
      await client.query('set session_replication_role = origin');
      const run = await runCli(['audit', 'verify'], cliEnv(stack.databaseUrl));
      assert.equal(run.code, 1, run.stderr + run.stdout);
      const broken = run.stdout.split('\n').filter((l) => l.startsWith('BROKEN '));
      assert.equal(broken.length, 2, run.stdout);
      assert.match(broken[0]!, new RegExp(`^BROKEN tenant default .*: row ${next}: prev_hash_mismatch: row ${next} does not follow row ${rows[4]!.id}: a row between them was deleted`));
      assert.match(broken[1]!, new RegExp(`^BROKEN tenant concurrent .*: row ${other.rows[1]!.id}: prev_hash_mismatch: .*is the first of its chain but does not start it`));
      assert.match(run.stdout, /ok unscoped/);
    } finally {
      await client.end();
    }
  });

  test('CLI export: JSONL re-verifies from the documented format alone; CSV has every row; secrets stay redacted', async () => {
    const out = path.join(outDir, 'all.jsonl');
    const run = await runCli(['audit', 'export', '--format', 'jsonl', '--out', out], cliEnv(stack.databaseUrl));
    assert.equal(run.code, 0, run.stderr);
    const text = await readFile(out, 'utf8');
    const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const stored = Number((await db.selectFrom('audit_events').select(({ fn }) => fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
    assert.equal(lines.length, stored - 1, 'every row but the export\'s own, which is written when it completes');
    assert.match(run.stdout, new RegExp(`exported ${lines.length} rows to `));
    assert.deepEqual(Object.keys(lines[0]!), ['id', 'tenant_id', 'occurred_at', 'kind', 'action', 'principal', 'agent_id', 'wallet_id', 'status', 'error_code', 'duration_ms', 'decision', 'rule', 'request_id', 'ip', 'request', 'response', 'chain_seq', 'prev_hash', 'hash']);
    assert.ok(!text.includes(privateKey) && !text.includes(privateKey.slice(2)), 'the imported private key is not in the export');
    const imported = lines.find((l) => l.action === 'POST /api/wallets/import')!;
    assert.equal((imported.request as { private_key: string }).private_key, '[redacted]');

    // The chains broken by the previous test stay broken in the export; the intact one re-verifies.
    const unscoped = lines.filter((l) => l.tenant_id === null);
    assert.ok(unscoped.length >= 70, `unscoped rows: ${unscoped.length}`);
    assert.equal(reverifyExport(unscoped).get('unscoped'), unscoped.length);
    assert.throws(() => reverifyExport(lines.filter((l) => l.tenant_id === tenantId)), /links to the previous row/);

    const csvRun = await runCli(['audit', 'export', '--format', 'csv', '--tenant', 'default', '--action', 'POST /api/wallets/import'], cliEnv(stack.databaseUrl));
    assert.equal(csvRun.code, 0, csvRun.stderr);
    const csvLines = csvRun.stdout.split('\r\n').filter(Boolean);
    assert.equal(csvLines[0], 'id,tenant_id,occurred_at,kind,action,principal,agent_id,wallet_id,status,error_code,duration_ms,decision,rule,request_id,ip,request,response,chain_seq,prev_hash,hash');
    assert.equal(csvLines.length, 2, csvRun.stdout);
    assert.match(csvLines[1]!, /,api_write,POST \/api\/wallets\/import,[^,]+,audit-pk,[^,]*,ok,,\d+,,,/);
    assert.ok(csvLines[1]!.includes('""private_key"":""[redacted]""'), csvLines[1]);
    assert.ok(!csvRun.stdout.includes(privateKey.slice(2)));

    const since = await runCli(['audit', 'export', '--format', 'jsonl', '--tenant', 'concurrent', '--since', new Date(Date.now() + 3_600_000).toISOString()], cliEnv(stack.databaseUrl));
    assert.equal(since.code, 0, since.stderr);
    assert.equal(since.stdout, '');
    const bad = await runCli(['audit', 'export', '--format', 'xml'], cliEnv(stack.databaseUrl));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--format must be jsonl or csv/);
    const badTime = await runCli(['audit', 'export', '--format', 'csv', '--until', 'yesterday'], cliEnv(stack.databaseUrl));
    assert.equal(badTime.code, 2);
    assert.match(badTime.stderr, /--until must be an ISO 8601 time/);
    const exports = await db.selectFrom('audit_events').select(['request', 'response']).where('action', '=', 'audit.export').orderBy('id').execute();
    assert.equal(exports.length, 3);
    assert.deepEqual(exports[0]!.response, { rows: lines.length });
  });

  test('REST export: streamed JSONL and CSV with a download filename, tenant scoped, filtered; the list takes since/until', async () => {
    const jsonl = await api('/api/events/export?format=jsonl&action=POST%20/api/wallets/import');
    assert.equal(jsonl.status, 200);
    assert.equal(jsonl.headers.get('content-type'), 'application/x-ndjson; charset=utf-8');
    assert.match(jsonl.headers.get('content-disposition') ?? '', /^attachment; filename="vaultpilot-audit-[0-9T-]+Z\.jsonl"$/);
    const rows = (await jsonl.text()).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.tenant_id, tenantId);
    assert.equal((rows[0]!.request as { private_key: string }).private_key, '[redacted]');

    const csv = await api('/api/events/export?format=csv&status=refused');
    assert.equal(csv.status, 200);
    assert.equal(csv.headers.get('content-type'), 'text/csv; charset=utf-8; header=present');
    assert.match(csv.headers.get('content-disposition') ?? '', /filename="vaultpilot-audit-.*\.csv"/);
    const csvText = await csv.text();
    const csvRows = csvText.split('\r\n').filter(Boolean);
    assert.ok(csvRows.length >= 2, csvText);
    assert.ok(csvRows.slice(1).every((l) => l.includes(',refused,')), csvText);
    // The admin key sees its tenant's rows and the unscoped ones, never the other tenant's.
    const all = (await (await api('/api/events/export')).text()).trimEnd().split('\n').map((l) => JSON.parse(l) as { tenant_id: string | null });
    assert.ok(all.length > 100);
    assert.ok(all.every((r) => r.tenant_id === tenantId || r.tenant_id === null));
    assert.ok(all.some((r) => r.tenant_id === null));

    const empty = await api(`/api/events/export?format=csv&since=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`);
    assert.equal(await empty.text(), 'id,tenant_id,occurred_at,kind,action,principal,agent_id,wallet_id,status,error_code,duration_ms,decision,rule,request_id,ip,request,response,chain_seq,prev_hash,hash\r\n');
    const bad = await api('/api/events/export?format=xml');
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { details: { field: string } } }).error.details.field, 'format');
    const badSince = await api('/api/events?since=last-week');
    assert.equal(badSince.status, 400);

    // The list: since/until bound occurred_at; decision and rule are part of each event.
    const imported = rows[0]!;
    const at = new Date(String(imported.occurred_at));
    const window = await api(`/api/events?since=${encodeURIComponent(at.toISOString())}&until=${encodeURIComponent(new Date(at.getTime() + 1).toISOString())}&action=${encodeURIComponent('POST /api/wallets/import')}`);
    const page = (await window.json()) as { events: Array<{ id: string; decision: unknown; rule: unknown }> };
    assert.deepEqual(page.events.map((e) => e.id), [imported.id]);
    assert.ok('decision' in page.events[0]! && 'rule' in page.events[0]!);
    const before = (await (await api(`/api/events?until=${encodeURIComponent(at.toISOString())}&action=${encodeURIComponent('POST /api/wallets/import')}`)).json()) as { events: unknown[] };
    assert.equal(before.events.length, 0);

    const recorded = await db.selectFrom('audit_events').select(['principal', 'request']).where('action', '=', 'GET /api/events/export').execute();
    assert.ok(recorded.length >= 4);
    assert.ok(recorded.every((r) => typeof r.principal === 'string' && r.principal.length > 0));
  });

  test('decision and rule are stored and covered by the hash', async () => {
    await recordAudit(db, { tenantId, kind: 'tool_call', action: 'execute_transfer', principal: 'vp_00000000', status: 'refused', errorCode: 'POLICY_SPEND_LIMIT', decision: 'deny', rule: 'spend_cap_24h_eth' });
    await sealAuditLog(db);
    const row = await db.selectFrom('audit_events').selectAll().where('rule', '=', 'spend_cap_24h_eth').executeTakeFirstOrThrow();
    assert.equal(row.decision, 'deny');
    await asOwnerWithoutTriggers(stack.databaseUrl, async (client) => {
      await client.query(`update audit_events set decision = 'allow' where id = $1`, [row.id]);
    });
    const verify = await verifyAuditLog(db, { tenantId });
    assert.equal(verify.chains[0]!.broken?.problem, 'prev_hash_mismatch', 'the earlier deletion is still the first break');
    const { rowHash } = await import('../core/audit/chain.ts');
    const edited = await db.selectFrom('audit_events').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
    assert.notEqual(rowHash({ ...edited, chain_seq: edited.chain_seq!, prev_hash: edited.prev_hash! }), edited.hash);
  });
});
