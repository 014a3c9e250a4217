/**
 * Coded errors. Every refusal VaultPilot returns, over MCP or REST, is a `VaultPilotError` with a
 * stable `code` an agent or script can branch on, an HTTP status for REST, and optional
 * `details` (never secrets). Messages say which field or rule failed and what to do instead.
 */

/** Stable error codes returned to agents (`isError` tool results) and REST clients, as a list (tests check answers against it). */
export const ERROR_CODES = [
  'CONFIG_INVALID', 'UNAUTHENTICATED', 'FORBIDDEN', 'INVALID_INPUT', 'INVALID_ADDRESS',
  'INVALID_AMOUNT', 'WALLET_NOT_FOUND', 'WALLET_EXISTS', 'TRANSACTION_NOT_FOUND',
  'STRATEGY_NOT_FOUND', 'STRATEGY_EXISTS', 'STRATEGY_NOT_ACTIVE', 'STRATEGY_COMPLETED',
  'CONFIRMATION_REQUIRED', 'CONFIRMATION_LOCKED', 'INSUFFICIENT_FUNDS', 'FEE_CAP_EXCEEDED',
  'FAUCET_DISABLED', 'FAUCET_LIMIT', 'KEY_EXPORT_DISABLED', 'EXPORT_CODE_NOT_CONFIGURED',
  'EXPORT_CODE_REQUIRED', 'EXPORT_CODE_INVALID', 'RPC_UNAVAILABLE', 'BROADCAST_FAILED',
  'KEY_PROVIDER_UNAVAILABLE', 'KEY_PROVIDER_DENIED', 'NOT_FOUND', 'RATE_LIMITED', 'POLICY_MAX_TX',
  'POLICY_SPEND_LIMIT', 'POLICY_DESTINATION_DENIED', 'POLICY_DESTINATION_NOT_ALLOWED',
  'POLICY_CHAIN_NOT_ALLOWED', 'POLICY_QUIET_HOURS', 'APPROVAL_REQUIRED', 'APPROVAL_NOT_FOUND',
  'APPROVAL_NOT_PENDING', 'APPROVAL_SELF', 'APPROVAL_EXPIRED', 'APPROVAL_MISMATCH',
  'KEY_NOT_FOUND', 'TENANT_NOT_FOUND', 'TENANT_EXISTS', 'BUSY', 'TOO_MANY_SESSIONS',
  'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'ORIGIN_NOT_ALLOWED', 'HOST_NOT_ALLOWED',
  'INTERNAL',
] as const;

/** One of {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[number];

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
    code: 'WALLET_EXISTS' | 'STRATEGY_EXISTS' | 'STRATEGY_NOT_ACTIVE' | 'STRATEGY_COMPLETED' | 'APPROVAL_NOT_PENDING' | 'APPROVAL_EXPIRED' | 'APPROVAL_MISMATCH' | 'TENANT_EXISTS',
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

/** HTTP status of each {@link PolicyError} code that is not 403. */
const POLICY_STATUS: Partial<Record<ErrorCode, number>> = {
  INSUFFICIENT_FUNDS: 409,
  FEE_CAP_EXCEEDED: 409,
  RATE_LIMITED: 429,
  CONFIRMATION_LOCKED: 429,
};

/**
 * A request refused by a guardrail: the spend gate and its lockout, faucet cap, funds, the fee
 * cap, key export gates, a rate limit (429) or a policy rule (`POLICY_*`; `details.rule` names the
 * rule, see docs/policies.md). `APPROVAL_REQUIRED` is what the policy engine throws when a send
 * needs a human: callers that can ask for approval turn it into a pending approval.
 */
export class PolicyError extends VaultPilotError {
  constructor(
    code: Extract<
      ErrorCode,
      'CONFIRMATION_REQUIRED' | 'CONFIRMATION_LOCKED' | 'INSUFFICIENT_FUNDS' | 'FEE_CAP_EXCEEDED' | 'RATE_LIMITED' | 'APPROVAL_REQUIRED' | `POLICY_${string}` | `FAUCET_${string}` | `EXPORT_${string}` | `KEY_EXPORT_${string}`
    >,
    message: string,
    details?: Record<string, unknown>,
  ) {
    super(code, message, POLICY_STATUS[code] ?? 403, details);
  }
}

/**
 * The server is at a capacity limit and the caller should retry: `BUSY` (503, the key-derivation
 * pool's queue is full) or `TOO_MANY_SESSIONS` (429, a key's HTTP+SSE session quota).
 * `details.retry_after_seconds` says when; REST answers carry it as `Retry-After` too.
 */
export class BusyError extends VaultPilotError {
  constructor(code: 'BUSY' | 'TOO_MANY_SESSIONS', message: string, retryAfterSeconds: number, details: Record<string, unknown> = {}) {
    super(code, message, code === 'BUSY' ? 503 : 429, { ...details, retry_after_seconds: retryAfterSeconds });
  }
}

/** HTTP status of each {@link RequestRefusedError} code. */
const REFUSED_STATUS = { PAYLOAD_TOO_LARGE: 413, UNSUPPORTED_MEDIA_TYPE: 415, ORIGIN_NOT_ALLOWED: 403, HOST_NOT_ALLOWED: 403 } as const;

/**
 * A request the HTTP edge refuses before any route runs: a body over the route's limit (413), a
 * cookie-authenticated write that is not JSON (415), an `Origin` or `Host` this server does not
 * serve (403: cross-site writes, DNS rebinding). Nothing is read or written for it.
 */
export class RequestRefusedError extends VaultPilotError {
  constructor(code: keyof typeof REFUSED_STATUS, message: string, details?: Record<string, unknown>) {
    super(code, message, REFUSED_STATUS[code], details);
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
