/**
 * `GET /api/openapi.json`: the OpenAPI 3.1 description of the REST API (public, so tools can read
 * it before they have a key).
 */
import { Hono } from 'hono';

const error = { $ref: '#/components/schemas/Error' };
const errors = {
  '400': { description: 'Invalid parameter (the message names it)', content: { 'application/json': { schema: error } } },
  '401': { description: 'Missing or invalid credentials', content: { 'application/json': { schema: error } } },
};
const page = (name: string, item: string) => ({
  type: 'object',
  required: [name, 'next_cursor'],
  properties: { [name]: { type: 'array', items: { $ref: `#/components/schemas/${item}` } }, next_cursor: { type: ['string', 'null'] } },
});
const q = (name: string, description: string, schema: Record<string, unknown> = { type: 'string' }) => ({ name, in: 'query', required: false, description, schema });
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
        summary: 'A Web3 Secret Storage v3 keystore of the wallet (scrypt N=2^17, r=8, p=1; aes-128-ctr)',
        parameters: [{ name: 'id', in: 'path', required: true, schema: str }],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['passphrase'], additionalProperties: false, properties: { passphrase: { type: 'string', minLength: 8, description: 'Protects the keystore; at least 8 characters' } } } } } },
        responses: {
          '200': { description: 'The keystore JSON text', content: { 'application/json': { schema: { type: 'object', required: ['agent_id', 'address', 'keystore'], properties: { agent_id: str, address: str, keystore: { type: 'string', description: 'Keystore v3 JSON text' } } } } } },
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
        parameters: [...paging, q('agent_id', 'Only this agent\'s strategies'), q('status', 'Only this state', { enum: ['active', 'stopped', 'completed'] })],
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
        summary: 'Start (or resume) a strategy; its first run is scheduled from now',
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
        parameters: [...paging, q('wallet_id', 'Only this wallet'), q('agent_id', 'Only this agent'), q('action', 'Tool name or "METHOD /route"'), q('status', 'ok, error or refused', { enum: ['ok', 'error', 'refused'] }), q('kind', 'tool_call, api_write, auth or cli', { enum: ['tool_call', 'api_write', 'auth', 'cli'] })],
        responses: { '200': { description: 'A page', content: { 'application/json': { schema: page('events', 'Event') } } }, ...errors },
      },
    },
  },
  components: {
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', description: 'API key' },
      session: { type: 'apiKey', in: 'cookie', name: 'vp_session' },
    },
    schemas: {
      Error: { type: 'object', required: ['error'], properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: str, message: str, details: {} } } } },
      Session: { type: 'object', properties: { principal: { type: 'object', properties: { key_id: str, name: str, role: str, tenant_id: str } } } },
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
      Strategy: {
        type: 'object',
        properties: {
          id: str, label: str, kind: { enum: ['dca', 'scheduled_send', 'send_when_gas_below', 'micro_tip'] }, agent_id: str, wallet_id: str, from_address: str,
          status: { enum: ['active', 'stopped', 'completed'] },
          end_reason: { type: ['string', 'null'], description: 'Why a completed strategy ended: sent, max_runs, ends_at, expired' },
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
          outcome: { enum: ['sent', 'skipped', 'failed', 'ended', 'stale', 'dry_run'] },
          dry_run: { type: 'boolean' },
          decision: {
            type: ['object', 'null'],
            properties: { action: { enum: ['send', 'skip', 'end'] }, reason: nstr, detail: nstr, sends: { type: 'array', items: { type: 'object', properties: { to_address: str, amount } } } },
          },
          run: { oneOf: [{ $ref: '#/components/schemas/StrategyRun' }, { type: 'null' }] },
          strategy: { $ref: '#/components/schemas/Strategy' },
        },
      },
      Event: {
        type: 'object',
        properties: {
          id: str, occurred_at: str, kind: str, action: str, principal: nstr, agent_id: nstr, wallet_id: nstr, status: str, error_code: nstr,
          duration_ms: { type: ['integer', 'null'] }, request: {}, response: {},
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
