/**
 * Test helpers for key custody: a wallet store opened straight on a test database with a key
 * ring built from environment-style settings (as the CLI builds it), and the real `vaultpilot`
 * CLI run as a child process.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Wallet, verifyMessage } from 'ethers';
import { loadConfig } from '../core/config.ts';
import { connectDb, migrate, type Db } from '../core/db/connect.ts';
import { openKeyRing } from '../core/runtime.ts';
import { createLogger } from '../core/logger.ts';
import { createWallet, withSigner } from '../core/wallets/service.ts';
import type { KeyRing } from '../keyproviders/index.ts';

const root = path.resolve(import.meta.dirname, '..');
/** The dev chain's id; wallets made here are recorded on it. */
const CHAIN_ID = 31337;

/** A database plus a key ring, without server or chain. */
export interface WalletStoreHandle {
  db: Db;
  keys: KeyRing;
  /** Creates a wallet for `agentId` in `tenantId`, wrapped by the active provider. */
  createWallet(tenantId: string, agentId: string): Promise<void>;
  /** Every wallet row's key columns, by agent id; then closes. */
  snapshotAndClose(): Promise<Record<string, string>>;
  close(): Promise<void>;
}

/**
 * Opens `databaseUrl` (migrated) with the key ring `env` configures (KEY_PROVIDER, FERNET_KEYS,
 * AWS_*, VAULT_*), exactly as the CLI reads them.
 */
export async function openWalletStore(databaseUrl: string, env: Record<string, string>): Promise<WalletStoreHandle> {
  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: path.join(root, '.data', 'custody-test'), LOG_LEVEL: 'silent', DATABASE_URL: databaseUrl, ...env });
  const { db } = connectDb(databaseUrl, 4);
  await migrate(db);
  const keys = await openKeyRing(config, createLogger('test', 'silent'));
  const store = { db, keys, chain: { chainId: CHAIN_ID } };
  const close = async () => {
    keys.close();
    await db.destroy();
  };
  return {
    db,
    keys,
    createWallet: async (tenantId, agentId) => {
      await createWallet(store, { tenantId }, agentId);
    },
    snapshotAndClose: async () => {
      const rows = await db.selectFrom('wallets').select(['agent_id', 'key_provider', 'key_ref', 'key_version', 'wrapped_key']).execute();
      await close();
      return Object.fromEntries(rows.map((r) => [r.agent_id, `${r.key_provider}|${r.key_ref}|${r.key_version}|${r.wrapped_key}`]));
    },
    close,
  };
}

/** The id of tenant `name`, created if missing. */
export async function createTenant(db: Db, name: string): Promise<string> {
  await db.insertInto('tenants').values({ name }).onConflict((oc) => oc.column('name').doNothing()).execute();
  return (await db.selectFrom('tenants').select('id').where('name', '=', name).executeTakeFirstOrThrow()).id;
}

/**
 * Unwraps every wallet (whose agent id is `like` the pattern) through the store's key ring and
 * signs an EIP-191 message with it, checking the signature recovers the wallet's address.
 * @returns how many signed; throws on the first that cannot.
 */
export async function signsWithAll(store: WalletStoreHandle, like = '%'): Promise<number> {
  const rows = await store.db.selectFrom('wallets').selectAll().where('agent_id', 'like', like).execute();
  for (const row of rows) {
    const signature = await withSigner(store, row, (signer: Wallet) => signer.signMessage(`rewrap check ${row.id}`));
    assert(verifyMessage(`rewrap check ${row.id}`, signature) === row.address, `wallet ${row.agent_id} signs for its address`);
  }
  return rows.length;
}

function assert(ok: boolean, what: string): void {
  if (!ok) throw new Error(`expected: ${what}`);
}

/** A finished CLI run. */
export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `vaultpilot <args>` (bin/vaultpilot.ts on this Node) with only `env` plus PATH/HOME and
 * test defaults.
 * @param options.killWhen - SIGKILLs the process as soon as its stdout matches (crash injection).
 */
export function runCli(args: string[], env: Record<string, string>, options: { killWhen?: RegExp; timeoutMs?: number } = {}): Promise<CliRun> {
  const child = spawn(process.execPath, [path.join(root, 'bin', 'vaultpilot.ts'), ...args], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NODE_ENV: 'test',
      DATA_DIR: path.join(root, '.data', 'custody-test'),
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (options.killWhen?.test(stdout)) child.kill('SIGKILL');
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    }),
  );
}
