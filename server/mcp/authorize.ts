/**
 * Authorization of an MCP tool call, the step after authentication in DESIGN.md's guardrail
 * order (authenticate → authorize → rate limit → validate → …). `registerTool` (tool.ts) calls
 * {@link authorizeTool} first thing inside its `try`, so a refusal is an `isError` result with
 * code `FORBIDDEN` and `details.rule`, counted and audited like any other refusal:
 * - `role`: a viewer key calls only read-only tools (`annotations.readOnlyHint`); every other
 *   role calls every tool (core/auth/roles.ts);
 * - `scope.tools`: the key's `allowed_tools`;
 * - `scope.wallets`: the key's `allowed_wallets`, for any tool with an `agent_id` argument (the
 *   source wallet; recipients are addresses and do not count). Tools that name a wallet another
 *   way (a strategy by label) are checked in core, and listings are filtered there.
 * The IP scope is checked at authentication (server/auth.ts), before any of this.
 */
import type { Principal } from '../../core/auth/api-keys.ts';
import { can } from '../../core/auth/roles.ts';
import { checkToolScope, checkWalletScope } from '../../core/auth/scopes.ts';
import { ForbiddenError } from '../../core/errors.ts';
import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';

/**
 * Requires that the session's key may call `spec` with `args`.
 * @throws {ForbiddenError} `FORBIDDEN` with `details.rule` `role` | `scope.tools` | `scope.wallets`.
 */
export function authorizeTool(session: { principal: Principal }, spec: { name: string; annotations: ToolAnnotations }, args: unknown): void {
  const p = session.principal;
  const readOnly = spec.annotations.readOnlyHint === true;
  if (!can(p.role, readOnly ? 'mcp.read' : 'mcp.write')) {
    throw new ForbiddenError(`a key with role "${p.role}" may only call read-only tools; ${spec.name} changes state`, {
      rule: 'role',
      role: p.role,
      tool: spec.name,
    });
  }
  checkToolScope(p, spec.name);
  const agentId = args !== null && typeof args === 'object' ? (args as { agent_id?: unknown }).agent_id : undefined;
  if (typeof agentId === 'string') checkWalletScope(p, agentId);
}

/**
 * Checks what a tool found against the wallet scope before it is returned: a read that reached a
 * wallet by other means than `agent_id` (a transaction by hash) must not show another wallet's
 * data. Only read-only tools can get here with an out-of-scope wallet; writes are stopped before.
 * @throws {ForbiddenError} `FORBIDDEN` with `details.rule` `scope.wallets`.
 */
export function authorizeToolResult(session: { principal: Principal }, spec: { annotations: ToolAnnotations }, outcome: { agentId?: string | null }): void {
  if (spec.annotations.readOnlyHint === true && typeof outcome.agentId === 'string') checkWalletScope(session.principal, outcome.agentId);
}
