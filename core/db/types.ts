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
  /** Scopes: MCP tool names, wallet agent ids, source IP CIDRs; `null` means unrestricted. */
  allowed_tools: ColumnType<string[] | null, string[] | null | undefined, string[] | null>;
  allowed_wallets: ColumnType<string[] | null, string[] | null | undefined, string[] | null>;
  allowed_ips: ColumnType<string[] | null, string[] | null | undefined, string[] | null>;
  created_by_key_id: ColumnType<string | null, string | null | undefined, string | null>;
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

/**
 * A strategy's state: `completed` once it has nothing left to do (see `end_reason`); `paused`
 * when the key that created it was revoked or expired (see `paused_reason`), until a valid key
 * starts it again.
 */
export type StrategyStatus = 'active' | 'stopped' | 'completed' | 'paused';

/** A recurring strategy; `params` amounts are wei as decimal strings (see core/strategies/kinds). */
export interface StrategiesTable {
  id: Generated<string>;
  tenant_id: string;
  wallet_id: string;
  label: string;
  kind: string;
  params: ColumnType<Record<string, unknown>, string, string>;
  status: ColumnType<StrategyStatus, StrategyStatus | undefined, StrategyStatus>;
  /** The pending slot: when the next tick is due (null when stopped or completed). */
  next_run_at: Timestamp | null;
  last_run_at: Timestamp | null;
  origin: ColumnType<'created' | 'agentvault', 'created' | 'agentvault' | undefined, 'created' | 'agentvault'>;
  legacy_state: ColumnType<unknown, string | null, string | null>;
  /** Why a `completed` strategy ended (`sent`, `max_runs`, `ends_at`, `expired`). */
  end_reason: string | null;
  runs_sent: ColumnType<number, number | undefined, number>;
  runs_skipped: ColumnType<number, number | undefined, number>;
  runs_failed: ColumnType<number, number | undefined, number>;
  spent_total_wei: ColumnType<string, string | undefined, string>;
  /** The slot a tick job has been enqueued for, and that job's id (cancelled on stop or edit). */
  scheduled_slot_at: Timestamp | null;
  scheduled_job_id: string | null;
  /** A human gave TX_CONFIRM_CODE when a per-run amount above MAX_TX_ETH was set. */
  confirmed_above_max: ColumnType<boolean, boolean | undefined, boolean>;
  deleted_at: Timestamp | null;
  /** The key that created the strategy, or last started it (null: imported by the CLI). */
  created_by_key_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** That key's visible id (`vp_…`). */
  created_by: ColumnType<string | null, string | null | undefined, string | null>;
  /** Why a `paused` strategy was paused: `key_revoked` or `key_expired`. */
  paused_reason: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

/** What one tick did. */
export type RunOutcome = 'sent' | 'skipped' | 'failed';

/** One tick of a strategy: `(strategy_id, slot_at)` is unique, so a slot runs once. */
export interface StrategyRunsTable {
  id: Generated<string>;
  tenant_id: string;
  strategy_id: string;
  slot_at: Timestamp;
  source: 'schedule' | 'manual';
  outcome: RunOutcome;
  /** Skip reason code (`gas_above_ceiling`, `daily_cap`, …) */
  reason: string | null;
  /** The coded error of a `failed` run (`RPC_UNAVAILABLE`, `KEY_PROVIDER_UNAVAILABLE`, …). */
  error_code: string | null;
  /** What happened, in words (the skip's numbers, the error's message; never a secret). */
  detail: string | null;
  /** Wei sent by this run (0 unless `sent`). */
  amount_wei: ColumnType<string, string | undefined, string>;
  transaction_ids: ColumnType<string[], string[] | undefined, string[]>;
  started_at: Timestamp;
  created_at: Generated<Date>;
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
  /** The strategy run that sent it, if any. */
  strategy_run_id: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface AuditEventsTable {
  id: Generated<string>;
  tenant_id: string | null;
  occurred_at: Generated<Date>;
  kind: 'tool_call' | 'api_write' | 'auth' | 'cli' | 'worker';
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
  /** The policy decision of a guarded call and the rule that made it (docs/policies.md). */
  decision: ColumnType<PolicyDecisionKind | null, PolicyDecisionKind | null | undefined, PolicyDecisionKind | null>;
  rule: ColumnType<string | null, string | null | undefined, string | null>;
  /**
   * The hash chain (core/audit/chain.ts): the row's position in its tenant's chain, the previous
   * row's hash and this row's. All three are null until the row is sealed (core/audit/seal.ts).
   */
  chain_seq: ColumnType<string | null, string | null | undefined, string | null>;
  prev_hash: ColumnType<string | null, string | null | undefined, string | null>;
  hash: ColumnType<string | null, string | null | undefined, string | null>;
}

/** What the policy engine decided about a call. */
export type PolicyDecisionKind = 'allow' | 'deny' | 'require_approval';

/** A wallet's own policy, overriding the file's defaults field by field (core/policy/schema.ts). */
export interface WalletPoliciesTable {
  wallet_id: string;
  tenant_id: string;
  policy: ColumnType<Record<string, unknown>, string, string>;
  updated_by: string | null;
  updated_at: Generated<Date>;
}

/** One fixed rate-limit window of one counter (`key:<id>`, `tool:<name>:key:<id>`, `agent:<id>`). */
export interface RateLimitCountersTable {
  tenant_id: string;
  counter: string;
  window_start: Timestamp;
  window_seconds: number;
  calls: number;
}

/**
 * An approval's state (docs/approvals.md): `pending` → `approved` → `executed` | `failed`, or
 * `rejected` | `expired` | `cancelled` (the requesting key was revoked or expired while it waited).
 */
export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired' | 'executed' | 'failed' | 'cancelled';

/** What an approval is for: a send, or handing out a wallet's key material (four eyes). */
export type ApprovalKind = 'send' | 'key_export';

/** The form key material leaves in: a keystore v3, or the plain private key. */
export type ExportFormat = 'keystore' | 'private_key';

/** A send or a key export waiting for (or decided by) a human. */
export interface ApprovalsTable {
  id: Generated<string>;
  tenant_id: string;
  kind: ColumnType<ApprovalKind, ApprovalKind | undefined, ApprovalKind>;
  wallet_id: string;
  agent_id: string;
  /** Recipient and amount of a `send`; null for a `key_export`. */
  to_address: string | null;
  value_wei: ColumnType<string | null, string | bigint | null, string | bigint | null>;
  /** The format of a `key_export`; null for a `send`. */
  export_format: ColumnType<ExportFormat | null, ExportFormat | null | undefined, ExportFormat | null>;
  reason: string | null;
  rule: string;
  rule_message: string;
  source: string;
  status: ColumnType<ApprovalStatus, ApprovalStatus | undefined, ApprovalStatus>;
  requested_by_key_id: string | null;
  requested_by: string | null;
  decided_by_key_id: ColumnType<string | null, string | null | undefined, string | null>;
  decided_by: ColumnType<string | null, string | null | undefined, string | null>;
  decided_at: Timestamp | null;
  decision_note: ColumnType<string | null, string | null | undefined, string | null>;
  expires_at: Timestamp;
  transaction_id: ColumnType<string | null, string | null | undefined, string | null>;
  error_code: ColumnType<string | null, string | null | undefined, string | null>;
  error_message: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

/** One wrong confirmation code (`tx_confirm`: TX_CONFIRM_CODE, `export`: EXPORT_CODE), for lockouts. */
export interface ConfirmationFailuresTable {
  id: Generated<string>;
  tenant_id: string;
  key_id: string;
  wallet_id: string | null;
  code: 'tx_confirm' | 'export';
  failed_at: Generated<Date>;
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
  strategy_runs: StrategyRunsTable;
  wallet_policies: WalletPoliciesTable;
  rate_limit_counters: RateLimitCountersTable;
  approvals: ApprovalsTable;
  confirmation_failures: ConfirmationFailuresTable;
}

export type WalletRow = Selectable<WalletsTable>;
export type TransactionRow = Selectable<TransactionsTable>;
export type AuditEventRow = Selectable<AuditEventsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type StrategyRow = Selectable<StrategiesTable>;
export type StrategyRunRow = Selectable<StrategyRunsTable>;
export type ApprovalRow = Selectable<ApprovalsTable>;
