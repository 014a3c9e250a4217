/**
 * The admin UI's Strategies view in a real browser (Debian's headless Chromium, see browser.ts)
 * against a real server and worker. A wallet is made and funded over MCP, a dca strategy
 * (0.001 ETH every 2 s) is created through core, and the worker ticks it. The operator then sees
 * it listed as active, opens it to its params, sent runs with tx hashes and a chart of its sends,
 * follows a hash to the Transactions view, stops it and starts it again from the UI (checked over
 * REST and in the database), and opens its own page; a second, capped strategy shows its skips.
 * No console errors; screenshots land in test-artifacts/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { authenticateApiKey } from '../core/auth/api-keys.ts';
import { createStrategy } from '../core/strategies/service.ts';
import { callOk, connectMcp, eventually, freshAddress, startStack, type Stack } from './harness.ts';
import { ARTIFACTS, openBrowser, type BrowserSession } from './browser.ts';

const AGENT = 'ui-strategist';
const LABEL = 'ui-dca';
const CAPPED_LABEL = 'ui-dca-capped';
const AMOUNT_ETH = '0.001';
const MIN_SENT = 2;

interface StrategyBody {
  strategy: { id: string; status: string; next_run_at: string | null };
}

describe('admin UI strategies in headless Chromium', () => {
  let stack: Stack;
  let client: Client | undefined;
  let browser: BrowserSession | undefined;
  let page: Page;
  let strategyId = '';
  let cappedId = '';
  const recipient = freshAddress();

  const db = () => stack.server.ctx.db;
  const runsOf = (id: string, outcome: 'sent' | 'skipped') => db().selectFrom('strategy_runs').select(['id', 'transaction_ids']).where('strategy_id', '=', id).where('outcome', '=', outcome).execute();
  const sentRuns = () => runsOf(strategyId, 'sent');
  const runCount = async () => (await db().selectFrom('strategy_runs').select('id').where('strategy_id', '=', strategyId).execute()).length;
  const restStrategy = async (): Promise<StrategyBody['strategy']> => {
    const res = await fetch(`${stack.url}/api/strategies/${strategyId}`, { headers: { Authorization: `Bearer ${stack.adminKey}` } });
    assert.equal(res.status, 200, `GET /api/strategies/:id answered ${res.status}`);
    return ((await res.json()) as StrategyBody).strategy;
  };
  const dbStatus = async () => (await db().selectFrom('strategies').select('status').where('id', '=', strategyId).executeTakeFirstOrThrow()).status;
  const row = () => page.locator(`[data-testid="strategy-row"][data-strategy-id="${strategyId}"]`);

  before(async () => {
    stack = await startStack();
    client = await connectMcp(stack.url, stack.adminKey, 'streamable');
    await callOk(client, 'spin_up_wallet', { agent_id: AGENT });
    await callOk(client, 'request_faucet_funds', { agent_id: AGENT, amount_eth: '1' });

    const principal = await authenticateApiKey(db(), stack.adminKey);
    assert.ok(principal, 'the admin key authenticates');
    const strategy = await createStrategy(stack.server.ctx, principal, {
      kind: 'dca',
      label: LABEL,
      agent_id: AGENT,
      params: { to_address: recipient, amount_eth: AMOUNT_ETH, interval_seconds: 2 },
    });
    strategyId = strategy.id;
    assert.equal(strategy.status, 'active');
    // A daily cap of one send: it sends once, then skips every slot for the cap.
    const capped = await createStrategy(stack.server.ctx, principal, {
      kind: 'dca',
      label: CAPPED_LABEL,
      agent_id: AGENT,
      params: { to_address: recipient, amount_eth: AMOUNT_ETH, interval_seconds: 2, daily_cap_eth: AMOUNT_ETH },
    });
    cappedId = capped.id;
    await eventually(async () => (await sentRuns()).length >= MIN_SENT, 30_000, `${MIN_SENT} sent runs from the worker`);
    await eventually(async () => (await runsOf(cappedId, 'skipped')).length >= 1, 30_000, 'a skipped run of the capped strategy');

    browser = await openBrowser();
    page = browser.page;
    await page.goto(`${stack.url}/admin`);
    await page.getByTestId('api-key-input').fill(stack.adminKey);
    await page.getByTestId('sign-in-button').click();
    await page.getByTestId('nav-strategies').waitFor();
  });

  after(async () => {
    await browser?.close();
    await client?.close().catch(() => undefined);
    await stack?.close();
  });

  test('the list shows the strategy as active with its kind, agent and run counts; the status filter applies', async () => {
    await page.getByTestId('nav-strategies').click();
    await row().waitFor();
    assert.match(await page.title(), /^Strategies/);
    assert.equal((await row().getByTestId('strategy-status').innerText()).trim(), 'active');
    const text = await row().innerText();
    assert.match(text, new RegExp(LABEL));
    assert.match(text, /\bdca\b/);
    assert.match(text, new RegExp(AGENT));
    const [sent] = (await row().getByTestId('strategy-runs').innerText()).split('/').map((n) => Number(n.trim()));
    assert.ok(sent! >= MIN_SENT, `sent count shown: ${sent}`);

    const filter = page.getByTestId('status-filter');
    await filter.selectOption('stopped');
    await page.getByTestId('empty-state').waitFor();
    assert.equal(await row().count(), 0, 'an active strategy is not listed under stopped');
    assert.match(page.url(), /#\/strategies\?status=stopped$/);
    await filter.selectOption('active');
    await row().waitFor();
    // Back to all, so the row stays listed once it is stopped below.
    await filter.selectOption('');
    await page.waitForURL(/#\/strategies$/);
    await row().waitFor();
  });

  test('the detail shows the params, sent runs with their tx hashes, and a chart with a bar per send', async () => {
    await row().click();
    const detail = page.getByTestId('strategy-detail');
    await detail.waitFor();
    const params = await detail.getByTestId('strategy-params').innerText();
    assert.ok(params.toLowerCase().includes(recipient.toLowerCase()), 'the recipient is in the params');
    assert.match(params, new RegExp(`${AMOUNT_ETH.replace('.', '\\.')} ETH`));
    assert.match(params, /interval_seconds\s+2\b/);

    const sentRows = detail.locator('[data-testid="run-row"][data-outcome="sent"]');
    await sentRows.first().waitFor();
    const shownHashes = await detail.getByTestId('run-tx-link').evaluateAll((links) => links.map((a) => a.getAttribute('data-tx-hash')));
    const txIds = (await sentRuns()).flatMap((r) => r.transaction_ids);
    const dbHashes = (await db().selectFrom('transactions').select('tx_hash').where('id', 'in', txIds).execute()).map((t) => t.tx_hash);
    assert.ok(shownHashes.length >= MIN_SENT, `tx links shown: ${shownHashes.length}`);
    for (const h of shownHashes) assert.ok(dbHashes.includes(h!), `${h} is a transaction of a sent run`);
    assert.match(await sentRows.first().innerText(), new RegExp(AMOUNT_ETH.replace('.', '\\.')));

    const chart = detail.getByTestId('sends-chart');
    assert.equal(await chart.locator('svg').count(), 1);
    const bars = chart.getByTestId('chart-bar');
    assert.equal(await bars.count(), await sentRows.count(), 'one bar per sent run');
    const box = await bars.first().boundingBox();
    assert.ok(box && box.height > 10 && box.width >= 2, `the bar is drawn (${JSON.stringify(box)})`);
    assert.match((await chart.locator('svg').getAttribute('aria-label')) ?? '', /^Sends over time: \d+ sends?, /);
    await page.screenshot({ path: `${ARTIFACTS}admin-strategies.png`, fullPage: true });
  });

  test('Stop stops it (REST and the database agree, no more runs); Start resumes it', async () => {
    const detail = page.getByTestId('strategy-detail');
    await detail.getByTestId('strategy-stop').click();
    await detail.locator('[data-testid="detail-status"]', { hasText: 'stopped' }).waitFor();
    await row().locator('[data-testid="strategy-status"]', { hasText: 'stopped' }).waitFor();
    const stopped = await restStrategy();
    assert.equal(stopped.status, 'stopped');
    assert.equal(stopped.next_run_at, null);
    assert.equal(await dbStatus(), 'stopped');
    // A tick holds the strategy row lock, so once stop has committed no run can follow it.
    const before = await runCount();
    await new Promise((r) => setTimeout(r, 4_500));
    assert.equal(await runCount(), before, 'no run after the stop');
    assert.equal(await detail.getByTestId('strategy-stop').count(), 0, 'Stop is gone while stopped');

    await detail.getByTestId('strategy-start').click();
    await detail.locator('[data-testid="detail-status"]', { hasText: 'active' }).waitFor();
    await row().locator('[data-testid="strategy-status"]', { hasText: 'active' }).waitFor();
    const started = await restStrategy();
    assert.equal(started.status, 'active');
    assert.ok(started.next_run_at, 'a next run is scheduled');
    assert.equal(await dbStatus(), 'active');
    const sentBefore = (await sentRuns()).length;
    await eventually(async () => (await sentRuns()).length > sentBefore, 20_000, 'a send after the restart');

    // Refresh brings the new run into the open detail.
    const shown = await detail.getByTestId('run-row').count();
    await page.getByTestId('refresh-button').click();
    await eventually(async () => (await detail.getByTestId('run-row').count()) > shown, 10_000, 'the new run in the run history');
  });

  test('a tx hash in the run history opens that transaction in the Transactions view', async () => {
    const link = page.getByTestId('strategy-detail').getByTestId('run-tx-link').first();
    const hash = await link.getAttribute('data-tx-hash');
    await link.click();
    await page.waitForURL(/#\/transactions\?/);
    const detail = page.getByTestId('tx-detail');
    await detail.waitFor();
    assert.ok((await detail.innerText()).includes(hash!), 'the opened transaction is the linked one');
    assert.equal(await page.locator(`[data-testid="tx-row"][data-tx-hash="${hash}"]`).getAttribute('aria-expanded'), 'true');
  });

  test('#/strategies?id=… shows the strategy on its own page', async () => {
    await page.goto(`${stack.url}/admin#/strategies?id=${strategyId}`);
    const detail = page.getByTestId('strategy-detail');
    await detail.waitFor();
    assert.equal((await page.locator('h1').innerText()).trim(), LABEL);
    assert.equal((await detail.getByTestId('detail-status').innerText()).trim(), 'active');
    await detail.getByTestId('chart-bar').first().waitFor();
    await page.screenshot({ path: `${ARTIFACTS}admin-strategy-page.png`, fullPage: true });
    await page.getByTestId('back-to-strategies').click();
    await row().waitFor();
  });

  test('a skipped run shows its reason in the history and a dot under the chart axis', async () => {
    await page.goto(`${stack.url}/admin#/strategies?id=${cappedId}`);
    const detail = page.locator(`[data-testid="strategy-detail"][data-strategy-id="${cappedId}"]`);
    const skipped = detail.locator('[data-testid="run-row"][data-outcome="skipped"]').first();
    await skipped.waitFor();
    assert.match(await skipped.innerText(), /daily_cap/);
    assert.equal(await detail.getByTestId('chart-bar').count(), 1, 'one send under the cap');
    assert.ok((await detail.locator('circle.chart-dot-skipped').count()) >= 1, 'skipped slots are marked');
    assert.match(await detail.locator('.chart-legend').innerText(), /skipped/);
    await page.screenshot({ path: `${ARTIFACTS}admin-strategy-skips.png`, fullPage: true });
  });

  test('no page errors, and no console or HTTP errors beyond the signed-out first visit', () => {
    const { pageErrors, consoleErrors, httpErrors } = browser!;
    assert.deepEqual(pageErrors, []);
    const isSession = (url: string) => new URL(url).pathname === '/api/session';
    assert.deepEqual(consoleErrors.filter((e) => !(/status of 401/.test(e.text) && e.url && isSession(e.url))), []);
    assert.deepEqual(httpErrors.map((e) => `${e.method} ${e.status} ${new URL(e.url).pathname}`), ['GET 401 /api/session']);
  });
});
