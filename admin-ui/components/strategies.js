// Strategies: the recurring sends the worker runs. The list filters by status (and by agent when
// reached from the Wallets page); a row opens to the strategy's detail: params, a chart of its
// sends, the run history and Start/Stop (for roles that may write). `#/strategies?id=…` shows one
// strategy on its own page. A paused strategy (its responsible key was revoked or expired) shows
// why and whose key it was; resuming it makes the signed-in key responsible.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, withQuery } from '../api.js';
import { SendsChart } from './sends-chart.js';
import { can } from './access.js';
import {
  CopyButton,
  ErrorBox,
  EthAmount,
  FilterChip,
  Hex,
  LoadMore,
  Spinner,
  StatusBadge,
  StatusFilter,
  STRATEGY_STATUSES,
  Time,
  asText,
  expandableRow,
  html,
  shortHex,
  useOpenRows,
  usePagedList,
} from './ui.js';

export function StrategiesView({ params, setParams }) {
  return params.id
    ? html`<${StrategyPage} id=${params.id} />`
    : html`<${StrategyList} params=${params} setParams=${setParams} />`;
}

function StrategyList({ params, setParams }) {
  const status = params.status ?? '';
  const agentId = params.agent_id ?? '';
  const list = usePagedList(async (cursor, signal) => {
    const body = await api.listStrategies({ cursor, status, agent_id: agentId }, signal);
    return { items: body.strategies ?? [], next: body.next_cursor };
  }, `${status}|${agentId}`);
  const [isOpen, toggle] = useOpenRows();

  return html`<section class="page">
    <header class="page-header">
      <div>
        <h1>Strategies</h1>
        <p class="muted page-sub">Recurring sends run by the worker. Click a row for its runs, a chart of its sends, and Start / Stop.</p>
      </div>
      <div class="page-actions">
        ${list.loading && list.items.length > 0 && html`<${Spinner} label="Refreshing…" />`}
        <button type="button" class="btn" onClick=${list.reload} data-testid="refresh-button">Refresh</button>
      </div>
    </header>
    <div class="filters">
      <${StatusFilter} value=${status} statuses=${STRATEGY_STATUSES} onChange=${(v) => setParams({ ...params, status: v })} />
      ${agentId && html`<${FilterChip} label="Agent" value=${agentId} onClear=${() => setParams({ ...params, agent_id: '' })} />`}
    </div>
    <${ErrorBox} error=${list.error} onRetry=${list.reload} />
    <div class="card">
      <div class="table-scroll">
        <table class="table table-clickable" data-testid="strategies-table">
          <thead>
            <tr>
              <th class="chevron-col"><span class="sr-only">Expand</span></th>
              <th>Label</th>
              <th>Kind</th>
              <th>Agent</th>
              <th>Status</th>
              <th>Next run</th>
              <th class="num" title="Sent in the last 24 hours">Spent 24h (ETH)</th>
              <th class="num" title="Runs sent / skipped / failed">Sent / skipped / failed</th>
              <th><span class="sr-only">Links</span></th>
            </tr>
          </thead>
          <tbody>
            ${list.items.map(
              (s) => html`<${StrategyRow} key=${s.id} s=${s} open=${isOpen(s.id)} onToggle=${() => toggle(s.id)} onChanged=${list.reload} />`,
            )}
          </tbody>
        </table>
      </div>
      ${list.loading && list.items.length === 0 && html`<div class="empty"><${Spinner} label="Loading strategies…" /></div>`}
      ${!list.loading && !list.error && list.items.length === 0 &&
      html`<div class="empty" data-testid="empty-state">
        ${status || agentId ? 'No strategies match these filters.' : html`No strategies yet. Agents create one with <code>create_strategy_dca</code>.`}
      </div>`}
      ${list.items.length > 0 && html`<${LoadMore} list=${list} noun="strategy" plural="strategies" />`}
    </div>
  </section>`;
}

// The row toggles on click; following its link shouldn't also toggle it.
const keepRowClosed = (e) => e.stopPropagation();

function StrategyRow({ s, open, onToggle, onChanged }) {
  return html`
    <tr ...${expandableRow(open, onToggle)} data-testid="strategy-row" data-strategy-id=${s.id} data-label=${s.label}>
      <td class="chevron-col"><span class=${`chevron ${open ? 'open' : ''}`} aria-hidden="true">▸</span></td>
      <td class="strong">${s.label}</td>
      <td><span class="tag">${s.kind}</span></td>
      <td class="nowrap">${s.agent_id}</td>
      <td class="nowrap">
        <${StatusBadge} status=${s.status} testid="strategy-status" />
        ${s.end_reason && html` <span class="muted small" title="why it ended">${s.end_reason}</span>`}
        ${s.status === 'paused' && s.paused_reason &&
        html` <span class="muted small" title=${`paused: its responsible key ${s.created_by ?? ''} is no longer valid`} data-testid="strategy-paused-reason">${s.paused_reason}</span>`}
      </td>
      <td><${Time} iso=${s.next_run_at} /></td>
      <td class="num"><${EthAmount} amount=${s.spent_24h} /></td>
      <td class="num nowrap" data-testid="strategy-runs"><${RunCounts} runs=${s.runs} /></td>
      <td class="row-links">
        <a href=${withQuery('#/strategies', { id: s.id })} onClick=${keepRowClosed} title=${`Open ${s.label} on its own page`}>Open</a>
      </td>
    </tr>
    ${open &&
    html`<tr class="detail-row">
      <td colspan="9"><${StrategyDetail} strategy=${s} onChanged=${onChanged} /></td>
    </tr>`}
  `;
}

function RunCounts({ runs }) {
  return html`<span title=${`${runs.sent} sent, ${runs.skipped} skipped, ${runs.failed} failed`}>
    ${runs.sent} / ${runs.skipped} / <span class=${runs.failed ? 'error-text' : ''}>${runs.failed}</span>
  </span>`;
}

/** `#/strategies?id=…`: one strategy, fetched by id. */
function StrategyPage({ id }) {
  const [state, setState] = useState({ strategy: null, loading: true, error: null });
  const abort = useRef(null);
  const load = async () => {
    abort.current?.abort();
    const ac = new AbortController();
    abort.current = ac;
    setState((s) => ({ ...s, loading: true, error: null }));
    try {
      const body = await api.getStrategy(id, ac.signal);
      setState({ strategy: body.strategy, loading: false, error: null });
    } catch (err) {
      if (err && err.name === 'AbortError') return;
      setState((s) => ({ ...s, loading: false, error: err }));
    }
  };
  useEffect(() => {
    load();
    return () => abort.current?.abort();
  }, [id]);
  const s = state.strategy;

  return html`<section class="page">
    <header class="page-header">
      <div>
        <p class="page-crumb small"><a href="#/strategies" data-testid="back-to-strategies">← All strategies</a></p>
        <h1>${s ? s.label : 'Strategy'}</h1>
        ${s && html`<p class="muted page-sub"><span class="tag">${s.kind}</span> for <span class="strong">${s.agent_id}</span></p>`}
      </div>
      <div class="page-actions">
        ${state.loading && s && html`<${Spinner} label="Refreshing…" />`}
        <button type="button" class="btn" onClick=${load} data-testid="refresh-button">Refresh</button>
      </div>
    </header>
    <${ErrorBox} error=${state.error} onRetry=${load} />
    ${state.loading && !s && html`<div class="card empty"><${Spinner} label="Loading strategy…" /></div>`}
    ${s &&
    html`<div class="card card-pad">
      <${StrategyDetail} strategy=${s} onChanged=${(updated) => setState({ strategy: updated, loading: false, error: null })} />
    </div>`}
  </section>`;
}

/**
 * Params, facts, Start/Stop, the sends chart and the run history of one strategy. `onChanged`
 * receives the strategy as Start/Stop returned it.
 */
function StrategyDetail({ strategy: s, onChanged }) {
  const runs = usePagedList(async (cursor, signal) => {
    const body = await api.listStrategyRuns(s.id, { cursor }, signal);
    return { items: body.runs ?? [], next: body.next_cursor };
  }, s.id);
  // Every tick and every start/stop moves updated_at: that is when the runs can have changed.
  const seen = useRef(s.updated_at);
  useEffect(() => {
    if (seen.current === s.updated_at) return;
    seen.current = s.updated_at;
    runs.reload();
  }, [s.updated_at]);

  const [busy, setBusy] = useState(null);
  const [actionError, setActionError] = useState(null);
  // Start/Stop only for roles that may write (a viewer key reads).
  const mayWrite = can('api.write');
  const act = async (verb) => {
    setBusy(verb);
    setActionError(null);
    try {
      const body = await (verb === 'start' ? api.startStrategy(s.id) : api.stopStrategy(s.id));
      onChanged(body.strategy);
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy(null);
    }
  };

  return html`<div class="strategy-detail" data-testid="strategy-detail" data-strategy-id=${s.id}>
    <div class="detail-toolbar">
      <span class="toolbar-item"><span class="muted">Status</span> <${StatusBadge} status=${s.status} testid="detail-status" /></span>
      ${s.status === 'active' && mayWrite &&
      html`<button type="button" class="btn btn-small" onClick=${() => act('stop')} disabled=${busy !== null} aria-label=${`Stop strategy ${s.label}`} data-testid="strategy-stop">
        ${busy === 'stop' ? 'Stopping…' : 'Stop'}
      </button>`}
      ${(s.status === 'stopped' || s.status === 'paused') && mayWrite &&
      html`<button type="button" class="btn btn-small btn-primary" onClick=${() => act('start')} disabled=${busy !== null} aria-label=${`${s.status === 'paused' ? 'Resume' : 'Start'} strategy ${s.label}`} data-testid="strategy-start">
        ${busy === 'start' ? 'Starting…' : s.status === 'paused' ? 'Resume' : 'Start'}
      </button>`}
      ${s.status === 'paused' &&
      html`<span class="muted small" data-testid="strategy-paused-note">
        Paused (<code>${s.paused_reason ?? 'unknown'}</code>): its responsible key <code>${s.created_by ?? '—'}</code>
        ${s.paused_reason === 'key_expired' ? ' expired' : ' was revoked'}.${mayWrite ? ' Resuming makes your key responsible for it.' : ''}
      </span>`}
      ${s.status === 'completed' && html`<span class="muted small">Completed (${s.end_reason ?? 'no reason recorded'}); create a new strategy to run it again.</span>`}
      <${ErrorBox} error=${actionError} compact />
    </div>
    <div class="detail-columns">
      <div>
        <h3>Strategy</h3>
        <dl class="details">
          <dt>Strategy id</dt><dd><${Hex} value=${s.id} /></dd>
          <dt>Wallet</dt><dd><${Hex} value=${s.from_address} /> <span class="muted small nowrap">${s.agent_id}</span></dd>
          <dt>Next run</dt><dd><${Time} iso=${s.next_run_at} /></dd>
          <dt>Last run</dt><dd><${Time} iso=${s.last_run_at} /></dd>
          <dt>Runs</dt><dd><${RunCounts} runs=${s.runs} /> <span class="muted small">sent / skipped / failed</span></dd>
          <dt>Spent, last 24 h</dt><dd><${EthAmount} amount=${s.spent_24h} unit /></dd>
          <dt>Spent in all</dt><dd><${EthAmount} amount=${s.spent_total} unit /></dd>
          <dt>Origin</dt><dd><span class="tag">${s.origin}</span></dd>
          <dt title="The key that created the strategy or last resumed it; revoking or expiring it pauses the strategy">Responsible key</dt>
          <dd data-testid="strategy-created-by">${s.created_by ? html`<code>${s.created_by}</code>` : html`<span class="muted">none (imported)</span>`}</dd>
          <dt>Created</dt><dd><${Time} iso=${s.created_at} /></dd>
          <dt>Updated</dt><dd><${Time} iso=${s.updated_at} /></dd>
        </dl>
      </div>
      <div>
        <h3>Params</h3>
        <dl class="details" data-testid="strategy-params">
          ${Object.entries(s.params ?? {}).map(([k, v]) => html`<dt><code>${k}</code></dt><dd><${ParamValue} value=${v} /></dd>`)}
        </dl>
      </div>
    </div>
    <h3 class="detail-heading">Sends over time</h3>
    ${runs.loading && runs.items.length === 0 ? html`<${Spinner} label="Loading runs…" />` : html`<${SendsChart} runs=${runs.items} />`}
    <h3 class="detail-heading">Run history</h3>
    <${ErrorBox} error=${runs.error} onRetry=${runs.reload} />
    ${runs.items.length > 0 &&
    html`<div class="card">
      <div class="table-scroll">
        <table class="table" data-testid="runs-table">
          <thead>
            <tr>
              <th>Slot</th>
              <th>Source</th>
              <th>Outcome</th>
              <th>Reason / error</th>
              <th class="num">Amount (ETH)</th>
              <th>Transactions</th>
            </tr>
          </thead>
          <tbody>
            ${runs.items.map((r) => html`<${RunRow} key=${r.id} run=${r} walletId=${s.wallet_id} />`)}
          </tbody>
        </table>
      </div>
      <${LoadMore} list=${runs} noun="run" />
    </div>`}
  </div>`;
}

function RunRow({ run: r, walletId }) {
  return html`<tr data-testid="run-row" data-outcome=${r.outcome}>
    <td><${Time} iso=${r.slot_at} /></td>
    <td><span class="tag">${r.source}</span></td>
    <td><${StatusBadge} status=${r.outcome} testid="run-outcome" /></td>
    <td class="run-reason">
      ${r.error_code && html`<code class="error-code-inline">${r.error_code}</code> `}
      ${r.reason && html`<code>${r.reason}</code> `}
      ${r.detail ? html`<span class=${r.error_code ? 'error-text' : 'muted'}>${asText(r.detail)}</span>` : !r.reason && !r.error_code && html`<span class="muted">—</span>`}
    </td>
    <td class="num">${r.outcome === 'sent' ? html`<${EthAmount} amount=${r.amount} />` : html`<span class="muted">—</span>`}</td>
    <td>
      ${r.transactions.length === 0
        ? html`<span class="muted">—</span>`
        : r.transactions.map(
            (t) => html`<span class="hex run-tx">
              <a
                href=${withQuery('#/transactions', { wallet_id: walletId, open: t.id })}
                title=${`${t.tx_hash} · ${t.value_eth} ETH to ${t.to_address} · ${t.status}`}
                data-testid="run-tx-link"
                data-tx-hash=${t.tx_hash}
                ><code>${shortHex(t.tx_hash)}</code></a
              >
              <${CopyButton} value=${t.tx_hash} />
              <${StatusBadge} status=${t.status} />
            </span>`,
          )}
    </td>
  </tr>`;
}

const ADDRESS = /^0x[0-9a-f]{40}$/i;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

/** A kind's param as the API shows it: `{eth, wei}` amounts, addresses, times, lists (micro_tip items). */
function ParamValue({ value: v }) {
  if (v === null || v === undefined) return html`<span class="muted">—</span>`;
  if (Array.isArray(v)) return html`<ul class="param-list">${v.map((item) => html`<li><${ParamValue} value=${item} /></li>`)}</ul>`;
  if (typeof v === 'object') {
    if (typeof v.eth === 'string' && typeof v.wei === 'string') return html`<${EthAmount} amount=${v} unit />`;
    return html`<span class="param-fields">
      ${Object.entries(v).map(([k, x]) => html`<span><span class="muted">${k}</span> <${ParamValue} value=${x} /></span>`)}
    </span>`;
  }
  if (typeof v === 'string' && ADDRESS.test(v)) return html`<${Hex} value=${v} />`;
  if (typeof v === 'string' && ISO_TIME.test(v)) return html`<${Time} iso=${v} />`;
  return html`<span>${String(v)}</span>`;
}
