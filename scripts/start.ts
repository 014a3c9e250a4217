/**
 * `npm start`: the appliance on one machine. Fills in embedded defaults for what is not
 * configured (a Postgres under DATA_DIR when DATABASE_URL is unset; a local anvil dev chain with
 * a faucet when RPC_URLS is unset), then runs the server and the worker as child processes.
 * Ctrl-C (or SIGTERM) stops the children first, then everything it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ANVIL_DEV_KEYS } from '../core/config.ts';
import { loadConfigOrExit } from '../core/process.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded/postgres.ts';
import { startAnvil, type EmbeddedAnvil } from './embedded/anvil.ts';

const say = (line: string) => process.stdout.write(`[vaultpilot] ${line}\n`);

async function main(): Promise<void> {
  const config = loadConfigOrExit('start');
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: config.dataDir };
  let pg: EmbeddedPostgres | undefined;
  let anvil: EmbeddedAnvil | undefined;
  const children: ChildProcess[] = [];
  let stopping = false;

  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping…');
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
          }),
      ),
    );
    await anvil?.stop();
    await pg?.stop().catch(() => undefined);
    say('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  try {
    if (!config.databaseUrl) {
      pg = await startEmbeddedPostgres(config.dataDir);
      env.DATABASE_URL = pg.url;
      say(`embedded Postgres running, data in ${path.join(config.dataDir, 'postgres')}`);
    }
    if (config.rpcUrls.length === 0) {
      anvil = await startAnvil({ stateFile: path.join(config.dataDir, 'anvil-state.json') });
      env.RPC_URLS = anvil.url;
      delete env.WEB3_RPC_URL;
      env.FAUCET_PRIVATE_KEY ??= ANVIL_DEV_KEYS[0];
      say(`local dev chain (anvil, chainId ${anvil.chainId}) on ${anvil.url}; request_faucet_funds pays from its dev account`);
    }
  } catch (err) {
    process.stderr.write(`vaultpilot: could not start the embedded defaults: ${err instanceof Error ? err.message : String(err)}\n`);
    await stopAll(1);
    return;
  }

  const root = path.resolve(import.meta.dirname, '..');
  const run = (name: string, entry: string) => {
    const child = spawn(process.execPath, [path.join(root, entry)], { env, stdio: 'inherit' });
    child.on('exit', (code, signal) => {
      if (stopping) return;
      process.stderr.write(`vaultpilot: the ${name} exited (${signal ?? `code ${code}`}); stopping everything\n`);
      void stopAll(code || 1);
    });
    children.push(child);
  };
  run('server', 'server/main.ts');
  run('worker', 'worker/main.ts');
}

await main();
