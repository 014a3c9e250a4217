/**
 * `npm start`: the appliance on one machine. Fills in embedded defaults for what is not
 * configured (a Postgres under DATA_DIR when DATABASE_URL is unset; a local anvil dev chain with
 * a faucet when RPC_URLS is unset), then runs the server and the worker as child processes.
 * Ctrl-C (or SIGTERM) stops the server and the worker first, then the embedded services (which
 * run detached, so the terminal's Ctrl-C does not reach them before their clients are gone).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ANVIL_DEV_KEYS } from '../core/config.ts';
import { loadConfigOrExit } from '../core/process.ts';
import type { ServicesReady } from './embedded/services.ts';

const say = (line: string) => process.stdout.write(`[vaultpilot] ${line}\n`);

/** Starts scripts/embedded/services.ts detached and waits for its ready message. */
async function startServices(dataDir: string, postgres: boolean, anvil: boolean): Promise<{ child: ChildProcess; ready: ServicesReady }> {
  const args = [path.join(import.meta.dirname, 'embedded', 'services.ts'), '--data-dir', dataDir];
  if (postgres) args.push('--postgres');
  if (anvil) args.push('--anvil');
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<ServicesReady>((resolve, reject) => {
    child.once('message', (m) => resolve(m as ServicesReady));
    child.once('exit', (code) => reject(new Error(`the embedded services exited (code ${code}) before they were ready`)));
  });
  if (ready.error) throw new Error(ready.error);
  return { child, ready };
}

/** Sends SIGTERM (SIGKILL after `graceMs`) and waits for the exit. */
function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), graceMs).unref();
  });
}

async function main(): Promise<void> {
  const config = loadConfigOrExit('start');
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: config.dataDir };
  const children: ChildProcess[] = [];
  let services: ChildProcess | undefined;
  let stopping = false;

  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping…');
    // The server and the worker first, while the database and the chain are still up.
    await Promise.all(children.map((child) => terminate(child, 10_000)));
    if (services) await terminate(services, 15_000);
    say('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  const needPostgres = !config.databaseUrl;
  const needAnvil = config.rpcUrls.length === 0;
  if (needPostgres || needAnvil) {
    try {
      const started = await startServices(config.dataDir, needPostgres, needAnvil);
      services = started.child;
      if (started.ready.databaseUrl) {
        env.DATABASE_URL = started.ready.databaseUrl;
        say(`embedded Postgres running, data in ${path.join(config.dataDir, 'postgres')}`);
      }
      if (started.ready.rpcUrl) {
        env.RPC_URLS = started.ready.rpcUrl;
        delete env.WEB3_RPC_URL;
        env.FAUCET_PRIVATE_KEY ??= ANVIL_DEV_KEYS[0];
        say(`local dev chain (anvil, chainId ${started.ready.chainId}) on ${started.ready.rpcUrl}; request_faucet_funds pays from its dev account`);
      }
    } catch (err) {
      process.stderr.write(`vaultpilot: could not start the embedded defaults: ${err instanceof Error ? err.message : String(err)}\n`);
      await stopAll(1);
      return;
    }
  }

  const root = path.resolve(import.meta.dirname, '..');
  const run = (name: string, entry: string) => {
    // The IPC channel only tells the child when this launcher is gone (see core/process.ts).
    const child = spawn(process.execPath, [path.join(root, entry)], { env, stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
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
