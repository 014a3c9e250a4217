// Wallets: the paged list, plus each wallet's live balance and nonce fetched row by row
// (GET /api/wallets/:id asks the chain, so one slow RPC call doesn't hold up the table).
// `#/wallets?id=…` is one wallet's page: its facts and its policy (components/wallet-policy.js).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, withQuery } from '../api.js';
import { ChainLabel, ErrorBox, Hex, LoadMore, Spinner, Time, html, useInterval, usePagedList } from './ui.js';
import { WalletPolicy } from './wallet-policy.js';

const BALANCE_REFRESH_MS = 10_000;

export function WalletsView({ params }) {
  return params && params.id ? html`<${WalletPage} id=${params.id} />` : html`<${WalletList} />`;
}

function WalletList() {
  const list = usePagedList(async (cursor, signal) => {
    const body = await api.listWallets({ cursor }, signal);
    return { items: body.wallets ?? [], next: body.next_cursor };
  }, 'wallets');

  // id -> { state: 'loading' | 'ok' | 'error', wallet?, error? }; a refresh keeps the last value
  // on screen until the new one arrives, so numbers don't flicker back to "…".
  const [balances, setBalances] = useState({});
  const [checkedAt, setCheckedAt] = useState(null);
  const inFlight = useRef(new Set());
  const abort = useRef(new AbortController());
  useEffect(() => () => abort.current.abort(), []);

  const fetchBalance = async (id) => {
    if (inFlight.current.has(id)) return;
    inFlight.current.add(id);
    setBalances((b) => (b[id] ? b : { ...b, [id]: { state: 'loading' } }));
    try {
      const body = await api.getWallet(id, abort.current.signal);
      setBalances((b) => ({ ...b, [id]: { state: 'ok', wallet: body.wallet } }));
      setCheckedAt(new Date());
    } catch (err) {
      if (err && err.name === 'AbortError') return;
      setBalances((b) => ({ ...b, [id]: { state: 'error', error: err } }));
    } finally {
      inFlight.current.delete(id);
    }
  };

  const refreshBalances = async (ids) => {
    if (!ids.length) return;
    await Promise.allSettled(ids.map(fetchBalance));
  };

  // New rows (first page, "Load more") get their balance as soon as they appear.
  useEffect(() => {
    refreshBalances(list.items.filter((w) => !balances[w.id]).map((w) => w.id));
  }, [list.items]);

  useInterval(() => refreshBalances(list.items.map((w) => w.id)), BALANCE_REFRESH_MS);

  const onRefresh = () => {
    list.reload();
    refreshBalances(list.items.map((w) => w.id));
  };

  return html`<section class="page">
    <header class="page-header">
      <div>
        <h1>Wallets</h1>
        <p class="muted page-sub">
          Balances refresh every ${BALANCE_REFRESH_MS / 1000} s${checkedAt &&
          html` · last update <${Time} iso=${checkedAt.toISOString()} timeOnly />`}
        </p>
      </div>
      <div class="page-actions">
        ${list.loading && list.items.length > 0 && html`<${Spinner} label="Refreshing…" />`}
        <button type="button" class="btn" onClick=${onRefresh} data-testid="refresh-button">Refresh</button>
      </div>
    </header>
    <${ErrorBox} error=${list.error} onRetry=${list.reload} />
    <div class="card">
      <div class="table-scroll">
        <table class="table" data-testid="wallets-table">
          <thead>
            <tr>
              <th>Agent</th>
              <th>Address</th>
              <th>Chain</th>
              <th>Keys</th>
              <th class="num">Balance (ETH)</th>
              <th class="num">Nonce</th>
              <th>Created</th>
              <th><span class="sr-only">Links</span></th>
            </tr>
          </thead>
          <tbody>
            ${list.items.map((w) => html`<${WalletRow} key=${w.id} wallet=${w} balance=${balances[w.id]} />`)}
          </tbody>
        </table>
      </div>
      ${list.loading && list.items.length === 0 && html`<div class="empty"><${Spinner} label="Loading wallets…" /></div>`}
      ${!list.loading && !list.error && list.items.length === 0 &&
      html`<div class="empty" data-testid="empty-state">
        No wallets yet. Agents create one with the <code>spin_up_wallet</code> tool.
      </div>`}
      ${list.items.length > 0 && html`<${LoadMore} list=${list} noun="wallet" />`}
    </div>
  </section>`;
}

function WalletRow({ wallet: w, balance }) {
  return html`<tr data-testid="wallet-row" data-agent-id=${w.agent_id} data-wallet-id=${w.id}>
    <td class="strong nowrap" title=${`wallet id ${w.id}`}>${w.agent_id}</td>
    <td><${Hex} value=${w.address} /></td>
    <td><${ChainLabel} chainId=${w.chain_id} /></td>
    <td><span class="tag">${w.key_provider}</span></td>
    <td class="num" data-testid="wallet-balance" data-state=${balance ? balance.state : 'loading'}>
      <${BalanceCell} balance=${balance} />
    </td>
    <td class="num" data-testid="wallet-nonce">
      ${balance && balance.state === 'ok' ? String(balance.wallet.nonce) : html`<span class="muted">—</span>`}
    </td>
    <td><${Time} iso=${w.created_at} dateOnly /></td>
    <td class="row-links">
      <a href=${withQuery('#/wallets', { id: w.id })} title=${`${w.agent_id}: details and policy`} data-testid="wallet-open">Policy</a>
      <a href=${withQuery('#/transactions', { wallet_id: w.id })} title=${`Transactions of ${w.agent_id}`}>Txs</a>
      <a href=${withQuery('#/events', { wallet_id: w.id })} title=${`Audit events of ${w.agent_id}`}>Events</a>
      <a href=${withQuery('#/strategies', { agent_id: w.agent_id })} title=${`Strategies of ${w.agent_id}`}>Strategies</a>
    </td>
  </tr>`;
}

function BalanceCell({ balance }) {
  if (!balance || balance.state === 'loading') {
    return html`<span class="muted" aria-label="loading balance">…</span>`;
  }
  if (balance.state === 'error') return html`<${ErrorBox} error=${balance.error} compact />`;
  // Decimal string straight from the API: never through a float.
  const { balance_eth, balance_wei } = balance.wallet;
  return html`<span class="amount" title=${`${balance_wei} wei`}>${balance_eth}</span>`;
}

/** `#/wallets?id=…`: one wallet (with its live balance) and its policy. */
function WalletPage({ id }) {
  const [state, setState] = useState({ wallet: null, loading: true, error: null });
  const abort = useRef(null);
  const load = async () => {
    abort.current?.abort();
    const ac = new AbortController();
    abort.current = ac;
    setState((s) => ({ ...s, loading: true, error: null }));
    try {
      const body = await api.getWallet(id, ac.signal);
      setState({ wallet: body.wallet, loading: false, error: null });
    } catch (err) {
      if (err && err.name === 'AbortError') return;
      setState((s) => ({ ...s, loading: false, error: err }));
    }
  };
  useEffect(() => {
    load();
    return () => abort.current?.abort();
  }, [id]);
  const w = state.wallet;

  return html`<section class="page" data-testid="wallet-page" data-wallet-id=${id}>
    <header class="page-header">
      <div>
        <p class="page-crumb small"><a href="#/wallets" data-testid="back-to-wallets">← All wallets</a></p>
        <h1>${w ? w.agent_id : 'Wallet'}</h1>
        ${w && html`<p class="muted page-sub"><${ChainLabel} chainId=${w.chain_id} /> · <span class="tag">${w.key_provider}</span> · ${w.origin}</p>`}
      </div>
      <div class="page-actions">
        ${state.loading && w && html`<${Spinner} label="Refreshing…" />`}
        <button type="button" class="btn" onClick=${load} data-testid="refresh-button">Refresh</button>
      </div>
    </header>
    <${ErrorBox} error=${state.error} onRetry=${load} />
    ${state.loading && !w && html`<div class="card empty"><${Spinner} label="Loading wallet…" /></div>`}
    ${w &&
    html`<div class="card card-pad">
      <dl class="details">
        <dt>Address</dt><dd><${Hex} value=${w.address} /></dd>
        <dt>Balance</dt><dd><span class="amount" title=${`${w.balance_wei} wei`} data-testid="wallet-page-balance">${w.balance_eth} ETH</span></dd>
        <dt>Next nonce</dt><dd>${String(w.nonce)}</dd>
        <dt>Wallet id</dt><dd><${Hex} value=${w.id} /></dd>
        <dt>Created</dt><dd><${Time} iso=${w.created_at} /></dd>
        <dt>History</dt>
        <dd class="row-links">
          <a href=${withQuery('#/transactions', { wallet_id: w.id })}>Transactions</a>
          <a href=${withQuery('#/events', { wallet_id: w.id })}>Events</a>
          <a href=${withQuery('#/strategies', { agent_id: w.agent_id })}>Strategies</a>
        </dd>
      </dl>
    </div>`}
    ${!(state.error && state.error.status === 404) && html`<${WalletPolicy} walletId=${id} />`}
  </section>`;
}
