// Transactions, newest first, filtered by status and wallet (filters live in the URL hash so
// Back and bookmarks work). `open=<transaction id>` starts with that row expanded (links from a
// strategy's run history).
import { api } from '../api.js';
import {
  StatusFilter,
  expandableRow,
  useOpenRows,
  ChainLabel,
  ErrorBox,
  FilterChip,
  Hex,
  LoadMore,
  Spinner,
  StatusBadge,
  TRANSACTION_STATUSES,
  Time,
  asText,
  html,
  shortHex,
  usePagedList,
} from './ui.js';

export function TransactionsView({ params, setParams }) {
  const status = params.status ?? '';
  const walletId = params.wallet_id ?? '';
  const list = usePagedList(async (cursor, signal) => {
    const body = await api.listTransactions({ cursor, status, wallet_id: walletId }, signal);
    return { items: body.transactions ?? [], next: body.next_cursor };
  }, `${status}|${walletId}`);
  const [isOpen, toggle] = useOpenRows(params.open ? [params.open] : []);

  return html`<section class="page">
    <header class="page-header">
      <div>
        <h1>Transactions</h1>
        <p class="muted page-sub">Every transfer, from queued to confirmed. Click a row for details.</p>
      </div>
      <div class="page-actions">
        ${list.loading && list.items.length > 0 && html`<${Spinner} label="Refreshing…" />`}
        <button type="button" class="btn" onClick=${list.reload} data-testid="refresh-button">Refresh</button>
      </div>
    </header>
    <div class="filters">
      <${StatusFilter} value=${status} statuses=${TRANSACTION_STATUSES} onChange=${(v) => setParams({ ...params, status: v })} />
      ${walletId &&
      html`<${FilterChip} label="Wallet" value=${walletId} onClear=${() => setParams({ ...params, wallet_id: '' })} />`}
    </div>
    <${ErrorBox} error=${list.error} onRetry=${list.reload} />
    <div class="card">
      <div class="table-scroll">
        <table class="table table-clickable" data-testid="transactions-table">
          <thead>
            <tr>
              <th>Created</th>
              <th>Status</th>
              <th>Agent</th>
              <th>From → To</th>
              <th class="num">Value (ETH)</th>
              <th class="num">Nonce</th>
              <th>Tx hash</th>
              <th class="num">Block</th>
            </tr>
          </thead>
          <tbody>
            ${list.items.map((tx) => html`<${TxRow} key=${tx.id} tx=${tx} open=${isOpen(tx.id)} onToggle=${() => toggle(tx.id)} />`)}
          </tbody>
        </table>
      </div>
      ${list.loading && list.items.length === 0 && html`<div class="empty"><${Spinner} label="Loading transactions…" /></div>`}
      ${!list.loading && !list.error && list.items.length === 0 &&
      html`<div class="empty" data-testid="empty-state">No transactions${status || walletId ? ' match these filters' : ' yet'}.</div>`}
      ${list.items.length > 0 && html`<${LoadMore} list=${list} noun="transaction" />`}
    </div>
  </section>`;
}

function TxRow({ tx, open, onToggle }) {
  return html`
    <tr
      ...${expandableRow(open, onToggle)}
      data-testid="tx-row"
      data-tx-hash=${tx.tx_hash ?? ''}
      data-tx-id=${tx.id}
    >
      <td><${Time} iso=${tx.created_at} /></td>
      <td class="nowrap">
        <${StatusBadge} status=${tx.status} testid="tx-status" />
        ${tx.error && html`<span class="error-dot" title=${asText(tx.error)} aria-label="has error">!</span>`}
      </td>
      <td class="strong nowrap">${tx.agent_id}</td>
      <td class="nowrap">
        <code title=${tx.from_address}>${shortHex(tx.from_address)}</code>
        <span class="arrow" aria-hidden="true">→</span>
        <code title=${tx.to_address}>${shortHex(tx.to_address)}</code>
      </td>
      <td class="num"><span class="amount" title=${`${tx.value_wei} wei`}>${tx.value_eth}</span></td>
      <td class="num">${tx.nonce ?? '—'}</td>
      <td>${tx.tx_hash ? html`<${Hex} value=${tx.tx_hash} short />` : html`<span class="muted">not yet</span>`}</td>
      <td class="num">${tx.block_number ?? html`<span class="muted">—</span>`}</td>
    </tr>
    ${open &&
    html`<tr class="detail-row" data-testid="tx-detail">
      <td colspan="8">
        <dl class="details">
          <dt>Transaction id</dt><dd><${Hex} value=${tx.id} /></dd>
          <dt>Wallet id</dt><dd><${Hex} value=${tx.wallet_id} /></dd>
          <dt>Chain</dt><dd><${ChainLabel} chainId=${tx.chain_id} /></dd>
          <dt>From</dt><dd><${Hex} value=${tx.from_address} /></dd>
          <dt>To</dt><dd><${Hex} value=${tx.to_address} /></dd>
          <dt>Value</dt><dd><span class="amount">${tx.value_eth} ETH</span> <span class="muted">(${tx.value_wei} wei)</span></dd>
          <dt>Tx hash</dt><dd><${Hex} value=${tx.tx_hash} /></dd>
          <dt>Gas used</dt><dd>${tx.gas_used ?? html`<span class="muted">—</span>`}</dd>
          <dt>Updated</dt><dd><${Time} iso=${tx.updated_at} /></dd>
          ${tx.error && html`<dt>Error</dt><dd class="error-text">${asText(tx.error)}</dd>`}
        </dl>
      </td>
    </tr>`}
  `;
}
