/**
 * `npm run bench:guardrails`: what issue 5's guardrails cost, each beside a baseline measured in
 * the same run, on the same database, interleaved with it; and what `execute_transfer` costs
 * against the previous release (`--baseline-ref`).
 *
 * It starts an embedded Postgres (`.data/bench-guardrails`, wiped first) unless DATABASE_URL is
 * set and one anvil (automine) unless RPC_URLS is set, then two VaultPilot servers in this
 * process on the same database: one without `POLICY_FILE` and one whose `vaultpilot.yml` sets
 * every rule, and the run's only worker (started and stopped by this file, so the sealing phase
 * can run without it). Phases:
 *
 * - **audit append**: `recordAudit`, a plain INSERT of an unsealed row (`chain_seq`, `prev_hash`,
 *   `hash` null), sequentially, with `--writers` concurrent writers on one tenant, and with the
 *   same writers spread over `--tenants` tenants, while the worker seals the rows every 250 ms
 *   (as in production); baseline: a plain single-row INSERT of the same row (same redaction and
 *   JSON work) into `bench_audit_plain`, a copy of `audit_events` without the three chain
 *   columns (and so without their checks, the chain-position unique index and the unsealed-rows
 *   partial index) and without the append-only triggers.
 * - **audit sealing**: `--seal-rows` rows by `--writers` writers over `--tenants` tenants,
 *   (1) with the worker stopped, then `sealAuditLog` timed alone: the rows/s one sealer seals,
 *   printed beside the fastest 16-writer insert rate of the append phase (ratio > 1: sealing
 *   keeps up with writers); (2) with the worker sealing: the insert rate, the largest backlog
 *   seen and how long after the last insert `unsealedCount()` reached 0.
 * - **rate limits**: `consumeRateLimits` for a call that 3 counters apply to (`default`,
 *   `tools.execute_transfer`, `agents.<id>`), sequentially and with `--writers` callers on the
 *   same key and wallet (3 hot rows); baselines: one `select 1` round trip, the same call with no
 *   limits configured, and the callers on keys and wallets of their own (no shared row).
 * - **policy check alone**: `decideSends` through the pool (no wallet lock) with every rule vs
 *   with none: the statements the policy adds, without the rest of a transfer; and its CPU part
 *   (merge, compile, `evaluateSends`) with every rule, without quiet hours, and with no rules.
 * - **execute_transfer** end to end over MCP (Streamable HTTP, the SDK's client), every rule vs
 *   no `POLICY_FILE`, sequentially and `--concurrency` in flight on as many wallets.
 * - **execute_transfer against the previous release**: this working tree's server (candidate) vs
 *   the server of `--baseline-ref` (default 5269a0d, the last commit before the audit row moved
 *   into the send's transaction), checked out with `git worktree add --detach` under the OS temp
 *   directory with this tree's `node_modules` linked in, and removed again at the end. Both run as
 *   child processes (`node server/main.ts`, baseline-server.ts) with the same environment but
 *   for `PORT` and `DATABASE_URL` (a fresh database each on the run's Postgres): the same anvil,
 *   `POLICY_FILE` (every rule), agents and amounts, wallets funded with `anvil_setBalance`, no
 *   worker. Sequential and `--concurrency` in flight on as many wallets, in `--release-rounds`
 *   alternating blocks; besides the client's timings, each server's SQL statements, CPU and
 *   event-loop use (server-probe.ts) and the CPU of Postgres and anvil, per op. When the ref
 *   cannot be checked out (a shallow clone) the phase says why and is skipped; nothing else is.
 *
 * Each pair of arms runs in `--rounds` alternating blocks (A B, B A, A B, …) so drift on a shared
 * machine lands on both. It prints p50, p99, ops/s, SQL statements per op, CPU per op and
 * event-loop use, with the ratios measured ÷ baseline, the sealing table and the release table
 * (target: the candidate's ops/s at least 0.9× the release's); `--json FILE` also writes
 * everything. At the end it seals what is left and checks that every audit chain verifies with no
 * row unsealed and every row of `audit_events` in a chain, and that every wallet's chain nonce
 * equals its recorded sends (in the release phase: per server's database, with one `ok` audit row
 * per call); it exits 1 if not.
 *
 *   npm run bench:guardrails -- [--n 1000] [--transfers 200] [--writers 16] [--tenants 8]
 *     [--seal-rows 20000] [--concurrency 8] [--rounds 4] [--warmup 20] [--baseline-ref 5269a0d]
 *     [--release-rounds 12] [--json FILE]
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { CoreContext } from '../core/context.ts';
import type { AuditEventsTable } from '../core/db/types.ts';
import { authenticateApiKey } from '../core/auth/api-keys.ts';
import { recordAudit, redactSecrets, type AuditEntry } from '../core/audit/log.ts';
import { verifyAuditLog } from '../core/audit/verify.ts';
import { sealAuditLog, unsealedCount } from '../core/audit/seal.ts';
import { createLogger } from '../core/logger.ts';
import { startWorker, type RunningWorker } from '../worker/start.ts';
import { consumeRateLimits, type RateLimitedCall } from '../core/policy/rate-limit.ts';
import { decideSends } from '../core/policy/enforce.ts';
import { compilePolicy, mergePolicies, type RateLimits, type WalletPolicy } from '../core/policy/schema.ts';
import { evaluateSends } from '../core/policy/evaluate.ts';
import { createTenant } from '../core/tenants.ts';
import { getWalletByAgent } from '../core/wallets/service.ts';
import { parseEther, toBeHex } from 'ethers';
import { generateFernetKey } from '../keyproviders/fernet.ts';
import { benchEnv, startInfra, startVaultPilot, type Infra, type VaultPilotStack } from './infra.ts';
import { checkoutRef, createArmDatabase, describeHead, queryDatabase, startServerProcess, type ServerProcess } from './baseline-server.ts';
import type { ProbeReading } from './server-probe.ts';
import { freePort } from '../scripts/embedded/free-port.ts';
import { floorProvider, randomAddress } from './floor.ts';
import { installSqlCounter, setSqlTag, sqlCounts, type SqlCounts } from './db-count.ts';
import { postmasterPid, sampleCpu } from './proc-cpu.ts';
import { sampleConcurrent, sampleSequential, summarizeSamples, type Sample } from './stats.ts';
import { markdownTable, ms, rate, ratio, rounded, withRatios, type ResultRow } from './report.ts';
import { createCleanup } from './cleanup.ts';

/** The release the release phase compares with: the last commit before the guardrails of issue 6. */
const DEFAULT_BASELINE_REF = '5269a0d';

const USAGE = `usage: npm run bench:guardrails -- [options]
  --n N            operations per arm in the audit, rate-limit and policy phases (default 1000)
  --transfers N    execute_transfer calls per arm and transfer phase (default 200)
  --writers K      concurrent audit writers / rate-limit callers (default 16)
  --tenants T      tenants the writers are spread over in the multi-tenant audit phase (default 8)
  --seal-rows N    unsealed rows written for each sealing measurement (default 20000)
  --concurrency K  execute_transfer calls in flight, one wallet each (default 8)
  --rounds R       alternating blocks per pair of arms (default 4)
  --warmup N       unrecorded warm-up operations per arm (default 20; concurrent: per caller, at least 2)
  --baseline-ref REF  git ref whose server the release phase measures this tree against (default ${DEFAULT_BASELINE_REF})
  --release-rounds R  alternating blocks per pair in the release phase (default 12: shorter blocks than --rounds,
                   as the two servers are separate processes whose ratio drifts more on a shared machine)
  --json FILE      also write the results as JSON
Uses DATABASE_URL / RPC_URLS when set (RPC_URLS must be an anvil-style dev chain whose dev account 0 holds ETH).`;

/** Amount of every benchmark transfer, ETH (below every cap and the approval threshold). */
const AMOUNT_ETH = '0.000001';
/** Rate limits no benchmark call reaches: each call still counts against all of them. */
const UNREACHED = { max_calls: 1_000_000_000, window_seconds: 3600 };
/** Addresses on the policy's allowlist (the transfer recipients) and on its denylist. */
const LIST_SIZE = 100;
/** The whole run is aborted (and cleaned up) after this long. */
const WATCHDOG_MS = 10 * 60_000;

interface Options {
  n: number;
  transfers: number;
  writers: number;
  tenants: number;
  sealRows: number;
  concurrency: number;
  rounds: number;
  warmup: number;
  baselineRef: string;
  releaseRounds: number;
  json: string | undefined;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: 'string' },
      transfers: { type: 'string' },
      writers: { type: 'string' },
      tenants: { type: 'string' },
      'seal-rows': { type: 'string' },
      concurrency: { type: 'string' },
      rounds: { type: 'string' },
      warmup: { type: 'string' },
      'baseline-ref': { type: 'string' },
      'release-rounds': { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  // Counts of operations, callers and rounds (not amounts).
  const int = (name: string, v: string | undefined, fallback: number, min: number, max: number): number => {
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new Error(`--${name} must be an integer from ${min} to ${max} (got "${v}")`);
    return Number(v);
  };
  return {
    n: int('n', values.n, 1000, 1, 1_000_000),
    transfers: int('transfers', values.transfers, 200, 1, 100_000),
    writers: int('writers', values.writers, 16, 1, 256),
    tenants: int('tenants', values.tenants, 8, 1, 256),
    sealRows: int('seal-rows', values['seal-rows'], 20_000, 1, 10_000_000),
    concurrency: int('concurrency', values.concurrency, 8, 1, 64),
    rounds: int('rounds', values.rounds, 4, 1, 100),
    warmup: int('warmup', values.warmup, 20, 0, 10_000),
    baselineRef: baselineRef(values['baseline-ref']),
    releaseRounds: int('release-rounds', values['release-rounds'], 12, 1, 1000),
    json: values.json === undefined ? undefined : path.resolve(values.json),
  };
}

/** `--baseline-ref`: a ref name or commit id, never an option git would parse. */
function baselineRef(v: string | undefined): string {
  if (v === undefined) return DEFAULT_BASELINE_REF;
  if (!/^[A-Za-z0-9][A-Za-z0-9._/~^-]*$/.test(v)) throw new Error(`--baseline-ref must be a git ref or commit id (got "${v}")`);
  return v;
}

function step(msg: string): void {
  process.stderr.write(`[bench:guardrails] ${msg}\n`);
}

/** Shutdown steps, run last-in first-out, once. */
const { defer, cleanup } = createCleanup(step, 15_000);

/** Connects an MCP SDK client over Streamable HTTP and lists the tools once (as an agent does). */
async function connectMcp(url: URL, headers: Record<string, string>): Promise<Client> {
  const client = new Client({ name: 'vaultpilot-bench-guardrails', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers } }));
  await client.listTools();
  return client;
}

/** Calls a tool and returns its structured result; throws on `isError`. */
async function callTool<T = Record<string, unknown>>(client: Client, name: string, args: Record<string, unknown>): Promise<T> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  if (result.isError) throw new Error(`${name} failed: ${result.content.map((c) => (c.type === 'text' ? c.text : '')).join(' ')}`);
  return result.structuredContent as T;
}

/** execute_transfer of the benchmark amount; throws unless the node accepted it. */
async function transfer(client: Client, agentId: string, to: string): Promise<void> {
  const r = await callTool<{ transaction: { status: string; error: string | null } }>(client, 'execute_transfer', { agent_id: agentId, to_address: to, amount_eth: AMOUNT_ETH });
  if (r.transaction.status !== 'broadcast') throw new Error(`execute_transfer returned status ${r.transaction.status}: ${r.transaction.error ?? ''}`);
}

/** Waits (bounded) until the worker has followed every transaction to `mined`, so blocks do not overlap with its catch-up. */
async function settle(ctx: CoreContext, timeoutMs = 20_000): Promise<void> {
  const started = Date.now();
  for (;;) {
    const r = await sql<{ n: string }>`select count(*)::text as n from transactions where status in ('queued', 'broadcast')`.execute(ctx.db);
    if (Number(r.rows[0]!.n) === 0) return;
    if (Date.now() - started > timeoutMs) {
      step(`worker still has ${r.rows[0]!.n} transactions to follow after ${timeoutMs} ms; going on`);
      return;
    }
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** One side of a comparison: timed in blocks that alternate with the other side's. */
interface Arm {
  kind: 'vaultpilot' | 'floor';
  label: string;
  /** Pool tag whose statements count as this arm's (db-count.ts). */
  sqlTag: string;
  /** Times `count` operations after `warmup` unrecorded ones. */
  run: (count: number, warmup: number) => Promise<Sample>;
}

/**
 * Runs the arms of one group in `rounds` blocks each, alternating the order every round
 * (A B, B A, …), and records one row per arm with its pooled summary and SQL per op.
 * @param after - runs after every block, untimed (the worker's catch-up).
 */
async function compare(rows: ResultRow[], group: string, arms: Arm[], total: number, rounds: number, warmup: number, after?: () => Promise<void>): Promise<void> {
  const samples: Sample[][] = arms.map(() => []);
  const sqlTotals = arms.map(() => ({ statements: 0, ms: 0, ops: 0 }));
  const per = Math.max(1, Math.ceil(total / rounds));
  for (let r = 0; r < rounds; r++) {
    const order = arms.map((_, i) => (r % 2 === 0 ? i : arms.length - 1 - i));
    for (const i of order) {
      const arm = arms[i]!;
      const before: SqlCounts = sqlCounts();
      const sample = await arm.run(per, r === 0 ? warmup : 0);
      const a = sqlCounts().get(arm.sqlTag) ?? { statements: 0, ms: 0 };
      const b = before.get(arm.sqlTag) ?? { statements: 0, ms: 0 };
      const t = sqlTotals[i]!;
      t.statements += a.statements - b.statements;
      t.ms += a.ms - b.ms;
      t.ops += sample.latenciesMs.length + sample.warmup;
      samples[i]!.push(sample);
      await after?.();
    }
  }
  arms.forEach((arm, i) => {
    const t = sqlTotals[i]!;
    rows.push({ group, kind: arm.kind, label: arm.label, summary: summarizeSamples(samples[i]!), sqlPerCall: { statements: t.statements / t.ops, ms: t.ms / t.ops } });
  });
}

/** Sequential arm. */
function seqArm(kind: Arm['kind'], label: string, sqlTag: string, fn: (i: number) => Promise<unknown>): Arm {
  return { kind, label, sqlTag, run: (count, warmup) => sampleSequential(count, warmup, fn) };
}

/** Closed-loop arm with `k` in flight (warm-up: `warmup ÷ k` per caller, at least 2). */
function concArm(kind: Arm['kind'], label: string, sqlTag: string, k: number, fn: (worker: number, i: number) => Promise<unknown>): Arm {
  return { kind, label, sqlTag, run: (count, warmup) => sampleConcurrent(count, k, warmup === 0 ? 0 : Math.max(2, Math.ceil(warmup / k)), fn) };
}

/** HH:MM (UTC) of `now` plus `hours`. */
function utcClock(now: Date, hours: number): string {
  const t = new Date(now.getTime() + hours * 3_600_000);
  return `${String(t.getUTCHours()).padStart(2, '0')}:${String(t.getUTCMinutes()).padStart(2, '0')}`;
}

/**
 * `vaultpilot.yml` with every rule set, none of which refuses the benchmark's sends: rate limits
 * far above the run's calls, per-transaction maximum and caps far above its spend, the run's
 * chain allowed, a denylist of other addresses, an allowlist holding the recipients, an approval
 * threshold above the amount, and quiet hours that start 6 hours from now.
 */
function policyYaml(chainId: number, agents: string[], allowed: string[], denied: string[], now: Date): string {
  const rl = `{max_calls: ${UNREACHED.max_calls}, window_seconds: ${UNREACHED.window_seconds}}`;
  return [
    'version: 1',
    'rate_limits:',
    `  default: ${rl}`,
    '  tools:',
    `    execute_transfer: ${rl}`,
    '  agents:',
    ...agents.map((a) => `    ${a}: ${rl}`),
    'policy:',
    '  max_tx_eth: "1"',
    '  spend_cap_24h_eth: "100"',
    '  spend_cap_7d_eth: "500"',
    `  allowed_chains: [${chainId}]`,
    '  approval_threshold_eth: "0.5"',
    `  quiet_hours: {start: "${utcClock(now, 6)}", end: "${utcClock(now, 8)}", timezone: "UTC", action: deny}`,
    '  denied_destinations:',
    ...denied.map((a, i) => `    - {address: "${a}", label: "denied ${i}"}`),
    '  allowed_destinations:',
    ...allowed.map((a, i) => `    - {address: "${a}", label: "recipient ${i}"}`),
    '',
  ].join('\n');
}

/** The audit row every append phase writes: an execute_transfer call, as tool.ts records it. */
function auditEntry(tenantId: string, i: number): AuditEntry {
  const to = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
  return {
    tenantId,
    kind: 'tool_call',
    action: 'execute_transfer',
    principal: 'vp_bench',
    agentId: 'bench-audit',
    walletId: null,
    status: 'ok',
    durationMs: 23,
    request: { agent_id: 'bench-audit', to_address: to, amount_eth: AMOUNT_ETH },
    response: {
      transaction: { id: String(i), status: 'broadcast', to_address: to, amount: { eth: AMOUNT_ETH, wei: '1000000000000' }, nonce: i, tx_hash: `0x${'ab'.repeat(32)}`, error: null },
    },
    requestId: `bench-${i}`,
    ip: '127.0.0.1',
    decision: 'allow',
    rule: null,
  };
}

/** Table the audit baseline writes into: `audit_events` without its chain (columns, their checks and indexes, triggers). */
const PLAIN_TABLE = 'bench_audit_plain';

async function createPlainAuditTable(ctx: CoreContext): Promise<void> {
  // LIKE copies columns, defaults, checks and indexes but never triggers or foreign keys; dropping
  // the three chain columns drops with them their checks (format, sealed whole), the
  // chain-position unique index and the partial index of unsealed rows.
  await sql`
    drop table if exists bench_audit_plain;
    create table bench_audit_plain (like audit_events including all);
    alter table bench_audit_plain drop column chain_seq, drop column prev_hash, drop column hash;
    alter table bench_audit_plain add foreign key (tenant_id) references tenants (id);
  `.execute(ctx.db);
}

/** The baseline append: the same redaction and JSON text as recordAudit, then one autocommit INSERT. */
async function plainInsert(ctx: CoreContext, entry: AuditEntry): Promise<void> {
  const db = ctx.db.withTables<{ [PLAIN_TABLE]: Omit<AuditEventsTable, 'chain_seq' | 'prev_hash' | 'hash'> }>();
  await db
    .insertInto(PLAIN_TABLE)
    .values({
      tenant_id: entry.tenantId,
      occurred_at: new Date(),
      kind: entry.kind,
      action: entry.action,
      principal: entry.principal,
      agent_id: entry.agentId ?? null,
      wallet_id: entry.walletId ?? null,
      status: entry.status,
      error_code: entry.errorCode ?? null,
      duration_ms: entry.durationMs ?? null,
      request: JSON.stringify(redactSecrets(entry.request)),
      response: JSON.stringify(redactSecrets(entry.response)),
      request_id: entry.requestId ?? null,
      ip: entry.ip ?? null,
      decision: entry.decision ?? null,
      rule: entry.rule ?? null,
    })
    .execute();
}

/** The results table: measured rows, each followed by its baselines and the ratios measured ÷ baseline. */
function table(rows: ResultRow[]): string {
  return markdownTable(
    ['measurement', 'n', 'in flight', 'p50 ms', 'p99 ms', 'ops/s', '÷ baseline p50', '÷ baseline ops/s', 'SQL/op', 'CPU ms/op', 'loop busy'],
    rows.map((r) => [
      r.kind === 'floor' ? `  baseline: ${r.label}` : r.label,
      String(r.summary.n),
      String(r.summary.concurrency),
      ms(r.summary.p50Ms),
      ms(r.summary.p99Ms),
      rate(r.summary.callsPerSec),
      r.ratio ? ratio(r.ratio.p50) : '',
      r.ratio ? ratio(r.ratio.callsPerSec) : '',
      r.sqlPerCall ? r.sqlPerCall.statements.toFixed(1) : '',
      ms(r.summary.cpuMsPerCall),
      `${Math.round(r.summary.eventLoopBusy * 100)}%`,
    ]),
    [false, true, true, true, true, true, true, true, true, true, true],
  );
}

/** One line of the sealing table. */
interface SealRow {
  label: string;
  rows: number;
  seconds: number;
  rowsPerSec: number;
  /** `rowsPerSec` ÷ the fastest recordAudit rate of the append phase (sealer rows only; > 1: keeps up). */
  vsFastestInsert: number | null;
  /** CPU of this Node process and of Postgres (postmaster and backends) per 1000 rows; null when not measured. */
  nodeCpuMsPer1000: number | null;
  pgCpuMsPer1000: number | null;
  /** SQL statements the sealer ran (on the server's pool). */
  statements: number | null;
  note: string;
}

/** What the sealing phase measured. */
interface SealResults {
  /** The fastest recordAudit arm of the append phase with concurrent writers, ops/s. */
  fastestInsert: { rate: number; label: string };
  rows: SealRow[];
  /** Largest backlog (`unsealedCount()`) seen while writers inserted with the worker sealing. */
  liveMaxBacklog: number;
  /** From the last insert's commit until `unsealedCount()` was 0, ms (null: not within 60 s). */
  liveDrainMs: number | null;
  problems: string[];
}

const sleep = (msToWait: number) => new Promise((res) => setTimeout(res, msToWait));

/**
 * Inserts `count` audit rows through recordAudit, `writers` at a time, writer w on tenant
 * `tenants[w % tenants.length]`.
 * @returns wall seconds from the first insert to the last commit.
 */
async function insertUnsealed(ctx: CoreContext, tenants: string[], writers: number, count: number, nextSeq: () => number): Promise<number> {
  let left = count;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      while (left > 0) {
        left -= 1;
        await recordAudit(ctx.db, auditEntry(tenants[w % tenants.length]!, nextSeq()));
      }
    }),
  );
  return (performance.now() - t0) / 1000;
}

/**
 * The sealing phase. (1) Controlled: the worker is stopped (its sealer seals what is left),
 * `count` rows are inserted unsealed, then one `sealAuditLog` call is timed alone, as the worker
 * runs it (every chain, batches of 1000 rows per transaction under the chain's lock). (2) End to
 * end: a new worker is started and the same number of rows inserted while it seals every 250 ms;
 * reported: the insert rate, the largest backlog seen (polled every 50 ms) and how long after the
 * last commit the backlog reached 0. The worker is running again when this returns.
 */
async function measureSealing(
  ctx: CoreContext,
  postgresDir: string | undefined,
  tenants: string[],
  writers: number,
  count: number,
  nextSeq: () => number,
  startTheWorker: () => Promise<void>,
  stopTheWorker: () => Promise<void>,
  fastestInsert: { rate: number; label: string },
): Promise<SealResults> {
  const T = tenants.length;
  const problems: string[] = [];
  const rows: SealRow[] = [];
  const vs = (r: number) => (fastestInsert.rate > 0 ? r / fastestInsert.rate : null);

  // (1) The sealer alone, with nothing racing it.
  step(`audit sealing: worker stopped; ${count} unsealed rows by ${writers} writers over ${T} tenants, then sealAuditLog alone`);
  await stopTheWorker();
  await sealAuditLog(ctx.db);
  const insertS = await insertUnsealed(ctx, tenants, writers, count, nextSeq);
  const pending = await unsealedCount(ctx.db);
  if (pending !== count) problems.push(`sealing: ${pending} rows unsealed after inserting ${count} with no sealer running`);
  rows.push({ label: `recordAudit (unsealed INSERT), ${writers} writers, ${T} tenants, no sealer running`, rows: count, seconds: insertS, rowsPerSec: count / insertS, vsFastestInsert: null, nodeCpuMsPer1000: null, pgCpuMsPer1000: null, statements: null, note: 'the rows sealed next' });
  const sqlA = sqlCounts().get('server')?.statements ?? 0;
  const cpuA = process.cpuUsage();
  const sampler = sampleCpu({ postgres: postgresDir ? postmasterPid(postgresDir) : undefined });
  const t0 = performance.now();
  const sealed = await sealAuditLog(ctx.db);
  const sealS = (performance.now() - t0) / 1000;
  const pgCpu = sampler.stop().seconds.postgres;
  const cpu = process.cpuUsage(cpuA);
  const statements = (sqlCounts().get('server')?.statements ?? 0) - sqlA;
  const left = await unsealedCount(ctx.db);
  if (sealed !== pending || left !== 0) problems.push(`sealing: sealAuditLog sealed ${sealed} of ${pending} rows, ${left} left unsealed`);
  rows.push({
    label: `sealAuditLog, worker stopped (${T} chains, batches of 1000 rows)`,
    rows: sealed,
    seconds: sealS,
    rowsPerSec: sealed / sealS,
    vsFastestInsert: vs(sealed / sealS),
    nodeCpuMsPer1000: ((cpu.user + cpu.system) / 1000 / sealed) * 1000,
    pgCpuMsPer1000: pgCpu === undefined ? null : ((pgCpu * 1000) / sealed) * 1000,
    statements,
    note: 'one call, as one worker round runs it',
  });

  // (2) End to end: writers insert while the worker seals every 250 ms.
  step(`audit sealing: ${count} rows by ${writers} writers over ${T} tenants while a new worker seals`);
  await startTheWorker();
  let maxBacklog = 0;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      maxBacklog = Math.max(maxBacklog, await unsealedCount(ctx.db));
      await sleep(50);
    }
  })();
  const liveS = await insertUnsealed(ctx, tenants, writers, count, nextSeq);
  const insertEnd = performance.now();
  polling = false;
  await poller;
  let drainMs: number | null = null;
  for (;;) {
    const u = await unsealedCount(ctx.db);
    maxBacklog = Math.max(maxBacklog, u);
    if (u === 0) {
      drainMs = performance.now() - insertEnd;
      break;
    }
    if (performance.now() - insertEnd > 60_000) {
      problems.push(`sealing: ${u} rows still unsealed 60 s after the last insert with the worker sealing`);
      break;
    }
    await sleep(10);
  }
  rows.push({ label: `recordAudit (unsealed INSERT), ${writers} writers, ${T} tenants, worker sealing`, rows: count, seconds: liveS, rowsPerSec: count / liveS, vsFastestInsert: null, nodeCpuMsPer1000: null, pgCpuMsPer1000: null, statements: null, note: `backlog at most ${maxBacklog} rows; 0 left ${drainMs === null ? 'never (60 s)' : `${Math.round(drainMs)} ms`} after the last insert` });
  if (drainMs !== null) {
    const e2eS = liveS + drainMs / 1000;
    rows.push({ label: 'the same, end to end: first insert until unsealedCount() = 0', rows: count, seconds: e2eS, rowsPerSec: count / e2eS, vsFastestInsert: null, nodeCpuMsPer1000: null, pgCpuMsPer1000: null, statements: null, note: 'bounded by the insert rate' });
  }
  return { fastestInsert, rows, liveMaxBacklog: maxBacklog, liveDrainMs: drainMs, problems };
}

/** The sealing table. */
function sealTable(seal: SealResults): string {
  const f = (v: number | null, digits = 1) => (v === null ? '' : v.toFixed(digits));
  return markdownTable(
    ['measurement', 'rows', 's', 'rows/s', `÷ fastest insert (${rate(seal.fastestInsert.rate)}/s)`, 'Node CPU ms/1000 rows', 'PG CPU ms/1000 rows', 'SQL', 'note'],
    seal.rows.map((r) => [r.label, String(r.rows), r.seconds.toFixed(2), rate(r.rowsPerSec), r.vsFastestInsert === null ? '' : ratio(r.vsFastestInsert), f(r.nodeCpuMsPer1000, 0), f(r.pgCpuMsPer1000, 0), r.statements === null ? '' : String(r.statements), r.note]),
    [false, true, true, true, true, true, true, true, false],
  );
}

/** JSON-RPC call to the bench chain (anvil_setBalance, eth_getTransactionCount). */
async function chainRpc(url: string, method: string, params: unknown[]): Promise<unknown> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  const body = (await res.json()) as { result?: unknown; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

/**
 * `xact_commit` of the database `url` names (pg_stat_database). A backend reports its counts when
 * it goes idle, or up to 10 s later when it reported less than a second before, and when it exits:
 * read it after the servers stopped for a total that includes all their transactions.
 */
async function databaseCommits(url: string): Promise<number> {
  return queryDatabase(url, async (c) => Number((await c.query<{ n: string }>('select xact_commit::text as n from pg_stat_database where datname = current_database()')).rows[0]!.n));
}

/** What one arm of the release phase cost per op, beyond the client-side timings of its row. */
interface ReleaseCost {
  /** Statements the arm's server process ran per op (every pool; server-probe.ts). */
  sqlPerOp: number;
  /** Time those statements took per op, from sending to result (so it includes waiting for the server's event loop), ms. */
  sqlMsPerOp: number;
  /** CPU of the arm's server process per op, ms. */
  serverCpuMsPerOp: number;
  /** Share of the blocks' wall time the server's event loop was busy (0-1). */
  serverLoopBusy: number;
  /** CPU of Postgres (postmaster and every backend) and of anvil per op, ms; null when not visible (DATABASE_URL, RPC_URLS). */
  pgCpuMsPerOp: number | null;
  anvilCpuMsPerOp: number | null;
}

/** A row of the release table: the client's timings (`summary`: CPU and loop busy of the benchmark process) and the arm's costs. */
type ReleaseRow = ResultRow & { cost: ReleaseCost };

/** What the release phase measured, or why it was skipped. */
interface ReleaseResults {
  ref: string;
  /** The candidate: `HEAD <id>`, with `+ uncommitted changes` when the working tree differs. */
  candidate: string | null;
  commit: string | null;
  subject: string | null;
  /** Why the phase did not run; null when it ran. */
  skipped: string | null;
  rows: ReleaseRow[];
  /**
   * Transactions committed in each server's database per op (pg_stat_database), sequential and
   * concurrent blocks together, from before the first block to after the server stopped (so its
   * shutdown, and setup transactions not yet reported at the start, count too: alike for both).
   */
  commitsPerOp: Record<string, number>;
  /** Longest the chain took, after the phase, to mine every send a wallet had recorded (0: none was left), ms. */
  chainCatchUpMs: number;
  /** Lines each server logged (LOG_LEVEL=warn) after it was up. */
  logLines: Record<string, number>;
  /** Load average (1, 5, 15 min) when the phase started and when it ended. */
  loadBefore: number[];
  loadAfter: number[];
  problems: string[];
}

/** One server of the release phase, with its callers. */
interface ReleaseArmServer {
  kind: 'vaultpilot' | 'floor';
  /** `candidate` or `baseline`. */
  name: string;
  /** Which code it runs: `this tree (HEAD …)` or the ref. */
  label: string;
  server: ServerProcess;
  databaseUrl: string;
  /** Client 0 is also the sequential caller; client w the concurrent caller on wallet w. */
  clients: Client[];
  /** execute_transfer calls made (warm-up included). */
  calls: number;
}

/** Shared inputs of {@link measureAgainstRelease}. */
interface ReleaseSetup {
  root: string;
  dataDir: string;
  infra: Infra;
  opts: Options;
  /** The policy file of the every-rule server (its `agents` list holds these agents). */
  policyFile: string;
  fernetKey: string;
  seqAgent: string;
  multiAgents: string[];
  /** The next allowlisted recipient (shared with the other transfer phases). */
  nextTo: () => string;
}

/**
 * The release phase: `execute_transfer` over MCP on this working tree's server against the server
 * of `opts.baselineRef`, both as child processes (`node server/main.ts`, bench/baseline-server.ts)
 * with the same environment but for `PORT` and `DATABASE_URL` (a fresh database each on the
 * run's cluster): same anvil, same `POLICY_FILE` (every rule), same Fernet and admin key, same
 * agents, wallets funded with `anvil_setBalance`, no worker (tx-monitor jobs just queue, audit
 * rows stay unsealed, transactions stay `broadcast`: alike for both). Sequential, then `K` in
 * flight on `K` wallets, each in alternating blocks. Per block, the servers' own counters
 * (server-probe.ts: SQL statements, CPU, event loop) and the CPU of Postgres and anvil from `/proc`.
 * Skipped, with the reason, when the ref cannot be checked out. Everything it starts it stops
 * before returning, and `defer`s the same for a failure.
 */
async function measureAgainstRelease(s: ReleaseSetup): Promise<ReleaseResults> {
  const { opts, infra } = s;
  const K = opts.concurrency;
  const loadBefore = loadavg();
  const results: ReleaseResults = { ref: opts.baselineRef, candidate: null, commit: null, subject: null, skipped: null, rows: [], commitsPerOp: {}, chainCatchUpMs: 0, logLines: {}, loadBefore, loadAfter: loadBefore, problems: [] };
  step(`execute_transfer against the release: checking out ${opts.baselineRef} with git worktree add --detach under ${tmpdir()}`);
  const checkout = await checkoutRef(s.root, opts.baselineRef);
  if ('skipped' in checkout) {
    step(`SKIPPING execute_transfer against the release: ${checkout.skipped}`);
    results.skipped = checkout.skipped;
    return results;
  }
  defer(`worktree of ${opts.baselineRef}`, checkout.remove);
  results.commit = checkout.commit;
  results.subject = checkout.subject;
  const head = await describeHead(s.root);
  results.candidate = head;
  const adminKey = `vp_bench_admin_${randomBytes(16).toString('hex')}`;
  const auth = { Authorization: `Bearer ${adminKey}` };
  const rpcUrl = infra.rpcUrls[0]!;
  const agents = [s.seqAgent, ...s.multiAgents];
  const arms: ReleaseArmServer[] = [];
  const databases: Array<{ drop: () => Promise<void> }> = [];
  const stopAll = async () => {
    for (const arm of arms) await Promise.all(arm.clients.splice(0).map((c) => c.close().catch(() => undefined)));
    for (const arm of arms) await arm.server.stop();
  };
  try {
    for (const [kind, name, cwd, label] of [
      ['vaultpilot', 'candidate', s.root, `this tree (${head})`],
      ['floor', 'baseline', checkout.dir, checkout.commit.startsWith(opts.baselineRef) ? opts.baselineRef : `${opts.baselineRef} (${checkout.commit.slice(0, 7)})`],
    ] as const) {
      const db = await createArmDatabase(infra.databaseUrl, `vp_release_${name}`);
      defer(`database ${db.name}`, db.drop);
      databases.push(db);
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      // The whole environment, the same for both but for the port and the database.
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? tmpdir(),
        ...benchEnv(infra, path.join(s.dataDir, `release-${name}`)),
        PORT: String(port),
        DATABASE_URL: db.url,
        FERNET_KEY: s.fernetKey,
        ADMIN_API_KEY: adminKey,
        POLICY_FILE: s.policyFile,
        LOG_LEVEL: 'warn',
      };
      step(`release phase: starting the ${name} server, ${label}: node server/main.ts in ${cwd} on ${url}, database ${db.name}`);
      const server = await startServerProcess({ label: `${name} server`, cwd, env, url });
      defer(`${name} server`, server.stop);
      const arm: ReleaseArmServer = { kind, name, label, server, databaseUrl: db.url, clients: [], calls: 0 };
      arms.push(arm);
      for (let w = 0; w < Math.max(1, K); w++) arm.clients.push(await connectMcp(new URL('/mcp', url), auth));
      for (const agent of agents) {
        const r = await callTool<{ wallet: { address: string } }>(arm.clients[0]!, 'spin_up_wallet', { agent_id: agent });
        await chainRpc(rpcUrl, 'anvil_setBalance', [r.wallet.address, toBeHex(parseEther('100'))]);
      }
    }
    defer('release phase clients and servers', stopAll);

    const send = (arm: ReleaseArmServer, client: Client, agent: string) => {
      arm.calls++;
      return transfer(client, agent, s.nextTo());
    };
    const [candidate, baseline] = arms as [ReleaseArmServer, ReleaseArmServer];
    const pgPid = infra.postgresDir ? postmasterPid(infra.postgresDir) : undefined;
    const groups: Array<{ group: string; label: (a: ReleaseArmServer) => string; run: (a: ReleaseArmServer, count: number, warmup: number) => Promise<Sample> }> = [
      {
        group: 'release-seq',
        label: (a) => `${a.name === 'candidate' ? 'this tree' : a.label}, sequential`,
        run: (a, count, warmup) => sampleSequential(count, warmup, () => send(a, a.clients[0]!, s.seqAgent)),
      },
      {
        group: 'release-conc',
        label: (a) => `${a.name === 'candidate' ? 'this tree' : a.label}, ${K} in flight, ${K} wallets`,
        run: (a, count, warmup) => sampleConcurrent(count, K, warmup === 0 ? 0 : Math.max(2, Math.ceil(warmup / K)), (w) => send(a, a.clients[w]!, s.multiAgents[w]!)),
      },
    ];
    const warmup = Math.ceil(opts.warmup / 2);
    const commitsBefore = await Promise.all(arms.map((a) => databaseCommits(a.databaseUrl)));
    const rounds = opts.releaseRounds;
    const per = Math.max(1, Math.ceil(opts.transfers / rounds));
    for (const g of groups) {
      step(`release phase, ${g.group === 'release-seq' ? 'sequential' : `${K} in flight on ${K} wallets`}: ${per * rounds} per arm in ${rounds} alternating blocks`);
      const pair = [candidate, baseline];
      const samples: Sample[][] = [[], []];
      const totals = pair.map(() => ({ ops: 0, statements: 0, sqlMs: 0, cpuMs: 0, loopActive: 0, loopTotal: 0, pgS: 0 as number | null, anvilS: 0 as number | null }));
      for (let r = 0; r < rounds; r++) {
        for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
          const arm = pair[i]!;
          const t = totals[i]!;
          const before: ProbeReading = await arm.server.probe();
          const sampler = sampleCpu({ postgres: pgPid, anvil: infra.anvilPid });
          const sample = await g.run(arm, per, r === 0 ? warmup : 0);
          const cpu = sampler.stop().seconds;
          const after = await arm.server.probe();
          samples[i]!.push(sample);
          t.ops += sample.latenciesMs.length + sample.warmup;
          t.statements += after.statements - before.statements;
          t.sqlMs += after.sqlMs - before.sqlMs;
          t.cpuMs += after.cpuMs - before.cpuMs;
          t.loopActive += after.loopActiveMs - before.loopActiveMs;
          t.loopTotal += after.loopActiveMs + after.loopIdleMs - before.loopActiveMs - before.loopIdleMs;
          t.pgS = t.pgS === null || cpu.postgres === undefined ? null : t.pgS + cpu.postgres;
          t.anvilS = t.anvilS === null || cpu.anvil === undefined ? null : t.anvilS + cpu.anvil;
        }
      }
      pair.forEach((arm, i) => {
        const t = totals[i]!;
        results.rows.push({
          group: g.group,
          kind: arm.kind,
          label: g.label(arm),
          summary: summarizeSamples(samples[i]!),
          cost: {
            sqlPerOp: t.statements / t.ops,
            sqlMsPerOp: t.sqlMs / t.ops,
            serverCpuMsPerOp: t.cpuMs / t.ops,
            serverLoopBusy: t.loopTotal > 0 ? t.loopActive / t.loopTotal : Number.NaN,
            pgCpuMsPerOp: t.pgS === null ? null : (t.pgS * 1000) / t.ops,
            anvilCpuMsPerOp: t.anvilS === null ? null : (t.anvilS * 1000) / t.ops,
          },
        });
      });
    }
    withRatios(results.rows);
    for (const arm of arms) results.logLines[arm.name] = arm.server.logLines();
    await stopAll();
    // An idle backend may hold its counts back for up to 10 s, an exiting one reports them: read
    // after the servers stopped (their shutdown's few transactions included).
    const commitsAfter = await Promise.all(arms.map((a) => databaseCommits(a.databaseUrl)));
    arms.forEach((a, i) => {
      const ops = results.rows.filter((r) => r.kind === a.kind).reduce((n, r) => n + r.summary.n + r.summary.warmup, 0);
      // Less the first reading's own transaction (the second one's is not counted yet).
      results.commitsPerOp[a.name] = (commitsAfter[i]! - commitsBefore[i]! - 1) / ops;
    });

    // Checks, per arm database: nonces on chain equal recorded sends, nothing failed, and one
    // `ok` audit row per call (the candidate's committed with the send, the baseline's after it).
    for (const arm of arms) {
      await queryDatabase(arm.databaseUrl, async (c) => {
        const sends = await c.query<{ id: string; address: string; sent: string; failed: string }>(`
          select w.id, w.address, count(t.id) filter (where t.status <> 'failed')::text as sent, count(t.id) filter (where t.status = 'failed')::text as failed
          from wallets w left join transactions t on t.wallet_id = w.id group by w.id, w.address`);
        let sent = 0;
        for (const row of sends.rows) {
          sent += Number(row.sent);
          if (Number(row.failed) > 0) results.problems.push(`release phase, ${arm.name}: ${row.address}: ${row.failed} failed transactions`);
          // Nothing follows these transactions (no worker): give the chain a moment to mine what it accepted.
          const waitFrom = Date.now();
          let onChain = Number(await chainRpc(rpcUrl, 'eth_getTransactionCount', [row.address, 'latest']));
          const behind = onChain < Number(row.sent);
          while (onChain < Number(row.sent) && Date.now() - waitFrom < 30_000) {
            await sleep(200);
            onChain = Number(await chainRpc(rpcUrl, 'eth_getTransactionCount', [row.address, 'latest']));
          }
          if (behind && onChain === Number(row.sent)) results.chainCatchUpMs = Math.max(results.chainCatchUpMs, Date.now() - waitFrom);
          if (onChain !== Number(row.sent)) {
            // Where it stops: the first recorded nonce the chain has not mined, as the node sees it.
            const first = await c.query<{ nonce: string; tx_hash: string; status: string }>(`select nonce::text, tx_hash, status from transactions where wallet_id = $1 and nonce >= $2 order by nonce limit 1`, [row.id, onChain]);
            const f = first.rows[0];
            const seen = f ? ((await chainRpc(rpcUrl, 'eth_getTransactionByHash', [f.tx_hash])) as { blockNumber?: string | null } | null) : null;
            const pending = Number(await chainRpc(rpcUrl, 'eth_getTransactionCount', [row.address, 'pending']));
            const node = !f ? '' : seen === null ? `; the node does not know nonce ${f.nonce} (${f.tx_hash}, recorded ${f.status})` : `; nonce ${f.nonce} is ${seen.blockNumber ? 'mined' : 'pending'} on the node`;
            results.problems.push(`release phase, ${arm.name}: ${row.address}: ${row.sent} recorded sends but chain nonce ${onChain} (pending ${pending}) after 30 s${node}`);
          }
        }
        if (sent !== arm.calls) results.problems.push(`release phase, ${arm.name}: ${sent} recorded sends for ${arm.calls} execute_transfer calls`);
        const audit = await c.query<{ ok: string; other: string }>(`
          select count(*) filter (where status = 'ok')::text as ok, count(*) filter (where status <> 'ok')::text as other
          from audit_events where action = 'execute_transfer'`);
        const a = audit.rows[0]!;
        if (Number(a.ok) !== arm.calls || Number(a.other) !== 0) results.problems.push(`release phase, ${arm.name}: ${a.ok} ok and ${a.other} other execute_transfer audit rows for ${arm.calls} calls`);
      });
    }
  } finally {
    await stopAll();
    for (const db of databases) await db.drop().catch((err: unknown) => step(`dropping a release-phase database failed: ${err instanceof Error ? err.message : String(err)}`));
    await checkout.remove();
  }
  results.loadAfter = loadavg();
  return results;
}

/** The release table: the client's timings and ratios, then what each arm cost per op on the server, Postgres and anvil. */
function releaseTable(rows: ReleaseRow[]): string {
  const f = (v: number | null) => (v === null || Number.isNaN(v) ? 'n/a' : ms(v));
  return markdownTable(
    ['measurement', 'n', 'in flight', 'p50 ms', 'p99 ms', 'ops/s', '÷ baseline p50', '÷ baseline ops/s', 'SQL/op', 'SQL ms/op', 'server CPU ms/op', 'server loop busy', 'Postgres CPU ms/op', 'anvil CPU ms/op', 'bench CPU ms/op'],
    rows.map((r) => [
      r.kind === 'floor' ? `  baseline: ${r.label}` : r.label,
      String(r.summary.n),
      String(r.summary.concurrency),
      ms(r.summary.p50Ms),
      ms(r.summary.p99Ms),
      rate(r.summary.callsPerSec),
      r.ratio ? ratio(r.ratio.p50) : '',
      r.ratio ? ratio(r.ratio.callsPerSec) : '',
      r.cost.sqlPerOp.toFixed(1),
      f(r.cost.sqlMsPerOp),
      f(r.cost.serverCpuMsPerOp),
      `${Math.round(r.cost.serverLoopBusy * 100)}%`,
      f(r.cost.pgCpuMsPerOp),
      f(r.cost.anvilCpuMsPerOp),
      ms(r.summary.cpuMsPerCall),
    ]),
    [false, true, true, true, true, true, true, true, true, true, true, true, true, true, true],
  );
}

/** Throughput ratio the issue asks of the candidate against the release (ops/s, candidate ÷ baseline). */
const RELEASE_TARGET = 0.9;

/** The release phase's part of the report: what ran, its table and the target, or why it was skipped. */
function releaseReport(rel: ReleaseResults, opts: Options): string {
  if (rel.skipped) return `execute_transfer against ${rel.ref}: SKIPPED (${rel.skipped}).\n\n`;
  const load = (l: number[]) => l.map((v) => v.toFixed(2)).join(' / ');
  const verdicts = rel.rows
    .filter((r) => r.kind === 'floor' && r.ratio)
    .map((r) => `${r.summary.concurrency === 1 ? 'sequential' : `${r.summary.concurrency} in flight`} ${ratio(r.ratio!.callsPerSec)} (${r.ratio!.callsPerSec >= RELEASE_TARGET ? 'met' : 'NOT MET'})`);
  const logs = Object.entries(rel.logLines).filter(([, n]) => n > 0);
  return [
    `execute_transfer (MCP, every rule) against the release: this tree's server (${rel.candidate}) vs the server of ${rel.ref} (${rel.subject!.length > 72 ? `${rel.subject!.slice(0, 71)}…` : rel.subject}), both child processes (node server/main.ts) with the same environment and POLICY_FILE (every rule), the same anvil and a database each on the same Postgres, no worker; ${opts.releaseRounds} alternating blocks per pair. Ratios are candidate ÷ baseline. SQL/op, SQL ms/op, server CPU and loop busy: the arm's server process (server-probe.ts); Postgres and anvil CPU: from /proc during the arm's blocks; all per op, warm-up included. Bench CPU: this process (the MCP clients; the idle in-process servers and worker). Load average (1 / 5 / 15 min): ${load(rel.loadBefore)} before, ${load(rel.loadAfter)} after.`,
    '',
    releaseTable(rel.rows),
    '',
    `target ops/s ≥ ${RELEASE_TARGET.toFixed(2)}× of the baseline: ${verdicts.join(', ')}. Transactions committed per op in each server's database (pg_stat_database): ${Object.entries(rel.commitsPerOp).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}.${rel.chainCatchUpMs > 0 ? ` After the phase the chain took up to ${(rel.chainCatchUpMs / 1000).toFixed(1)} s to mine every accepted send (nothing follows them without a worker).` : ''}${logs.length > 0 ? ` Server log lines (LOG_LEVEL=warn) during the phase: ${logs.map(([k, n]) => `${k} ${n}`).join(', ')}.` : ''}`,
    '',
    '',
  ].join('\n');
}

async function main(opts: Options): Promise<number> {
  const root = path.resolve(import.meta.dirname, '..');
  process.chdir(root);
  const dataDir = path.join(root, '.data', 'bench-guardrails');
  const started = performance.now();
  const W = opts.writers;
  const K = opts.concurrency;

  installSqlCounter();
  const infra: Infra = await startInfra(dataDir, process.env, step);
  defer('Postgres and anvil', () => infra.stop());
  step(`starting VaultPilot without POLICY_FILE (server + worker; Postgres: ${infra.postgresSource}; chain: ${infra.chainSource})`);
  // Both servers unwrap the same wallets: one Fernet key for both.
  const fernetKey = generateFernetKey();
  const plain: VaultPilotStack = await startVaultPilot(infra, dataDir, { env: { FERNET_KEY: fernetKey }, worker: false });
  defer('VaultPilot (no policy)', () => plain.close());
  const ctx = plain.server.ctx;
  // The run's only worker, started here rather than by startVaultPilot so that the sealing phase
  // can stop it (its sealer would race the measured one) and start a new one.
  let worker: RunningWorker | null = null;
  const startTheWorker = async () => {
    setSqlTag('worker');
    try {
      worker = await startWorker(plain.config, createLogger('worker', plain.config.logLevel));
    } finally {
      setSqlTag('other');
    }
  };
  /** Stops the worker; its sealer seals what is left before it returns. */
  const stopTheWorker = async () => {
    const w = worker;
    worker = null;
    await w?.close();
  };
  await startTheWorker();
  defer('worker', stopTheWorker);
  const chainId = ctx.chain.chainId;

  const seqAgent = 'guard-seq';
  const multiAgents = Array.from({ length: K }, (_, w) => `guard-multi-${w}`);
  const allowed = Array.from({ length: LIST_SIZE }, () => randomAddress());
  const denied = Array.from({ length: LIST_SIZE }, () => randomAddress());
  const policyFile = path.join(dataDir, 'vaultpilot.yml');
  mkdirSync(dataDir, { recursive: true });
  const yaml = policyYaml(chainId, [seqAgent, ...multiAgents], allowed, denied, new Date());
  writeFileSync(policyFile, yaml);
  step(`starting a second server on the same database with POLICY_FILE=${path.relative(root, policyFile)} (every rule)`);
  const guarded: VaultPilotStack = await startVaultPilot(infra, dataDir, { env: { POLICY_FILE: policyFile, FERNET_KEY: fernetKey }, adminKey: plain.adminKey, worker: false, sqlTag: 'server-policy' });
  defer('VaultPilot (every rule)', () => guarded.close());
  const gctx = guarded.server.ctx;
  if (gctx.policy.defaults.allowed_destinations?.length !== LIST_SIZE) throw new Error('the policy server did not load the policy file');

  const principal = await authenticateApiKey(ctx.db, plain.adminKey);
  if (!principal) throw new Error('the admin key does not authenticate');
  const rows: ResultRow[] = [];
  const { rounds, warmup, n } = opts;

  // a. Audit append: unsealed INSERTs, while the worker seals them every 250 ms.
  step(`audit append: ${n} per arm, sequential, ${W} writers on 1 tenant, ${W} writers on ${opts.tenants} tenants`);
  await createPlainAuditTable(ctx);
  const tenants = [principal.tenantId];
  for (let t = 1; t < opts.tenants; t++) tenants.push((await createTenant(ctx.db, `bench-audit-${t}`)).id);
  let seq = 0;
  const chained = (tenantId: string) => recordAudit(ctx.db, auditEntry(tenantId, seq++));
  const unchained = (tenantId: string) => plainInsert(ctx, auditEntry(tenantId, seq++));
  await compare(rows, 'audit-seq', [
    seqArm('vaultpilot', 'recordAudit (unsealed INSERT), sequential', 'server', () => chained(principal.tenantId)),
    seqArm('floor', 'plain INSERT of the same row, no chain columns', 'server', () => unchained(principal.tenantId)),
  ], n, rounds, warmup);
  await compare(rows, 'audit-1t', [
    concArm('vaultpilot', `recordAudit (unsealed INSERT), ${W} writers, 1 tenant`, 'server', W, () => chained(principal.tenantId)),
    concArm('floor', `plain INSERT, ${W} writers, 1 tenant`, 'server', W, () => unchained(principal.tenantId)),
  ], n, rounds, warmup);
  await compare(rows, 'audit-nt', [
    concArm('vaultpilot', `recordAudit (unsealed INSERT), ${W} writers, ${opts.tenants} tenants`, 'server', W, (w) => chained(tenants[w % tenants.length]!)),
    concArm('floor', `plain INSERT, ${W} writers, ${opts.tenants} tenants`, 'server', W, (w) => unchained(tenants[w % tenants.length]!)),
  ], n, rounds, warmup);

  // a'. Sealing: how fast one sealer seals, against the fastest rate writers insert.
  const fastestInsert = rows
    .filter((r) => r.kind === 'vaultpilot' && (r.group === 'audit-1t' || r.group === 'audit-nt'))
    .reduce((best, r) => (r.summary.callsPerSec > best.rate ? { rate: r.summary.callsPerSec, label: r.label } : best), { rate: 0, label: '' });
  const seal = await measureSealing(ctx, infra.postgresDir, tenants, W, opts.sealRows, () => seq++, startTheWorker, stopTheWorker, fastestInsert);

  // b. Rate limits: the policy server's context counts; the plain one has no limits.
  step(`rate limits: ${n} per arm, sequential and ${W} callers`);
  const limits: RateLimits = gctx.policy.rateLimits;
  const spreadAgents = Array.from({ length: W }, (_, w) => `rl-agent-${w}`);
  const rlCtx: CoreContext = { ...ctx, policy: { ...gctx.policy, rateLimits: { ...limits, agents: { ...limits.agents, ...Object.fromEntries(spreadAgents.map((a) => [a, UNREACHED])) } } } };
  const hotCall: RateLimitedCall = { tenantId: principal.tenantId, keyId: principal.keyId, tool: 'execute_transfer', agentId: seqAgent };
  // Keys of their own for the spread callers: counters are keyed by the key id, no row is needed.
  const spreadCalls: RateLimitedCall[] = spreadAgents.map((a, w) => ({ ...hotCall, keyId: `00000000-0000-4000-8000-${String(w).padStart(12, '0')}`, agentId: a }));
  await compare(rows, 'rate-seq', [
    seqArm('vaultpilot', 'consumeRateLimits, 3 counters, sequential', 'server', () => consumeRateLimits(rlCtx, hotCall)),
    seqArm('floor', 'SELECT 1 (one Postgres round trip)', 'server', () => sql`select 1`.execute(ctx.db)),
    seqArm('floor', 'consumeRateLimits, no limits configured', 'server', () => consumeRateLimits(ctx, hotCall)),
  ], n, rounds, warmup);
  await compare(rows, 'rate-hot', [
    concArm('vaultpilot', `consumeRateLimits, ${W} callers, same key and wallet (3 hot rows)`, 'server', W, () => consumeRateLimits(rlCtx, hotCall)),
    concArm('floor', `SELECT 1, ${W} callers`, 'server', W, () => sql`select 1`.execute(ctx.db)),
    concArm('floor', `consumeRateLimits, ${W} callers, a key and wallet each`, 'server', W, (w) => consumeRateLimits(rlCtx, spreadCalls[w]!)),
  ], n, rounds, warmup);

  // Wallets (through the plain server; both servers see them): one sequential, one per concurrent caller.
  step(`creating and funding ${1 + K} wallets through spin_up_wallet + request_faucet_funds`);
  const auth = { Authorization: `Bearer ${plain.adminKey}` };
  const clients: Client[] = [];
  defer('MCP clients', () => Promise.all(clients.map((c) => c.close())));
  const connect = async (stack: VaultPilotStack) => {
    const c = await connectMcp(new URL('/mcp', stack.server.url), auth);
    clients.push(c);
    return c;
  };
  const admin = await connect(plain);
  for (const agent of [seqAgent, ...multiAgents]) {
    await callTool(admin, 'spin_up_wallet', { agent_id: agent });
    await callTool(admin, 'request_faucet_funds', { agent_id: agent, amount_eth: '10' });
  }
  const plainClients = [admin];
  const guardedClients = [await connect(guarded)];
  for (let w = 1; w < K; w++) {
    plainClients.push(await connect(plain));
    guardedClients.push(await connect(guarded));
  }

  // Policy check alone: what decideSends reads with every rule vs with none (no wallet lock).
  step(`policy check alone: decideSends, ${n} per arm`);
  const seqWallet = await getWalletByAgent(ctx, principal, seqAgent);
  const oneSend = [{ to: allowed[0]!, valueWei: parseEther(AMOUNT_ETH) }];
  for (const [c, expected] of [[gctx, 'allow'], [ctx, 'allow']] as const) {
    const d = await decideSends(c, c.db, seqWallet, oneSend);
    if (d.decision !== expected) throw new Error(`decideSends: ${d.decision} (${'rule' in d ? d.rule : ''}), expected ${expected}`);
  }
  await compare(rows, 'policy', [
    seqArm('vaultpilot', 'decideSends, every rule (wallet policy + 24h/7d spend)', 'server-policy', () => decideSends(gctx, gctx.db, seqWallet, oneSend)),
    seqArm('floor', 'decideSends, no POLICY_FILE (wallet policy read only)', 'server', () => decideSends(ctx, ctx.db, seqWallet, oneSend)),
  ], n, rounds, warmup);

  // The same decision without SQL: merge + compile the policy and evaluate it (pure CPU, per send).
  const facts = { chainId, sends: oneSend, spent24hWei: 0n, spent7dWei: 0n, now: new Date(), approved: false };
  const evaluate = (defaults: WalletPolicy) => async () => {
    const d = evaluateSends(compilePolicy(mergePolicies(defaults, null)), facts);
    if (d.decision !== 'allow') throw new Error(`evaluateSends: ${d.decision}`);
  };
  const { quiet_hours: _quiet, ...withoutQuietHours } = gctx.policy.defaults;
  await compare(rows, 'policy-cpu', [
    seqArm('vaultpilot', 'compilePolicy + evaluateSends, every rule (no SQL)', 'other', evaluate(gctx.policy.defaults)),
    seqArm('floor', 'the same, every rule but quiet_hours', 'other', evaluate(withoutQuietHours)),
    seqArm('floor', 'the same, no rules', 'other', evaluate({})),
  ], n, rounds, warmup);

  // c. execute_transfer end to end, to the allowlisted recipients in turn (both arms alike).
  let r = 0;
  const nextTo = () => allowed[r++ % allowed.length]!;
  const settleAfter = () => settle(ctx);
  step(`execute_transfer, sequential: ${opts.transfers} per arm in ${rounds} alternating blocks`);
  await compare(rows, 'tx-seq', [
    seqArm('vaultpilot', 'execute_transfer (MCP), every rule, sequential', 'server-policy', () => transfer(guardedClients[0]!, seqAgent, nextTo())),
    seqArm('floor', 'execute_transfer (MCP), no POLICY_FILE, sequential', 'server', () => transfer(plainClients[0]!, seqAgent, nextTo())),
  ], opts.transfers, rounds, Math.ceil(warmup / 2), settleAfter);
  step(`execute_transfer, ${K} in flight on ${K} wallets: ${opts.transfers} per arm`);
  await compare(rows, 'tx-conc', [
    concArm('vaultpilot', `execute_transfer (MCP), every rule, ${K} in flight, ${K} wallets`, 'server-policy', K, (w) => transfer(guardedClients[w]!, multiAgents[w]!, nextTo())),
    concArm('floor', `execute_transfer (MCP), no POLICY_FILE, ${K} in flight, ${K} wallets`, 'server', K, (w) => transfer(plainClients[w]!, multiAgents[w]!, nextTo())),
  ], opts.transfers, rounds, Math.ceil(warmup / 2), settleAfter);
  withRatios(rows);

  // d. execute_transfer against the previous release: both servers as child processes.
  const release = await measureAgainstRelease({ root, dataDir, infra, opts, policyFile, fernetKey, seqAgent, multiAgents, nextTo });

  // Checks: after a final seal, every chain intact, nothing unsealed and every row in a chain;
  // nonces match recorded sends; nothing failed.
  step('checks: final seal, audit chains, nonces');
  const problems: string[] = [...seal.problems, ...release.problems];
  await sealAuditLog(ctx.db);
  const audit = await verifyAuditLog(ctx.db);
  for (const chain of audit.chains) {
    if (chain.broken) problems.push(`audit chain of ${chain.tenantId ?? 'no tenant'}: ${chain.broken.message}`);
    if (chain.unsealed > 0) problems.push(`audit chain of ${chain.tenantId ?? 'no tenant'}: ${chain.unsealed} rows unsealed after a final seal`);
  }
  const auditRows = audit.chains.reduce((a, c) => a + c.rows, 0);
  const auditUnsealed = audit.chains.reduce((a, c) => a + c.unsealed, 0);
  const storedRows = Number((await sql<{ n: string }>`select count(*)::text as n from audit_events`.execute(ctx.db)).rows[0]!.n);
  if (storedRows !== auditRows) problems.push(`audit_events holds ${storedRows} rows but the chains ${auditRows}`);
  const direct = floorProvider(infra.rpcUrls[0]!, chainId);
  defer('ethers provider', async () => direct.destroy());
  const counts = await sql<{ address: string; sent: string; failed: string }>`
    select w.address, count(t.id) filter (where t.status <> 'failed')::text as sent, count(t.id) filter (where t.status = 'failed')::text as failed
    from wallets w left join transactions t on t.wallet_id = w.id group by w.address`.execute(ctx.db);
  for (const row of counts.rows) {
    const onChain = await direct.getTransactionCount(row.address, 'latest');
    if (Number(row.failed) > 0) problems.push(`${row.address}: ${row.failed} failed transactions`);
    if (onChain !== Number(row.sent)) problems.push(`${row.address}: ${row.sent} recorded sends but chain nonce ${onChain}`);
  }

  const pgVersion = (await sql<{ v: string }>`select current_setting('server_version') as v`.execute(ctx.db)).rows[0]!.v;
  const fsync = (await sql<{ v: string }>`select current_setting('fsync') as v`.execute(ctx.db)).rows[0]!.v;
  const machine = {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    postgres: `${pgVersion} (${infra.postgresSource}, fsync=${fsync})`,
    chain: `${(await direct.send('web3_clientVersion', [])) as string} (${infra.chainSource}), chainId ${chainId}`,
  };

  const out = process.stdout;
  out.write(`\nVaultPilot guardrails benchmark — ${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}, Postgres ${machine.postgres}, ${machine.chain}\n`);
  out.write(`Load generator, both servers and the worker share one Node process (database pool: 10 connections per server). The worker seals audit rows every 250 ms throughout (it is on the same process and cores), except where the sealing table says it was stopped. Each measured row and its baselines ran in ${rounds} alternating blocks. Ratios are measured ÷ baseline: p50 above 1 = slower, ops/s below 1 = less throughput.\n`);
  out.write('SQL/op: statements on the pools of the arm\'s server per op (warm-up included). CPU ms/op: CPU time of this whole Node process per op; Postgres and anvil not included. Loop busy: event loop utilization of the main thread.\n\n');
  out.write(`${table(rows)}\n\n`);
  out.write(`Audit sealing (${opts.sealRows} rows, ${W} writers over ${opts.tenants} tenants). Controlled: the worker was stopped, the rows inserted, then one sealAuditLog call timed alone; its rows/s ÷ the fastest recordAudit rate above (${seal.fastestInsert.label}) above 1 means one sealer keeps up with those writers. End to end: a new worker sealing every 250 ms while the same writers insert. CPU: this Node process and Postgres (all backends), per 1000 rows sealed.\n\n`);
  out.write(`${sealTable(seal)}\n\n`);
  out.write(releaseReport(release, opts));
  out.write(problems.length === 0 ? `checks: after a final seal, ${audit.chains.length} audit chains (${auditRows} rows, every row of audit_events) verify with ${auditUnsealed} unsealed; every wallet's chain nonce equals its recorded sends; no failed transactions.\n` : `CHECKS FAILED:\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
  const totalS = (performance.now() - started) / 1000;
  out.write(`total ${totalS.toFixed(1)} s\n`);

  if (opts.json) {
    const doc = {
      generatedAt: new Date().toISOString(),
      machine,
      options: { ...opts, json: undefined, amountEth: AMOUNT_ETH },
      policyFile: yaml,
      results: rows,
      sealing: seal,
      release,
      checks: { ok: problems.length === 0, problems, auditChains: audit.chains.length, auditRows, auditUnsealed, storedRows },
      totalSeconds: totalS,
    };
    writeFileSync(opts.json, `${JSON.stringify(rounded(doc), null, 2)}\n`);
    step(`wrote ${opts.json}`);
  }
  return problems.length === 0 ? 0 : 1;
}

const watchdog = setTimeout(() => {
  step(`still running after ${WATCHDOG_MS / 60_000} minutes: aborting`);
  void cleanup().then(() => process.exit(1));
}, WATCHDOG_MS);
watchdog.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    step(`${signal}: shutting down`);
    process.on('uncaughtException', (err) => step(`during shutdown: ${err.message}`));
    void cleanup().then(() => process.exit(130));
  });
}

let opts: Options;
try {
  opts = parseOptions(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`bench:guardrails: ${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
  process.exit(2);
}
let code = 1;
try {
  code = await main(opts);
} catch (err) {
  process.stderr.write(`bench:guardrails failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
} finally {
  step('shutting down');
  await cleanup();
}
process.exit(code);
