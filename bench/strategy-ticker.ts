/**
 * The ticking process of `npm run bench:strategies` (bench/strategies.ts forks it, one per
 * phase): `--mode worker` runs a real worker (`worker/start.ts` `startWorker`, or the module in
 * BENCH_WORKER_MODULE), `--mode loop` the baseline, a plain loop that calls `runTick` for each
 * strategy when its slot is due, from an in-memory schedule, with a fixed number of ticks in
 * flight and no pg-boss or sweep, but with the worker's audit sealer (worker/jobs/audit-seal.ts).
 * Both count their own SQL statements and JSON-RPC requests (db-count.ts, rpc-count.ts) and
 * answer the parent over IPC with their CPU time, event-loop use and those counts. Configured
 * from the environment like `npm run worker`.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { loadConfig, type Config } from '../core/config.ts';
import { createLogger, type Logger } from '../core/logger.ts';
import { openCore, type OpenedCore } from '../core/runtime.ts';
import type { CoreContext } from '../core/context.ts';
import { runTick } from '../core/strategies/engine.ts';
import type { RunningWorker } from '../worker/start.ts';
import { startAuditSealer } from '../worker/jobs/audit-seal.ts';
import { installSqlCounter, setSqlTag, sqlByStatement, sqlCounts } from './db-count.ts';
import { installRpcCounter, rpcCounts } from './rpc-count.ts';

/** What a child reports when asked. */
export interface ChildSnapshot {
  cpuMs: number;
  elu: { idle: number; active: number };
  sql: { statements: number; ms: number };
  sqlByStatement: Array<[string, { statements: number; ms: number }]>;
  rpc: Array<[string, number]>;
  rssMiB: number;
}

export type ToChild = { type: 'snapshot'; id: number } | { type: 'start'; prefix: string; concurrency: number } | { type: 'stop' };
export type FromChild =
  | { type: 'ready'; metricsUrl?: string }
  | { type: 'snapshot'; id: number; data: ChildSnapshot }
  | { type: 'started'; loaded: number }
  | { type: 'stopped'; loop?: LoopStats }
  | { type: 'error'; message: string };

export interface LoopStats {
  ticks: number;
  stale: number;
  errors: number;
  firstError: string | null;
}

/** A min-heap of pending slots, earliest first. */
class SlotHeap {
  private items: Array<{ at: number; slot: number; id: string }> = [];
  get size(): number {
    return this.items.length;
  }
  push(item: { at: number; slot: number; id: string }): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.at <= a[i]!.at) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }
  pop(): { at: number; slot: number; id: string } | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]!.at < a[m]!.at) m = l;
        if (r < a.length && a[r]!.at < a[m]!.at) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * The baseline: `concurrency` runners, each taking the earliest pending slot, waiting until it
 * is due, running `runTick` for it and putting the strategy's next slot back.
 */
class PlainLoop {
  private readonly heap = new SlotHeap();
  private stopped = false;
  private runners: Promise<void>[] = [];
  private readonly sleepers = new Set<() => void>();
  readonly stats: LoopStats = { ticks: 0, stale: 0, errors: 0, firstError: null };
  private readonly ctx: CoreContext;

  constructor(ctx: CoreContext) {
    this.ctx = ctx;
  }

  async start(prefix: string, concurrency: number): Promise<number> {
    const rows = await this.ctx.db
      .selectFrom('strategies')
      .select(['id', 'next_run_at'])
      .where('label', 'like', `${prefix}%`)
      .where('status', '=', 'active')
      .where('deleted_at', 'is', null)
      .execute();
    for (const r of rows) if (r.next_run_at) this.heap.push({ at: r.next_run_at.getTime(), slot: r.next_run_at.getTime(), id: r.id });
    this.runners = Array.from({ length: concurrency }, () => this.run());
    return rows.length;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const item = this.heap.pop();
      if (!item) {
        await this.sleep(50);
        continue;
      }
      const wait = item.at - Date.now();
      if (wait > 0) await this.sleep(wait);
      if (this.stopped) return;
      try {
        const r = await runTick(this.ctx, item.id, { source: 'schedule', slot: new Date(item.slot) });
        if (r.outcome === 'stale') this.stats.stale++;
        else this.stats.ticks++;
        const s = r.strategy;
        if (s && s.status === 'active' && s.next_run_at) this.heap.push({ at: s.next_run_at.getTime(), slot: s.next_run_at.getTime(), id: item.id });
      } catch (err) {
        // A database error: the worker's job would be retried by pg-boss; retry the slot in 1 s.
        this.stats.errors++;
        this.stats.firstError ??= err instanceof Error ? err.message : String(err);
        this.heap.push({ at: Date.now() + 1_000, slot: item.slot, id: item.id });
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of [...this.sleepers]) wake();
    await Promise.all(this.runners);
  }
}

function childSnapshot(): ChildSnapshot {
  const cpu = process.cpuUsage();
  const elu = performance.eventLoopUtilization();
  const sqlAll = sqlCounts().get('child') ?? { statements: 0, ms: 0 };
  return {
    cpuMs: (cpu.user + cpu.system) / 1000,
    elu: { idle: elu.idle, active: elu.active },
    sql: sqlAll,
    sqlByStatement: [...sqlByStatement()],
    rpc: [...rpcCounts()],
    rssMiB: process.memoryUsage().rss / 2 ** 20,
  };
}

async function main(mode: 'worker' | 'loop'): Promise<void> {
  const send = (m: FromChild, then?: () => void) => process.send!(m, undefined, {}, then);
  try {
    installSqlCounter({ byStatement: true });
    installRpcCounter();
    setSqlTag('child');
    const config = loadConfig(process.env);
    const logger = createLogger(mode === 'worker' ? 'worker' : 'bench-loop', config.logLevel);
    let close: () => Promise<void>;
    let loop: PlainLoop | undefined;
    if (mode === 'worker') {
      const moduleUrl = process.env.BENCH_WORKER_MODULE ? pathToFileURL(process.env.BENCH_WORKER_MODULE).href : new URL('../worker/start.ts', import.meta.url).href;
      const mod = (await import(moduleUrl)) as { startWorker: (config: Config, logger: Logger) => Promise<RunningWorker> };
      const running = await mod.startWorker(config, logger);
      close = running.close;
      send({ type: 'ready', metricsUrl: running.metricsUrl });
    } else {
      const core: OpenedCore = await openCore(config, logger, 'server');
      loop = new PlainLoop(core.ctx);
      // Ticks write their audit rows unsealed; the worker's sealer (which the worker phase runs)
      // seals them, so the loop runs one too, to pay the same and leave no backlog behind.
      const stopSealer = startAuditSealer(core.ctx);
      close = async () => {
        await loop!.stop();
        await stopSealer();
        await core.close();
      };
      send({ type: 'ready' });
    }
    process.on('message', (msg: ToChild) => {
      void (async () => {
        try {
          if (msg.type === 'snapshot') send({ type: 'snapshot', id: msg.id, data: childSnapshot() });
          else if (msg.type === 'start') send({ type: 'started', loaded: await loop!.start(msg.prefix, msg.concurrency) });
          else if (msg.type === 'stop') {
            await close();
            send({ type: 'stopped', ...(loop ? { loop: loop.stats } : {}) }, () => process.exit(0));
          }
        } catch (err) {
          send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }, () => process.exit(1));
        }
      })();
    });
    // The parent went away: do not outlive it.
    process.on('disconnect', () => process.exit(1));
  } catch (err) {
    send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }, () => process.exit(1));
  }
}

const modeIndex = process.argv.indexOf('--mode');
if (modeIndex === -1 || !process.send) {
  process.stderr.write('bench/strategy-ticker.ts is started by bench/strategies.ts (npm run bench:strategies)\n');
  process.exit(2);
}
await main(process.argv[modeIndex + 1] === 'loop' ? 'loop' : 'worker');
