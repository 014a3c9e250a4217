/**
 * What every core operation needs, built once per process by the server or the worker and passed
 * down explicitly (no globals): configuration, database, chain, key provider, job queue, logger, policy file.
 */
import type { PgBoss } from 'pg-boss';
import type { Config } from './config.ts';
import type { Db } from './db/connect.ts';
import type { ChainClient } from './chain/client.ts';
import type { KeyRing } from '../keyproviders/index.ts';
import type { Logger } from './logger.ts';
import type { PolicyFile } from './policy/schema.ts';
import type { KdfPool } from './wallets/kdf/pool.ts';
import type { AuditScope } from './audit/scope.ts';

export interface CoreContext {
  config: Config;
  db: Db;
  chain: ChainClient;
  /** The active key provider wraps; each configured provider unwraps what it wrapped. */
  keys: KeyRing;
  boss: PgBoss;
  logger: Logger;
  /** `vaultpilot.yml` as loaded at start: default wallet policy and rate limits (core/policy). */
  policy: PolicyFile;
  /** Worker threads for keystore key derivations (scrypt, pbkdf2), so they never block the event loop. */
  kdf: KdfPool;
  /**
   * The audit row of the call being served (core/audit/scope.ts), set per call by the transport
   * on a copy of this context: core commits it inside the call's write transaction. Unset in the
   * worker and the CLI, which write their own rows.
   */
  audit?: AuditScope;
}
