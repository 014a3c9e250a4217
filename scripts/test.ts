/**
 * `npm test`: starts Postgres and a dev chain once for the whole run (embedded ones unless
 * DATABASE_URL / RPC_URLS are set), then runs every `*.test.ts` with node's test runner, one file
 * at a time. Each test file makes its own database on that server (see test/harness.ts).
 * Exits with the runner's code.
 */
import { spawn } from 'node:child_process';
import { globSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded/postgres.ts';
import { startAnvil, type EmbeddedAnvil } from './embedded/anvil.ts';

const root = path.resolve(import.meta.dirname, '..');
process.chdir(root);
const filters = process.argv.slice(2);
const files = globSync('{core,server,worker,keyproviders,scripts,test}/**/*.test.ts', { cwd: root })
  .filter((f) => !f.includes('node_modules'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

let pg: EmbeddedPostgres | undefined;
let dataDir: string | undefined;
let anvil: EmbeddedAnvil | undefined;
const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'test' };
let code = 1;
try {
  if (!process.env.DATABASE_URL) {
    // One cluster per run, removed afterwards, so concurrent runs never share a data dir.
    dataDir = path.join(root, '.data', `test-${process.pid}`);
    rmSync(dataDir, { recursive: true, force: true });
    pg = await startEmbeddedPostgres(dataDir, 'postgres');
    env.TEST_DATABASE_URL = pg.url;
  } else {
    env.TEST_DATABASE_URL = process.env.DATABASE_URL;
  }
  if (!process.env.RPC_URLS) {
    anvil = await startAnvil();
    env.TEST_RPC_URL = anvil.url;
  } else {
    env.TEST_RPC_URL = process.env.RPC_URLS.split(',')[0];
  }
  delete env.DATABASE_URL;
  delete env.RPC_URLS;
  process.stdout.write(`running ${files.length} test files against ${pg ? 'embedded Postgres' : 'DATABASE_URL'} and ${anvil ? 'anvil' : 'RPC_URLS'}\n`);
  const child = spawn(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], { env, stdio: 'inherit' });
  code = await new Promise<number>((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
} catch (err) {
  process.stderr.write(`npm test: ${err instanceof Error ? err.stack : String(err)}\n`);
} finally {
  await anvil?.stop();
  await pg?.stop().catch(() => undefined);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}
process.exit(code);
