/**
 * Readers of an AgentVault MCP deployment's data, producing the records `agentvault.ts` imports:
 *
 * - the JSON wallet store (`agentvault_store.json`):
 *   `{ "<agent_id>": { address, encrypted_privkey_hex, chain_id, last_nonce } }`, where
 *   `encrypted_privkey_hex` is the hex of the Fernet token's ASCII bytes;
 * - the JSON strategy store (`agentvault_strategies.json`): `{ "strategies": { "<label>": {...} } }`;
 * - AgentVault's SQL database (SQLAlchemy models `wallets` and `strategies`): Postgres through `pg`
 *   (`postgres://`, `postgresql://`, and SQLAlchemy's `postgresql+asyncpg://` / `+psycopg://` with
 *   the driver stripped) or SQLite through `node:sqlite`, opened read-only (`sqlite:///path`,
 *   `sqlite+aiosqlite:///path`, `sqlite+pysqlite:///path`; three slashes are relative to the
 *   working directory, four are absolute, as in SQLAlchemy).
 *
 * Numbers keep the text they were written with (JSON source text, Postgres `::text`), so a float
 * amount like 0.001 reaches the importer as "0.001", never as a binary float. Nothing here writes,
 * and no error message carries file contents, tokens or the database password.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { ValidationError } from '../errors.ts';
import type { AgentvaultStrategyRecord, AgentvaultWalletRecord } from './agentvault.ts';

/** Where to read from; at least one is needed. */
export interface AgentvaultSources {
  /** Path of AgentVault's JSON wallet store. */
  walletStore?: string;
  /** Path of AgentVault's JSON strategy store. */
  strategyStore?: string;
  /** AgentVault's database URL (SQLAlchemy form accepted). */
  databaseUrl?: string;
}

/** Everything read, wallets first as they must be imported before their strategies. */
export interface AgentvaultRecords {
  wallets: AgentvaultWalletRecord[];
  strategies: AgentvaultStrategyRecord[];
}

/** An AgentVault database location. */
export type AgentvaultDatabase = { kind: 'postgres'; url: string } | { kind: 'sqlite'; path: string };

/**
 * A database URL with its password replaced by `***`, safe to print and audit.
 * Everything between `://` and the last `@` is the user info, so even an unencoded `@` or `:` in
 * the password stays hidden.
 */
export function redactDatabaseUrl(url: string): string {
  const start = url.indexOf('://');
  const at = url.lastIndexOf('@');
  if (start < 0 || at < start) return url;
  const userinfo = url.slice(start + 3, at);
  const colon = userinfo.indexOf(':');
  return colon < 0 ? url : `${url.slice(0, start + 3)}${userinfo.slice(0, colon)}:***${url.slice(at)}`;
}

/** The password in a URL's user info (raw and percent-decoded), to scrub from driver messages. */
function passwordsOf(url: string): string[] {
  const start = url.indexOf('://');
  const at = url.lastIndexOf('@');
  if (start < 0 || at < start) return [];
  const userinfo = url.slice(start + 3, at);
  const colon = userinfo.indexOf(':');
  if (colon < 0) return [];
  const raw = userinfo.slice(colon + 1);
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    // Not percent-encoded: the raw text is all there is.
  }
  return [raw, decoded].filter((p) => p.length > 0);
}

/**
 * Parses an AgentVault database URL.
 * @returns Postgres with a `postgresql://` URL `pg` understands (the `+driver` stripped), or SQLite with a file path.
 * @throws {ValidationError} `INVALID_INPUT` (field `--database-url`) for another scheme, a SQLite URL
 *   without a file (in-memory databases hold nothing to import), or a malformed URL; the message
 *   shows the URL with its password redacted.
 */
export function parseAgentvaultDatabaseUrl(url: string): AgentvaultDatabase {
  const shown = redactDatabaseUrl(url);
  const m = /^([A-Za-z][A-Za-z0-9]*)(?:\+([A-Za-z0-9_]+))?:\/\/(.*)$/s.exec(url.trim());
  if (!m) throw new ValidationError('--database-url', `is not a database URL (got "${shown}")`);
  const scheme = m[1]!.toLowerCase();
  const driver = m[2]?.toLowerCase();
  const rest = m[3]!;
  if (scheme === 'postgres' || scheme === 'postgresql') {
    return { kind: 'postgres', url: `postgresql://${rest}` };
  }
  if (scheme === 'sqlite') {
    if (driver !== undefined && driver !== 'aiosqlite' && driver !== 'pysqlite') {
      throw new ValidationError('--database-url', `SQLite driver "${driver}" is not supported; use sqlite://, sqlite+aiosqlite:// or sqlite+pysqlite://`);
    }
    const file = rest.replace(/[?#].*$/s, '');
    if (!file.startsWith('/') || file.length < 2 || file === '/:memory:') {
      throw new ValidationError('--database-url', `must name a SQLite file: sqlite:///relative/path.db or sqlite:////absolute/path.db (got "${shown}")`);
    }
    return { kind: 'sqlite', path: file.slice(1) };
  }
  throw new ValidationError('--database-url', `scheme "${m[1]}${driver ? `+${driver}` : ''}" is not supported; use postgresql://… or sqlite:///… (got "${shown}")`);
}

/**
 * Parses JSON keeping every number as its source text ("0.001", "1e-7", "11155111").
 * @throws {ValidationError} naming `field`, without echoing the text (it holds tokens).
 */
function parseJsonKeepingNumbers(text: string, field: string): unknown {
  const reviver = (_key: string, value: unknown, context?: { source?: string }) =>
    typeof value === 'number' && context?.source !== undefined ? context.source : value;
  try {
    return JSON.parse(text, reviver as (key: string, value: unknown) => unknown);
  } catch {
    throw new ValidationError(field, 'is not valid JSON');
  }
}

function readJsonFile(file: string, field: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ValidationError(field, `cannot read "${file}" (${code})`);
  }
  return parseJsonKeepingNumbers(text, field);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Hex of the token's ASCII bytes → the token; `''` when present but not hex (refused as `invalid_token`). */
function tokenFromHex(value: unknown): string | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !/^(?:[0-9a-fA-F]{2})+$/.test(value.trim())) return '';
  return Buffer.from(value.trim(), 'hex').toString('latin1');
}

/** Token bytes (bytea, BLOB) or text → the token; `''` for anything else. */
function tokenFromBytes(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1');
  if (typeof value === 'string') return value;
  return '';
}

/**
 * Reads AgentVault's JSON wallet store.
 * @param file the path of `agentvault_store.json`.
 * @returns one record per agent id, in file order.
 * @throws {ValidationError} (field `--wallet-store`) when the file cannot be read, is not JSON, or is
 *   not an object keyed by agent id.
 */
export function readWalletStore(file: string): AgentvaultWalletRecord[] {
  const data = readJsonFile(file, '--wallet-store');
  if (!isPlainObject(data)) throw new ValidationError('--wallet-store', 'must be a JSON object keyed by agent_id (AgentVault\'s agentvault_store.json)');
  return Object.entries(data).map(([agentId, rec]) => {
    const r = isPlainObject(rec) ? rec : {};
    return {
      source: 'wallet store',
      agent_id: agentId,
      address: r.address,
      token: tokenFromHex(r.encrypted_privkey_hex),
      chain_id: r.chain_id,
      last_nonce: r.last_nonce,
    };
  });
}

/** Builds a strategy record from a JSON or SQL row. */
function strategyRecord(source: string, label: unknown, r: Record<string, unknown>): AgentvaultStrategyRecord {
  return {
    source,
    label,
    agent_id: r.agent_id,
    strategy_type: r.strategy_type,
    to_address: r.to_address,
    amount_eth: r.amount_eth,
    interval_seconds: r.interval_seconds,
    enabled: r.enabled,
    max_base_fee_gwei: r.max_base_fee_gwei,
    daily_cap_eth: r.daily_cap_eth,
    next_run_at: r.next_run_at,
    last_run_at: r.last_run_at,
    last_tx_hash: r.last_tx_hash,
    spent_day: r.spent_day,
    spent_today_eth: r.spent_today_eth,
  };
}

/**
 * Reads AgentVault's JSON strategy store.
 * @param file the path of `agentvault_strategies.json`.
 * @returns one record per label, in file order.
 * @throws {ValidationError} (field `--strategy-store`) when the file cannot be read, is not JSON, or
 *   has no `strategies` object.
 */
export function readStrategyStore(file: string): AgentvaultStrategyRecord[] {
  const data = readJsonFile(file, '--strategy-store');
  if (!isPlainObject(data) || !isPlainObject(data.strategies)) {
    throw new ValidationError('--strategy-store', 'must be a JSON object with a "strategies" object keyed by label (AgentVault\'s agentvault_strategies.json)');
  }
  return Object.entries(data.strategies).map(([label, rec]) => strategyRecord('strategy store', label, isPlainObject(rec) ? rec : {}));
}

/** Reads an AgentVault SQLite database, read-only. */
async function readSqlite(file: string, shown: string): Promise<AgentvaultRecords> {
  if (!existsSync(file)) throw new ValidationError('--database-url', `no SQLite file at "${path.resolve(file)}" (from "${shown}")`);
  const { DatabaseSync } = await import('node:sqlite');
  let db: InstanceType<typeof DatabaseSync>;
  try {
    db = new DatabaseSync(file, { readOnly: true });
  } catch (err) {
    throw new ValidationError('--database-url', `cannot open SQLite file "${file}": ${err instanceof Error ? err.message : 'unknown error'}`);
  }
  try {
    const hasTable = (name: string) => db.prepare(`select 1 as x from sqlite_master where type = 'table' and name = ?`).get(name) !== undefined;
    if (!hasTable('wallets')) throw new ValidationError('--database-url', `"${file}" has no wallets table: is it AgentVault's database?`);
    const wallets = db
      .prepare('select agent_id, address, encrypted_privkey, chain_id, last_nonce from wallets order by created_at, agent_id')
      .all()
      .map((r): AgentvaultWalletRecord => ({
        source: 'sqlite',
        agent_id: r.agent_id,
        address: r.address,
        token: tokenFromBytes(r.encrypted_privkey),
        chain_id: r.chain_id,
        last_nonce: r.last_nonce,
      }));
    const strategies = hasTable('strategies')
      ? db
          .prepare(
            `select label, agent_id, strategy_type, to_address, amount_eth, interval_seconds, enabled, max_base_fee_gwei,
                    daily_cap_eth, next_run_at, last_run_at, last_tx_hash, spent_day, spent_today_eth
               from strategies order by created_at, label`,
          )
          .all()
          .map((r) => strategyRecord('sqlite', r.label, r as Record<string, unknown>))
      : [];
    return { wallets, strategies };
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    throw new ValidationError('--database-url', `cannot read "${file}" as AgentVault's database: ${err instanceof Error ? err.message : 'unknown error'}`);
  } finally {
    db.close();
  }
}

/** Reads an AgentVault Postgres database; floats come back as their shortest exact text. */
async function readPostgres(url: string, shown: string): Promise<AgentvaultRecords> {
  const scrub = (message: string) => passwordsOf(url).reduce((m, p) => m.split(p).join('***'), message);
  const client = new pg.Client({ connectionString: url });
  // A dropped connection after the reads must not crash the command.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    throw new ValidationError('--database-url', `cannot connect to ${shown}: ${scrub(err instanceof Error ? err.message : 'unknown error')}`);
  }
  try {
    const exists = async (name: string) => (await client.query<{ t: string | null }>('select to_regclass($1)::text as t', [name])).rows[0]?.t != null;
    if (!(await exists('wallets'))) throw new ValidationError('--database-url', `${shown} has no wallets table: is it AgentVault's database?`);
    const wallets = (
      await client.query(
        'select agent_id, address, encrypted_privkey, chain_id::text as chain_id, last_nonce::text as last_nonce from wallets order by created_at, agent_id',
      )
    ).rows.map((r: Record<string, unknown>): AgentvaultWalletRecord => ({
      source: 'postgres',
      agent_id: r.agent_id,
      address: r.address,
      token: tokenFromBytes(r.encrypted_privkey),
      chain_id: r.chain_id,
      last_nonce: r.last_nonce,
    }));
    const strategies = (await exists('strategies'))
      ? (
          await client.query(
            `select label, agent_id, strategy_type, to_address, amount_eth::text as amount_eth,
                    interval_seconds::text as interval_seconds, enabled, max_base_fee_gwei::text as max_base_fee_gwei,
                    daily_cap_eth::text as daily_cap_eth, next_run_at, last_run_at, last_tx_hash,
                    spent_day::text as spent_day, spent_today_eth::text as spent_today_eth
               from strategies order by created_at, label`,
          )
        ).rows.map((r: Record<string, unknown>) => strategyRecord('postgres', r.label, r))
      : [];
    return { wallets, strategies };
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    throw new ValidationError('--database-url', `cannot read ${shown} as AgentVault's database: ${scrub(err instanceof Error ? err.message : 'unknown error')}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Reads AgentVault's SQL database (Postgres or SQLite, see the module comment), without writing.
 * @returns every wallet and strategy row, whatever AgentVault tenant it belongs to.
 * @throws {ValidationError} (field `--database-url`) for an unsupported URL, an unreachable or
 *   unreadable database, or one without a `wallets` table; messages redact the password.
 */
export async function readAgentvaultDatabase(url: string): Promise<AgentvaultRecords> {
  const where = parseAgentvaultDatabaseUrl(url);
  const shown = redactDatabaseUrl(url);
  return where.kind === 'postgres' ? readPostgres(where.url, shown) : readSqlite(where.path, shown);
}

/**
 * Reads every given source: the JSON stores, then the database.
 * @returns wallets and strategies of all sources, in that order.
 * @throws {ValidationError} when no source is given or one cannot be read (see the readers).
 */
export async function readAgentvaultSources(sources: AgentvaultSources): Promise<AgentvaultRecords> {
  if (!sources.walletStore && !sources.strategyStore && !sources.databaseUrl) {
    throw new ValidationError('source', 'give --wallet-store, --strategy-store or --database-url');
  }
  const out: AgentvaultRecords = { wallets: [], strategies: [] };
  if (sources.walletStore) out.wallets.push(...readWalletStore(sources.walletStore));
  if (sources.strategyStore) out.strategies.push(...readStrategyStore(sources.strategyStore));
  if (sources.databaseUrl) {
    const db = await readAgentvaultDatabase(sources.databaseUrl);
    out.wallets.push(...db.wallets);
    out.strategies.push(...db.strategies);
  }
  return out;
}
