// Small shared pieces: the htm binding, badges, copy buttons, error boxes, formatting, and the
// paged-list hook every table uses.
import { h } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';

export const html = htm.bind(h);

// Well-known chains get a name; anything else is shown by id alone.
const CHAIN_NAMES = {
  1: 'Ethereum',
  10: 'Optimism',
  137: 'Polygon',
  8453: 'Base',
  17000: 'Holesky',
  42161: 'Arbitrum One',
  84532: 'Base Sepolia',
  31337: 'Local dev',
  11155111: 'Sepolia',
};

export function ChainLabel({ chainId }) {
  const name = CHAIN_NAMES[chainId];
  return name
    ? html`<span class="nowrap" title=${`chain id ${chainId}`}>${name}</span>`
    : html`<span class="nowrap" title="chain id">${String(chainId ?? '—')}</span>`;
}

const pad = (n) => String(n).padStart(2, '0');

/** Local `YYYY-MM-DD HH:MM:SS` (sortable, unambiguous), or its date or time part; null if unparsable. */
export function formatTime(iso, { dateOnly = false, timeOnly = false } = {}) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return null;
  const date = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return dateOnly ? date : timeOnly ? time : `${date} ${time}`;
}

/** A {@link formatTime} timestamp; the exact ISO timestamp is in the tooltip. */
export function Time({ iso, dateOnly = false, timeOnly = false }) {
  if (!iso) return html`<span class="muted">—</span>`;
  const text = formatTime(iso, { dateOnly, timeOnly });
  if (text === null) return html`<span>${iso}</span>`;
  return html`<time datetime=${iso} title=${iso} class="nowrap">${text}</time>`;
}

const WEI_PER_ETH = 10n ** 18n;

/** Decimal ETH text of a wei amount (bigint), exact: no trip through a float. */
export function formatEth(wei) {
  const sign = wei < 0n ? '-' : '';
  const abs = wei < 0n ? -wei : wei;
  const frac = (abs % WEI_PER_ETH).toString().padStart(18, '0').replace(/0+$/, '');
  return `${sign}${abs / WEI_PER_ETH}${frac ? `.${frac}` : ''}`;
}

/** An `{eth, wei}` amount from the API: the decimal ETH, with the exact wei in the tooltip. */
export function EthAmount({ amount, unit = false }) {
  if (!amount) return html`<span class="muted">—</span>`;
  return html`<span class="amount" title=${`${amount.wei} wei`}>${amount.eth}${unit ? ' ETH' : ''}</span>`;
}

/** `0x1234…abcd` for hashes and addresses in narrow columns. */
export function shortHex(value, head = 6, tail = 4) {
  if (typeof value !== 'string') return '';
  return value.length > head + tail + 1 ? `${value.slice(0, head)}…${value.slice(-tail)}` : value;
}

/** Writes text to the clipboard; falls back to execCommand where the async API needs HTTPS. */
async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const ta = document.createElement('textarea');
  ta.value = text;
  ta.setAttribute('readonly', '');
  ta.className = 'offscreen';
  document.body.appendChild(ta);
  ta.select();
  try {
    if (!document.execCommand('copy')) throw new Error('copy refused');
  } finally {
    ta.remove();
  }
}

export function CopyButton({ value, label = 'Copy' }) {
  const [state, setState] = useState('idle');
  const timer = useRef(0);
  useEffect(() => () => clearTimeout(timer.current), []);
  const onClick = async (e) => {
    e.stopPropagation(); // rows toggle on click; copying shouldn't
    try {
      await copyText(value);
      setState('copied');
    } catch {
      setState('failed');
    }
    clearTimeout(timer.current);
    timer.current = setTimeout(() => setState('idle'), 1500);
  };
  const text = state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed' : label;
  return html`<button
    type="button"
    class=${`copy-btn ${state}`}
    onClick=${onClick}
    title=${`Copy ${value}`}
    aria-label=${`${label} ${value}`}
    data-testid="copy-button"
  >
    ${state === 'copied' ? checkIcon() : copyIcon()}<span class="sr-only">${text}</span>
  </button>`;
}

// Functions, not constants: a vnode must not be mounted in two places at once.
const copyIcon = () => html`<svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
  <rect x="5" y="5" width="9" height="9" rx="1.5" fill="none" stroke="currentColor" stroke-width="1.4" />
  <path d="M11 5V3.5A1.5 1.5 0 0 0 9.5 2h-6A1.5 1.5 0 0 0 2 3.5v6A1.5 1.5 0 0 0 3.5 11H5" fill="none" stroke="currentColor" stroke-width="1.4" />
</svg>`;
const checkIcon = () => html`<svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
  <path d="M3 8.5l3 3 7-7" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" />
</svg>`;

/** An address or hash in monospace with a copy button; `short` abbreviates the visible text. */
export function Hex({ value, short = false }) {
  if (!value) return html`<span class="muted">—</span>`;
  return html`<span class="hex">
    <code title=${value}>${short ? shortHex(value) : value}</code>
    <${CopyButton} value=${value} />
  </span>`;
}

const TX_STATUSES = ['queued', 'broadcast', 'mined', 'confirmed', 'reverted', 'failed', 'replaced', 'cancelled'];
export const TRANSACTION_STATUSES = TX_STATUSES;
export const EVENT_STATUSES = ['ok', 'error', 'refused'];
export const STRATEGY_STATUSES = ['active', 'paused', 'stopped', 'completed'];

/** A colored status pill; the color class is `status-<value>` (see styles.css). */
export function StatusBadge({ status, testid }) {
  const s = String(status ?? 'unknown');
  return html`<span class=${`badge status-${s.replace(/[^a-z_-]/gi, '')}`} data-testid=${testid}>${s}</span>`;
}

/** Shows an API error as code + message, with details when the server sent any. */
export function ErrorBox({ error, compact = false, onRetry }) {
  if (!error) return null;
  const code = error.code || 'ERROR';
  const message = error.message || String(error);
  const details = error.details;
  if (compact) {
    return html`<span class="error-inline" title=${`${code}: ${message}`} data-testid="error-inline">
      <code>${code}</code> ${message}
    </span>`;
  }
  return html`<div class="error-box" role="alert" data-testid="error-box">
    <div class="error-head">
      <code class="error-code">${code}</code>
      <span class="error-message">${message}</span>
      ${onRetry && html`<button type="button" class="btn btn-small" onClick=${onRetry}>Retry</button>`}
    </div>
    ${details !== undefined && details !== null &&
    html`<pre class="error-details">${JSON.stringify(details, null, 2)}</pre>`}
  </div>`;
}

export function Spinner({ label = 'Loading…' }) {
  return html`<span class="spinner-wrap" role="status"><span class="spinner" aria-hidden="true"></span>${label}</span>`;
}

/** Pretty JSON for request/response bodies; strings that hold JSON are parsed first. */
export function JsonView({ value }) {
  let v = value;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      return html`<pre class="json">${v}</pre>`;
    }
  }
  if (v === undefined || v === null) return html`<pre class="json muted">null</pre>`;
  return html`<pre class="json">${JSON.stringify(v, null, 2)}</pre>`;
}

/**
 * Loads a cursor-paged list. `fetchPage(cursor, signal)` returns `{ items, next }`; `key` names
 * the current filters, and a new key starts over (stale responses are dropped).
 */
export function usePagedList(fetchPage, key) {
  const [state, setState] = useState({ items: [], next: null, loading: true, loadingMore: false, error: null, moreError: null });
  const fetchRef = useRef(fetchPage);
  fetchRef.current = fetchPage;
  const gen = useRef(0);
  const ctrl = useRef(null);

  const load = useCallback(async (cursor, { clear = false } = {}) => {
    if (!cursor) {
      // A fresh first page supersedes anything in flight.
      gen.current += 1;
      ctrl.current?.abort();
    }
    const my = gen.current;
    const ac = new AbortController();
    if (!cursor) ctrl.current = ac;
    setState((s) =>
      cursor
        ? { ...s, loadingMore: true, moreError: null }
        : { ...s, items: clear ? [] : s.items, next: clear ? null : s.next, loading: true, error: null, moreError: null },
    );
    try {
      const page = await fetchRef.current(cursor, ac.signal);
      if (my !== gen.current) return;
      setState((s) => {
        let items = page.items;
        if (cursor) {
          // Rows can shift between pages while new ones arrive; don't show one twice.
          const seen = new Set(s.items.map((i) => i.id));
          items = s.items.concat(page.items.filter((i) => !seen.has(i.id)));
        }
        return { ...s, items, next: page.next ?? null, loading: false, loadingMore: false, error: null, moreError: null };
      });
    } catch (err) {
      if (my !== gen.current || (err && err.name === 'AbortError')) return;
      setState((s) => (cursor ? { ...s, loadingMore: false, moreError: err } : { ...s, loading: false, error: err }));
    }
  }, []);

  useEffect(() => {
    load(null, { clear: true });
    return () => {
      gen.current += 1;
      ctrl.current?.abort();
    };
  }, [key]);

  return {
    ...state,
    reload: () => load(null),
    loadMore: () => {
      if (state.next && !state.loadingMore) load(state.next);
    },
  };
}

/** The "Load more" footer under a paged table. */
export function LoadMore({ list, noun, plural = `${noun}s` }) {
  const count = list.items.length;
  return html`<div class="table-footer">
    <span class="muted">${count} ${count === 1 ? noun : plural} shown${list.next ? '' : count ? ' · end of list' : ''}</span>
    ${list.moreError && html`<${ErrorBox} error=${list.moreError} compact />`}
    ${list.next &&
    html`<button type="button" class="btn" onClick=${list.loadMore} disabled=${list.loadingMore} data-testid="load-more">
      ${list.loadingMore ? 'Loading…' : 'Load more'}
    </button>`}
  </div>`;
}

/** Which rows of a table are expanded: `[isOpen(id), toggle(id)]`; `initial` ids start open. */
export function useOpenRows(initial = []) {
  const [open, setOpen] = useState(() => new Set(initial));
  const toggle = (id) =>
    setOpen((s) => {
      const n = new Set(s);
      n.has(id) ? n.delete(id) : n.add(id);
      return n;
    });
  return [(id) => open.has(id), toggle];
}

/**
 * Props that make a table row expand on click, Enter or Space (spread them on the <tr>).
 * Selecting text to copy it does not toggle the row.
 */
export function expandableRow(open, onToggle) {
  return {
    class: open ? 'row-open' : '',
    tabindex: '0',
    'aria-expanded': open ? 'true' : 'false',
    onClick: () => {
      if (!String(window.getSelection() ?? '')) onToggle();
    },
    onKeyDown: (e) => {
      if (e.target === e.currentTarget && (e.key === 'Enter' || e.key === ' ')) {
        e.preventDefault();
        onToggle();
      }
    },
  };
}

/** Status filter: a labelled select of `statuses`, "" meaning all. */
export function StatusFilter({ value, statuses, onChange }) {
  return html`<label class="field-inline">
    <span>Status</span>
    <select value=${value} onChange=${(e) => onChange(e.currentTarget.value)} data-testid="status-filter">
      <option value="">All</option>
      ${statuses.map((s) => html`<option value=${s}>${s}</option>`)}
    </select>
  </label>`;
}

/** A removable chip for a filter set from elsewhere (e.g. a wallet picked on the Wallets page). */
export function FilterChip({ label, value, onClear }) {
  return html`<span class="chip" title=${value}>
    <span class="chip-label">${label}</span>
    <code>${shortHex(value, 10, 6)}</code>
    <button type="button" class="chip-clear" onClick=${onClear} aria-label=${`Clear ${label} filter`}>×</button>
  </span>`;
}

/** Text for a field that is normally a string but might arrive as an object. */
export function asText(v) {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export function formatDuration(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}

/** Runs `fn` every `ms` while the tab is visible, and once more when it becomes visible again. */
export function useInterval(fn, ms) {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => {
    const tick = () => {
      if (!document.hidden) ref.current();
    };
    const id = setInterval(tick, ms);
    const onVisible = () => {
      if (!document.hidden) ref.current();
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      clearInterval(id);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [ms]);
}
