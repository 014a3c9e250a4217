/**
 * The typed schema (kysely `Database`). `bigint`/`numeric` columns come back from pg as strings;
 * core converts them to `bigint` (wei) or `number` (nonce, block) at the edge of each query.
 */
import type { ColumnType, Generated, Selectable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Int8 = ColumnType<string, string | number | bigint, string | number | bigint>;
type Numeric = ColumnType<string, string | bigint, string | bigint>;

export interface TenantsTable {
  id: Generated<string>;
  name: string;
  created_at: Generated<Date>;
}

export type Role = 'owner' | 'admin' | 'operator' | 'viewer' | 'agent';

export interface ApiKeysTable {
  id: Generated<string>;
  tenant_id: string;
  name: string;
  role: Role;
  key_prefix: string;
  key_hash: string;
  created_at: Generated<Date>;
  last_used_at: Timestamp | null;
  expires_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface AdminSessionsTable {
  id: Generated<string>;
  token_hash: string;
  api_key_id: string;
  created_at: Generated<Date>;
  expires_at: Timestamp;
}

export interface WalletsTable {
  id: Generated<string>;
  tenant_id: string;
  agent_id: string;
  address: string;
  chain_id: Int8;
  key_provider: string;
  key_ref: string;
  key_version: string;
  wrapped_key: string;
  next_nonce: ColumnType<string, string | number | undefined, string | number>;
  /** How the key arrived: generated here, or imported (see `WalletOrigin`). */
  origin: ColumnType<WalletOrigin, WalletOrigin | undefined, WalletOrigin>;
  created_at: Generated<Date>;
  /** When the key was last wrapped (creation, import or rewrap). */
  key_updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** Where a wallet's key came from. */
export type WalletOrigin = 'generated' | 'private_key' | 'mnemonic' | 'keystore' | 'agentvault';

/** A recurring strategy; `params` amounts are wei as decimal strings. */
export interface StrategiesTable {
  id: Generated<string>;
  tenant_id: string;
  wallet_id: string;
  label: string;
  kind: string;
  params: ColumnType<Record<string, unknown>, string, string>;
  status: ColumnType<'active' | 'stopped', 'active' | 'stopped' | undefined, 'active' | 'stopped'>;
  next_run_at: Timestamp | null;
  last_run_at: Timestamp | null;
  origin: ColumnType<'created' | 'agentvault', 'created' | 'agentvault' | undefined, 'created' | 'agentvault'>;
  legacy_state: ColumnType<unknown, string | null, string | null>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export type TxStatus = 'queued' | 'broadcast' | 'mined' | 'confirmed' | 'reverted' | 'failed' | 'replaced' | 'cancelled';

export interface TransactionsTable {
  id: Generated<string>;
  tenant_id: string;
  wallet_id: string;
  chain_id: Int8;
  nonce: Int8;
  from_address: string;
  to_address: string;
  value_wei: Numeric;
  gas_limit: Numeric;
  max_fee_per_gas: Numeric;
  max_priority_fee_per_gas: Numeric;
  tx_hash: string;
  raw_tx: string;
  status: TxStatus;
  block_number: Int8 | null;
  block_hash: string | null;
  gas_used: Numeric | null;
  effective_gas_price: Numeric | null;
  error: string | null;
  source: string;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  broadcast_at: Timestamp | null;
  mined_at: Timestamp | null;
}

export interface AuditEventsTable {
  id: Generated<string>;
  tenant_id: string | null;
  occurred_at: Generated<Date>;
  kind: 'tool_call' | 'api_write' | 'auth' | 'cli';
  action: string;
  principal: string | null;
  agent_id: string | null;
  wallet_id: string | null;
  status: 'ok' | 'error' | 'refused';
  error_code: string | null;
  duration_ms: number | null;
  request: ColumnType<unknown, string | null, string | null>;
  response: ColumnType<unknown, string | null, string | null>;
  request_id: string | null;
  ip: string | null;
}

/** The whole schema, as kysely sees it. */
export interface Database {
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
  admin_sessions: AdminSessionsTable;
  wallets: WalletsTable;
  transactions: TransactionsTable;
  audit_events: AuditEventsTable;
  strategies: StrategiesTable;
}

export type WalletRow = Selectable<WalletsTable>;
export type TransactionRow = Selectable<TransactionsTable>;
export type AuditEventRow = Selectable<AuditEventsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type StrategyRow = Selectable<StrategiesTable>;
