/**
 * What a CLI command opens: the configuration, the database (migrated), the key ring and, when a
 * command needs it, the chain. The CLI talks to the same Postgres as the server: `DATABASE_URL`,
 * or the embedded one a running `npm start` recorded in `DATA_DIR/services.json`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, type Config } from '../core/config.ts';
import { ConfigError } from '../core/errors.ts';
import { connectDb, migrate, type Db } from '../core/db/connect.ts';
import { ChainClient } from '../core/chain/client.ts';
import { openKeyRing } from '../core/runtime.ts';
import { createLogger, type Logger } from '../core/logger.ts';
import type { KeyRing } from '../keyproviders/index.ts';
import type { ServicesReady } from '../scripts/embedded/services.ts';
import { KdfPool } from '../core/wallets/kdf/pool.ts';

/** An opened CLI context; `close()` releases everything. */
export interface CliContext {
  config: Config;
  db: Db;
  keys: KeyRing;
  /** Present when the command asked for it. */
  chain: ChainClient | undefined;
  /** Keystore key derivations (threads start on first use), as in the server. */
  kdf: KdfPool;
  /** Logs go to stderr (JSON), so stdout stays the command's report. */
  logger: Logger;
  close(): Promise<void>;
}

/** `DATA_DIR/services.json` while `npm start` runs its embedded services, if the process is alive. */
function embeddedServices(dataDir: string): ServicesReady | undefined {
  try {
    const state = JSON.parse(readFileSync(path.join(dataDir, 'services.json'), 'utf8')) as ServicesReady & { pid: number };
    process.kill(state.pid, 0);
    return state;
  } catch {
    return undefined;
  }
}

/**
 * Opens the configuration, database, key ring and (with `chain: true`) the chain.
 * @throws {ConfigError} when the configuration is invalid or no database can be found;
 *   {@link KeyProviderError} when a configured provider's settings are unusable.
 */
export async function openCliContext(options: { chain?: boolean } = {}): Promise<CliContext> {
  const config = loadConfig();
  const logger = createLogger('cli', config.logLevel === 'info' ? 'warn' : config.logLevel);
  const embedded = !config.databaseUrl || (options.chain && config.rpcUrls.length === 0) ? embeddedServices(config.dataDir) : undefined;
  const databaseUrl = config.databaseUrl ?? embedded?.databaseUrl;
  if (!databaseUrl) {
    throw new ConfigError([`DATABASE_URL is unset and no \`npm start\` is running with DATA_DIR=${config.dataDir}; set DATABASE_URL to the service's database`]);
  }
  const rpcUrls = config.rpcUrls.length > 0 ? config.rpcUrls : embedded?.rpcUrl ? [embedded.rpcUrl] : [];
  if (options.chain && rpcUrls.length === 0) {
    throw new ConfigError([`RPC_URLS is unset and no \`npm start\` is running with DATA_DIR=${config.dataDir}; set RPC_URLS`]);
  }
  const { db } = connectDb(databaseUrl, 4);
  let keys: KeyRing | undefined;
  let chain: ChainClient | undefined;
  try {
    await migrate(db);
    keys = await openKeyRing(config, logger);
    if (options.chain) chain = await ChainClient.connect(rpcUrls);
  } catch (err) {
    keys?.close();
    await db.destroy();
    throw err;
  }
  const kdf = KdfPool.fromConfig(config);
  return {
    config: { ...config, databaseUrl, rpcUrls },
    db,
    keys,
    chain,
    kdf,
    logger,
    close: async () => {
      await kdf.close();
      keys.close();
      chain?.destroy();
      await db.destroy();
    },
  };
}
