/**
 * `vaultpilot import agentvault` end to end: AgentVault stores made by Python's own Fernet
 * (test/python-fernet.ts), the real CLI run as a child process against a running server's
 * database, then an imported wallet funded and spending over MCP on the dev chain. The AgentVault
 * store uses another Fernet key than the service, so every imported key must have been rewrapped.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { sql } from 'kysely';
import { Wallet, getAddress } from 'ethers';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { FernetKeyProvider, fernetDecrypt } from '../keyproviders/fernet.ts';
import { TEST_FERNET_KEY, callOk, chainProvider, connectMcp, createTestDatabase, freshAddress, rpcUrl, startStack, type Stack } from './harness.ts';
import { pyAgentvaultStore, pyEncrypt, pyGenerateKey, type AgentvaultStore } from './python-fernet.ts';
import { startKmsEmulator } from './emulators/kms.ts';
import { openWalletStore, signsWithAll } from './custody-harness.ts';
import { plainDecimal } from '../core/import/agentvault.ts';
import { parseAgentvaultDatabaseUrl, redactDatabaseUrl } from '../core/import/agentvault-sources.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin', 'vaultpilot.ts');
const OTHER_CHAIN = 11155111;

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

interface Row {
  kind: 'wallet' | 'strategy';
  id: string;
  outcome: 'imported' | 'skipped' | 'refused';
  reason?: string;
  address?: string;
  detail?: string;
  enabled_in_agentvault?: boolean;
}

interface Report {
  tenant: string;
  dry_run: boolean;
  chain_id: number;
  key_provider: string;
  wallets: { imported: number; skipped: number; refused: number };
  strategies: { imported: number; skipped: number; refused: number };
  enabled_in_agentvault: string[];
  rows: Row[];
}

/** A fresh key: its 32 bytes as hex (no 0x) and its address. */
function newKey(): { hex: string; address: string } {
  const w = Wallet.createRandom();
  return { hex: w.privateKey.slice(2), address: w.address };
}

describe('AgentVault sources and amounts', () => {
  test('database URLs: SQLAlchemy drivers stripped, SQLite paths as SQLAlchemy reads them, others refused', () => {
    assert.deepEqual(parseAgentvaultDatabaseUrl('postgresql+asyncpg://u:p@h:5432/av'), { kind: 'postgres', url: 'postgresql://u:p@h:5432/av' });
    assert.deepEqual(parseAgentvaultDatabaseUrl('postgresql+psycopg://u@h/av'), { kind: 'postgres', url: 'postgresql://u@h/av' });
    assert.deepEqual(parseAgentvaultDatabaseUrl('postgres://u:p@h/av'), { kind: 'postgres', url: 'postgresql://u:p@h/av' });
    assert.deepEqual(parseAgentvaultDatabaseUrl('sqlite+aiosqlite:///vaultpilot.db'), { kind: 'sqlite', path: 'vaultpilot.db' });
    assert.deepEqual(parseAgentvaultDatabaseUrl('sqlite:////var/lib/av/vaultpilot.db'), { kind: 'sqlite', path: '/var/lib/av/vaultpilot.db' });
    assert.deepEqual(parseAgentvaultDatabaseUrl('sqlite+pysqlite:///data/av.db?mode=ro'), { kind: 'sqlite', path: 'data/av.db' });
    assert.throws(() => parseAgentvaultDatabaseUrl('sqlite://'), /SQLite file/);
    assert.throws(() => parseAgentvaultDatabaseUrl('sqlite:///:memory:'), /SQLite file/);
    assert.throws(() => parseAgentvaultDatabaseUrl('mysql+aiomysql://u:hunter2@h/av'), (err: Error) => /not supported/.test(err.message) && !err.message.includes('hunter2'));
  });

  test('redactDatabaseUrl hides the password, even one with an unencoded @ or :', () => {
    assert.equal(redactDatabaseUrl('postgresql+asyncpg://av:s3cret@db:5432/av'), 'postgresql+asyncpg://av:***@db:5432/av');
    assert.equal(redactDatabaseUrl('postgresql://av:p@ss:w0rd@db/av'), 'postgresql://av:***@db/av');
    assert.equal(redactDatabaseUrl('postgresql://av@db/av'), 'postgresql://av@db/av');
    assert.equal(redactDatabaseUrl('sqlite:///vaultpilot.db'), 'sqlite:///vaultpilot.db');
  });

  test('plainDecimal writes float text as a plain decimal', () => {
    const cases: Array<[unknown, string | undefined]> = [
      ['0.001', '0.001'], ['1e-07', '0.0000001'], ['1E-7', '0.0000001'], ['3600.0', '3600'], ['2.5e3', '2500'],
      ['0.30000000000000004', '0.30000000000000004'], ['-0.5', '-0.5'], ['-0.0', '0'], [0.0003, '0.0003'], [1e21, '1000000000000000000000'],
      ['NaN', undefined], ['Infinity', undefined], ['0x10', undefined], ['', undefined], [null, undefined], [true, undefined], [Number.NaN, undefined],
    ];
    for (const [input, expected] of cases) assert.equal(plainDecimal(input), expected, `plainDecimal(${JSON.stringify(input)})`);
  });
});

describe('vaultpilot import agentvault', () => {
  let stack: Stack;
  let client: Client;
  let dir: string;
  let chainId: number;
  const avKey = pyGenerateKey();
  const wrongKey = pyGenerateKey();
  /** Everything secret that must never show up in output or the audit log. */
  const secrets: string[] = [avKey, wrongKey, TEST_FERNET_KEY];
  /** Every CLI run's output, checked for secrets at the end. */
  const outputs: CliRun[] = [];
  /** Runs that were not dry runs (each leaves one audit row). */
  let auditedRuns = 0;

  const alice = newKey();
  const bob = newKey();
  const carol = newKey();
  const recipient = freshAddress();
  let store: AgentvaultStore;

  function remember(...values: string[]) {
    secrets.push(...values);
  }

  /** Runs the real CLI against the stack's database, with the service's Fernet key. */
  async function cli(args: string[], opts: { env?: Record<string, string>; cwd?: string; audited?: boolean } = {}): Promise<CliRun> {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      DATA_DIR: path.join(dir, 'data'),
      DATABASE_URL: stack.databaseUrl,
      RPC_URLS: rpcUrl(),
      FERNET_KEYS: TEST_FERNET_KEY,
      LOG_LEVEL: 'warn',
      ...opts.env,
    };
    const child = spawn(process.execPath, [BIN, 'import', 'agentvault', ...args], { cwd: opts.cwd ?? ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
    const run = { code, stdout, stderr };
    outputs.push(run);
    // Every run that reaches the database leaves one audit row, except dry runs.
    if (opts.audited ?? (!args.includes('--dry-run') && code !== 2)) auditedRuns += 1;
    return run;
  }

  function reportOf(run: CliRun): Report {
    assert.doesNotThrow(() => JSON.parse(run.stdout), `stdout is JSON (stderr: ${run.stderr})`);
    return JSON.parse(run.stdout) as Report;
  }

  function row(report: Report, kind: Row['kind'], id: string): Row {
    const found = report.rows.find((r) => r.kind === kind && r.id === id);
    assert.ok(found, `a ${kind} row for ${id}`);
    return found;
  }

  async function counts(): Promise<{ wallets: number; strategies: number; audits: number }> {
    const r = await sql<{ w: string; s: string; a: string }>`
      select (select count(*) from wallets)::text as w, (select count(*) from strategies)::text as s,
             (select count(*) from audit_events where kind = 'cli')::text as a`.execute(stack.server.ctx.db);
    return { wallets: Number(r.rows[0]!.w), strategies: Number(r.rows[0]!.s), audits: Number(r.rows[0]!.a) };
  }

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'vp-agentvault-'));
    stack = await startStack();
    client = await connectMcp(stack.url, stack.adminKey, 'streamable');
    chainId = stack.server.ctx.chain.chainId;
    assert.notEqual(chainId, OTHER_CHAIN);

    store = pyAgentvaultStore(avKey, [
      { agent_id: 'alice', private_key_hex: alice.hex, address: alice.address, chain_id: chainId, last_nonce: null },
      // Bob's record names someone else's address.
      { agent_id: 'bob', private_key_hex: bob.hex, address: newKey().address, chain_id: chainId, last_nonce: 2 },
      // Carol lives on Sepolia; her nonce there means nothing here.
      { agent_id: 'carol', private_key_hex: carol.hex, address: carol.address.toLowerCase(), chain_id: OTHER_CHAIN, last_nonce: 7 },
    ]);
    remember(alice.hex, bob.hex, carol.hex);
    for (const rec of Object.values(store)) remember(rec.encrypted_privkey_hex, Buffer.from(rec.encrypted_privkey_hex, 'hex').toString('ascii'));
    writeFileSync(path.join(dir, 'agentvault_store.json'), JSON.stringify(store, null, 2));

    // Written by hand, as Python's json.dump writes floats (0.001, 1e-07, 0.30000000000000004).
    const strategy = (fields: string) =>
      `{"agent_id": "alice", "to_address": "${recipient.toLowerCase()}", "amount_eth": 0.001, "interval_seconds": 3600, "enabled": false, ` +
      `"max_base_fee_gwei": null, "daily_cap_eth": null, "next_run_at": null, "last_run_at": null, "last_tx_hash": null, ` +
      `"spent_day": null, "spent_today_eth": 0.0${fields}}`;
    const override = (json: string, changes: Record<string, string>) =>
      Object.entries(changes).reduce((s, [k, v]) => s.replace(new RegExp(`"${k}": [^,}]+`), `"${k}": ${v}`), json);
    writeFileSync(
      path.join(dir, 'agentvault_strategies.json'),
      `{"strategies": {
        "alice-dca": ${override(strategy(', "strategy_type": "dca"'), {
          enabled: 'true',
          max_base_fee_gwei: '30.5',
          daily_cap_eth: '0.01',
          next_run_at: '"2025-01-01T10:00:00+00:00"',
          last_run_at: '"2025-01-01T09:00:00+00:00"',
          last_tx_hash: '"0xabc123"',
          spent_day: '"2025-01-01"',
          spent_today_eth: '0.30000000000000004',
        })},
        "alice-tiny": ${override(strategy(''), { amount_eth: '1e-07', interval_seconds: '60' })},
        "carol-dca": ${override(strategy(''), { agent_id: '"carol"' })},
        "bob-dca": ${override(strategy(''), { agent_id: '"bob"' })},
        "alice-negative": ${override(strategy(''), { amount_eth: '-0.5' })},
        "alice-zero": ${override(strategy(''), { amount_eth: '0.0' })},
        "alice-dust": ${override(strategy(''), { amount_eth: '1e-19' })},
        "alice-no-interval": ${override(strategy(''), { interval_seconds: '0' })},
        "alice-bad-to": ${override(strategy(''), { to_address: '"0x1234"' })},
        "alice-grid": ${override(strategy(', "strategy_type": "grid"'), {})}
      }}`,
    );
  });

  after(async () => {
    await client?.close();
    await stack?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('usage errors exit 2 and never echo a key given in the wrong place', async () => {
    // Fernet keys are base64url and may start with "-", so they are passed as --option=value.
    const none = await cli([`--encrypt-key=${avKey}`]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /at least one source/);
    const noKey = await cli(['--wallet-store', path.join(dir, 'agentvault_store.json')]);
    assert.equal(noKey.code, 2);
    assert.match(noKey.stderr, /ENCRYPT_KEY/);
    const stray = await cli(['--wallet-store', path.join(dir, 'agentvault_store.json'), avKey]);
    assert.equal(stray.code, 2);
    assert.ok(!stray.stderr.includes(avKey));
    const bad = await cli(['--wallet-store', path.join(dir, 'agentvault_store.json'), '--encrypt-key', 'not-a-key'], { audited: false });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /KEY_PROVIDER_UNAVAILABLE: AgentVault's key \(--encrypt-key\): Fernet key is malformed/);
  });

  test('(a) JSON stores from Python: keys rewrapped under the service provider, refusals named, strategies stopped', async () => {
    const run = await cli([
      '--wallet-store', path.join(dir, 'agentvault_store.json'),
      '--strategy-store', path.join(dir, 'agentvault_strategies.json'),
      `--encrypt-key=${avKey}`,
      '--json',
    ]);
    assert.equal(run.code, 1, run.stderr);
    const report = reportOf(run);
    assert.equal(report.dry_run, false);
    assert.equal(report.chain_id, chainId);
    assert.equal(report.key_provider, 'fernet');
    assert.deepEqual(report.wallets, { imported: 1, skipped: 0, refused: 2 });
    assert.deepEqual(row(report, 'wallet', 'alice'), { kind: 'wallet', id: 'alice', outcome: 'imported', address: alice.address, source: 'wallet store' });
    const bobRow = row(report, 'wallet', 'bob');
    assert.equal(bobRow.reason, 'address_mismatch');
    assert.ok(bobRow.detail?.includes(bob.address), 'the detail names the derived address');
    const carolRow = row(report, 'wallet', 'carol');
    assert.equal(carolRow.outcome, 'refused');
    assert.equal(carolRow.reason, 'chain_mismatch');
    assert.match(carolRow.detail!, new RegExp(`${OTHER_CHAIN}.*${chainId}`));

    const reasons = Object.fromEntries(report.rows.filter((r) => r.kind === 'strategy').map((r) => [r.id, r.reason ?? r.outcome]));
    assert.deepEqual(reasons, {
      'alice-dca': 'imported',
      'alice-tiny': 'imported',
      'carol-dca': 'wallet_missing',
      'bob-dca': 'wallet_missing',
      'alice-negative': 'invalid_amount',
      'alice-zero': 'invalid_amount',
      'alice-dust': 'invalid_amount',
      'alice-no-interval': 'invalid_interval',
      'alice-bad-to': 'invalid_address',
      'alice-grid': 'unsupported_kind',
    });
    assert.deepEqual(report.strategies, { imported: 2, skipped: 0, refused: 8 });
    assert.deepEqual(report.enabled_in_agentvault, ['alice-dca']);
    assert.equal(row(report, 'strategy', 'alice-dca').enabled_in_agentvault, true);

    // The wallet row: the service's active provider and key, a new token, the same key inside.
    const wallets = await stack.server.ctx.db.selectFrom('wallets').selectAll().execute();
    assert.deepEqual(wallets.map((w) => w.agent_id), ['alice']);
    const w = wallets[0]!;
    assert.equal(w.address, alice.address);
    assert.equal(w.origin, 'agentvault');
    assert.equal(w.key_provider, 'fernet');
    assert.equal(w.key_ref, new FernetKeyProvider([TEST_FERNET_KEY]).keyRefs[0]);
    assert.equal(w.chain_id, String(chainId));
    assert.equal(w.next_nonce, '0');
    const avToken = Buffer.from(store.alice!.encrypted_privkey_hex, 'hex').toString('ascii');
    assert.notEqual(w.wrapped_key, avToken);
    assert.equal(Buffer.from(fernetDecrypt(TEST_FERNET_KEY, w.wrapped_key)).toString('hex'), alice.hex);
    assert.throws(() => fernetDecrypt(avKey, w.wrapped_key), /HMAC/);

    const strategies = await stack.server.ctx.db.selectFrom('strategies').selectAll().orderBy('label').execute();
    assert.deepEqual(strategies.map((s) => s.label), ['alice-dca', 'alice-tiny']);
    const dca = strategies[0]!;
    assert.equal(dca.status, 'stopped', 'enabled in AgentVault, stopped here');
    assert.equal(dca.origin, 'agentvault');
    assert.equal(dca.kind, 'dca');
    assert.equal(dca.wallet_id, w.id);
    assert.deepEqual(dca.params, {
      to_address: getAddress(recipient),
      amount_wei: '1000000000000000',
      interval_seconds: 3600,
      max_base_fee_wei: '30500000000',
      daily_cap_wei: '10000000000000000',
    });
    assert.deepEqual(dca.legacy_state, {
      enabled: true,
      next_run_at: '2025-01-01T10:00:00+00:00',
      last_run_at: '2025-01-01T09:00:00+00:00',
      last_tx_hash: '0xabc123',
      spent_day: '2025-01-01',
      spent_today_eth: '0.30000000000000004',
    });
    const tiny = strategies[1]!;
    assert.equal((tiny.params as { amount_wei: string }).amount_wei, '100000000000', '1e-07 ETH, from the JSON text');
    assert.equal((tiny.params as { interval_seconds: number }).interval_seconds, 60);
    assert.equal((tiny.legacy_state as { spent_today_eth: string }).spent_today_eth, '0');

    // The imported DCA is a VaultPilot dca strategy: readable over MCP and decided by the engine.
    const status = await callOk<{ strategy: { status: string; kind: string; params: { amount: { eth: string }; interval_seconds: number; max_base_fee_gwei: string; daily_cap: { eth: string } } } }>(client, 'strategy_status', { label: 'alice-dca' });
    assert.equal(status.strategy.status, 'stopped');
    assert.deepEqual([status.strategy.params.amount.eth, status.strategy.params.interval_seconds, status.strategy.params.max_base_fee_gwei, status.strategy.params.daily_cap.eth], ['0.001', 3600, '30.5', '0.01']);
    const dry = await callOk<{ outcome: string; decision: { action: string } }>(client, 'tick_strategy', { label: 'alice-dca', dry_run: true });
    assert.equal(dry.outcome, 'dry_run');
    assert.ok(['send', 'skip'].includes(dry.decision.action), dry.decision.action);
  });

  test('(a) --any-chain imports the other-chain wallet on the service chain, nonce starting over; it then spends over MCP', async () => {
    const run = await cli([
      '--wallet-store', path.join(dir, 'agentvault_store.json'),
      '--strategy-store', path.join(dir, 'agentvault_strategies.json'),
      `--encrypt-key=${avKey}`,
      '--any-chain',
    ]);
    assert.equal(run.code, 1, 'bob is still refused');
    assert.match(run.stdout, /^KIND\s+ID\s+OUTCOME\s+REASON\s+ADDRESS\s+DETAIL$/m);
    assert.match(run.stdout, new RegExp(`wallet\\s+carol\\s+imported\\s+${carol.address}`));
    assert.match(run.stdout, /wallet\s+alice\s+skipped\s+already_imported/);
    assert.match(run.stdout, /wallets: 1 imported, 1 skipped, 1 refused; strategies: 1 imported, 2 skipped, 7 refused/);
    const carolRow = await stack.server.ctx.db.selectFrom('wallets').selectAll().where('agent_id', '=', 'carol').executeTakeFirstOrThrow();
    assert.equal(carolRow.address, carol.address);
    assert.equal(carolRow.chain_id, String(chainId));
    assert.equal(carolRow.next_nonce, '0', 'Sepolia\'s nonce 7 is not carried to another chain');
    const carolDca = await stack.server.ctx.db.selectFrom('strategies').selectAll().where('label', '=', 'carol-dca').executeTakeFirstOrThrow();
    assert.equal(carolDca.wallet_id, carolRow.id);
    assert.equal(carolDca.status, 'stopped');

    // The imported wallet works: faucet, then a transfer signed with the rewrapped key.
    const funded = await callOk<{ amount: { eth: string } }>(client, 'request_faucet_funds', { agent_id: 'alice', amount_eth: '1' });
    assert.equal(funded.amount.eth, '1');
    const to = freshAddress();
    const sent = await callOk<{ transaction: { tx_hash: string; status: string } }>(client, 'execute_transfer', { agent_id: 'alice', to_address: to, amount_eth: '0.01' });
    const provider = chainProvider();
    try {
      const receipt = await provider.waitForTransaction(sent.transaction.tx_hash, 1, 20_000);
      assert.equal(receipt?.status, 1);
      assert.equal(receipt?.from, alice.address);
      assert.equal(await provider.getBalance(to), 10n ** 16n);
    } finally {
      provider.destroy();
    }
  });

  test('(b) running it again skips everything already imported and duplicates nothing', async () => {
    const before = await counts();
    const run = await cli([
      '--wallet-store', path.join(dir, 'agentvault_store.json'),
      '--strategy-store', path.join(dir, 'agentvault_strategies.json'),
      `--encrypt-key=${avKey}`,
      '--any-chain',
      '--json',
    ]);
    const report = reportOf(run);
    assert.deepEqual(report.wallets, { imported: 0, skipped: 2, refused: 1 });
    assert.deepEqual(report.strategies, { imported: 0, skipped: 3, refused: 7 });
    for (const id of ['alice', 'carol']) assert.equal(row(report, 'wallet', id).reason, 'already_imported');
    for (const id of ['alice-dca', 'alice-tiny', 'carol-dca']) assert.equal(row(report, 'strategy', id).reason, 'already_imported');
    const after = await counts();
    assert.deepEqual({ ...after, audits: before.audits }, before);
  });

  test('(c) the SQL path: an AgentVault SQLite file and an AgentVault Postgres database', async () => {
    // SQLite, as SQLAlchemy lays out AgentVault's models; the token bytes in a BLOB.
    const erin = newKey();
    const frank = newKey();
    remember(erin.hex, frank.hex);
    const erinToken = pyEncrypt(avKey, Buffer.from(erin.hex, 'hex'));
    const frankToken = pyEncrypt(avKey, Buffer.from(frank.hex, 'hex'));
    remember(erinToken, frankToken);
    const lite = new DatabaseSync(path.join(dir, 'agentvault.db'));
    lite.exec(`
      CREATE TABLE wallets (id VARCHAR(36) PRIMARY KEY, tenant_id VARCHAR(36) NOT NULL, agent_id VARCHAR(255) NOT NULL UNIQUE,
        address VARCHAR(42) NOT NULL, encrypted_privkey BLOB NOT NULL, chain_id INTEGER NOT NULL, last_nonce INTEGER,
        metadata_json JSON, created_at DATETIME DEFAULT (CURRENT_TIMESTAMP), updated_at DATETIME DEFAULT (CURRENT_TIMESTAMP));
      CREATE TABLE strategies (id VARCHAR(36) PRIMARY KEY, tenant_id VARCHAR(36) NOT NULL, label VARCHAR(255) NOT NULL UNIQUE,
        agent_id VARCHAR(255) NOT NULL, strategy_type VARCHAR(64) NOT NULL, to_address VARCHAR(64) NOT NULL, amount_eth FLOAT NOT NULL,
        interval_seconds INTEGER, enabled BOOLEAN, max_base_fee_gwei FLOAT, daily_cap_eth FLOAT, next_run_at DATETIME, last_run_at DATETIME,
        last_tx_hash VARCHAR(120), spent_day DATE, spent_today_eth FLOAT, config JSON,
        created_at DATETIME DEFAULT (CURRENT_TIMESTAMP), updated_at DATETIME DEFAULT (CURRENT_TIMESTAMP));
    `);
    const addWallet = lite.prepare('INSERT INTO wallets (id, tenant_id, agent_id, address, encrypted_privkey, chain_id, last_nonce, metadata_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    addWallet.run('w-erin', 'default', 'erin', erin.address, Buffer.from(erinToken, 'ascii'), chainId, 4, '{}');
    addWallet.run('w-frank', 'default', 'frank', frank.address, Buffer.from(frankToken, 'ascii'), chainId, null, '{}');
    lite
      .prepare(
        `INSERT INTO strategies (id, tenant_id, label, agent_id, strategy_type, to_address, amount_eth, interval_seconds, enabled,
           max_base_fee_gwei, daily_cap_eth, next_run_at, last_run_at, last_tx_hash, spent_day, spent_today_eth, config)
         VALUES ('s1', 'default', 'erin-dca', 'erin', 'dca', ?, 0.0003, 120, 1, 25.0, 0.005, '2025-02-01 12:00:00.000000', NULL, NULL, '2025-02-01', 0.0006, '{}')`,
      )
      .run(recipient);
    lite.close();

    const fromSqlite = await cli(['--database-url', 'sqlite+aiosqlite:///agentvault.db', `--encrypt-key=${avKey}`, '--json'], { cwd: dir });
    assert.equal(fromSqlite.code, 0, fromSqlite.stderr);
    const liteReport = reportOf(fromSqlite);
    assert.deepEqual(liteReport.wallets, { imported: 2, skipped: 0, refused: 0 });
    assert.deepEqual(liteReport.strategies, { imported: 1, skipped: 0, refused: 0 });
    assert.equal(row(liteReport, 'wallet', 'erin').address, erin.address);
    const erinRow = await stack.server.ctx.db.selectFrom('wallets').selectAll().where('agent_id', '=', 'erin').executeTakeFirstOrThrow();
    assert.equal(erinRow.next_nonce, '4', 'last_nonce seeds the nonce on the same chain');
    assert.equal(erinRow.origin, 'agentvault');
    assert.equal(Buffer.from(fernetDecrypt(TEST_FERNET_KEY, erinRow.wrapped_key)).toString('hex'), erin.hex);
    const erinDca = await stack.server.ctx.db.selectFrom('strategies').selectAll().where('label', '=', 'erin-dca').executeTakeFirstOrThrow();
    assert.equal(erinDca.status, 'stopped');
    assert.deepEqual(erinDca.params, {
      to_address: recipient,
      amount_wei: '300000000000000',
      interval_seconds: 120,
      max_base_fee_wei: '25000000000',
      daily_cap_wei: '5000000000000000',
    });
    assert.deepEqual(erinDca.legacy_state, {
      enabled: true,
      next_run_at: '2025-02-01 12:00:00.000000',
      last_run_at: null,
      last_tx_hash: null,
      spent_day: '2025-02-01',
      spent_today_eth: '0.0006',
    });

    // Postgres, as SQLAlchemy creates AgentVault's models there, reached with a SQLAlchemy URL.
    const gina = newKey();
    remember(gina.hex);
    const ginaToken = pyEncrypt(avKey, Buffer.from(gina.hex, 'hex'));
    remember(ginaToken);
    const avUrl = await createTestDatabase();
    const password = decodeURIComponent(new URL(avUrl).password);
    assert.ok(password.length > 0, 'the test database URL carries a password');
    remember(password);
    const pgc = new pg.Client({ connectionString: avUrl });
    await pgc.connect();
    try {
      await pgc.query(`
        CREATE TABLE wallets (id VARCHAR(36) PRIMARY KEY, tenant_id VARCHAR(36) NOT NULL, agent_id VARCHAR(255) NOT NULL UNIQUE,
          address VARCHAR(42) NOT NULL, encrypted_privkey BYTEA NOT NULL, chain_id INTEGER NOT NULL, last_nonce INTEGER,
          metadata_json JSON, created_at TIMESTAMP WITH TIME ZONE DEFAULT now(), updated_at TIMESTAMP WITH TIME ZONE DEFAULT now());
        CREATE TABLE strategies (id VARCHAR(36) PRIMARY KEY, tenant_id VARCHAR(36) NOT NULL, label VARCHAR(255) NOT NULL UNIQUE,
          agent_id VARCHAR(255) NOT NULL, strategy_type VARCHAR(64) NOT NULL, to_address VARCHAR(64) NOT NULL, amount_eth FLOAT NOT NULL,
          interval_seconds INTEGER, enabled BOOLEAN, max_base_fee_gwei FLOAT, daily_cap_eth FLOAT,
          next_run_at TIMESTAMP WITH TIME ZONE, last_run_at TIMESTAMP WITH TIME ZONE, last_tx_hash VARCHAR(120), spent_day DATE,
          spent_today_eth FLOAT, config JSON, created_at TIMESTAMP WITH TIME ZONE DEFAULT now(), updated_at TIMESTAMP WITH TIME ZONE DEFAULT now());
      `);
      await pgc.query(
        'INSERT INTO wallets (id, tenant_id, agent_id, address, encrypted_privkey, chain_id, last_nonce, metadata_json) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
        ['w-gina', 'default', 'gina', gina.address, Buffer.from(ginaToken, 'ascii'), chainId, 1, '{}'],
      );
      await pgc.query(
        `INSERT INTO strategies (id, tenant_id, label, agent_id, strategy_type, to_address, amount_eth, interval_seconds, enabled,
           max_base_fee_gwei, daily_cap_eth, next_run_at, spent_day, spent_today_eth, config)
         VALUES ('s-gina', 'default', 'gina-dca', 'gina', 'dca', $1, 0.002, 86400, false, NULL, NULL, '2025-03-01T00:00:00Z', '2025-03-01', 0.0, '{}')`,
        [recipient],
      );
    } finally {
      await pgc.end();
    }
    const sqlalchemyUrl = avUrl.replace(/^postgres(ql)?:/, 'postgresql+asyncpg:');
    const fromPg = await cli(['--database-url', sqlalchemyUrl, `--encrypt-key=${avKey}`]);
    assert.equal(fromPg.code, 0, fromPg.stderr);
    assert.match(fromPg.stdout, new RegExp(`wallet\\s+gina\\s+imported\\s+${gina.address}`));
    assert.match(fromPg.stdout, /strategy\s+gina-dca\s+imported/);
    const ginaRow = await stack.server.ctx.db.selectFrom('wallets').selectAll().where('agent_id', '=', 'gina').executeTakeFirstOrThrow();
    assert.equal(ginaRow.next_nonce, '1');
    const ginaDca = await stack.server.ctx.db.selectFrom('strategies').selectAll().where('label', '=', 'gina-dca').executeTakeFirstOrThrow();
    assert.equal((ginaDca.params as { amount_wei: string }).amount_wei, '2000000000000000');
    assert.deepEqual(ginaDca.legacy_state, {
      enabled: false,
      next_run_at: '2025-03-01T00:00:00.000Z',
      last_run_at: null,
      last_tx_hash: null,
      spent_day: '2025-03-01',
      spent_today_eth: '0',
    });
    // The audit row shows where it came from, without the password.
    const audit = await stack.server.ctx.db
      .selectFrom('audit_events')
      .select(['request'])
      .where('kind', '=', 'cli')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirstOrThrow();
    const shown = (audit.request as { database_url: string }).database_url;
    assert.match(shown, /^postgresql\+asyncpg:\/\/postgres:\*\*\*@/);
  });

  test('(d) a wrong --encrypt-key refuses every wallet (fernet_key_mismatch), writes nothing, exits 1', async () => {
    const dave = newKey();
    remember(dave.hex);
    const other = pyAgentvaultStore(avKey, [
      { agent_id: 'dave', private_key_hex: dave.hex, address: dave.address, chain_id: chainId, last_nonce: null },
      { agent_id: 'alice', private_key_hex: alice.hex, address: alice.address, chain_id: chainId, last_nonce: null },
    ]);
    for (const rec of Object.values(other)) remember(rec.encrypted_privkey_hex, Buffer.from(rec.encrypted_privkey_hex, 'hex').toString('ascii'));
    writeFileSync(path.join(dir, 'other_store.json'), JSON.stringify(other));
    const before = await counts();
    const run = await cli(['--wallet-store', path.join(dir, 'other_store.json'), `--encrypt-key=${wrongKey}`, '--json']);
    assert.equal(run.code, 1);
    const report = reportOf(run);
    assert.deepEqual(report.wallets, { imported: 0, skipped: 0, refused: 2 });
    for (const r of report.rows) assert.equal(r.reason, 'fernet_key_mismatch');
    const after = await counts();
    assert.deepEqual({ wallets: after.wallets, strategies: after.strategies }, { wallets: before.wallets, strategies: before.strategies });
  });

  test('(f) --dry-run opens and checks everything but writes nothing; the key may come from ENCRYPT_KEY, several keys are tried', async () => {
    const hank = newKey();
    remember(hank.hex);
    const dry = pyAgentvaultStore(avKey, [
      { agent_id: 'hank', private_key_hex: hank.hex, address: hank.address, chain_id: chainId, last_nonce: 3 },
      { agent_id: 'ivy', private_key_hex: hank.hex, address: hank.address, chain_id: chainId, last_nonce: null },
    ]);
    for (const rec of Object.values(dry)) remember(rec.encrypted_privkey_hex, Buffer.from(rec.encrypted_privkey_hex, 'hex').toString('ascii'));
    writeFileSync(path.join(dir, 'dry_store.json'), JSON.stringify(dry));
    writeFileSync(
      path.join(dir, 'dry_strategies.json'),
      JSON.stringify({ strategies: { 'hank-dca': { agent_id: 'hank', to_address: recipient, amount_eth: 0.01, interval_seconds: 600, enabled: true } } }),
    );
    const before = await counts();
    const run = await cli(['--wallet-store', path.join(dir, 'dry_store.json'), '--strategy-store', path.join(dir, 'dry_strategies.json'), '--dry-run', '--json'], {
      env: { ENCRYPT_KEY: `${wrongKey},${avKey}` },
    });
    const report = reportOf(run);
    assert.equal(report.dry_run, true);
    assert.equal(row(report, 'wallet', 'hank').outcome, 'imported');
    // The same key under a second agent id: caught in the dry run too.
    assert.equal(row(report, 'wallet', 'ivy').reason, 'conflict');
    assert.equal(row(report, 'strategy', 'hank-dca').outcome, 'imported', 'its wallet would be imported in the same run');
    assert.deepEqual(report.enabled_in_agentvault, ['hank-dca']);
    assert.equal(run.code, 1);
    assert.deepEqual(await counts(), before, 'no wallet, strategy or audit row');

    const table = await cli(['--wallet-store', path.join(dir, 'dry_store.json'), '--dry-run'], { env: { ENCRYPT_KEY: avKey } });
    assert.match(table.stdout, /DRY RUN: nothing was written/);
    assert.deepEqual(await counts(), before);
  });

  test('(g) with AWS KMS as the active provider, imported keys are wrapped by KMS and still sign', async () => {
    const kms = await startKmsEmulator();
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    try {
      const kim = newKey();
      remember(kim.hex, kms.secretAccessKey);
      const kimStore = pyAgentvaultStore(avKey, [{ agent_id: 'kim', private_key_hex: kim.hex, address: kim.address, chain_id: chainId, last_nonce: null }]);
      remember(kimStore.kim!.encrypted_privkey_hex, Buffer.from(kimStore.kim!.encrypted_privkey_hex, 'hex').toString('ascii'));
      writeFileSync(path.join(dir, 'kim_store.json'), JSON.stringify(kimStore));
      const env = {
        KEY_PROVIDER: 'aws-kms',
        AWS_KMS_KEY_ID: kms.aliasName,
        AWS_REGION: kms.region,
        AWS_ENDPOINT_URL_KMS: kms.url,
        AWS_ACCESS_KEY_ID: kms.accessKeyId,
        AWS_SECRET_ACCESS_KEY: kms.secretAccessKey,
      };
      const run = await cli(['--wallet-store', path.join(dir, 'kim_store.json'), `--encrypt-key=${avKey}`, '--json'], { env });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(reportOf(run).key_provider, 'aws-kms');
      const row = await stack.server.ctx.db.selectFrom('wallets').selectAll().where('agent_id', '=', 'kim').executeTakeFirstOrThrow();
      assert.equal(row.key_provider, 'aws-kms');
      assert.equal(row.origin, 'agentvault');
      assert.ok(!row.wrapped_key.startsWith('gAAAAA'), 'not a Fernet token');
      // The SDK in this process reads credentials from the environment, as the CLI did.
      process.env.AWS_ACCESS_KEY_ID = kms.accessKeyId;
      process.env.AWS_SECRET_ACCESS_KEY = kms.secretAccessKey;
      const store = await openWalletStore(stack.databaseUrl, { FERNET_KEYS: TEST_FERNET_KEY, ...env });
      try {
        assert.equal(await signsWithAll(store, 'kim'), 1);
      } finally {
        await store.close();
      }
    } finally {
      process.env.AWS_ACCESS_KEY_ID = saved.id;
      process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
      if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
      if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
      await kms.close();
    }
  });

  test('(e) one audit row per run, and no key, private key or token anywhere in output or the audit log', async () => {
    const rows = await stack.server.ctx.db
      .selectFrom('audit_events')
      .selectAll()
      .where('kind', '=', 'cli')
      .where('action', '=', 'import.agentvault')
      .orderBy('id')
      .execute();
    assert.equal(rows.length, auditedRuns);
    const first = rows.find((r) => (r.response as { wallets?: unknown }).wallets !== undefined && (r.request as { wallet_store?: string }).wallet_store?.endsWith('agentvault_store.json'))!;
    assert.equal(first.principal, 'cli');
    assert.equal(first.status, 'refused');
    assert.ok(first.tenant_id);
    assert.deepEqual((first.response as { wallets: unknown }).wallets, { imported: 1, skipped: 0, refused: 2 });
    assert.equal((first.request as { fernet_keys_from: string }).fernet_keys_from, '--encrypt-key');
    assert.ok(Array.isArray((first.response as { rows: unknown[] }).rows));

    const everything = await sql<{ t: string }>`select coalesce(request::text, '') || coalesce(response::text, '') as t from audit_events`.execute(stack.server.ctx.db);
    const haystacks = [
      ...everything.rows.map((r) => r.t),
      ...outputs.flatMap((o) => [o.stdout, o.stderr]),
    ].map((h) => h.toLowerCase());
    for (const secret of secrets) {
      for (const hay of haystacks) assert.ok(!hay.includes(secret.toLowerCase()), 'a secret leaked into output or the audit log');
    }
  });
});
