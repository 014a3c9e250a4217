/**
 * Opens everything a process needs from its configuration, in order: database (+ migrations),
 * chain, key provider, job queue. Both the server and the worker start here; the `npm start`
 * launcher has already filled in `DATABASE_URL` and `RPC_URLS` when embedded defaults are used.
 */
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from './errors.ts';
import type { Config } from './config.ts';
import { loadPolicyFile } from './policy/file.ts';
import type { CoreContext } from './context.ts';
import type { Logger } from './logger.ts';
import { connectDb, migrate } from './db/connect.ts';
import { ChainClient } from './chain/client.ts';
import { createBoss, ensureQueues } from './jobs/queue.ts';
import { createKeyRing, type KeyRing, type KeyRingConfig } from '../keyproviders/index.ts';
import { generateFernetKey } from '../keyproviders/fernet.ts';
import { KdfPool } from './wallets/kdf/pool.ts';

/** chainIds of local development chains (anvil, hardhat), refused in production. */
const DEV_CHAIN_IDS = new Set([31337, 1337]);

/**
 * Reads the development Fernet key from `DATA_DIR/fernet.key`, creating it (mode 0600) on first
 * use. Only reached when `FERNET_KEY` is unset outside production.
 */
export async function devFernetKey(dataDir: string, logger: Logger): Promise<string> {
  const file = path.join(dataDir, 'fernet.key');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dataDir, { recursive: true });
  const key = generateFernetKey();
  try {
    await writeFile(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
    logger.warn({ file }, 'FERNET_KEY is unset: generated a development Fernet key. Wallet keys are wrapped with it; back it up, and set FERNET_KEY for anything beyond a laptop.');
    return key;
  } catch (err) {
    // Another process created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return (await readFile(file, 'utf8')).trim();
    throw err;
  }
}

/**
 * The key ring's settings from the configuration. Fernet takes `FERNET_KEYS`; without them it
 * uses the development key under `DATA_DIR` (created when Fernet is the active provider, read
 * when it already exists, so development wallets stay usable after switching providers; never in
 * production).
 */
export async function keyRingConfig(config: Config, logger: Logger): Promise<KeyRingConfig> {
  let fernetKeys = config.fernetKeys;
  if (fernetKeys.length === 0 && config.nodeEnv !== 'production') {
    const devKeyExists = await access(path.join(config.dataDir, 'fernet.key')).then(() => true, () => false);
    if (config.keyProvider === 'fernet' || devKeyExists) fernetKeys = [await devFernetKey(config.dataDir, logger)];
  }
  return {
    active: config.keyProvider,
    fernet: fernetKeys.length > 0 ? { keys: fernetKeys } : undefined,
    awsKms: config.awsKms,
    vault: config.vault,
  };
}

/**
 * Opens the key ring for a process.
 * @throws {KeyProviderError} `KEY_PROVIDER_UNAVAILABLE` when a configured provider's settings are unusable.
 */
export async function openKeyRing(config: Config, logger: Logger): Promise<KeyRing> {
  return createKeyRing(await keyRingConfig(config, logger));
}

/** An opened core and the function that closes it. */
export interface OpenedCore {
  ctx: CoreContext;
  close: () => Promise<void>;
}

/**
 * Opens the core for a process.
 * @param role - `server` sends jobs; `worker` also supervises pg-boss maintenance.
 * @throws {ConfigError} no database or RPC URL, or a dev chain in production;
 *   {@link UpstreamError} `RPC_UNAVAILABLE`; database errors as pg reports them.
 */
export async function openCore(config: Config, logger: Logger, role: 'server' | 'worker'): Promise<OpenedCore> {
  const missing: string[] = [];
  if (!config.databaseUrl) missing.push('DATABASE_URL is unset: `npm start` runs an embedded Postgres for you; to run this process alone, set DATABASE_URL');
  if (config.rpcUrls.length === 0) missing.push('RPC_URLS is unset: `npm start` runs a local dev chain for you; to run this process alone, set RPC_URLS');
  if (missing.length > 0) throw new ConfigError(missing);
  // An invalid policy file stops the process before anything else is opened.
  const policy = await loadPolicyFile(config.policyFile, logger);

  const { db } = connectDb(config.databaseUrl!);
  const applied = await migrate(db);
  if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');

  const chain = await ChainClient.connect(config.rpcUrls);
  if (config.nodeEnv === 'production' && DEV_CHAIN_IDS.has(chain.chainId)) {
    chain.destroy();
    await db.destroy();
    throw new ConfigError([`RPC_URLS points at a local dev chain (chainId ${chain.chainId}); production needs a real network`]);
  }

  const keys = await openKeyRing(config, logger).catch(async (err: unknown) => {
    chain.destroy();
    await db.destroy();
    throw err;
  });

  const boss = createBoss(config.databaseUrl!, role);
  boss.on('error', (err: Error) => logger.error({ err }, 'pg-boss error'));
  await boss.start();
  await ensureQueues(boss);

  // Threads start on first use, so a worker process that never opens a keystore runs none.
  const kdf = KdfPool.fromConfig(config);
  const ctx: CoreContext = { config, db, chain, keys, boss, logger, policy, kdf };
  return {
    ctx,
    close: async () => {
      await boss.stop({ graceful: true, timeout: 5_000 }).catch(() => undefined);
      await kdf.close();
      keys.close();
      chain.destroy();
      await db.destroy();
    },
  };
}
