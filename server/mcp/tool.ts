/**
 * The one way a VaultPilot MCP tool is registered, and the `tools/call` handler that runs it.
 *
 * `McpServer.registerTool` keeps serving `tools/list` from the zod input and output schemas and
 * annotations. `tools/call` is ours ({@link serveToolCalls}), so that every call runs the
 * guardrail chain of DESIGN.md in order, with our coded errors throughout: authorize (role, tool
 * and wallet scope) → rate limit → validate (strings Postgres can store, then the zod schema;
 * `INVALID_INPUT` naming the field, where the SDK's own check would answer a bare -32602 text)
 * → the handler (policy, approval, execute) → audit. The handler gets a copy of the core context
 * carrying the call's {@link AuditScope}: a call that writes commits its audit row inside its own
 * transaction; any other call's row is written before its result is returned. Every call is timed
 * and counted.
 *
 * Error results put `CODE: message` in their text and `{code, message, details}` under
 * `_meta["vaultpilot/error"]`; they carry no `structuredContent`, because clients validate that
 * against the tool's `outputSchema` (MCP 2025-06-18, "Structured Content").
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CallToolRequestSchema, ErrorCode, McpError, type CallToolResult, type ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { CoreContext } from '../../core/context.ts';
import type { Principal } from '../../core/auth/api-keys.ts';
import { AuditScope } from '../../core/audit/scope.ts';
import { VaultPilotError, toVaultPilotError } from '../../core/errors.ts';
import { consumeRateLimits } from '../../core/policy/rate-limit.ts';
import { refusalDecision } from '../../core/policy/decision.ts';
import { fieldOf, parseInput } from '../../core/validation/schema.ts';
import { isAgentId } from '../../core/wallets/service.ts';
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

/** A registered tool's call: raw arguments in, the MCP result out (never throws). */
type ToolCall = (rawArgs: unknown) => Promise<CallToolResult>;

/**
 * Each tool's zod input and output objects, per process context and tool name, built on the
 * tool's first call. Streamable HTTP builds a server with every tool per request; building (and
 * zod compiling) 74 objects each time cost about 1.3 ms of CPU per call (bench:guardrails). A
 * tool's shapes depend only on the process's configuration, so they are the same for every call.
 */
const schemaCache = new WeakMap<CoreContext, Map<string, { input: z.ZodObject; output: z.ZodObject }>>();

function toolSchemas(core: CoreContext, spec: { name: string; input: z.ZodRawShape; output: z.ZodRawShape }): { input: z.ZodObject; output: z.ZodObject } {
  let byName = schemaCache.get(core);
  if (!byName) {
    byName = new Map();
    schemaCache.set(core, byName);
  }
  let schemas = byName.get(spec.name);
  if (!schemas) {
    schemas = { input: z.object(spec.input), output: z.object(spec.output) };
    byName.set(spec.name, schemas);
  }
  return schemas;
}

/** The calls registered on each server, for its `tools/call` handler. */
const calls = new WeakMap<McpServer, Map<string, ToolCall>>();

/** The isError result of a refusal or failure. */
function errorResult(e: VaultPilotError): CallToolResult {
  const error = { code: e.code, message: e.message, details: e.details ?? null };
  return { isError: true, content: [{ type: 'text', text: `${e.code}: ${e.message}` }], _meta: { 'vaultpilot/error': error } };
}

/**
 * Registers `spec` on `server`, running `handler` for each call with the validated arguments and
 * the call's core context (`ctx.audit` set). Refusals (`VaultPilotError` with a 4xx status)
 * count as outcome `refused`, other failures as `error`; both are audited with their code.
 * Unexpected errors (and a result that does not match `spec.output`) are logged with the request
 * id and reach the agent only as `INTERNAL`.
 */
export function registerTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(
  server: McpServer,
  session: ToolSession,
  spec: ToolSpec<I, O>,
  handler: (args: Args<I>, ctx: CoreContext) => Promise<ToolOutcome<Out<O>>>,
): void {
  const call: ToolCall = async (rawArgs) => {
    const { input, output } = toolSchemas(session.core, spec);
    const started = performance.now();
    const requestId = session.requestId();
    const p = session.principal;
    const args: unknown = rawArgs ?? {};
    // Only a well-formed id names a wallet in the audit row and the rate-limit counters.
    const rawAgentId = (args as { agent_id?: unknown }).agent_id;
    const agentId = isAgentId(rawAgentId) ? rawAgentId : null;
    const scope = new AuditScope(session.core.db, {
      tenantId: p.tenantId,
      kind: 'tool_call',
      action: spec.name,
      principal: p.keyPrefix,
      agentId,
      request: args,
      requestId,
      ip: session.ip,
    });
    try {
      // Authorization (role, tool scope, wallet scope); refusals land in the catch below.
      authorizeTool(session, spec, args);
      // Rate limits count authorized calls, before any input is acted on.
      await consumeRateLimits(session.core, { tenantId: p.tenantId, keyId: p.keyId, tool: spec.name, agentId });
      const parsed = parseInput(input, args, 'arguments') as Args<I>;
      scope.request = parsed;

      const outcome = await handler(parsed, { ...session.core, audit: scope });
      authorizeToolResult(session, spec, outcome);
      const checked = output.safeParse(outcome.result);
      if (!checked.success) {
        session.core.logger.error({ requestId, tool: spec.name, issues: checked.error.issues.slice(0, 3).map((i) => ({ path: i.path, code: i.code })) }, 'tool result does not match its output schema');
        throw new VaultPilotError('INTERNAL', 'internal error; see the server log for the request id', 500);
      }
      await scope.finish({
        response: outcome.result,
        agentId: outcome.agentId ?? agentId,
        walletId: outcome.walletId ?? null,
        decision: outcome.decision?.kind ?? null,
        rule: outcome.decision?.rule ?? null,
      });
      const seconds = (performance.now() - started) / 1000;
      toolCalls.inc({ tool: spec.name, outcome: 'ok' });
      if (outcome.decision) guardrailDecisions.inc({ decision: outcome.decision.kind, rule: outcome.decision.rule ?? 'none' });
      toolDuration.observe({ tool: spec.name }, seconds);
      return { content: [{ type: 'text', text: outcome.summary }], structuredContent: outcome.result as Record<string, unknown> };
    } catch (err) {
      const e = toVaultPilotError(err);
      const outcome = e.status < 500 ? 'refused' : 'error';
      if (e.code === 'INTERNAL' && !(err instanceof VaultPilotError)) session.core.logger.error({ err, requestId, tool: spec.name }, 'tool failed');
      toolCalls.inc({ tool: spec.name, outcome });
      const refusal = refusalDecision(e);
      if (refusal.decision) guardrailDecisions.inc({ decision: refusal.decision, rule: refusal.rule! });
      toolDuration.observe({ tool: spec.name }, (performance.now() - started) / 1000);
      await scope.fail(e, refusal, (auditErr) => session.core.logger.error({ err: auditErr, requestId }, 'audit write failed'));
      return errorResult(e);
    }
  };
  let registered = calls.get(server);
  if (!registered) {
    registered = new Map();
    calls.set(server, registered);
  }
  registered.set(spec.name, call);
  // The SDK lists the tool from these schemas; its calls are served by serveToolCalls.
  server.registerTool(
    spec.name,
    { title: spec.title, description: spec.description, inputSchema: spec.input, outputSchema: spec.output, annotations: spec.annotations },
    (() => {
      throw new Error(`tools/call for ${spec.name} reached the SDK's handler; serveToolCalls was not installed`);
    }) as never,
  );
}

/** `tools/call` with its params unchecked, so that {@link serveToolCalls} checks them itself. */
const ToolCallEnvelope = CallToolRequestSchema.extend({ params: z.unknown().optional() });

/**
 * Serves `tools/call` on `server` with the calls {@link registerTool} registered, in place of
 * McpServer's own handler (which would validate arguments itself and answer without our codes).
 * Call it once, after every tool is registered. An unknown tool, and params that are not
 * `{name: string, arguments?: object}`, are a JSON-RPC `InvalidParams` error (MCP 2025-06-18,
 * "Tools": error handling); the SDK would answer a params schema failure as `InternalError`.
 */
export function serveToolCalls(server: McpServer): void {
  server.server.removeRequestHandler('tools/call');
  server.server.setRequestHandler(ToolCallEnvelope, async (raw) => {
    const parsed = CallToolRequestSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new McpError(ErrorCode.InvalidParams, `Invalid params: ${fieldOf(issue.path, 'params')}: ${issue.message} (tools/call takes {"name": string, "arguments": object})`);
    }
    const request = parsed.data;
    const call = calls.get(server)?.get(request.params.name);
    if (!call) throw new McpError(ErrorCode.InvalidParams, `Tool ${request.params.name} not found`);
    return call(request.params.arguments);
  });
}
