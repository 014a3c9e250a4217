// A strategy's sends over time as an inline SVG bar chart: one bar per sent run at its slot time,
// its height the amount sent; skipped and failed runs are dots under the axis. Drawn by hand so
// the UI needs no chart library (and stays within the CSP: no inline styles, classes only).
import { formatEth, formatTime, html } from './ui.js';

// viewBox units; the SVG scales to the card's width, so text stays near its nominal size on a laptop.
const W = 960;
const H = 200;
const M = { top: 14, right: 16, bottom: 36, left: 84 };
const PLOT_W = W - M.left - M.right;
const PLOT_H = H - M.top - M.bottom;
const BASE_Y = M.top + PLOT_H;

/** `runs`: StrategyRunView[] in any order (the API sends newest first). */
export function SendsChart({ runs }) {
  const sent = runs.filter((r) => r.outcome === 'sent');
  if (sent.length === 0) {
    return html`<p class="muted chart-empty" data-testid="sends-chart-empty">
      ${runs.length ? 'No sends among these runs yet.' : 'No runs yet.'}
    </p>`;
  }
  const times = runs.map((r) => Date.parse(r.slot_at));
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const maxWei = sent.reduce((m, r) => (BigInt(r.amount.wei) > m ? BigInt(r.amount.wei) : m), 0n);
  const totalWei = sent.reduce((s, r) => s + BigInt(r.amount.wei), 0n);
  // Bars thin out as runs crowd in, but stay visible and never merge into a block.
  const barW = Math.max(2, Math.min(18, (PLOT_W / runs.length) * 0.6));
  const x = (iso) => {
    const t = Date.parse(iso);
    const span = PLOT_W - barW;
    return M.left + barW / 2 + (t1 === t0 ? span / 2 : ((t - t0) / (t1 - t0)) * span);
  };
  // Heights are a ratio, so Number precision is plenty for drawing; labels stay exact.
  const y = (wei) => BASE_Y - (Number(BigInt(wei)) / Number(maxWei)) * PLOT_H;
  const first = new Date(t0).toISOString();
  const last = new Date(t1).toISOString();
  const summary = `${sent.length} send${sent.length === 1 ? '' : 's'}, ${formatEth(totalWei)} ETH in all, from ${formatTime(first)} to ${formatTime(last)}`;
  const skippedOrFailed = runs.filter((r) => r.outcome !== 'sent');
  const sameDay = formatTime(first, { dateOnly: true }) === formatTime(last, { dateOnly: true });

  return html`<figure class="chart" data-testid="sends-chart">
    <svg viewBox=${`0 0 ${W} ${H}`} role="img" aria-label=${`Sends over time: ${summary}`} class="chart-svg">
      <g class="chart-grid">
        ${[0, 0.5, 1].map((f) => {
          const gy = BASE_Y - f * PLOT_H;
          const label = f === 0 ? '0' : formatEth(f === 1 ? maxWei : maxWei / 2n);
          return html`<line x1=${M.left} x2=${W - M.right} y1=${gy} y2=${gy} class=${f === 0 ? 'chart-baseline' : ''} />
            <text x=${M.left - 8} y=${gy} dy="0.32em" text-anchor="end" class="chart-label">${label}</text>`;
        })}
        <text x="12" y=${M.top + PLOT_H / 2} dy="0.32em" class="chart-label" text-anchor="middle" transform=${`rotate(-90 12 ${M.top + PLOT_H / 2})`}>ETH</text>
      </g>
      <g>
        ${sent.map(
          (r) => html`<rect
            class="chart-bar"
            data-testid="chart-bar"
            x=${x(r.slot_at) - barW / 2}
            y=${y(r.amount.wei)}
            width=${barW}
            height=${Math.max(1, BASE_Y - y(r.amount.wei))}
          ><title>${`${formatTime(r.slot_at)}: sent ${r.amount.eth} ETH`}</title></rect>`,
        )}
        ${skippedOrFailed.map(
          (r) => html`<circle class=${`chart-dot chart-dot-${r.outcome}`} cx=${x(r.slot_at)} cy=${BASE_Y + 8} r="3"
            ><title>${`${formatTime(r.slot_at)}: ${r.outcome}${r.reason || r.error_code ? ` (${r.reason || r.error_code})` : ''}`}</title></circle
          >`,
        )}
      </g>
      <g class="chart-label">
        <text x=${M.left} y=${H - 6}>${formatTime(first)}</text>
        ${t1 !== t0 && html`<text x=${W - M.right} y=${H - 6} text-anchor="end">${formatTime(last, { timeOnly: sameDay })}</text>`}
      </g>
    </svg>
    <figcaption class="chart-legend small muted">
      <span><span class="legend-swatch legend-sent" aria-hidden="true"></span>sent (height: amount)</span>
      ${skippedOrFailed.some((r) => r.outcome === 'skipped') &&
      html`<span><span class="legend-dot legend-skipped" aria-hidden="true"></span>skipped</span>`}
      ${skippedOrFailed.some((r) => r.outcome === 'failed') &&
      html`<span><span class="legend-dot legend-failed" aria-hidden="true"></span>failed</span>`}
      <span>${summary}</span>
    </figcaption>
  </figure>`;
}
