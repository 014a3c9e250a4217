/**
 * `npm run bench:kdf`: does a keystore import stall the server? It measures `/healthz` latency
 * with nothing else running (the baseline) and while `--calls` geth-standard keystore imports
 * (scrypt n=2^18, r=8, p=1: 256 MiB and about a second each) are in flight, in the same run,
 * and the server process's peak RSS during those imports.
 *
 * It starts an embedded Postgres (`.data/bench-kdf`, wiped first) unless DATABASE_URL is set and
 * one anvil unless RPC_URLS is set, then the server as its own process (`node server/main.ts`,
 * as the image runs it), so RSS is the server's alone (read from `/proc/<pid>/status` every
 * 10 ms; Linux only) and `/healthz` is timed from outside its event loop. Phases alternate for
 * `--rounds` rounds: idle (`--healthz` sequential requests), then loaded (`--calls` concurrent
 * `import_wallet_from_encrypted_json` over Streamable HTTP with the MCP SDK's client, each on a
 * fresh key, while sequential `/healthz` requests run until the last import has answered). Both
 * phases pace `/healthz` alike (`--interval`, a probe every 5 ms by default), so the load
 * generator leaves the CPU to the derivations as a real prober would.
 * It prints p50 / p99 / max of both, loaded ÷ idle, the imports' own latency and the RSS, and
 * the issue's target (p99 under 50 ms while 10 imports run); `--json FILE` also writes them.
 *
 *   npm run bench:kdf -- [--calls 10] [--rounds 3] [--healthz 300] [--interval 5] [--threads N] [--queue N] [--json FILE]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { scrypt as nodeScrypt } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, cpus, totalmem } from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { Wallet, encryptKeystoreJson, scrypt } from 'ethers';
import { startInfra, benchEnv } from './infra.ts';
import { summarize, type Summary } from './stats.ts';
import { markdownTable, ms, ratio } from './report.ts';
import { createCleanup } from './cleanup.ts';

const USAGE = `usage: npm run bench:kdf -- [options]
  --calls N     keystore imports in flight in the loaded phase (default 10)
  --rounds R    idle/loaded rounds (default 3)
  --healthz N   sequential /healthz requests per idle phase (default 300)
  --interval MS  a /healthz starts at most every MS ms, idle and loaded alike (default 5; 0 = back to back)
  --threads N   KDF_THREADS of the server (default: unset, the server's default 1)
  --queue N     KDF_QUEUE of the server (default: unset, the server's default 16)
  --json FILE   also write the results as JSON
Uses DATABASE_URL / RPC_URLS when set.`;

const PASSWORD = 'bench kdf password';
/** geth's standard scrypt (`keystore.StandardScryptN/P`). */
const GETH_STANDARD = { N: 2 ** 18, r: 8, p: 1 };
/** The issue's target: /healthz p99 while 10 imports run, ms. */
const TARGET_P99_MS = 50;
const WATCHDOG_MS = 15 * 60_000;
const root = path.resolve(import.meta.dirname, '..');

interface Options {
  calls: number;
  rounds: number;
  healthz: number;
  intervalMs: number;
  threads: number | undefined;
  queue: number | undefined;
  json: string | undefined;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      calls: { type: 'string' },
      rounds: { type: 'string' },
      healthz: { type: 'string' },
      interval: { type: 'string' },
      threads: { type: 'string' },
      queue: { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  // Counts of calls, rounds and threads (not amounts).
  const int = (name: string, v: string | undefined, min: number, max: number): number | undefined => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new Error(`--${name} must be an integer from ${min} to ${max} (got "${v}")`);
    return Number(v);
  };
  return {
    calls: int('calls', values.calls, 1, 1000) ?? 10,
    rounds: int('rounds', values.rounds, 1, 100) ?? 3,
    healthz: int('healthz', values.healthz, 10, 1_000_000) ?? 300,
    intervalMs: int('interval', values.interval, 0, 10_000) ?? 5,
    threads: int('threads', values.threads, 1, 16),
    queue: int('queue', values.queue, 0, 1000),
    json: values.json === undefined ? undefined : path.resolve(values.json),
  };
}

function step(msg: string): void {
  process.stderr.write(`[bench:kdf] ${msg}\n`);
}

const { defer, cleanup } = createCleanup(step, 15_000);

/** A free loopback TCP port (the server is a child process, so it cannot report PORT=0's choice in memory). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Resident set size of `pid` in bytes (`VmRSS`), or `undefined` off Linux or once it exited. */
function rssOf(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Samples `pid`'s RSS every 10 ms until stopped; returns the largest seen, in bytes. */
function sampleRss(pid: number): { stop: () => number | undefined } {
  let peak: number | undefined;
  const read = () => {
    const v = rssOf(pid);
    if (v !== undefined) peak = Math.max(peak ?? 0, v);
  };
  read();
  const timer = setInterval(read, 10);
  return {
    stop: () => {
      clearInterval(timer);
      read();
      return peak;
    },
  };
}

/** Starts `node server/main.ts` and waits until `/healthz` answers. */
async function startServerProcess(env: Record<string, string>, url: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(root, 'server', 'main.ts')], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}: ${stderr}`);
    const ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (ok) return child;
    if (Date.now() > deadline) throw new Error(`the server did not answer /healthz within 60 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** One `/healthz`, timed (ms); then waits out the rest of `intervalMs` since it started. */
async function healthz(url: string, intervalMs = 0): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${url}/healthz`);
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`/healthz answered ${res.status}`);
  const took = performance.now() - t0;
  // Paced like a probe, so the load generator does not take the CPU the derivations need.
  if (took < intervalMs) await new Promise((r) => setTimeout(r, intervalMs - took));
  return took;
}

interface Loaded {
  healthzMs: number[];
  importMs: number[];
  wallMs: number;
  peakRss: number | undefined;
}

async function loadedPhase(url: string, intervalMs: number, client: Client, pid: number, keystores: Array<{ agentId: string; keystore: string }>): Promise<Loaded> {
  const rss = sampleRss(pid);
  const started = performance.now();
  let pending = keystores.length;
  const importMs: number[] = [];
  const imports = keystores.map(async ({ agentId, keystore }) => {
    const t0 = performance.now();
    try {
      const result = (await client.callTool({ name: 'import_wallet_from_encrypted_json', arguments: { agent_id: agentId, encrypted_json: keystore, password: PASSWORD } }, undefined, { timeout: 600_000 })) as CallToolResult;
      if (result.isError) throw new Error(`import of ${agentId} failed: ${JSON.stringify(result.content)}`);
      importMs.push(performance.now() - t0);
    } finally {
      pending--;
    }
  });
  const all = Promise.all(imports);
  all.catch(() => undefined);
  const healthzMs: number[] = [];
  while (pending > 0) healthzMs.push(await healthz(url, intervalMs));
  await all;
  const wallMs = performance.now() - started;
  return { healthzMs, importMs, wallMs, peakRss: rss.stop() };
}

const mib = (bytes: number | undefined) => (bytes === undefined ? 'n/a' : `${(bytes / 2 ** 20).toFixed(0)} MiB`);

async function main(opts: Options): Promise<number> {
  // Setup only: the keystores are written here, in the benchmark's process, with node's native
  // scrypt (the same bytes as ethers' own, as test/kdf-pool.test.ts checks), two at a time.
  const nativeScrypt = promisify(nodeScrypt) as (pw: Uint8Array, salt: Uint8Array, len: number, o: object) => Promise<Buffer>;
  scrypt.register(async (pw, salt, N, r, p, dkLen) => new Uint8Array(await nativeScrypt(pw, salt, dkLen, { N, r, p, maxmem: 128 * r * (N + p + 2) + 2 ** 20 })));
  const total = opts.calls * opts.rounds;
  step(`writing ${total} geth-standard keystores (n=2^18, r=8, p=1)`);
  const keystores: Array<{ agentId: string; keystore: string }> = [];
  for (let i = 0; i < total; i += 2) {
    const batch = Array.from({ length: Math.min(2, total - i) }, async (_, j) => {
      const w = Wallet.createRandom();
      return { agentId: `kdf-${i + j}`, keystore: await encryptKeystoreJson({ address: w.address, privateKey: w.privateKey }, PASSWORD, { scrypt: GETH_STANDARD }) };
    });
    keystores.push(...(await Promise.all(batch)));
  }

  const dataDir = path.join(root, '.data', 'bench-kdf');
  const infra = await startInfra(dataDir, process.env, step);
  defer('Postgres and anvil', () => infra.stop());
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const adminKey = `vp_bench_admin_${Wallet.createRandom().address.slice(2)}`;
  const env: Record<string, string> = {
    ...benchEnv(infra, path.join(dataDir, 'runtime')),
    PORT: String(port),
    ADMIN_API_KEY: adminKey,
    LOG_LEVEL: 'warn',
    ...(opts.threads !== undefined ? { KDF_THREADS: String(opts.threads) } : {}),
    ...(opts.queue !== undefined ? { KDF_QUEUE: String(opts.queue) } : {}),
  };
  step(`starting the server (node server/main.ts) on ${url}, KDF_THREADS=${env.KDF_THREADS ?? 'default'}, KDF_QUEUE=${env.KDF_QUEUE ?? 'default'}`);
  const server = await startServerProcess(env, url);
  defer('server', async () => {
    if (server.exitCode !== null) return;
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  });
  const client = new Client({ name: 'bench-kdf', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', url), { requestInit: { headers: { Authorization: `Bearer ${adminKey}` } } }));
  defer('MCP client', () => client.close());

  const startRss = rssOf(server.pid!);
  // Warm-up: the connection, the route and one derivation thread (it starts on first use).
  for (let i = 0; i < 50; i++) await healthz(url);
  await client.callTool({ name: 'decrypt_wallet_keystore', arguments: { encrypted_json: keystores[0]!.keystore, password: PASSWORD } });

  const idleMs: number[] = [];
  const loadedMs: number[] = [];
  const importMs: number[] = [];
  const idleRss: number[] = [];
  const peaks: number[] = [];
  const walls: number[] = [];
  for (let round = 0; round < opts.rounds; round++) {
    const idle = sampleRss(server.pid!);
    for (let i = 0; i < opts.healthz; i++) idleMs.push(await healthz(url, opts.intervalMs));
    const idlePeak = idle.stop();
    if (idlePeak !== undefined) idleRss.push(idlePeak);
    step(`round ${round + 1}/${opts.rounds}: ${opts.calls} imports in flight`);
    const loaded = await loadedPhase(url, opts.intervalMs, client, server.pid!, keystores.slice(round * opts.calls, (round + 1) * opts.calls));
    loadedMs.push(...loaded.healthzMs);
    importMs.push(...loaded.importMs);
    walls.push(loaded.wallMs);
    if (loaded.peakRss !== undefined) peaks.push(loaded.peakRss);
  }

  const idle = summarize(idleMs, Number.NaN, 1);
  const loaded = summarize(loadedMs, Number.NaN, 1);
  const imports = summarize(importMs, Number.NaN, opts.calls);
  const peakRss = peaks.length > 0 ? Math.max(...peaks) : undefined;
  const idleRssPeak = idleRss.length > 0 ? Math.max(...idleRss) : undefined;
  const machine = { cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10, node: process.version, postgres: infra.postgresSource, chain: infra.chainSource };
  const out = process.stdout;
  out.write(`\nVaultPilot key-derivation benchmark — ${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}\n`);
  out.write(`server: node server/main.ts, KDF_THREADS=${env.KDF_THREADS ?? '1 (default)'}, KDF_QUEUE=${env.KDF_QUEUE ?? '16 (default)'}; ${opts.rounds} rounds of ${opts.healthz} idle /healthz, then ${opts.calls} geth-standard keystore imports in flight; /healthz paced at ${opts.intervalMs} ms\n\n`);
  const row = (label: string, s: Summary, base?: Summary) => [label, String(s.n), ms(s.p50Ms), ms(s.p99Ms), ms(s.maxMs), base ? ratio(s.p50Ms / base.p50Ms) : '', base ? ratio(s.p99Ms / base.p99Ms) : ''];
  out.write(
    `${markdownTable(
      ['measurement', 'n', 'p50 ms', 'p99 ms', 'max ms', '÷ idle p50', '÷ idle p99'],
      [
        row('/healthz, idle (baseline)', idle),
        row(`/healthz, ${opts.calls} keystore imports in flight`, loaded, idle),
        row(`import_wallet_from_encrypted_json (${opts.calls} at once)`, imports),
      ],
      [false, true, true, true, true, true, true],
    )}\n\n`,
  );
  const wall = walls.reduce((a, b) => a + b, 0) / walls.length;
  out.write(`${opts.calls} imports took ${(wall / 1000).toFixed(1)} s of wall time per round (mean of ${walls.length}).\n`);
  out.write(`server RSS: ${mib(startRss)} after start, ${mib(idleRssPeak)} idle after a first derivation, peak ${mib(peakRss)} during the imports (+${peakRss !== undefined && idleRssPeak !== undefined ? mib(peakRss - idleRssPeak) : 'n/a'}).\n`);
  const met = loaded.p99Ms < TARGET_P99_MS;
  out.write(`target: /healthz p99 under ${TARGET_P99_MS} ms while ${opts.calls} imports run: ${met ? 'met' : 'NOT met'} (${ms(loaded.p99Ms)} ms).\n`);
  if (opts.json) {
    writeFileSync(opts.json, `${JSON.stringify({ machine, options: opts, healthzIdle: idle, healthzLoaded: loaded, imports, importWallMs: walls, rssBytes: { afterStart: startRss, idlePeak: idleRssPeak, loadedPeak: peakRss } }, null, 2)}\n`);
    step(`wrote ${opts.json}`);
  }
  return 0;
}

const watchdog = setTimeout(() => {
  step(`still running after ${WATCHDOG_MS / 60_000} minutes: aborting`);
  void cleanup().then(() => process.exit(1));
}, WATCHDOG_MS);
watchdog.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    step(`${signal}: shutting down`);
    void cleanup().then(() => process.exit(130));
  });
}

let opts: Options;
try {
  opts = parseOptions(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`bench:kdf: ${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
  process.exit(2);
}
let code = 1;
try {
  code = await main(opts);
} catch (err) {
  process.stderr.write(`bench:kdf failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
} finally {
  step('shutting down');
  await cleanup();
}
process.exit(code);
