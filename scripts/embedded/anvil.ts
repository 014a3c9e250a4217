/**
 * The local dev chain of `npm start` and `npm test` when `RPC_URLS` is unset: anvil from the
 * `@foundry-rs/anvil` npm package, chainId 31337, on loopback, with its ten prefunded dev
 * accounts. With `stateFile`, the chain is saved on exit and restored on start, so balances and
 * nonces survive a restart like the database does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { freePort } from './free-port.ts';

/** A running anvil. */
export interface EmbeddedAnvil {
  url: string;
  chainId: number;
  process: ChildProcess;
  stop: () => Promise<void>;
}

function anvilBinary(): string {
  const require = createRequire(import.meta.url);
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  try {
    const pkg = require.resolve(`@foundry-rs/anvil-${process.platform}-${arch}/package.json`);
    const bin = path.join(path.dirname(pkg), 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil');
    if (existsSync(bin)) return bin;
  } catch {
    // fall back to the npm shim
  }
  return path.resolve('node_modules/.bin/anvil');
}

/**
 * Starts anvil and waits until it answers.
 * @param opts.stateFile - load/dump chain state here (anvil `--state`).
 * @param opts.port - default: a free port.
 * @param opts.blockTime - mine a block every this many seconds instead of one per transaction
 *   (anvil `--block-time`; default: automine).
 */
export async function startAnvil(opts: { stateFile?: string; port?: number; chainId?: number; blockTime?: number } = {}): Promise<EmbeddedAnvil> {
  const port = opts.port ?? (await freePort());
  const chainId = opts.chainId ?? 31337;
  const args = ['--host', '127.0.0.1', '--port', String(port), '--chain-id', String(chainId), '--silent'];
  if (opts.stateFile) args.push('--state', opts.stateFile);
  if (opts.blockTime !== undefined) args.push('--block-time', String(opts.blockTime));
  const child = spawn(anvilBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`anvil exited with code ${child.exitCode}: ${stderr.slice(0, 500)}`);
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' });
      if (res.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`anvil did not answer on ${url} within 20 s: ${stderr.slice(0, 500)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    chainId,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        // SIGINT lets anvil dump --state before it exits.
        child.kill('SIGINT');
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      }),
  };
}
