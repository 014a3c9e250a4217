/**
 * Coded errors. Every refusal VaultPilot returns, over MCP or REST, is a `VaultPilotError` with a
 * stable `code` an agent or script can branch on, an HTTP status for REST, and optional
 * `details` (never secrets). Messages say which field or rule failed and what to do instead.
 */

/** Stable error codes returned to agents (`isError` tool results) and REST clients. */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'INVALID_INPUT'
  | 'INVALID_ADDRESS'
  | 'INVALID_AMOUNT'
  | 'WALLET_NOT_FOUND'
  | 'WALLET_EXISTS'
  | 'TRANSACTION_NOT_FOUND'
  | 'STRATEGY_NOT_FOUND'
  | 'STRATEGY_EXISTS'
  | 'STRATEGY_NOT_ACTIVE'
  | 'STRATEGY_COMPLETED'
  | 'CONFIRMATION_REQUIRED'
  | 'INSUFFICIENT_FUNDS'
  | 'FAUCET_DISABLED'
  | 'FAUCET_LIMIT'
  | 'EXPORT_DISABLED'
  | 'EXPORT_CODE_NOT_CONFIGURED'
  | 'EXPORT_CODE_REQUIRED'
  | 'EXPORT_CODE_INVALID'
  | 'RPC_UNAVAILABLE'
  | 'BROADCAST_FAILED'
  | 'KEY_PROVIDER_UNAVAILABLE'
  | 'KEY_PROVIDER_DENIED'
  | 'NOT_FOUND'
  | 'RATE_LIMITED'
  | 'POLICY_MAX_TX'
  | 'POLICY_SPEND_LIMIT'
  | 'POLICY_DESTINATION_DENIED'
  | 'POLICY_DESTINATION_NOT_ALLOWED'
  | 'POLICY_CHAIN_NOT_ALLOWED'
  | 'POLICY_QUIET_HOURS'
  | 'APPROVAL_REQUIRED'
  | 'APPROVAL_NOT_FOUND'
  | 'APPROVAL_NOT_PENDING'
  | 'APPROVAL_SELF'
  | 'APPROVAL_EXPIRED'
  | 'KEY_NOT_FOUND'
  | 'TENANT_NOT_FOUND'
  | 'TENANT_EXISTS'
  | 'INTERNAL';

/** Base class of every error VaultPilot throws on purpose. */
export class VaultPilotError extends Error {
  readonly code: ErrorCode;
  /** HTTP status used when the error reaches a REST client. */
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, status = 400, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

/** Input that breaks a rule. `field` names the argument (e.g. `amount_eth`). */
export class ValidationError extends VaultPilotError {
  readonly field: string;
  constructor(
    field: string,
    message: string,
    code: 'INVALID_INPUT' | 'INVALID_ADDRESS' | 'INVALID_AMOUNT' = 'INVALID_INPUT',
  ) {
    super(code, `${field}: ${message}`, 400, { field });
    this.field = field;
  }
}

/** A missing row (wallet, transaction, …) in the caller's tenant. */
export class NotFoundError extends VaultPilotError {
  constructor(
    code: 'WALLET_NOT_FOUND' | 'TRANSACTION_NOT_FOUND' | 'STRATEGY_NOT_FOUND' | 'APPROVAL_NOT_FOUND' | 'KEY_NOT_FOUND' | 'TENANT_NOT_FOUND' | 'NOT_FOUND',
    message: string,
  ) {
    super(code, message, 404);
  }
}

/**
 * A write that clashes with an existing row or state: an agent's wallet or a strategy label
 * already taken, an address already held, a strategy that is not running or has completed.
 */
export class ConflictError extends VaultPilotError {
  constructor(
    code: 'WALLET_EXISTS' | 'STRATEGY_EXISTS' | 'STRATEGY_NOT_ACTIVE' | 'STRATEGY_COMPLETED' | 'APPROVAL_NOT_PENDING' | 'APPROVAL_EXPIRED' | 'TENANT_EXISTS',
    message: string,
    details?: Record<string, unknown>,
  ) {
    super(code, message, 409, details);
  }
}

/**
 * An authenticated caller whose role or key scopes (tools, wallets, source IPs) do not allow the
 * request. `details.rule` names what refused it (`role`, `scope.tools`, `scope.wallets`,
 * `scope.ips`, `approval.self`).
 */
export class ForbiddenError extends VaultPilotError {
  constructor(message: string, details?: Record<string, unknown>, code: 'FORBIDDEN' | 'APPROVAL_SELF' = 'FORBIDDEN') {
    super(code, message, 403, details);
  }
}

/**
 * A request refused by a guardrail: the spend gate, faucet cap, funds, plaintext export gates, a
 * rate limit (429) or a policy rule (`POLICY_*`; `details.rule` names the rule, see
 * docs/policies.md). `APPROVAL_REQUIRED` is what the policy engine throws when a send needs a
 * human: callers that can ask for approval turn it into a pending approval.
 */
export class PolicyError extends VaultPilotError {
  constructor(
    code: Extract<ErrorCode, 'CONFIRMATION_REQUIRED' | 'INSUFFICIENT_FUNDS' | 'RATE_LIMITED' | 'APPROVAL_REQUIRED' | `POLICY_${string}` | `FAUCET_${string}` | `EXPORT_${string}`>,
    message: string,
    details?: Record<string, unknown>,
  ) {
    super(code, message, code === 'INSUFFICIENT_FUNDS' ? 409 : code === 'RATE_LIMITED' ? 429 : 403, details);
  }
}

/** Missing or wrong credentials. The message never echoes the presented key. */
export class AuthError extends VaultPilotError {
  constructor(message = 'a valid API key is required: send "Authorization: Bearer <key>"') {
    super('UNAUTHENTICATED', message, 401);
  }
}

/** Configuration that cannot start the process; `problems` lists every bad variable at once. */
export class ConfigError extends VaultPilotError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super('CONFIG_INVALID', `invalid configuration:\n  - ${problems.join('\n  - ')}`, 500, { problems });
    this.problems = problems;
  }
}

/** A dependency outside the process (RPC node, key provider) failed or is unreachable. */
export class UpstreamError extends VaultPilotError {
  constructor(
    code: 'RPC_UNAVAILABLE' | 'BROADCAST_FAILED' | 'KEY_PROVIDER_UNAVAILABLE' | 'KEY_PROVIDER_DENIED',
    message: string,
    details?: Record<string, unknown>,
  ) {
    super(code, message, code === 'KEY_PROVIDER_DENIED' ? 403 : 503, details);
  }
}

/** Wraps anything unexpected so callers only ever see a `VaultPilotError`. */
export function toVaultPilotError(err: unknown): VaultPilotError {
  if (err instanceof VaultPilotError) return err;
  return new VaultPilotError('INTERNAL', 'internal error; see the server log for the request id', 500);
}
