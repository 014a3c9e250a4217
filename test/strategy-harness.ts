/**
 * Strategy test helpers: the worker as its own OS process (`node worker/main.ts`, so a test can
 * `kill -9` it), a principal for core calls, wallets funded with `anvil_setBalance`, and reads
 * of a strategy's runs.
 */
import { after, before } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { parseEther, toBeHex } from 'ethers';
import { authenticateApiKey, type Principal } from '../core/auth/api-keys.ts';
import { createWallet } from '../core/wallets/service.ts';
import type { StrategyRunRow } from '../core/db/types.ts';
import { TEST_FERNET_KEY, chainProvider, rpcUrl, startStack, type Stack } from './harness.ts';

const root = path.resolve(import.meta.dirname, '..');

/** A worker running as a child process. */
export interface WorkerProcess {
  child: ChildProcess;
  /** Everything it printed (pino JSON lines). */
  output: () => string;
  /** Resolves once a line matching `re` has been printed. */
  waitFor: (re: RegExp, timeoutMs?: number) => Promise<void>;
  /** SIGKILL, and wait for the exit. */
  kill9: () => Promise<void>;
  /** SIGTERM, and wait for the graceful exit. */
  stop: () => Promise<void>;
}

/**
 * Starts `node worker/main.ts` on the stack's database and the run's chain.
 * @param env - extra environment (e.g. `VAULTPILOT_TEST_PAUSE_AFTER_NONCE_MS`).
 */
export async function spawnWorker(stack: Stack, env: Record<string, string> = {}): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['worker/main.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      WORKER_METRICS_PORT: '0',
      DATA_DIR: '.data/test-runtime',
      DATABASE_URL: stack.databaseUrl,
      RPC_URLS: rpcUrl(),
      FERNET_KEY: TEST_FERNET_KEY,
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters: Array<{ re: RegExp; resolve: () => void }> = [];
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of [...waiters]) {
      if (w.re.test(out)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const waitFor = (re: RegExp, timeoutMs = 30_000) =>
    new Promise<void>((resolve, reject) => {
      if (re.test(out)) return resolve();
      const timer = setTimeout(() => reject(new Error(`worker did not print ${re} within ${timeoutMs} ms; output:\n${out.slice(-3000)}`)), timeoutMs);
      waiters.push({ re, resolve: () => (clearTimeout(timer), resolve()) });
    });
  await waitFor(/"msg":"worker running"/);
  return {
    child,
    output: () => out,
    waitFor,
    kill9: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The principal of the stack's admin key. */
export async function adminPrincipal(stack: Stack): Promise<Principal> {
  const p = await authenticateApiKey(stack.server.ctx.db, stack.adminKey);
  if (!p) throw new Error('the admin key does not authenticate');
  return p;
}

/** Creates a wallet for `agentId` and sets its balance on the dev chain (`anvil_setBalance`). */
export async function fundedWallet(stack: Stack, principal: Principal, agentId: string, eth = '1'): Promise<{ id: string; address: string }> {
  const { wallet } = await createWallet(stack.server.ctx, principal, agentId);
  const provider = chainProvider();
  await provider.send('anvil_setBalance', [wallet.address, toBeHex(parseEther(eth))]);
  provider.destroy();
  return { id: wallet.id, address: wallet.address };
}

/** A strategy's runs, oldest first. */
export async function runsOf(stack: Stack, strategyId: string): Promise<StrategyRunRow[]> {
  return stack.server.ctx.db.selectFrom('strategy_runs').selectAll().where('strategy_id', '=', strategyId).orderBy('slot_at').execute();
}

/** Sets the base fee of the next block and mines it, so the latest block carries `gwei`. */
export async function setBaseFeeGwei(gwei: bigint): Promise<void> {
  const provider = chainProvider();
  await provider.send('anvil_setNextBlockBaseFeePerGas', [toBeHex(gwei * 10n ** 9n)]);
  await provider.send('evm_mine', []);
  provider.destroy();
}

/** What {@link strategyStack} gives a describe block (filled in by its `before` hook). */
export interface StrategyStack {
  stack: Stack;
  principal: Principal;
  /** Worker processes the block starts; all are stopped in its `after` hook. */
  workers: WorkerProcess[];
}

/**
 * Registers `before`/`after` hooks on the current describe block: a server on a fresh database
 * with no in-process worker (the block spawns worker processes), the admin principal, and the
 * clean-up of every worker it pushed onto `workers`.
 */
export function strategyStack(): StrategyStack {
  const ctx = { workers: [] } as unknown as StrategyStack;
  before(async () => {
    ctx.stack = await startStack({ worker: false });
    ctx.principal = await adminPrincipal(ctx.stack);
  });
  after(async () => {
    await Promise.all(ctx.workers.map((w) => w.stop()));
    await ctx.stack?.close();
  });
  return ctx;
}
