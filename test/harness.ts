/**
 * Test harness: real parts only. `npm test` (scripts/test.ts) starts one Postgres and one anvil
 * per run and passes them as TEST_DATABASE_URL / TEST_RPC_URL; each test file creates its own
 * database on that server, starts real server and worker instances on free ports, and talks to
 * them with the MCP SDK's own client over either transport.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { sql } from 'kysely';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { JsonRpcProvider, Wallet } from 'ethers';
import { ANVIL_DEV_KEYS, loadConfig, type Config } from '../core/config.ts';
import { createLogger } from '../core/logger.ts';
import { startServer, type RunningServer } from '../server/start.ts';
import { startWorker, type RunningWorker } from '../worker/start.ts';

/** A fixed Fernet key for tests (never used outside them). */
export const TEST_FERNET_KEY = 'dGVzdC1mZXJuZXQta2V5LTAwMDAwMDAwMDAwMDAwMDA=';

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is unset: run the tests with npm test, which starts Postgres and anvil`);
  return v;
}

/** URL of the run's dev chain. */
export function rpcUrl(): string {
  return required('TEST_RPC_URL');
}

/** Creates a fresh database on the run's Postgres and returns its URL. */
export async function createTestDatabase(): Promise<string> {
  const admin = required('TEST_DATABASE_URL');
  const name = `vp_test_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`create database ${name}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Builds a test configuration (free ports, test Fernet key, faucet on the dev chain). */
export function testConfig(databaseUrl: string, env: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    WORKER_METRICS_PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: '.data/test-runtime',
    DATABASE_URL: databaseUrl,
    RPC_URLS: rpcUrl(),
    FERNET_KEY: TEST_FERNET_KEY,
    ADMIN_API_KEY: `vp_test_admin_${randomBytes(16).toString('hex')}`,
    FAUCET_PRIVATE_KEY: ANVIL_DEV_KEYS[0],
    FAUCET_MAX_ETH: '10',
    LOG_LEVEL: 'silent',
    ...env,
  });
}

/** Collects log lines written by {@link startStack}'s loggers (`logs` option). */
export class LogSink {
  readonly lines: string[] = [];
  write(line: string): void {
    this.lines.push(line);
  }
  /** Everything logged, as one string. */
  text(): string {
    return this.lines.join('');
  }
}

/** A running server + worker over one fresh database. */
export interface Stack {
  config: Config;
  server: RunningServer;
  worker: RunningWorker | undefined;
  url: string;
  adminKey: string;
  databaseUrl: string;
  close: () => Promise<void>;
}

/**
 * Starts a server (and, unless `worker: false`, a worker) on a fresh database.
 * @param opts.env - extra environment for the config (e.g. MAX_TX_ETH).
 * @param opts.databaseUrl - reuse a database (restart tests).
 */
export async function startStack(opts: { env?: Record<string, string>; worker?: boolean; databaseUrl?: string; adminKey?: string; logs?: LogSink } = {}): Promise<Stack> {
  const databaseUrl = opts.databaseUrl ?? (await createTestDatabase());
  const config = testConfig(databaseUrl, { ...(opts.adminKey ? { ADMIN_API_KEY: opts.adminKey } : {}), ...opts.env });
  // With `logs`, both processes log at debug into it (the real logger, redaction included).
  const logger = (name: string) => (opts.logs ? createLogger(name, 'debug', opts.logs) : createLogger(name, config.logLevel));
  const server = await startServer(config, logger('server'));
  const worker = opts.worker === false ? undefined : await startWorker(config, logger('worker'));
  return {
    config,
    server,
    worker,
    url: server.url,
    adminKey: config.adminApiKey!,
    databaseUrl,
    close: async () => {
      await worker?.close();
      await server.close();
    },
  };
}

/** Connects the MCP SDK's own client over Streamable HTTP (`/mcp`) or HTTP+SSE (`/sse`). */
export async function connectMcp(baseUrl: string, key: string, transport: 'streamable' | 'sse'): Promise<Client> {
  const client = new Client({ name: 'vaultpilot-test', version: '1.0.0' });
  const headers = { Authorization: `Bearer ${key}` };
  if (transport === 'streamable') {
    await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', baseUrl), { requestInit: { headers } }));
  } else {
    await client.connect(
      new SSEClientTransport(new URL('/sse', baseUrl), {
        requestInit: { headers },
        eventSourceInit: { fetch: (url, init) => fetch(url, { ...init, headers: { ...(init?.headers as Record<string, string>), ...headers } }) },
      }),
    );
  }
  return client;
}

/** Calls a tool and returns its structured result; throws with the error text on `isError`. */
export async function callOk<T = Record<string, unknown>>(client: Client, name: string, args: Record<string, unknown> = {}): Promise<T> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  if (result.isError) throw new Error(`${name} failed: ${textOf(result)}`);
  return result.structuredContent as T;
}

/** Calls a tool expected to fail; returns `{code, message}` from the error result. */
export async function callError(client: Client, name: string, args: Record<string, unknown> = {}): Promise<{ code: string; message: string; text: string }> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  if (!result.isError) throw new Error(`${name} was expected to fail but returned ${JSON.stringify(result.structuredContent)}`);
  const meta = result._meta?.['vaultpilot/error'] as { code: string; message: string } | undefined;
  const text = textOf(result);
  return { code: meta?.code ?? text.split(':')[0] ?? '', message: meta?.message ?? text, text };
}

/** The concatenated text content of a tool result. */
export function textOf(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

/** A direct ethers provider on the run's dev chain (for on-chain assertions). */
export function chainProvider(): JsonRpcProvider {
  return new JsonRpcProvider(rpcUrl(), undefined, { staticNetwork: true, cacheTimeout: -1, batchMaxCount: 1 });
}

/** A fresh random address (a recipient with zero balance). */
export function freshAddress(): string {
  return Wallet.createRandom().address;
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes. */
export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Counts rows in a table of the stack's database (for "nothing written" assertions). */
export async function countRows(stack: Stack, table: 'wallets' | 'transactions' | 'audit_events' | 'strategies' | 'strategy_runs', where = 'true'): Promise<number> {
  const r = await sql<{ n: string }>`select count(*)::text as n from ${sql.table(table)} where ${sql.raw(where)}`.execute(stack.server.ctx.db);
  return Number(r.rows[0]!.n);
}
