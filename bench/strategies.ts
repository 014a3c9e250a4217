/**
 * `npm run bench:strategies`: the strategy scheduler under load. N enabled `dca` strategies
 * (default 10,000) due every `--interval` seconds (default 60), their slots spread evenly over
 * the interval (so N ÷ interval slots fall due each second), ticked for a fixed window by:
 *
 * - **worker**: one real worker process (`worker/start.ts` `startWorker`, in a child process of
 *   its own): the scheduler sweep enqueues each due slot as a pg-boss `strategy-tick` job and the
 *   queue's handler runs it;
 * - **loop** (the baseline, same run, same machine): a plain loop in a child process of its own
 *   calling `runTick(ctx, id, {source: 'schedule', slot})` for each strategy when its slot is
 *   due, from an in-memory schedule, with the same number of ticks in flight; no pg-boss, no sweep,
 *   but the worker's audit sealer (ticks write their audit rows unsealed).
 *
 * Both child processes are `bench/strategy-ticker.ts`; this process sets up, watches and reports.
 *
 * Each phase gets its own strategies and wallets, ticks for `--warmup` seconds unmeasured (default
 * one interval, so every strategy has ticked once), then for `--seconds` measured (default 120).
 * From `strategy_runs` it reports ticks/s and tick lag (started_at − slot_at) p50/p99/max; from
 * the child process its CPU and event-loop use, SQL statements and their wall time, and JSON-RPC
 * requests per tick; from Postgres (`pg_stat_statements`, preloaded in the embedded cluster) the
 * statements' execution time per tick and which statements it went to; from `/proc` the CPU of
 * Postgres and anvil; and from the worker's own `/metrics` its tick counters, lag histogram and
 * CPU. Ratios are worker ÷ loop.
 *
 * Two mixes (`--mix`): **skip** gives every strategy a gas ceiling of 1 wei, below any base fee,
 * so each tick is a `skipped(gas_above_ceiling)` run: the whole locked tick path (chain reads,
 * strategy and wallet locks, run row, counters, audit row) minus signing and broadcast; it
 * isolates scheduler, queue and database overhead. **send** has no ceiling, so each tick signs
 * and broadcasts a real 0.000001 ETH transfer on anvil, and the worker also follows each
 * transaction with its tx-monitor queue. The embedded anvil mines a block every second
 * (`--block-time 1`) rather than one block per transaction: under automine anvil's
 * `eth_estimateGas` gets slower with every block (about 2 ms at 2,000 one-transaction blocks,
 * 12 ms at 6,000), so at these rates anvil, not VaultPilot, would set the pace.
 *
 *   npm run bench:strategies -- [--strategies 10000] [--wallets 200] [--interval 60] [--warmup 60]
 *     [--seconds 120] [--mix skip|send|both] [--phase worker|loop|both] [--concurrency 8]
 *     [--block-time 1] [--worker-module FILE] [--json FILE]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { getAddress, hexlify, parseEther, toBeHex } from 'ethers';
import { loadConfig } from '../core/config.ts';
import { createLogger } from '../core/logger.ts';
import { openCore } from '../core/runtime.ts';
import type { CoreContext } from '../core/context.ts';
import type { Principal } from '../core/auth/api-keys.ts';
import { resolveTenant } from '../core/tenants.ts';
import { createWallet } from '../core/wallets/service.ts';
import { createStrategy } from '../core/strategies/service.ts';
import { kindOf, parseParams } from '../core/strategies/kinds/index.ts';
import { QUEUES } from '../core/jobs/queue.ts';
import { unsealedCount } from '../core/audit/seal.ts';
import { benchEnv, startInfra, type Infra } from './infra.ts';
import { percentile } from './stats.ts';
import { markdownTable, rounded } from './report.ts';
import type { ChildSnapshot, FromChild, LoopStats, ToChild } from './strategy-ticker.ts';
import { postmasterPid, sampleCpu, type CpuDelta } from './proc-cpu.ts';
import { createCleanup } from './cleanup.ts';

const USAGE = `usage: npm run bench:strategies -- [options]
  --strategies N      enabled dca strategies per phase (default 10000)
  --wallets N         wallets they belong to, round robin (default 200)
  --interval S        interval_seconds of every strategy (default 60)
  --warmup S          seconds of ticking before the window, not measured (default: --interval)
  --seconds S         measured window per phase, seconds (default 120)
  --mix M             skip | send | both (default both)
  --phase P           worker | loop | both (default both; ratios need both)
  --concurrency K     ticks in flight in the plain loop (default 8, the worker's CONCURRENCY)
  --block-time S      the embedded anvil mines a block every S seconds (default 1; 0 = automine,
                      one block per transaction, whose eth_estimateGas slows as blocks pile up)
  --worker-module F   a module exporting startWorker(config, logger) to run instead of
                      worker/start.ts (to measure a change to the worker before making it)
  --json FILE         also write every number as JSON
Uses DATABASE_URL / RPC_URLS when set (RPC_URLS must be an anvil-style dev chain: wallets are funded with anvil_setBalance).`;

/** ETH per send in the send mix. */
const AMOUNT_ETH = '0.000001';
/** A gas ceiling below any base fee (1 wei): every skip-mix tick is skipped(gas_above_ceiling). */
const SKIP_CEILING_GWEI = '0.000000001';
/** Strategies per phase created through createStrategy (the rest are inserted in bulk with the same params). */
const VIA_SERVICE = 5;
/** Distinct recipients of the strategies' sends. */
const RECIPIENTS = 16;
/** The lag the issue sets as the goal for p99, ms. */
const GOAL_P99_MS = 2_000;

type Mix = 'skip' | 'send';
type PhaseKind = 'worker' | 'loop';

interface Options {
  strategies: number;
  wallets: number;
  interval: number;
  warmup: number;
  seconds: number;
  mixes: Mix[];
  phases: PhaseKind[];
  concurrency: number;
  blockTime: number;
  workerModule: string | undefined;
  json: string | undefined;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      strategies: { type: 'string' },
      wallets: { type: 'string' },
      interval: { type: 'string' },
      warmup: { type: 'string' },
      seconds: { type: 'string' },
      mix: { type: 'string' },
      phase: { type: 'string' },
      concurrency: { type: 'string' },
      'block-time': { type: 'string' },
      'worker-module': { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  // Counts and durations are whole numbers (not amounts), checked as digits before Number().
  const int = (name: string, v: string | undefined, fallback: number, min: number, max: number): number => {
    if (v === undefined) return fallback;
    if (!/^\d{1,7}$/.test(v) || Number(v) < min || Number(v) > max) throw new Error(`--${name} must be a whole number from ${min} to ${max} (got "${v}")`);
    return Number(v);
  };
  const choice = <T extends string>(name: string, v: string | undefined, all: readonly T[]): T[] => {
    if (v === undefined || v === 'both') return [...all];
    if (!(all as readonly string[]).includes(v)) throw new Error(`--${name} must be ${all.join(', ')} or both (got "${v}")`);
    return [v as T];
  };
  const strategies = int('strategies', values.strategies, 10_000, 1, 200_000);
  const interval = int('interval', values.interval, 60, 1, 3_600);
  return {
    strategies,
    wallets: int('wallets', values.wallets, Math.min(200, strategies), 1, Math.min(10_000, strategies)),
    interval,
    warmup: int('warmup', values.warmup, interval, 0, 3_600),
    seconds: int('seconds', values.seconds, 120, 1, 3_600),
    mixes: choice('mix', values.mix, ['skip', 'send'] as const),
    phases: choice('phase', values.phase, ['worker', 'loop'] as const),
    concurrency: int('concurrency', values.concurrency, 8, 1, 64),
    blockTime: int('block-time', values['block-time'], 1, 0, 60),
    workerModule: values['worker-module'] === undefined ? undefined : path.resolve(values['worker-module']),
    json: values.json === undefined ? undefined : path.resolve(values.json),
  };
}

function step(msg: string): void {
  process.stderr.write(`[bench:strategies] ${msg}\n`);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** The parent's handle on a child. */
class Child {
  private listeners = new Set<(m: FromChild) => void>();
  private exited: string | null = null;
  readonly proc: ChildProcess;

  constructor(mode: PhaseKind, env: NodeJS.ProcessEnv) {
    this.proc = fork(path.join(import.meta.dirname, 'strategy-ticker.ts'), ['--mode', mode], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.proc.on('message', (m: FromChild) => {
      for (const l of [...this.listeners]) l(m);
    });
    this.proc.on('exit', (code, signal) => {
      this.exited = `exited (${signal ?? code})`;
      for (const l of [...this.listeners]) l({ type: 'error', message: `child ${this.exited}` });
    });
  }

  /** The next message of `type`; rejects on a child error, its exit or the timeout. */
  next<T extends FromChild['type']>(type: T, timeoutMs: number, match: (m: Extract<FromChild, { type: T }>) => boolean = () => true): Promise<Extract<FromChild, { type: T }>> {
    return new Promise((resolve, reject) => {
      if (this.exited) return reject(new Error(`child ${this.exited}`));
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`child did not answer "${type}" within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (m: FromChild) => {
        if (m.type === 'error') {
          clearTimeout(timer);
          this.listeners.delete(listener);
          reject(new Error(`child failed: ${m.message}`));
        } else if (m.type === type && match(m as Extract<FromChild, { type: T }>)) {
          clearTimeout(timer);
          this.listeners.delete(listener);
          resolve(m as Extract<FromChild, { type: T }>);
        }
      };
      this.listeners.add(listener);
    });
  }

  send(msg: ToChild): void {
    this.proc.send(msg);
  }

  private seq = 0;
  async snapshot(): Promise<ChildSnapshot> {
    const id = ++this.seq;
    const reply = this.next('snapshot', 10_000, (m) => m.id === id);
    this.send({ type: 'snapshot', id });
    return (await reply).data;
  }

  /** Asks the child to stop (running ticks finish) and waits for it to exit; kills it after 30 s. */
  async stop(): Promise<LoopStats | undefined> {
    if (this.exited) return undefined;
    const exit = new Promise<void>((r) => (this.exited ? r() : this.proc.once('exit', () => r())));
    const reply = this.next('stopped', 30_000).catch((err: unknown) => {
      step(`child did not stop cleanly (${err instanceof Error ? err.message : String(err)}); killing it`);
      this.kill();
      return undefined;
    });
    this.send({ type: 'stop' });
    const stopped = await reply;
    await exit;
    return stopped?.loop;
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}

// ---------------------------------------------------------------------------------------------
// The parent: set-up, phases, measurements, report.
// ---------------------------------------------------------------------------------------------

/** Shutdown steps, run last-in first-out, once. */
const { defer, cleanup } = createCleanup(step, 35_000);

/** JSON with sorted keys (jsonb does not keep key order). */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

async function rpc(url: string, method: string, params: unknown[]): Promise<unknown> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  const body = (await res.json()) as { result?: unknown; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

/** One phase's strategies: labels `<prefix><index>`, wallets `<prefix>w<index>`. */
interface StrategySet {
  prefix: string;
  count: number;
}

/**
 * Creates `opts.wallets` wallets (funded with 100 ETH each through anvil_setBalance) and
 * `opts.strategies` stopped dca strategies over them, round robin: the first few through
 * createStrategy, the rest inserted in bulk with exactly the params `dca.parse()` produces; checks
 * that both paths stored the same params.
 */
async function createSet(ctx: CoreContext, principal: Principal, rpcUrl: string, prefix: string, opts: Options, input: (i: number) => Record<string, unknown>): Promise<StrategySet> {
  const wallets: Array<{ id: string; agentId: string }> = [];
  for (let j = 0; j < opts.wallets; j++) {
    const agentId = `${prefix}w${j}`;
    const { wallet } = await createWallet(ctx, principal, agentId);
    await rpc(rpcUrl, 'anvil_setBalance', [wallet.address, toBeHex(parseEther('100'))]);
    wallets.push({ id: wallet.id, agentId });
  }
  const def = kindOf('dca');
  const label = (i: number) => `${prefix}${String(i).padStart(6, '0')}`;
  const viaService = Math.min(VIA_SERVICE, opts.strategies);
  for (let i = 0; i < viaService; i++) {
    const created = await createStrategy(ctx, principal, { kind: 'dca', label: label(i), agent_id: wallets[i % wallets.length]!.agentId, params: input(i), start: false });
    const row = await ctx.db.selectFrom('strategies').select(['params', 'status', 'confirmed_above_max']).where('id', '=', created.id).executeTakeFirstOrThrow();
    const expected = parseParams(def, input(i), new Date());
    if (canonical(row.params) !== canonical(expected) || row.status !== 'stopped' || row.confirmed_above_max) {
      throw new Error(`createStrategy stored ${canonical(row)} but the bulk insert would store ${canonical(expected)}`);
    }
  }
  const now = new Date();
  const CHUNK = 1_000;
  for (let start = viaService; start < opts.strategies; start += CHUNK) {
    const rows = [];
    for (let i = start; i < Math.min(opts.strategies, start + CHUNK); i++) {
      rows.push({
        tenant_id: principal.tenantId,
        wallet_id: wallets[i % wallets.length]!.id,
        label: label(i),
        kind: 'dca',
        params: JSON.stringify(parseParams(def, input(i), now)),
        status: 'stopped' as const,
        next_run_at: null,
        confirmed_above_max: false,
      });
    }
    await ctx.db.insertInto('strategies').values(rows).execute();
  }
  return { prefix, count: opts.strategies };
}

/** Makes a set's strategies active with slots spread evenly over one interval from `t0`. */
async function activate(ctx: CoreContext, tenantId: string, set: StrategySet, t0: number, intervalMs: number): Promise<void> {
  await sql`
    update strategies s
       set status = 'active',
           next_run_at = ${new Date(t0)}::timestamptz + floor(((r.rn - 1) * ${intervalMs})::float8 / ${set.count}) * interval '1 millisecond',
           scheduled_slot_at = null, scheduled_job_id = null, updated_at = now()
      from (select id, row_number() over (order by label) as rn from strategies
             where tenant_id = ${tenantId} and label like ${`${set.prefix}%`} and deleted_at is null) r
     where s.id = r.id`.execute(ctx.db);
}

async function deactivate(ctx: CoreContext, tenantId: string, set: StrategySet): Promise<void> {
  await sql`
    update strategies set status = 'stopped', next_run_at = null, scheduled_slot_at = null, scheduled_job_id = null, updated_at = now()
     where tenant_id = ${tenantId} and label like ${`${set.prefix}%`} and status = 'active'`.execute(ctx.db);
}

/** One statement's share of a window, from pg_stat_statements. */
interface StatementRow {
  query: string;
  calls: number;
  ms: number;
}

async function readStatements(ctx: CoreContext): Promise<StatementRow[]> {
  const r = await sql<{ query: string; calls: number; ms: number }>`
    select query, calls::float8 as calls, total_exec_time::float8 as ms from pg_stat_statements
     where dbid = (select oid from pg_database where datname = current_database())`.execute(ctx.db);
  return r.rows.filter((row) => !/pg_stat_statements/.test(row.query)).map((row) => ({ query: row.query.replace(/\s+/g, ' ').trim(), calls: Number(row.calls), ms: Number(row.ms) }));
}

/** Prometheus text → samples keyed `name{labels}` (labels as printed). */
async function scrape(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\S+?(?:\{[^}]*\})?)\s+(\S+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

function labelsOf(key: string): Record<string, string> {
  const out: Record<string, string> = {};
  const body = /\{(.*)\}$/.exec(key)?.[1] ?? '';
  for (const m of body.matchAll(/(\w+)="([^"]*)"/g)) out[m[1]!] = m[2]!;
  return out;
}

/** The worker's own view of the window, from two /metrics scrapes. */
interface WorkerMetrics {
  cpuSeconds: number;
  ticks: Record<string, number>;
  jobs: Record<string, number>;
  rpc: Record<string, number>;
  lag: { count: number; meanS: number; shareUnder2s: number; p50Bucket: string; p99Bucket: string };
}

function metricsDelta(a: Map<string, number>, b: Map<string, number>): WorkerMetrics {
  const d = (k: string) => (b.get(k) ?? 0) - (a.get(k) ?? 0);
  const ticks: Record<string, number> = {};
  const jobs: Record<string, number> = {};
  const rpcCount: Record<string, number> = {};
  const buckets: Array<[number, number]> = [];
  let lagCount = 0;
  let lagSum = 0;
  for (const key of b.keys()) {
    const name = key.replace(/\{.*$/, '');
    const l = labelsOf(key);
    if (name === 'vaultpilot_strategy_ticks_total') ticks[l.result ?? '?'] = (ticks[l.result ?? '?'] ?? 0) + d(key);
    else if (name === 'vaultpilot_jobs_total') jobs[`${l.queue}:${l.outcome}`] = (jobs[`${l.queue}:${l.outcome}`] ?? 0) + d(key);
    else if (name === 'vaultpilot_rpc_duration_seconds_count') rpcCount[l.method ?? '?'] = (rpcCount[l.method ?? '?'] ?? 0) + d(key);
    else if (name === 'vaultpilot_strategy_tick_lag_seconds_bucket') {
      const le = l.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(l.le);
      const existing = buckets.find((x) => x[0] === le);
      if (existing) existing[1] += d(key);
      else buckets.push([le, d(key)]);
    } else if (name === 'vaultpilot_strategy_tick_lag_seconds_count') lagCount += d(key);
    else if (name === 'vaultpilot_strategy_tick_lag_seconds_sum') lagSum += d(key);
  }
  buckets.sort((x, y) => x[0] - y[0]);
  const bucketFor = (q: number) => {
    const target = q * lagCount;
    const hit = buckets.find(([, c]) => c >= target);
    return hit ? (hit[0] === Number.POSITIVE_INFINITY ? `> ${buckets[buckets.length - 2]?.[0] ?? '?'} s` : `≤ ${hit[0]} s`) : 'n/a';
  };
  const under2 = buckets.find(([le]) => le === 2)?.[1] ?? Number.NaN;
  return {
    cpuSeconds: d('process_cpu_seconds_total'),
    ticks: Object.fromEntries(Object.entries(ticks).filter(([, v]) => v > 0)),
    jobs: Object.fromEntries(Object.entries(jobs).filter(([, v]) => v > 0)),
    rpc: Object.fromEntries(Object.entries(rpcCount).filter(([, v]) => v > 0)),
    lag: { count: lagCount, meanS: lagCount > 0 ? lagSum / lagCount : Number.NaN, shareUnder2s: lagCount > 0 ? under2 / lagCount : Number.NaN, p50Bucket: bucketFor(0.5), p99Bucket: bucketFor(0.99) },
  };
}

/** Everything measured in one phase's window. */
interface PhaseResult {
  mix: Mix;
  phase: PhaseKind;
  label: string;
  strategies: number;
  windowS: number;
  ticks: number;
  ticksPerSec: number;
  demandPerSec: number;
  outcomes: Record<string, number>;
  lagMs: { p50: number; p99: number; max: number; mean: number; shareUnder2s: number } | null;
  /** Active strategies whose slot had passed at the window's end without a tick yet. */
  overdueAtEnd: { count: number; oldestS: number | null };
  /** pg-boss jobs by queue at the window's end (ready = due and not yet fetched). */
  queues: Record<string, { ready: number; deferred: number; active: number }>;
  cpuMsPerTick: number;
  /** CPU of the ticking process over the window ÷ window (1 = one core busy). */
  cpuCores: number;
  eventLoopBusy: number;
  rssMiB: number;
  sqlPerTick: { statements: number; ms: number };
  /** The statements that took the most wall time as the ticking process saw them. */
  sqlTop: Array<{ query: string; perTick: number; msPerTick: number; meanMs: number }>;
  rpcPerTick: Record<string, number>;
  pgss: { callsPerTick: number; execMsPerTick: number; top: Array<{ query: string; callsPerTick: number; msPerTick: number; share: number }> } | null;
  postgresCpuMsPerTick: number | null;
  anvilCpuMsPerTick: number | null;
  machineBusy: number | null;
  loop?: LoopStats;
  metrics?: WorkerMetrics;
}

interface RunContext {
  ctx: CoreContext;
  principal: Principal;
  infra: Infra;
  childEnv: NodeJS.ProcessEnv;
  pgss: boolean;
  opts: Options;
}

async function queueDepths(ctx: CoreContext): Promise<PhaseResult['queues']> {
  const r = await sql<{ name: string; ready: number; deferred: number; active: number }>`
    select name,
           count(*) filter (where state in ('created', 'retry') and start_after <= now())::int as ready,
           count(*) filter (where state in ('created', 'retry') and start_after > now())::int as deferred,
           count(*) filter (where state = 'active')::int as active
      from pgboss.job where name in (${QUEUES.strategyTick}, ${QUEUES.txMonitor}) group by name`.execute(ctx.db);
  return Object.fromEntries(r.rows.map((row) => [row.name, { ready: row.ready, deferred: row.deferred, active: row.active }]));
}

async function runPhase(rc: RunContext, mix: Mix, phase: PhaseKind, set: StrategySet): Promise<PhaseResult> {
  const { ctx, opts } = rc;
  const tenantId = rc.principal.tenantId;
  const intervalMs = opts.interval * 1000;
  // Jobs of earlier phases' strategies would be fetched (and found stale) by this worker.
  await sql`delete from pgboss.job where name = ${QUEUES.strategyTick}`.execute(ctx.db);

  const env = { ...rc.childEnv, ...(phase === 'worker' && opts.workerModule ? { BENCH_WORKER_MODULE: opts.workerModule } : {}) };
  const child = new Child(phase, env);
  defer(`${phase} child`, async () => child.kill());
  const ready = await child.next('ready', 60_000);
  const t0 = Math.ceil((Date.now() + 1_500) / 1_000) * 1_000;
  await activate(ctx, tenantId, set, t0, intervalMs);
  if (phase === 'loop') {
    const started = child.next('started', 30_000);
    child.send({ type: 'start', prefix: set.prefix, concurrency: opts.concurrency });
    const { loaded } = await started;
    if (loaded !== set.count) throw new Error(`the loop loaded ${loaded} strategies, expected ${set.count}`);
  }
  const windowStart = t0 + opts.warmup * 1000;
  const windowEnd = windowStart + opts.seconds * 1000;
  step(`${mix}/${phase}: ${set.count} strategies, first slot ${new Date(t0).toISOString()}; warm-up ${opts.warmup} s, then ${opts.seconds} s measured (until ${new Date(windowEnd).toISOString()})`);

  await sleep(windowStart - Date.now());
  const cpuRoots = { postgres: rc.infra.postgresDir ? postmasterPid(rc.infra.postgresDir) : undefined, anvil: rc.infra.anvilPid };
  if (rc.pgss) await sql`select pg_stat_statements_reset()`.execute(ctx.db);
  const metricsA = ready.metricsUrl ? await scrape(ready.metricsUrl) : undefined;
  const snapA = await child.snapshot();
  const sampler = sampleCpu(cpuRoots);
  const progress = setInterval(() => step(`${mix}/${phase}: ${Math.max(0, Math.round((windowEnd - Date.now()) / 1000))} s left in the window`), 30_000);

  await sleep(windowEnd - Date.now());
  clearInterval(progress);
  const snapB = await child.snapshot();
  const cpu: CpuDelta = sampler.stop();
  const metricsB = ready.metricsUrl ? await scrape(ready.metricsUrl) : undefined;
  const statements = rc.pgss ? await readStatements(ctx) : null;
  const overdue = await sql<{ n: number; oldest: Date | null }>`
    select count(*)::int as n, min(next_run_at) as oldest from strategies
     where tenant_id = ${tenantId} and label like ${`${set.prefix}%`} and status = 'active' and next_run_at < ${new Date(windowEnd)}`.execute(ctx.db);
  const queues = await queueDepths(ctx);
  const unsealed = await unsealedCount(ctx.db);
  step(`${mix}/${phase}: window over (${unsealed} audit rows waiting to be sealed); stopping the ${phase}`);
  const loopStats = await child.stop();
  await deactivate(ctx, tenantId, set);

  const runs = await sql<{ lag_ms: number; outcome: string; reason: string | null; error_code: string | null }>`
    select (extract(epoch from (r.started_at - r.slot_at)) * 1000)::float8 as lag_ms, r.outcome, r.reason, r.error_code
      from strategy_runs r join strategies s on s.id = r.strategy_id
     where s.tenant_id = ${tenantId} and s.label like ${`${set.prefix}%`} and r.source = 'schedule'
       and r.started_at >= ${new Date(windowStart)} and r.started_at < ${new Date(windowEnd)}`.execute(ctx.db);
  const n = runs.rows.length;
  const outcomes: Record<string, number> = {};
  for (const r of runs.rows) {
    const key = r.outcome === 'skipped' ? `skipped(${r.reason})` : r.outcome === 'failed' ? `failed(${r.error_code})` : r.outcome;
    outcomes[key] = (outcomes[key] ?? 0) + 1;
  }
  const lags = runs.rows.map((r) => Number(r.lag_ms)).sort((a, b) => a - b);
  const per = (v: number) => (n > 0 ? v / n : Number.NaN);
  const rpcPerTick: Record<string, number> = {};
  const rpcA = new Map(snapA.rpc);
  for (const [key, v] of snapB.rpc) {
    const d = v - (rpcA.get(key) ?? 0);
    if (d > 0) rpcPerTick[key.replace(/^vaultpilot:/, '')] = per(d);
  }
  const windowMs = windowEnd - windowStart;
  const eluActive = snapB.elu.active - snapA.elu.active;
  const eluIdle = snapB.elu.idle - snapA.elu.idle;
  let pgss: PhaseResult['pgss'] = null;
  if (statements) {
    const calls = statements.reduce((s, r) => s + r.calls, 0);
    const ms = statements.reduce((s, r) => s + r.ms, 0);
    pgss = {
      callsPerTick: per(calls),
      execMsPerTick: per(ms),
      top: [...statements]
        .sort((a, b) => b.ms - a.ms)
        .slice(0, 8)
        .map((r) => ({ query: r.query, callsPerTick: per(r.calls), msPerTick: per(r.ms), share: ms > 0 ? r.ms / ms : 0 })),
    };
  }
  const cpuPerTick = (v: number | undefined) => (v === undefined ? null : per(v * 1000));
  const byA = new Map(snapA.sqlByStatement);
  const sqlTop = snapB.sqlByStatement
    .map(([query, b]) => {
      const a = byA.get(query) ?? { statements: 0, ms: 0 };
      return { query, statements: b.statements - a.statements, ms: b.ms - a.ms };
    })
    .filter((x) => x.statements > 0)
    .sort((x, y) => y.ms - x.ms)
    .slice(0, 8)
    .map((x) => ({ query: x.query, perTick: per(x.statements), msPerTick: per(x.ms), meanMs: x.ms / x.statements }));
  return {
    mix,
    phase,
    label: `${mix} / ${phase === 'worker' ? `worker (pg-boss${opts.workerModule ? `, ${path.basename(opts.workerModule)}` : ''})` : `plain loop, ${opts.concurrency} in flight`}`,
    strategies: set.count,
    windowS: windowMs / 1000,
    ticks: n,
    ticksPerSec: (n / windowMs) * 1000,
    demandPerSec: set.count / opts.interval,
    outcomes,
    lagMs:
      n > 0
        ? { p50: percentile(lags, 50), p99: percentile(lags, 99), max: lags[n - 1]!, mean: lags.reduce((a, b) => a + b, 0) / n, shareUnder2s: lags.filter((l) => l <= GOAL_P99_MS).length / n }
        : null,
    overdueAtEnd: { count: overdue.rows[0]!.n, oldestS: overdue.rows[0]!.oldest ? (windowEnd - overdue.rows[0]!.oldest.getTime()) / 1000 : null },
    queues,
    cpuMsPerTick: per(snapB.cpuMs - snapA.cpuMs),
    cpuCores: (snapB.cpuMs - snapA.cpuMs) / windowMs,
    eventLoopBusy: eluActive + eluIdle > 0 ? eluActive / (eluActive + eluIdle) : Number.NaN,
    rssMiB: snapB.rssMiB,
    sqlPerTick: { statements: per(snapB.sql.statements - snapA.sql.statements), ms: per(snapB.sql.ms - snapA.sql.ms) },
    sqlTop,
    rpcPerTick,
    pgss,
    postgresCpuMsPerTick: cpuPerTick(cpu.seconds.postgres),
    anvilCpuMsPerTick: cpuPerTick(cpu.seconds.anvil),
    machineBusy: cpu.machineBusy ?? null,
    ...(loopStats ? { loop: loopStats } : {}),
    ...(metricsA && metricsB ? { metrics: metricsDelta(metricsA, metricsB) } : {}),
  };
}

// --- formatting -------------------------------------------------------------------------------

function num(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return 'n/a';
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function pct(v: number | null | undefined): string {
  return v === null || v === undefined || Number.isNaN(v) ? 'n/a' : `${Math.round(v * 100)}%`;
}

function ratio(a: number | null | undefined, b: number | null | undefined): string {
  if (a === null || a === undefined || b === null || b === undefined || !(b > 0) || Number.isNaN(a)) return 'n/a';
  const r = a / b;
  return `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`;
}

function rpcText(perTick: Record<string, number>): string {
  const total = Object.values(perTick).reduce((a, b) => a + b, 0);
  return total.toFixed(2);
}

function mainTable(results: PhaseResult[]): string {
  return markdownTable(
    ['phase', 'ticks', 'ticks/s (due/s)', 'lag p50 ms', 'lag p99 ms', 'lag max ms', 'lag ≤ 2 s', 'overdue at end', 'CPU ms/tick', 'CPU (cores)', 'loop busy', 'SQL/tick', 'SQL wall ms/tick', 'PG exec ms/tick', 'PG CPU ms/tick', 'RPC/tick', 'anvil CPU ms/tick', 'machine busy'],
    results.map((r) => [
      r.label,
      String(r.ticks),
      `${num(r.ticksPerSec)} (${num(r.demandPerSec)})`,
      num(r.lagMs?.p50),
      num(r.lagMs?.p99),
      num(r.lagMs?.max),
      pct(r.lagMs?.shareUnder2s),
      r.overdueAtEnd.count === 0 ? '0' : `${r.overdueAtEnd.count} (oldest ${num(r.overdueAtEnd.oldestS)} s)`,
      num(r.cpuMsPerTick),
      num(r.cpuCores),
      pct(r.eventLoopBusy),
      num(r.sqlPerTick.statements),
      num(r.sqlPerTick.ms),
      num(r.pgss?.execMsPerTick),
      num(r.postgresCpuMsPerTick),
      rpcText(r.rpcPerTick),
      num(r.anvilCpuMsPerTick),
      pct(r.machineBusy),
    ]),
    [false, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true],
  );
}

function ratioTable(results: PhaseResult[]): string | null {
  const rows: string[][] = [];
  for (const mix of ['skip', 'send'] as const) {
    const w = results.find((r) => r.mix === mix && r.phase === 'worker');
    const l = results.find((r) => r.mix === mix && r.phase === 'loop');
    if (!w || !l) continue;
    rows.push([
      mix,
      ratio(w.ticksPerSec, l.ticksPerSec),
      ratio(w.lagMs?.p50, l.lagMs?.p50),
      ratio(w.lagMs?.p99, l.lagMs?.p99),
      ratio(w.cpuMsPerTick, l.cpuMsPerTick),
      ratio(w.sqlPerTick.statements, l.sqlPerTick.statements),
      ratio(w.sqlPerTick.ms, l.sqlPerTick.ms),
      ratio(w.pgss?.execMsPerTick, l.pgss?.execMsPerTick),
      ratio(w.postgresCpuMsPerTick, l.postgresCpuMsPerTick),
    ]);
  }
  if (rows.length === 0) return null;
  return markdownTable(
    ['mix', 'ticks/s', 'lag p50', 'lag p99', 'CPU ms/tick', 'SQL statements/tick', 'SQL wall ms/tick', 'PG exec ms/tick', 'PG CPU ms/tick'],
    rows,
    [false, true, true, true, true, true, true, true, true],
  );
}

function detailTable(results: PhaseResult[]): string {
  return markdownTable(
    ['phase', 'outcomes in the window', 'RPC per tick by method', 'pg-boss jobs at end (ready / deferred / active)', 'RSS MiB'],
    results.map((r) => [
      r.label,
      Object.entries(r.outcomes)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none',
      Object.entries(r.rpcPerTick)
        .sort((a, b) => b[1] - a[1])
        .map(([m, v]) => `${m} ${v.toFixed(2)}`)
        .join(', '),
      Object.entries(r.queues)
        .map(([q, d]) => `${q} ${d.ready} / ${d.deferred} / ${d.active}`)
        .join('; ') || 'none',
      num(r.rssMiB),
    ]),
    [false, false, false, false, true],
  );
}

function metricsTable(results: PhaseResult[]): string | null {
  const rows = results.filter((r) => r.metrics);
  if (rows.length === 0) return null;
  return markdownTable(
    ['phase', 'process_cpu_seconds_total Δ', 'strategy_ticks_total Δ', 'tick lag histogram: n, mean s, ≤ 2 s, p50, p99', 'jobs_total Δ'],
    rows.map((r) => {
      const m = r.metrics!;
      return [
        r.label,
        num(m.cpuSeconds),
        Object.entries(m.ticks)
          .map(([k, v]) => `${k} ${v}`)
          .join(', '),
        `${m.lag.count}, ${num(m.lag.meanS)}, ${pct(m.lag.shareUnder2s)}, ${m.lag.p50Bucket}, ${m.lag.p99Bucket}`,
        Object.entries(m.jobs)
          .map(([k, v]) => `${k} ${v}`)
          .join(', '),
      ];
    }),
    [false, true, false, false, false],
  );
}

function clientSqlTable(r: PhaseResult): string {
  return markdownTable(
    ['statement (as the ticking process sent it)', 'per tick', 'wall ms/tick', 'mean wall ms'],
    r.sqlTop.map((s) => [s.query.length > 90 ? `${s.query.slice(0, 87)}...` : s.query, num(s.perTick), s.msPerTick.toFixed(3), num(s.meanMs)]),
    [false, true, true, true],
  );
}

function statementsTable(r: PhaseResult): string | null {
  if (!r.pgss) return null;
  return markdownTable(
    ['statement (pg_stat_statements)', 'calls/tick', 'exec ms/tick', 'share'],
    r.pgss.top.map((s) => [s.query.length > 110 ? `${s.query.slice(0, 107)}...` : s.query, num(s.callsPerTick), s.msPerTick.toFixed(3), pct(s.share)]),
    [false, true, true, true],
  );
}

// --- main -------------------------------------------------------------------------------------

async function main(opts: Options): Promise<number> {
  const root = path.resolve(import.meta.dirname, '..');
  process.chdir(root);
  const dataDir = path.join(root, '.data', 'bench-strategies');
  const started = performance.now();

  const infra = await startInfra(dataDir, process.env, step, {
    postgresFlags: ['-c', 'shared_preload_libraries=pg_stat_statements', '-c', 'pg_stat_statements.track=top'],
    anvilBlockTime: opts.blockTime || undefined,
  });
  defer('Postgres and anvil', () => infra.stop());
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...benchEnv(infra, dataDir), LOG_LEVEL: 'error' };
  // Other key settings of the caller's environment would change which key wraps the wallets.
  delete childEnv.FERNET_KEYS;
  delete childEnv.ENCRYPT_KEY;
  const config = loadConfig(childEnv);
  step(`opening the core (Postgres: ${infra.postgresSource}; chain: ${infra.chainSource})`);
  const core = await openCore(config, createLogger('bench', 'silent'), 'server');
  defer('core', () => core.close());
  const ctx = core.ctx;

  let pgss = false;
  try {
    await sql`create extension if not exists pg_stat_statements`.execute(ctx.db);
    await sql`select pg_stat_statements_reset()`.execute(ctx.db);
    pgss = true;
  } catch (err) {
    step(`pg_stat_statements unavailable (${err instanceof Error ? err.message : String(err)}): database time is the client-side wall time only`);
  }

  const tenantId = (await resolveTenant(ctx.db, 'default', true))!;
  const principal: Principal = { tenantId, keyId: '00000000-0000-4000-8000-000000000000', keyPrefix: 'vp_bench', name: 'bench', role: 'admin', scopes: { tools: null, wallets: null, ips: null } };
  const rc: RunContext = { ctx, principal, infra, childEnv, pgss, opts };

  const results: PhaseResult[] = [];
  for (const mix of opts.mixes) {
    const recipients = Array.from({ length: RECIPIENTS }, () => getAddress(hexlify(randomBytes(20))));
    const input = (i: number): Record<string, unknown> => ({
      to_address: recipients[i % RECIPIENTS],
      amount_eth: AMOUNT_ETH,
      interval_seconds: opts.interval,
      ...(mix === 'skip' ? { max_base_fee_gwei: SKIP_CEILING_GWEI } : {}),
    });
    for (const phase of opts.phases) {
      const prefix = `bench-${mix}-${phase}-`;
      step(`${mix}/${phase}: creating ${opts.wallets} wallets and ${opts.strategies} dca strategies (${Math.min(VIA_SERVICE, opts.strategies)} through createStrategy, the rest in bulk)`);
      const set = await createSet(ctx, principal, infra.rpcUrls[0]!, prefix, opts, input);
      results.push(await runPhase(rc, mix, phase, set));
      const r = results[results.length - 1]!;
      step(`${mix}/${phase}: ${r.ticks} ticks, ${num(r.ticksPerSec)}/s of ${num(r.demandPerSec)}/s due; lag p50 ${num(r.lagMs?.p50)} ms, p99 ${num(r.lagMs?.p99)} ms; CPU ${num(r.cpuMsPerTick)} ms/tick`);
    }
  }

  const cpuList = cpus();
  const pgVersion = (await sql<{ v: string }>`select current_setting('server_version') as v`.execute(ctx.db)).rows[0]!.v;
  const clientVersion = (await rpc(infra.rpcUrls[0]!, 'web3_clientVersion', [])) as string;
  const machine = {
    cpus: availableParallelism(),
    cpuModel: cpuList[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    postgres: `${pgVersion} (${infra.postgresSource})`,
    chain: `${clientVersion} (${infra.chainSource})`,
  };

  const out = process.stdout;
  out.write(`\nVaultPilot strategy scheduler benchmark — ${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}, Postgres ${machine.postgres}, ${machine.chain}\n`);
  out.write(`${opts.strategies} dca strategies per phase on ${opts.wallets} wallets, interval ${opts.interval} s, slots spread evenly (${num(opts.strategies / opts.interval)} due per second); warm-up ${opts.warmup} s, window ${opts.seconds} s.\n`);
  out.write(`skip: every tick is skipped(gas_above_ceiling) (ceiling 1 wei): the locked tick path without signing or broadcast. send: every tick signs and broadcasts a 0.000001 ETH transfer (${opts.blockTime ? `anvil mines a block every ${opts.blockTime} s` : 'anvil automine'}); the worker also follows each transaction (tx-monitor).\n`);
  out.write('worker: one worker process (sweep → pg-boss strategy-tick jobs → handler). plain loop: runTick for each slot when due from an in-memory schedule, same ticks in flight, in its own process, with the audit sealer (every 250 ms) the worker also runs. Lag = strategy_runs.started_at − slot_at of the ticks started in the window.\n');
  out.write('CPU: the ticking process (all threads); PG exec: pg_stat_statements execution time of every statement in the window; PG CPU / anvil CPU: those processes from /proc; SQL wall: statements\' time as the ticking process saw them (includes waiting for its own event loop). All per tick started in the window.\n\n');
  out.write(`${mainTable(results)}\n\n`);
  const ratios = ratioTable(results);
  if (ratios) out.write(`worker ÷ plain loop (ticks/s below 1 = the worker ticks less; the others above 1 = the worker costs more per tick):\n\n${ratios}\n\n`);
  out.write(`${detailTable(results)}\n\n`);
  const metrics = metricsTable(results);
  if (metrics) out.write(`The worker's own /metrics over the window:\n\n${metrics}\n\n`);
  for (const r of results) {
    const t = statementsTable(r);
    if (t) out.write(`Where the database time went — ${r.label}:\n\n${t}\n\n`);
    out.write(`SQL wall time as the ticking process saw it — ${r.label}:\n\n${clientSqlTable(r)}\n\n`);
  }
  for (const r of results.filter((x) => x.loop && (x.loop.errors > 0 || x.loop.stale > 0))) {
    out.write(`${r.label}: ${r.loop!.errors} tick errors, ${r.loop!.stale} stale ticks${r.loop!.firstError ? ` (first error: ${r.loop!.firstError})` : ''}\n`);
  }
  // Held: p99 under the goal, every due slot ticked (within 3%), and no backlog at the end.
  for (const r of results) {
    const held = r.lagMs !== null && r.lagMs.p99 < GOAL_P99_MS && r.ticksPerSec >= 0.97 * r.demandPerSec && (r.overdueAtEnd.oldestS ?? 0) <= GOAL_P99_MS / 1000;
    out.write(`goal (p99 lag < 2 s at ${num(r.demandPerSec)} slots/s), ${r.label}: ${held ? 'HELD' : 'NOT HELD'} — p99 ${num(r.lagMs?.p99)} ms, ${num(r.ticksPerSec)} ticks/s of ${num(r.demandPerSec)}/s due, ${r.overdueAtEnd.count} strategies overdue at the end${r.overdueAtEnd.oldestS === null ? '' : ` (oldest ${num(r.overdueAtEnd.oldestS)} s)`}\n`);
  }
  const totalS = (performance.now() - started) / 1000;
  out.write(`total ${totalS.toFixed(0)} s\n`);
  if (opts.json) {
    writeFileSync(opts.json, `${JSON.stringify(rounded({ generatedAt: new Date().toISOString(), machine, options: opts, results, totalSeconds: totalS }), null, 2)}\n`);
    step(`wrote ${opts.json}`);
  }
  return 0;
}

let opts: Options;
try {
  opts = parseOptions(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`bench:strategies: ${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
  process.exit(2);
}
const budgetMs = (opts.mixes.length * opts.phases.length * (opts.warmup + opts.seconds + 120) + 300) * 1000;
const watchdog = setTimeout(() => {
  step(`still running after ${Math.round(budgetMs / 60_000)} minutes: aborting`);
  void cleanup().then(() => process.exit(1));
}, budgetMs);
watchdog.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    step(`${signal}: shutting down`);
    process.on('uncaughtException', (err) => step(`during shutdown: ${err.message}`));
    void cleanup().then(() => process.exit(130));
  });
}
let code = 1;
try {
  code = await main(opts);
} catch (err) {
  process.stderr.write(`bench:strategies failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
} finally {
  step('shutting down');
  await cleanup();
}
process.exit(code);
