// Same-origin JSON client for /api. The session lives in an HttpOnly cookie set by
// POST /api/session, so no key or token is ever held in JS or in storage.

/** An error from the API (`{"error":{"code","message","details"}}`) or from the network. */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 when the request never got a response
   * @param {string} code
   * @param {string} message
   * @param {unknown} [details]
   */
  constructor(status, code, message, details) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** @type {() => void} */
let onUnauthorized = () => {};

/** Called on any 401 from a data request, so the app can fall back to the sign-in screen. */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

/**
 * @param {string} path e.g. `/api/wallets?limit=50`
 * @param {{ method?: string, body?: unknown, signal?: AbortSignal, handle401?: boolean }} [opts]
 *   `handle401: false` for the session calls themselves, where 401 is an answer, not an expiry.
 */
export async function request(path, opts = {}) {
  const { method = 'GET', body, signal, handle401 = true } = opts;
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json' };
  // Every write says JSON, bodiless ones too: the server refuses cookie writes that don't
  // (its cross-site request forgery defence, docs/security.md#http-edge).
  if (body !== undefined || !['GET', 'HEAD'].includes(method.toUpperCase())) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'NETWORK_ERROR', 'the server could not be reached');
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const e = data && typeof data === 'object' ? data.error : undefined;
    const err = new ApiError(
      res.status,
      e && typeof e.code === 'string' ? e.code : `HTTP_${res.status}`,
      e && typeof e.message === 'string' ? e.message : res.statusText || 'request failed',
      e ? e.details : undefined,
    );
    if (res.status === 401 && handle401) onUnauthorized();
    throw err;
  }
  if (text && data === null) throw new ApiError(res.status, 'BAD_RESPONSE', 'the server sent something other than JSON');
  return data;
}

/** Builds `path?k=v&…`, leaving out empty values so filters that are unset aren't sent. */
export function withQuery(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export const PAGE_SIZE = 50;

export const api = {
  getSession: () => request('/api/session', { handle401: false }),
  signIn: (apiKey) => request('/api/session', { method: 'POST', body: { api_key: apiKey }, handle401: false }),
  signOut: () => request('/api/session', { method: 'DELETE', handle401: false }),
  listWallets: ({ cursor } = {}, signal) =>
    request(withQuery('/api/wallets', { limit: PAGE_SIZE, cursor }), { signal }),
  getWallet: (id, signal) => request(`/api/wallets/${encodeURIComponent(id)}`, { signal }),
  listTransactions: ({ cursor, wallet_id, status } = {}, signal) =>
    request(withQuery('/api/transactions', { limit: PAGE_SIZE, cursor, wallet_id, status }), { signal }),
  listEvents: ({ cursor, action, status, wallet_id } = {}, signal) =>
    request(withQuery('/api/events', { limit: PAGE_SIZE, cursor, action, status, wallet_id }), { signal }),
  listStrategies: ({ cursor, status, agent_id } = {}, signal) =>
    request(withQuery('/api/strategies', { limit: PAGE_SIZE, cursor, status, agent_id }), { signal }),
  getStrategy: (id, signal) => request(strategyPath(id), { signal }),
  listStrategyRuns: (id, { cursor } = {}, signal) =>
    request(withQuery(`${strategyPath(id)}/runs`, { limit: PAGE_SIZE, cursor }), { signal }),
  startStrategy: (id) => request(`${strategyPath(id)}/start`, { method: 'POST' }),
  stopStrategy: (id) => request(`${strategyPath(id)}/stop`, { method: 'POST' }),
  listKeys: (signal) => request('/api/keys', { signal }),
  createKey: (body) => request('/api/keys', { method: 'POST', body }),
  revokeKey: (id) => request(`/api/keys/${encodeURIComponent(id)}/revoke`, { method: 'POST' }),
  listTenants: (signal) => request('/api/tenants', { signal }),
  createTenant: (body) => request('/api/tenants', { method: 'POST', body }),
};

function strategyPath(id) {
  return `/api/strategies/${encodeURIComponent(id)}`;
}
