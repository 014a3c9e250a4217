/**
 * The admin UI's event filters and export links, in headless Chromium against a real server:
 * filtering by outcome, wallet, agent, tool and time range narrows the table to the matching
 * rows (and the URL keeps the filters), and the export links download exactly those rows with
 * the session cookie.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { Wallet } from 'ethers';
import { startStack, type Stack } from './harness.ts';
import { ARTIFACTS, openBrowser, type BrowserSession } from './browser.ts';

/** The rows shown once the table has settled: `[action, status, agent]` each. */
async function shownRows(page: Page, until: (rows: string[][]) => boolean): Promise<string[][]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const rows = await page.locator('[data-testid="event-row"]').evaluateAll((els) =>
      els.map((e) => [e.getAttribute('data-action') ?? '', e.getAttribute('data-status') ?? '', e.getAttribute('data-agent-id') ?? '']),
    );
    if (until(rows)) return rows;
    if (Date.now() > deadline) throw new Error(`rows never settled: ${JSON.stringify(rows)}`);
    await page.waitForTimeout(100);
  }
}

describe('admin UI: event filters and export', () => {
  let stack: Stack;
  let browser: BrowserSession | undefined;
  const wallets: Record<string, string> = {};

  before(async () => {
    stack = await startStack({ worker: false });
    const post = (body: unknown) =>
      fetch(`${stack.url}/api/wallets/import`, { method: 'POST', headers: { Authorization: `Bearer ${stack.adminKey}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    for (const agent of ['ui-ev-alice', 'ui-ev-bob']) {
      const res = await post({ agent_id: agent, kind: 'private_key', private_key: Wallet.createRandom().privateKey });
      assert.equal(res.status, 201);
      wallets[agent] = ((await res.json()) as { wallet: { id: string } }).wallet.id;
    }
    const refused = await post({ agent_id: 'ui-ev-carol', kind: 'private_key', private_key: '0x1234' });
    assert.equal(refused.status, 400);
    browser = await openBrowser();
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  test('outcome, wallet, agent, tool and time filters narrow the table; export links carry them', async () => {
    const { page } = browser!;
    await page.goto(`${stack.url}/admin`);
    await page.getByTestId('api-key-input').fill(stack.adminKey);
    await page.getByTestId('sign-in-button').click();
    await page.getByTestId('nav-events').click();
    await shownRows(page, (rows) => rows.filter((r) => r[0] === 'POST /api/wallets/import').length === 3);

    await page.getByTestId('status-filter').selectOption('refused');
    const refused = await shownRows(page, (rows) => rows.length > 0 && rows.every((r) => r[1] === 'refused'));
    assert.ok(refused.some((r) => r[0] === 'POST /api/wallets/import' && r[2] === 'ui-ev-carol'), JSON.stringify(refused));
    assert.match(page.url(), /status=refused/);

    await page.getByTestId('status-filter').selectOption('');
    await page.getByTestId('wallet-filter').selectOption(wallets['ui-ev-alice']!);
    const alice = await shownRows(page, (rows) => rows.length === 1 && rows[0]![2] === 'ui-ev-alice');
    assert.deepEqual(alice, [['POST /api/wallets/import', 'ok', 'ui-ev-alice']]);

    await page.getByTestId('wallet-filter').selectOption('');
    await page.getByTestId('agent-filter').fill('ui-ev-bob');
    await page.getByTestId('action-filter').fill('POST /api/wallets/import');
    await page.getByTestId('action-filter-apply').click();
    await shownRows(page, (rows) => rows.length === 1 && rows[0]![2] === 'ui-ev-bob');
    assert.match(page.url(), /agent_id=ui-ev-bob/);

    // The export links download exactly the filtered rows, with the session cookie.
    const csvHref = await page.getByTestId('export-csv').getAttribute('href');
    const jsonlHref = await page.getByTestId('export-jsonl').getAttribute('href');
    assert.match(csvHref ?? '', /^\/api\/events\/export\?format=csv&.*agent_id=ui-ev-bob/);
    const jsonl = await page.request.get(new URL(jsonlHref!, stack.url).toString());
    assert.equal(jsonl.status(), 200);
    assert.match(jsonl.headers()['content-disposition'] ?? '', /attachment; filename="vaultpilot-audit-.*\.jsonl"/);
    const lines = (await jsonl.text()).trimEnd().split('\n').map((l) => JSON.parse(l) as { agent_id: string; action: string });
    assert.deepEqual(lines.map((l) => [l.agent_id, l.action]), [['ui-ev-bob', 'POST /api/wallets/import']]);
    const csv = await page.request.get(new URL(csvHref!, stack.url).toString());
    assert.equal(csv.status(), 200);
    assert.equal((await csv.text()).split('\r\n').filter(Boolean).length, 2, 'a header and bob\'s row');

    // A time range that ends before anything happened shows nothing.
    await page.getByTestId('until-filter').fill('2020-01-01T00:00');
    await page.getByTestId('until-filter').dispatchEvent('change');
    await page.getByTestId('empty-state').waitFor();
    assert.match(await page.getByTestId('empty-state').innerText(), /match these filters/);
    assert.match(page.url(), /until=2020-01-01T/);
    await page.screenshot({ path: `${ARTIFACTS}admin-events-filters.png`, fullPage: true });

    await page.getByTestId('clear-filters').click();
    await shownRows(page, (rows) => rows.filter((r) => r[0] === 'POST /api/wallets/import').length === 3);
    assert.deepEqual(browser!.pageErrors, []);
    assert.deepEqual(browser!.consoleErrors.filter((e) => !/status of 401/.test(e.text)), []);
  });
});
