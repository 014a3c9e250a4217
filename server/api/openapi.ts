/**
 * `GET /api/openapi.json`: the OpenAPI 3.1 description of the REST API (public, so tools can read
 * it before they have a key).
 */
import { Hono } from 'hono';

const error = { $ref: '#/components/schemas/Error' };
const errors = {
  '400': { description: 'INVALID_INPUT and similar: the message and details.field name the parameter and the rule (also for text Postgres cannot store: NUL, unpaired surrogates)', content: { 'application/json': { schema: error } } },
  '401': { description: 'Missing or invalid credentials', content: { 'application/json': { schema: error } } },
  '413': { description: 'PAYLOAD_TOO_LARGE: the body is over the route\'s limit (1 MiB; 8 KiB for /api/session)', content: { 'application/json': { schema: error } } },
  '415': { description: 'UNSUPPORTED_MEDIA_TYPE: a write with the session cookie that is not application/json', content: { 'application/json': { schema: error } } },
};
const page = (name: string, item: string) => ({
  type: 'object',
  required: [name, 'next_cursor'],
  properties: { [name]: { type: 'array', items: { $ref: `#/components/schemas/${item}` } }, next_cursor: { type: ['string', 'null'] } },
});
const q = (name: string, description: string, schema: Record<string, unknown> = { type: 'string' }) => ({ name, in: 'query', required: false, description, schema });
const forbidden = { '403': { description: 'FORBIDDEN: details.rule names what refused it (role, scope.wallets, scope.ips, …)', content: { 'application/json': { schema: error } } } };
const paging = [q('limit', 'Page size, 1-200 (default 50)', { type: 'integer', minimum: 1, maximum: 200 }), q('cursor', 'next_cursor of the previous page')];
const str = { type: 'string' };
const nstr = { type: ['string', 'null'] };

const idParam = { name: 'id', in: 'path', required: true, schema: str };
const notFound = { '404': { description: 'STRATEGY_NOT_FOUND', content: { 'application/json': { schema: error } } } };
const strategyBody = { type: 'object', required: ['strategy'], properties: { strategy: { $ref: '#/components/schemas/Strategy' } } };
const amount = { $ref: '#/components/schemas/Amount' };

/** The OpenAPI document. */
export const OPENAPI = {
  openapi: '3.1.0',
  info: { title: 'VaultPilot REST API', version: '0.1.0', description: 'Operator API. Amounts are decimal ETH strings plus integer wei strings.' },
  security: [{ bearer: [] }, { session: [] }],
  paths: {
    '/api/session': {
      post: {
        summary: 'Sign in (admin UI): sets the session cookie',
        security: [],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['api_key'], properties: { api_key: str } } } } },
        responses: { '200': { description: 'Signed in', content: { 'application/json': { schema: { $ref: '#/components/schemas/Session' } } } }, ...errors },
      },
      get: { summary: 'The signed-in principal', responses: { '200': { description: 'Principal', content: { 'application/json': { schema: { $ref: '#/components/schemas/Session' } } } }, ...errors } },
      delete: { summary: 'Sign out', responses: { '204': { description: 'Signed out' }, ...errors } },
    },
    '/api/keys': {
      get: {
        summary: 'The tenant\'s API keys, newest first, revoked and expired ones included (owner and admin keys; docs/access-control.md)',
        responses: { '200': { description: 'The keys (never a hash)', content: { 'application/json': { schema: { type: 'object', required: ['keys'], properties: { keys: { type: 'array', items: { $ref: '#/components/schemas/ApiKey' } } } } } } }, ...forbidden, ...errors },
      },
      post: {
        summary: 'Create an API key; the key is returned once, in api_key, and never again',
        description: 'Owner keys may create any role, admin keys admin and below. A scope the creating key has is inherited when left out and must contain what is given. Audited, with api_key redacted.',
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/ApiKeyCreate' } } } },
        responses: {
          '201': { description: 'The new key', content: { 'application/json': { schema: { type: 'object', required: ['key', 'api_key'], properties: { key: { $ref: '#/components/schemas/ApiKey' }, api_key: { type: 'string', description: 'vp_<8 hex>_<43 base64url>: store it now, it is not shown again' } } } } } },
          ...forbidden,
          ...errors,
        },
      },
    },
    ...Object.fromEntries(
      [['/api/keys/{id}/revoke', 'post'], ['/api/keys/{id}', 'delete']].map(([path, method]) => [
        path,
        {
          [method!]: {
            summary: 'Revoke an API key at once (its admin UI sessions end too); revoking a revoked key changes nothing',
            parameters: [{ name: 'id', in: 'path', required: true, description: 'The key\'s id (uuid) or visible id (vp_1a2b3c4d)', schema: str }],
            responses: {
              '200': { description: 'The key, revoked', content: { 'application/json': { schema: { type: 'object', required: ['key'], properties: { key: { $ref: '#/components/schemas/ApiKey' } } } } } },
              '404': { description: 'KEY_NOT_FOUND', content: { 'application/json': { schema: error } } },
              ...forbidden,
              ...errors,
            },
          },
        },
      ]),
    ),
    '/api/tenants': {
      get: {
        summary: 'Every tenant, by name, with its live (not revoked) key and wallet counts (the host operator only: owner keys of the default tenant; docs/access-control.md)',
        responses: { '200': { description: 'The tenants', content: { 'application/json': { schema: { type: 'object', required: ['tenants'], properties: { tenants: { type: 'array', items: { $ref: '#/components/schemas/Tenant' } } } } } } }, ...forbidden, ...errors },
      },
      post: {
        summary: 'Create a tenant and its first owner key, in one transaction; the key is returned once, in api_key, and never again',
        description: 'The host operator only (owner keys of the default tenant). Audited, with api_key redacted; nothing is written on a refusal.',
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/TenantCreate' } } } },
        responses: {
          '201': { description: 'The new tenant and its owner key', content: { 'application/json': { schema: { type: 'object', required: ['tenant', 'key', 'api_key'], properties: { tenant: { $ref: '#/components/schemas/Tenant' }, key: { $ref: '#/components/schemas/ApiKey' }, api_key: { type: 'string', description: 'vp_<8 hex>_<43 base64url>: the new tenant\'s owner key; store it now, it is not shown again' } } } } } },
          '409': { description: 'TENANT_EXISTS', content: { 'application/json': { schema: error } } },
          ...forbidden,
          ...errors,
        },
      },
    },
    '/api/wallets': {
      get: { summary: 'List wallets, newest first', parameters: paging, responses: { '200': { description: 'A page', content: { 'application/json': { schema: page('wallets', 'Wallet') } } }, ...errors } },
    },
    '/api/wallets/import': {
      post: {
        summary: 'Import an existing key as an agent\'s wallet (private key, BIP-39 mnemonic or keystore v3)',
        description: 'The key is wrapped by the active key provider at once. Secrets in the body are redacted from the event log. Fields that do not belong to the kind are refused.',
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/WalletImport' } } } },
        responses: {
          '201': { description: 'The new wallet (and, for a mnemonic, the derivation path used)', content: { 'application/json': { schema: { type: 'object', required: ['wallet'], properties: { wallet: { $ref: '#/components/schemas/Wallet' }, derivation_path: str } } } } },
          '409': { description: 'WALLET_EXISTS: the agent has a wallet, or the address is another agent\'s', content: { 'application/json': { schema: error } } },
          ...errors,
        },
      },
    },
    '/api/wallets/{id}/keystore': {
      post: {
        summary: 'A Web3 Secret Storage v3 keystore of the wallet (scrypt N=2^17, r=8, p=1; aes-128-ctr): owner keys only, with ALLOW_KEY_EXPORT=1, after another owner approves (four eyes)',
        description: 'Without approval_id: records a pending key_export approval and answers 202 (nothing exported). Once another owner key approved it (POST /api/approvals/{id}/approve), the same key calls again with approval_id and gets the keystore, once. 403 KEY_EXPORT_DISABLED while ALLOW_KEY_EXPORT is not 1; 403 FORBIDDEN (rule role) for any key but an owner; 409 APPROVAL_MISMATCH, APPROVAL_NOT_PENDING or APPROVAL_EXPIRED for an approval that does not fit.',
        parameters: [{ name: 'id', in: 'path', required: true, schema: str }],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['passphrase'],
                additionalProperties: false,
                properties: {
                  passphrase: { type: 'string', minLength: 8, description: 'Protects the keystore; at least 8 characters' },
                  approval_id: { type: 'string', description: 'The approved key_export approval to collect' },
                  reason: { type: 'string', maxLength: 500, description: 'What the export is for, shown to the approving owner' },
                },
              },
            },
          },
        },
        responses: {
          '200': {
            description: 'The keystore JSON text (status exported)',
            content: { 'application/json': { schema: { type: 'object', required: ['status', 'agent_id', 'address', 'approval_id', 'approval', 'keystore'], properties: { status: { enum: ['exported'] }, agent_id: str, address: str, approval_id: str, approval: { $ref: '#/components/schemas/Approval' }, keystore: { type: 'string', description: 'Keystore v3 JSON text' } } } } },
          },
          '202': {
            description: 'Nothing exported: the key_export approval another owner must approve first (status pending_approval)',
            content: { 'application/json': { schema: { type: 'object', required: ['status', 'agent_id', 'address', 'approval_id', 'approval'], properties: { status: { enum: ['pending_approval'] }, agent_id: str, address: str, approval_id: str, approval: { $ref: '#/components/schemas/Approval' } } } } },
          },
          '409': { description: 'APPROVAL_MISMATCH | APPROVAL_NOT_PENDING | APPROVAL_EXPIRED', content: { 'application/json': { schema: error } } },
          '404': { description: 'WALLET_NOT_FOUND', content: { 'application/json': { schema: error } } },
          ...errors,
        },
      },
    },
    '/api/wallets/{id}': {
      get: {
        summary: 'One wallet with its on-chain balance',
        parameters: [{ name: 'id', in: 'path', required: true, schema: str }],
        responses: {
          '200': { description: 'The wallet', content: { 'application/json': { schema: { type: 'object', properties: { wallet: { $ref: '#/components/schemas/WalletWithBalance' } } } } } },
          '404': { description: 'WALLET_NOT_FOUND', content: { 'application/json': { schema: error } } },
          ...errors,
        },
      },
    },
    '/api/wallets/{id}/policy': {
      get: {
        summary: 'The wallet\'s policy: effective rules with the source of each (wallet, file, none), its overrides, the file defaults, rate limits, and the rolling spend against the caps',
        parameters: [idParam],
        responses: {
          '200': { description: 'The policy', content: { 'application/json': { schema: { type: 'object', required: ['policy'], properties: { policy: { $ref: '#/components/schemas/WalletPolicyView' } } } } } },
          '404': { description: 'WALLET_NOT_FOUND', content: { 'application/json': { schema: error } } },
          ...forbidden,
          ...errors,
        },
      },
      put: {
        summary: 'Replace the wallet\'s overrides (owner and admin keys); {} removes them',
        description: 'A field left out inherits the policy file\'s default; null lifts the rule for this wallet; denied_destinations add to the file\'s. A bad rule is a 400 INVALID_INPUT whose details.field names it (policy.max_tx_eth, policy.allowed_destinations.0.address) and nothing changes. Takes the wallet lock, so no send is decided halfway through the change. Audited.',
        parameters: [idParam],
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/WalletPolicy' } } } },
        responses: {
          '200': { description: 'The policy after the change', content: { 'application/json': { schema: { type: 'object', required: ['policy'], properties: { policy: { $ref: '#/components/schemas/WalletPolicyView' } } } } } },
          '404': { description: 'WALLET_NOT_FOUND', content: { 'application/json': { schema: error } } },
          ...forbidden,
          ...errors,
        },
      },
      delete: {
        summary: 'Remove the wallet\'s overrides: the policy file\'s defaults apply again (owner and admin keys). Audited.',
        parameters: [idParam],
        responses: {
          '200': { description: 'The policy after the change', content: { 'application/json': { schema: { type: 'object', required: ['policy'], properties: { policy: { $ref: '#/components/schemas/WalletPolicyView' } } } } } },
          '404': { description: 'WALLET_NOT_FOUND', content: { 'application/json': { schema: error } } },
          ...forbidden,
          ...errors,
        },
      },
    },
    '/api/transactions': {
      get: {
        summary: 'List transactions, newest first',
        parameters: [...paging, q('wallet_id', 'Only this wallet'), q('status', 'Only this status', { enum: ['queued', 'broadcast', 'mined', 'confirmed', 'reverted', 'failed', 'replaced', 'cancelled'] })],
        responses: { '200': { description: 'A page', content: { 'application/json': { schema: page('transactions', 'Transaction') } } }, ...errors },
      },
    },
    '/api/strategies': {
      get: {
        summary: 'List strategies, newest first',
        parameters: [...paging, q('agent_id', 'Only this agent\'s strategies'), q('status', 'Only this state', { enum: ['active', 'stopped', 'completed', 'paused'] })],
        responses: { '200': { description: 'A page', content: { 'application/json': { schema: page('strategies', 'Strategy') } } }, ...errors },
      },
      post: {
        summary: 'Create a strategy (started unless start is false)',
        description: 'Params are validated by the kind\'s rules; a bad field is a 400 naming params.<field> and nothing is stored. Audited, with confirmation_code redacted.',
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/StrategyCreate' } } } },
        responses: {
          '201': { description: 'The new strategy', content: { 'application/json': { schema: strategyBody } } },
          '403': { description: 'CONFIRMATION_REQUIRED: a per-run amount above MAX_TX_ETH without the right confirmation_code', content: { 'application/json': { schema: error } } },
          '404': { description: 'WALLET_NOT_FOUND', content: { 'application/json': { schema: error } } },
          '409': { description: 'STRATEGY_EXISTS: the label is taken', content: { 'application/json': { schema: error } } },
          ...errors,
        },
      },
    },
    '/api/strategies/{id}': {
      get: {
        summary: 'One strategy and its last 10 runs',
        parameters: [idParam],
        responses: {
          '200': { description: 'The strategy', content: { 'application/json': { schema: { type: 'object', required: ['strategy', 'last_runs'], properties: { strategy: { $ref: '#/components/schemas/Strategy' }, last_runs: { type: 'array', items: { $ref: '#/components/schemas/StrategyRun' } } } } } } },
          ...notFound,
          ...errors,
        },
      },
      patch: {
        summary: 'Replace all params (validated as at creation); a running strategy is rescheduled',
        parameters: [idParam],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['params'], additionalProperties: false, properties: { params: { type: 'object', description: 'The complete params of the strategy\'s kind' }, confirmation_code: str } } } } },
        responses: { '200': { description: 'The updated strategy', content: { 'application/json': { schema: strategyBody } } }, ...notFound, ...errors },
      },
      delete: {
        summary: 'Stop and delete a strategy (its runs and transactions stay in history)',
        parameters: [idParam],
        responses: { '200': { description: 'The strategy as it was', content: { 'application/json': { schema: strategyBody } } }, ...notFound, ...errors },
      },
    },
    '/api/strategies/{id}/runs': {
      get: {
        summary: 'A strategy\'s runs, newest first',
        parameters: [idParam, ...paging],
        responses: { '200': { description: 'A page', content: { 'application/json': { schema: page('runs', 'StrategyRun') } } }, ...notFound, ...errors },
      },
    },
    '/api/strategies/{id}/start': {
      post: {
        summary: 'Start (or resume) a strategy; its first run is scheduled from now. Resuming a paused one makes the calling key responsible for it (created_by)',
        parameters: [idParam],
        responses: {
          '200': { description: 'The strategy', content: { 'application/json': { schema: strategyBody } } },
          '409': { description: 'STRATEGY_COMPLETED: a completed strategy cannot be restarted', content: { 'application/json': { schema: error } } },
          ...notFound,
          ...errors,
        },
      },
    },
    '/api/strategies/{id}/stop': {
      post: {
        summary: 'Stop a strategy and cancel its pending run',
        parameters: [idParam],
        responses: { '200': { description: 'The strategy', content: { 'application/json': { schema: strategyBody } } }, ...notFound, ...errors },
      },
    },
    '/api/strategies/{id}/tick': {
      post: {
        summary: 'Run one tick now, through the worker\'s path (dry_run: decide only, write nothing)',
        parameters: [idParam],
        requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', additionalProperties: false, properties: { dry_run: { type: 'boolean' } } } } } },
        responses: {
          '200': { description: 'What the tick did', content: { 'application/json': { schema: { $ref: '#/components/schemas/ManualTick' } } } },
          '409': { description: 'STRATEGY_NOT_ACTIVE: a non-dry tick of a strategy that is not running', content: { 'application/json': { schema: error } } },
          ...notFound,
          ...errors,
        },
      },
    },
    '/api/events': {
      get: {
        summary: 'The audit log, newest first',
        parameters: [
          ...paging, q('wallet_id', 'Only this wallet'), q('agent_id', 'Only this agent'), q('action', 'Tool name or "METHOD /route"'), q('status', 'ok, error or refused', { enum: ['ok', 'error', 'refused'] }),
          q('kind', 'tool_call, api_write, auth, cli or worker', { enum: ['tool_call', 'api_write', 'auth', 'cli', 'worker'] }),
          q('since', 'Only rows at or after this ISO 8601 time', { type: 'string', format: 'date-time' }), q('until', 'Only rows before this ISO 8601 time', { type: 'string', format: 'date-time' }),
        ],
        responses: { '200': { description: 'A page', content: { 'application/json': { schema: page('events', 'Event') } } }, ...errors },
      },
    },
    '/api/events/export': {
      get: {
        summary: 'Export the audit log, oldest first, streamed as JSON Lines or CSV (a download; see docs/audit-log.md)',
        description: 'Every column, including prev_hash and hash: an unfiltered JSONL export of a chain can be re-verified without VaultPilot. CSV has a header row, request/response as JSON text, and formula-looking cells prefixed with \'. The export itself is recorded in the audit log.',
        parameters: [
          q('format', 'jsonl (default) or csv', { enum: ['jsonl', 'csv'] }), q('wallet_id', 'Only this wallet'), q('agent_id', 'Only this agent'), q('action', 'Tool name or "METHOD /route"'),
          q('status', 'ok, error or refused', { enum: ['ok', 'error', 'refused'] }), q('since', 'Only rows at or after this ISO 8601 time', { type: 'string', format: 'date-time' }),
          q('until', 'Only rows before this ISO 8601 time', { type: 'string', format: 'date-time' }),
        ],
        responses: {
          '200': {
            description: 'The rows (Content-Disposition: attachment; filename="vaultpilot-audit-<time>.<format>")',
            content: { 'application/x-ndjson': { schema: { type: 'string', description: 'One ExportedEvent JSON object per line' } }, 'text/csv': { schema: { type: 'string' } } },
          },
          ...errors,
        },
      },
    },
    '/api/readiness': {
      get: {
        summary: 'Readiness with each check\'s detail (database, chain, every key provider): owner and admin keys of the default tenant only (the host operator); GET /readyz shows ok or failing to anyone',
        description: 'The result GET /readyz uses, cached for 5 s (so this never adds upstream calls). Details can name key ARNs, Vault hosts and provider errors; URLs are cut to scheme and host. Always 200: status says whether the server is ready.',
        responses: { '200': { description: 'Readiness', content: { 'application/json': { schema: { $ref: '#/components/schemas/Readiness' } } } }, ...forbidden, ...errors },
      },
    },
    '/api/approvals': {
      get: {
        summary: 'Sends that needed a human, newest first (docs/approvals.md)',
        parameters: [...paging, q('status', 'Only this state (pending leaves out those past expiry; expired includes them)', { enum: ['pending', 'approved', 'rejected', 'expired', 'executed', 'failed', 'cancelled'] }), q('wallet_id', 'Only this wallet')],
        responses: { '200': { description: 'A page', content: { 'application/json': { schema: page('approvals', 'Approval') } } }, ...errors },
      },
    },
    '/api/approvals/{id}': {
      get: {
        summary: 'One approval (with its transaction once executed)',
        parameters: [idParam],
        responses: {
          '200': { description: 'The approval', content: { 'application/json': { schema: { type: 'object', required: ['approval'], properties: { approval: { $ref: '#/components/schemas/Approval' } } } } } },
          '404': { description: 'APPROVAL_NOT_FOUND', content: { 'application/json': { schema: error } } },
          ...errors,
        },
      },
    },
    ...Object.fromEntries(
      (['approve', 'reject'] as const).map((verb) => [
        `/api/approvals/{id}/${verb}`,
        {
          post: {
            summary: verb === 'approve' ? 'Approve a pending send: the worker then sends it through the normal path (every limit rechecked)' : 'Reject a pending send: nothing is sent',
            description: 'Owner, admin and operator keys only, and never the key that asked for the send. Audited.',
            parameters: [idParam],
            requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', additionalProperties: false, properties: { note: { type: 'string', maxLength: 500, description: 'Shown to the agent in get_approval_status' } } } } } },
            responses: {
              '200': { description: 'The approval after the decision', content: { 'application/json': { schema: { type: 'object', required: ['approval'], properties: { approval: { $ref: '#/components/schemas/Approval' } } } } } },
              '403': { description: 'FORBIDDEN (details.rule role or scope.wallets) or APPROVAL_SELF (details.rule approval.self): the key that asked cannot decide', content: { 'application/json': { schema: error } } },
              '404': { description: 'APPROVAL_NOT_FOUND', content: { 'application/json': { schema: error } } },
              '409': { description: 'APPROVAL_NOT_PENDING (already decided; details.status) or APPROVAL_EXPIRED', content: { 'application/json': { schema: error } } },
              ...errors,
            },
          },
        },
      ]),
    ),
  },
  components: {
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', description: 'API key' },
      session: { type: 'apiKey', in: 'cookie', name: 'vp_session' },
    },
    schemas: {
      Error: { type: 'object', required: ['error'], properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: str, message: str, details: {} } } } },
      Session: {
        type: 'object',
        properties: {
          principal: {
            type: 'object',
            properties: {
              key_id: str, name: str, role: { enum: ['owner', 'admin', 'operator', 'viewer', 'agent'] }, tenant_id: str,
              scopes: { type: 'object', description: 'The key\'s scopes; null is unrestricted', properties: { tools: { type: ['array', 'null'], items: str }, wallets: { type: ['array', 'null'], items: str }, ips: { type: ['array', 'null'], items: str } } },
              permissions: { type: 'array', items: str, description: 'What the role may do: mcp.read, mcp.write, api.read, api.write, approvals.decide, policies.write, keys.manage, audit.export, and tenants.manage for the host operator (owner keys of the default tenant)' },
            },
          },
        },
      },
      ApiKey: {
        type: 'object',
        properties: {
          id: str, key_id: { type: 'string', description: 'Visible id (vp_1a2b3c4d), the start of the key' }, name: str, role: { enum: ['owner', 'admin', 'operator', 'viewer', 'agent'] },
          status: { enum: ['active', 'expired', 'revoked'] },
          allowed_tools: { type: ['array', 'null'], items: str }, allowed_wallets: { type: ['array', 'null'], items: str }, allowed_ips: { type: ['array', 'null'], items: str },
          expires_at: { type: ['string', 'null'], format: 'date-time' }, last_used_at: { type: ['string', 'null'], format: 'date-time' }, revoked_at: { type: ['string', 'null'], format: 'date-time' },
          created_at: { type: 'string', format: 'date-time' }, created_by: { type: ['string', 'null'], description: 'Visible id of the creating key; null for the CLI and the bootstrap key' },
        },
      },
      Tenant: {
        type: 'object',
        properties: {
          id: str, name: str, created_at: { type: 'string', format: 'date-time' },
          keys: { type: 'integer', description: 'Keys not revoked (expired ones included)' }, wallets: { type: 'integer' },
        },
      },
      TenantCreate: {
        type: 'object',
        required: ['name'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', description: 'New and unique: 1-64 letters, digits and _ . -, starting with a letter or digit' },
          owner_key_name: { type: 'string', minLength: 1, maxLength: 100, description: 'Name of the first owner key; left out: owner' },
          owner_key_expires_at: { type: 'string', format: 'date-time', description: 'In the future; left out: the owner key never expires' },
        },
      },
      ApiKeyCreate: {
        type: 'object',
        required: ['name', 'role'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 100 },
          role: { enum: ['owner', 'admin', 'operator', 'viewer', 'agent'] },
          expires_at: { type: 'string', format: 'date-time', description: 'In the future; left out: never expires' },
          allowed_tools: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[a-z][a-z0-9]*(_[a-z0-9]+)*$' }, description: 'MCP tool names; left out: all' },
          allowed_wallets: { type: 'array', minItems: 1, items: str, description: 'Agent ids; left out: all' },
          allowed_ips: { type: 'array', minItems: 1, items: str, description: 'IPv4/IPv6 CIDRs or addresses; left out: any' },
        },
      },
      Wallet: { type: 'object', properties: { id: str, agent_id: str, address: str, chain_id: { type: 'integer' }, key_provider: str, origin: str, created_at: { type: 'string', format: 'date-time' } } },
      WalletImport: {
        type: 'object',
        required: ['agent_id', 'kind'],
        additionalProperties: false,
        properties: {
          agent_id: { type: 'string', description: '1-128 characters: letters, digits, _ . : @ -' },
          kind: { enum: ['private_key', 'mnemonic', 'keystore'] },
          private_key: { type: 'string', description: 'kind private_key: 64 hex characters, 0x optional' },
          mnemonic: { type: 'string', description: 'kind mnemonic: BIP-39 phrase of 12-24 English words' },
          passphrase: { type: 'string', description: 'kind mnemonic: optional BIP-39 passphrase' },
          account_index: { type: 'integer', minimum: 0, maximum: 2147483647, description: "kind mnemonic: n in m/44'/60'/0'/0/n (default 0); not with path" },
          path: { type: 'string', description: "kind mnemonic: explicit BIP-32 path such as m/44'/60'/0'/0/0; not with account_index" },
          encrypted_json: { oneOf: [{ type: 'string' }, { type: 'object' }], description: 'kind keystore: keystore v3 JSON text or object' },
          password: { type: 'string', description: 'kind keystore: the keystore password' },
        },
      },
      WalletWithBalance: { allOf: [{ $ref: '#/components/schemas/Wallet' }, { type: 'object', properties: { balance_wei: str, balance_eth: str, nonce: { type: 'integer', description: 'Next nonce VaultPilot will use' } } }] },
      Transaction: {
        type: 'object',
        properties: {
          id: str, wallet_id: str, agent_id: nstr, chain_id: { type: 'integer' }, nonce: { type: 'integer' }, from_address: str, to_address: str,
          value_wei: str, value_eth: str, status: str, tx_hash: str, block_number: { type: ['integer', 'null'] }, gas_limit: str, gas_used: nstr,
          max_fee_per_gas_gwei: str, max_priority_fee_per_gas_gwei: str, effective_gas_price_gwei: nstr, fee_wei: nstr, error: nstr, source: str,
          created_at: str, updated_at: str,
        },
      },
      Amount: { type: 'object', required: ['eth', 'wei'], properties: { eth: { type: 'string', description: 'Decimal ETH' }, wei: { type: 'string', description: 'Integer wei' } } },
      WalletPolicy: {
        type: 'object',
        additionalProperties: false,
        description: 'Policy rules (docs/policies.md). Amounts are decimal ETH strings; every field is optional; null lifts a rule.',
        properties: {
          max_tx_eth: { type: ['string', 'null'], description: 'Largest single send' },
          spend_cap_24h_eth: { type: ['string', 'null'], description: 'Most sent in any rolling 24 hours (pending and mined sends count)' },
          spend_cap_7d_eth: { type: ['string', 'null'], description: 'Most sent in any rolling 7 days' },
          allowed_destinations: { type: ['array', 'null'], items: { oneOf: [str, { type: 'object', required: ['address'], additionalProperties: false, properties: { address: str, label: str } }] }, description: 'When set, sends may only go to these addresses' },
          denied_destinations: { type: ['array', 'null'], items: { oneOf: [str, { type: 'object', required: ['address'], additionalProperties: false, properties: { address: str, label: str } }] }, description: 'Sends to these are refused; adds to the file\'s list' },
          allowed_chains: { type: ['array', 'null'], minItems: 1, items: { type: 'integer', minimum: 1 } },
          approval_threshold_eth: { type: ['string', 'null'], description: 'Sends above this wait for a human' },
          quiet_hours: {
            type: ['object', 'null'],
            required: ['start', 'end'],
            additionalProperties: false,
            properties: { start: { type: 'string', pattern: '^([01]\\d|2[0-3]):[0-5]\\d$' }, end: { type: 'string', pattern: '^([01]\\d|2[0-3]):[0-5]\\d$' }, timezone: { type: 'string', description: 'IANA, default UTC' }, days: { type: 'array', items: { enum: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] } }, action: { enum: ['deny', 'require_approval'], description: 'Default deny' } },
          },
        },
      },
      WalletPolicyView: {
        type: 'object',
        properties: {
          agent_id: str, wallet_id: str,
          effective: { allOf: [{ $ref: '#/components/schemas/WalletPolicy' }], description: 'What applies; every field present, null = no rule' },
          wallet: { oneOf: [{ $ref: '#/components/schemas/WalletPolicy' }, { type: 'null' }], description: 'The wallet\'s overrides; null: none' },
          defaults: { $ref: '#/components/schemas/WalletPolicy' },
          sources: { type: 'object', additionalProperties: { enum: ['wallet', 'file', 'none'] }, description: 'Where each effective field comes from' },
          rate_limits: { type: 'object', properties: { default: { type: ['object', 'null'] }, tools: { type: 'object' }, agent: { type: ['object', 'null'], description: 'rate_limits.agents.<agent_id>' } }, description: 'Each {max_calls, window_seconds}' },
          spent: { type: 'object', properties: { last_24h: amount, last_7d: amount } },
          remaining: { type: 'object', properties: { spend_cap_24h: { oneOf: [amount, { type: 'null' }] }, spend_cap_7d: { oneOf: [amount, { type: 'null' }] } } },
          policy_file: nstr, updated_at: { type: ['string', 'null'], format: 'date-time' }, updated_by: { type: ['string', 'null'], description: 'Visible id of the key that set the overrides' },
        },
      },
      Strategy: {
        type: 'object',
        properties: {
          id: str, label: str, kind: { enum: ['dca', 'scheduled_send', 'send_when_gas_below', 'micro_tip'] }, agent_id: str, wallet_id: str, from_address: str,
          status: { enum: ['active', 'stopped', 'completed', 'paused'], description: 'paused: its responsible key (created_by) was revoked or expired; starting it with a valid key resumes it under that key' },
          end_reason: { type: ['string', 'null'], description: 'Why a completed strategy ended: sent, max_runs, ends_at, expired' },
          paused_reason: { type: ['string', 'null'], enum: ['key_revoked', 'key_expired', null], description: 'Why a paused strategy was paused' },
          created_by: { type: ['string', 'null'], description: 'Visible id (vp_…) of the responsible key: the one that created the strategy or last resumed it; null for an imported strategy' },
          params: { type: 'object', description: 'The kind\'s params: amounts as {eth, wei}, gas ceilings in gwei, times ISO 8601' },
          next_run_at: { type: ['string', 'null'], format: 'date-time', description: 'When the pending run is due; null unless active' },
          last_run_at: { type: ['string', 'null'], format: 'date-time' },
          runs: { type: 'object', properties: { sent: { type: 'integer' }, skipped: { type: 'integer' }, failed: { type: 'integer' } } },
          spent_24h: amount, spent_total: amount, origin: { enum: ['created', 'agentvault'] },
          created_at: { type: 'string', format: 'date-time' }, updated_at: { type: 'string', format: 'date-time' },
        },
      },
      StrategyCreate: {
        type: 'object',
        required: ['kind', 'label', 'agent_id', 'params'],
        additionalProperties: false,
        properties: {
          kind: { enum: ['dca', 'scheduled_send', 'send_when_gas_below', 'micro_tip'] },
          label: { type: 'string', description: '1-100 printable characters, unique in the tenant' },
          agent_id: str,
          params: { type: 'object', description: 'The kind\'s params (docs/agents.md, Strategies): amounts decimal ETH strings, gas ceilings gwei, times ISO 8601 with a zone' },
          start: { type: 'boolean', description: 'Start at once (default true)' },
          confirmation_code: { type: 'string', description: 'TX_CONFIRM_CODE, needed when a per-run amount is above MAX_TX_ETH; never stored' },
        },
      },
      StrategyRun: {
        type: 'object',
        properties: {
          id: str, strategy_id: str, slot_at: { type: 'string', format: 'date-time' }, source: { enum: ['schedule', 'manual'] }, outcome: { enum: ['sent', 'skipped', 'failed'] },
          reason: { type: ['string', 'null'], description: 'Skip reason: gas_above_ceiling, daily_cap, reserve, not_due, insufficient_funds' },
          error_code: nstr, detail: nstr, amount,
          transactions: { type: 'array', items: { type: 'object', properties: { id: str, tx_hash: str, to_address: str, value_eth: str, status: str } } },
          started_at: { type: 'string', format: 'date-time' }, created_at: { type: 'string', format: 'date-time' },
        },
      },
      ManualTick: {
        type: 'object',
        required: ['outcome', 'dry_run', 'decision', 'run', 'strategy'],
        properties: {
          outcome: { enum: ['sent', 'skipped', 'failed', 'ended', 'paused', 'stale', 'dry_run'], description: 'paused: the responsible key was revoked or expired, so the strategy was paused instead of run' },
          dry_run: { type: 'boolean' },
          decision: {
            type: ['object', 'null'],
            properties: { action: { enum: ['send', 'skip', 'end'] }, reason: nstr, detail: nstr, sends: { type: 'array', items: { type: 'object', properties: { to_address: str, amount } } } },
          },
          run: { oneOf: [{ $ref: '#/components/schemas/StrategyRun' }, { type: 'null' }] },
          strategy: { $ref: '#/components/schemas/Strategy' },
        },
      },
      Approval: {
        type: 'object',
        properties: {
          approval_id: str,
          kind: { enum: ['send', 'key_export'], description: 'send: a transfer held for a human; key_export: an owner key asked for the wallet\'s key material, which another owner must approve' },
          status: { enum: ['pending', 'approved', 'rejected', 'expired', 'executed', 'failed', 'cancelled'], description: 'pending -> approved -> executed | failed; pending -> rejected | expired | cancelled (the requesting key was revoked or expired). A key_export is executed once collected.' },
          agent_id: str, wallet_id: str, from_address: str,
          to_address: { type: ['string', 'null'], description: 'Recipient of a send; null for a key_export' },
          chain_id: { type: 'integer' },
          amount: { oneOf: [amount, { type: 'null' }], description: 'Amount of a send; null for a key_export' },
          export_format: { type: ['string', 'null'], enum: ['keystore', 'private_key', null], description: 'What a key_export hands out; null for a send' },
          reason: { type: ['string', 'null'], description: 'What the agent said the send is for' },
          rule: { type: 'string', description: 'The policy rule that asked for a human' }, rule_message: str, source: str,
          requested_by: { type: ['string', 'null'], description: 'Visible id of the requesting key' }, decided_by: nstr,
          decided_at: { type: ['string', 'null'], format: 'date-time' }, decision_note: nstr,
          expires_at: { type: 'string', format: 'date-time' }, created_at: { type: 'string', format: 'date-time' }, updated_at: { type: 'string', format: 'date-time' },
          transaction_id: nstr, transaction: { oneOf: [{ $ref: '#/components/schemas/Transaction' }, { type: 'null' }] },
          error_code: { type: ['string', 'null'], description: 'Why an approved send failed at execution (INSUFFICIENT_FUNDS, POLICY_*)' }, error_message: nstr,
        },
      },
      Readiness: {
        type: 'object',
        required: ['status', 'checked_at', 'checks', 'key_providers'],
        properties: {
          status: { enum: ['ready', 'not_ready'] },
          checked_at: { type: 'string', format: 'date-time', description: 'When the checks ran' },
          checks: {
            type: 'object',
            properties: Object.fromEntries(['database', 'chain', 'key_provider'].map((n) => [n, { type: 'object', required: ['ok', 'detail'], properties: { ok: { type: 'boolean' }, detail: str } }])),
          },
          key_providers: { type: 'array', items: { type: 'object', properties: { provider: { enum: ['fernet', 'aws-kms', 'vault'] }, active: { type: 'boolean', description: 'Wraps new keys' }, ok: { type: 'boolean' }, detail: str } } },
        },
      },
      Event: {
        type: 'object',
        properties: {
          id: str, occurred_at: str, kind: str, action: str, principal: nstr, agent_id: nstr, wallet_id: nstr, status: str, error_code: nstr,
          duration_ms: { type: ['integer', 'null'] }, request: {}, response: {},
          decision: { type: ['string', 'null'], enum: ['allow', 'deny', 'require_approval', null], description: 'The policy decision of a guarded call' }, rule: { type: ['string', 'null'], description: 'The rule that decided it' },
        },
      },
    },
  },
} as const;

/** Serves {@link OPENAPI}. */
export function openApiRoutes(): Hono {
  const routes = new Hono();
  routes.get('/', (c) => c.json(OPENAPI));
  return routes;
}
