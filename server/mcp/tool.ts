/**
 * The one way a VaultPilot MCP tool is registered: `McpServer.registerTool` with zod input and
 * output schemas and annotations, wrapped so that every call is timed, counted, audited and has
 * its refusals turned into `isError` results carrying a stable code.
 *
 * Error results put `CODE: message` in their text and `{code, message, details}` under
 * `_meta["vaultpilot/error"]`; they carry no `structuredContent`, because clients validate that
 * against the tool's `outputSchema` (MCP 2025-06-18, "Structured Content").
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import type { CoreContext } from '../../core/context.ts';
import type { Principal } from '../../core/auth/api-keys.ts';
import { recordAudit } from '../../core/audit/log.ts';
import { toVaultPilotError } from '../../core/errors.ts';
import { consumeRateLimits } from '../../core/policy/rate-limit.ts';
import { refusalDecision } from '../../core/policy/decision.ts';
import { guardrailDecisions, toolCalls, toolDuration } from '../../core/metrics.ts';
import { authorizeTool, authorizeToolResult } from './authorize.ts';

/** Who is calling over which connection; built per MCP request or SSE session. */
export interface ToolSession {
  core: CoreContext;
  principal: Principal;
  /** Request id for logs and the audit log. */
  requestId: () => string;
  ip: string | null;
}

/** A tool's metadata: name (AgentVault-compatible snake_case), schemas and MCP annotations. */
export interface ToolSpec<I extends z.ZodRawShape, O extends z.ZodRawShape> {
  name: string;
  title: string;
  description: string;
  input: I;
  output: O;
  annotations: ToolAnnotations;
}

/** What a handler returns: the structured result, a one-line summary, and audit hints. */
export interface ToolOutcome<T> {
  result: T;
  summary: string;
  walletId?: string | null;
  agentId?: string | null;
  /** The policy decision of a guarded call (a send), recorded in the audit row with its rule. */
  decision?: { kind: 'allow' | 'require_approval'; rule: string | null };
}

type Args<I extends z.ZodRawShape> = z.infer<z.ZodObject<I>>;
type Out<O extends z.ZodRawShape> = z.infer<z.ZodObject<O>>;

/**
 * Registers `spec` on `server`, running `handler` for each call.
 * Refusals (`VaultPilotError` with a 4xx status) count as outcome `refused`, other failures as
 * `error`; both are audited with their code. Unexpected errors are logged with the request id and
 * reach the agent only as `INTERNAL`.
 */
export function registerTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(
  server: McpServer,
  session: ToolSession,
  spec: ToolSpec<I, O>,
  handler: (args: Args<I>) => Promise<ToolOutcome<Out<O>>>,
): void {
  const callback = async (args: Args<I>): Promise<CallToolResult> => {
    const started = performance.now();
    const requestId = session.requestId();
    const agentId = typeof (args as { agent_id?: unknown }).agent_id === 'string' ? (args as { agent_id: string }).agent_id : null;
    const audit = {
      tenantId: session.principal.tenantId,
      kind: 'tool_call' as const,
      action: spec.name,
      principal: session.principal.keyPrefix,
      request: args,
      requestId,
      ip: session.ip,
    };
    try {
      // Authorization (role, tool scope, wallet scope); refusals land in the catch below.
      authorizeTool(session, spec, args);
      // Rate limits count authorized calls only, before any input is acted on.
      const p = session.principal;
      await consumeRateLimits(session.core, { tenantId: p.tenantId, keyId: p.keyId, tool: spec.name, agentId });

      const outcome = await handler(args);
      authorizeToolResult(session, spec, outcome);
      const seconds = (performance.now() - started) / 1000;
      toolCalls.inc({ tool: spec.name, outcome: 'ok' });
      if (outcome.decision) guardrailDecisions.inc({ decision: outcome.decision.kind, rule: outcome.decision.rule ?? 'none' });
      toolDuration.observe({ tool: spec.name }, seconds);
      await recordAudit(session.core.db, {
        ...audit,
        agentId: outcome.agentId ?? agentId,
        walletId: outcome.walletId ?? null,
        status: 'ok',
        ...(outcome.decision ? { decision: outcome.decision.kind, rule: outcome.decision.rule } : {}),
        durationMs: seconds * 1000,
        response: outcome.result,
      });
      return { content: [{ type: 'text', text: outcome.summary }], structuredContent: outcome.result as Record<string, unknown> };
    } catch (err) {
      const e = toVaultPilotError(err);
      const seconds = (performance.now() - started) / 1000;
      const outcome = e.status < 500 ? 'refused' : 'error';
      if (e.code === 'INTERNAL') session.core.logger.error({ err, requestId, tool: spec.name }, 'tool failed');
      toolCalls.inc({ tool: spec.name, outcome });
      const refusal = refusalDecision(e);
      if (refusal.decision) guardrailDecisions.inc({ decision: refusal.decision, rule: refusal.rule! });
      toolDuration.observe({ tool: spec.name }, seconds);
      const error = { code: e.code, message: e.message, details: e.details ?? null };
      await recordAudit(session.core.db, {
        ...audit,
        agentId,
        status: outcome,
        errorCode: e.code,
        ...refusal,
        durationMs: seconds * 1000,
        response: { error },
      }).catch((auditErr: unknown) => session.core.logger.error({ err: auditErr, requestId }, 'audit write failed'));
      return { isError: true, content: [{ type: 'text', text: `${e.code}: ${e.message}` }], _meta: { 'vaultpilot/error': error } };
    }
  };
  server.registerTool(
    spec.name,
    { title: spec.title, description: spec.description, inputSchema: spec.input, outputSchema: spec.output, annotations: spec.annotations },
    callback as never,
  );
}
