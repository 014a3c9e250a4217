/**
 * Runs the embedded Postgres and/or anvil for `npm start` in a process of their own, started
 * detached (its own process group) so that a terminal Ctrl-C reaches the server and the worker
 * first: the launcher stops them, then tells this process to stop, and only then do anvil (which
 * saves its state) and Postgres shut down. It also stops when the launcher goes away (the IPC
 * channel closes).
 *
 * Protocol: argv `--data-dir DIR [--postgres] [--anvil]`; sends one IPC message
 * `{ databaseUrl?, rpcUrl?, chainId? }` when ready, or `{ error }`; stops on SIGTERM or disconnect.
 * While running, the same message plus this pid is in `DATA_DIR/services.json` (mode 0600), so
 * `vaultpilot` CLI commands find the embedded database without DATABASE_URL.
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './postgres.ts';
import { startAnvil, type EmbeddedAnvil } from './anvil.ts';

/** The ready message sent to the launcher. */
export interface ServicesReady {
  databaseUrl?: string;
  rpcUrl?: string;
  chainId?: number;
  error?: string;
}

const { values } = parseArgs({ options: { 'data-dir': { type: 'string' }, postgres: { type: 'boolean' }, anvil: { type: 'boolean' } } });
const dataDir = values['data-dir'] ?? '.data';
const stateFile = path.join(dataDir, 'services.json');
let pg: EmbeddedPostgres | undefined;
let anvil: EmbeddedAnvil | undefined;
let stopping = false;

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  rmSync(stateFile, { force: true });
  await anvil?.stop();
  await pg?.stop().catch(() => undefined);
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.on('disconnect', () => void stop());

try {
  const ready: ServicesReady = {};
  if (values.postgres) {
    pg = await startEmbeddedPostgres(dataDir);
    ready.databaseUrl = pg.url;
  }
  if (values.anvil) {
    anvil = await startAnvil({ stateFile: path.join(dataDir, 'anvil-state.json') });
    ready.rpcUrl = anvil.url;
    ready.chainId = anvil.chainId;
  }
  writeFileSync(stateFile, `${JSON.stringify({ ...ready, pid: process.pid })}\n`, { mode: 0o600 });
  process.send?.(ready);
} catch (err) {
  process.send?.({ error: err instanceof Error ? err.message : String(err) } satisfies ServicesReady);
  await stop();
}
