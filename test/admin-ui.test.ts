/**
 * The admin UI end to end, in a real browser: Debian's headless Chromium driven by playwright-core
 * against a real server and worker (Postgres and anvil from `npm test`). An agent creates a wallet
 * over MCP, funds it and sends 0.01 ETH; an operator then signs in (a wrong key first), sees the
 * wallet with the balance MCP reports, the mined transaction and the audit events, and signs out.
 * The session cookie must be HttpOnly + SameSite=Strict and invisible to scripts, and the page
 * must log no console errors beyond the expected 401s from the session endpoint. Screenshots at a
 * laptop viewport land in test-artifacts/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { callOk, connectMcp, freshAddress, startStack, type Stack } from './harness.ts';
import { ARTIFACTS, openBrowser, type BrowserSession } from './browser.ts';

const AGENT = 'ui-alice';
const SESSION_COOKIE = 'vp_session';

interface Tx {
  status: string;
  tx_hash: string;
}

describe('admin UI in headless Chromium', () => {
  let stack: Stack | undefined;
  let client: Client | undefined;
  let browser: BrowserSession | undefined;
  let context: BrowserContext;
  let page: Page;

  // Facts established over MCP that the UI must then show.
  let walletAddress = '';
  let txHash = '';
  let balanceEth = '';

  before(async () => {
    stack = await startStack();
    client = await connectMcp(stack.url, stack.adminKey, 'streamable');

    const created = await callOk<{ wallet: { address: string; agent_id: string }; created: boolean }>(client, 'spin_up_wallet', { agent_id: AGENT });
    assert.equal(created.created, true);
    walletAddress = created.wallet.address;
    await callOk(client, 'request_faucet_funds', { agent_id: AGENT, amount_eth: '1' });
    const sent = await callOk<{ transaction: Tx }>(client, 'execute_transfer', { agent_id: AGENT, to_address: freshAddress(), amount_eth: '0.01' });
    txHash = sent.transaction.tx_hash;
    assert.match(txHash, /^0x[0-9a-f]{64}$/i);

    // Wait for the worker to record the receipt. Every poll is an audit row, so poll gently: at
    // most ~30 polls keeps spin_up_wallet on the events page's first page (50 rows).
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await callOk<{ transaction: Tx }>(client, 'get_transaction', { tx_hash: txHash });
      if (r.transaction.status === 'mined' || r.transaction.status === 'confirmed') break;
      if (Date.now() > deadline) throw new Error(`transaction ${txHash} still ${r.transaction.status} after 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }

    const balance = await callOk<{ balance: { eth: string; wei: string } }>(client, 'query_balance', { agent_id: AGENT });
    balanceEth = balance.balance.eth;
    // 1 ETH in, 0.01 ETH out, plus gas: strictly between 0.98 and 0.99.
    assert.ok(BigInt(balance.balance.wei) < 990_000_000_000_000_000n && BigInt(balance.balance.wei) > 980_000_000_000_000_000n, `balance ${balanceEth}`);

    browser = await openBrowser();
    ({ context, page } = browser);
  });

  after(async () => {
    await browser?.close();
    await client?.close().catch(() => undefined);
    await stack?.close();
  });

  test('a wrong key is refused with a message and the page stays on sign-in; the admin key signs in', async () => {
    await page.goto(`${stack!.url}/admin`);
    const input = page.getByTestId('api-key-input');
    await input.waitFor();
    assert.equal(await input.getAttribute('type'), 'password', 'the key field is masked');

    await input.fill('vp_deadbeef_this-is-not-a-real-key');
    await page.getByTestId('sign-in-button').click();
    const error = page.getByTestId('error-box');
    await error.waitFor();
    const errorText = await error.innerText();
    assert.match(errorText, /UNAUTHENTICATED/);
    assert.match(errorText, /not valid/);
    assert.equal(await page.getByTestId('nav-wallets').count(), 0, 'no navigation before signing in');
    assert.ok(await input.isVisible(), 'still on the sign-in form');
    assert.ok(await input.isEnabled(), 'the field is usable again after the refusal');
    assert.deepEqual(await context.cookies(), [], 'no cookie for a refused key');
    await page.screenshot({ path: `${ARTIFACTS}admin-signin-error.png` });

    await input.fill(stack!.adminKey);
    await page.getByTestId('sign-in-button').click();
    await page.getByTestId('nav-wallets').waitFor();
    assert.equal(await page.getByTestId('api-key-input').count(), 0, 'the sign-in form is gone');
    assert.equal(await page.getByTestId('error-box').count(), 0);
    assert.ok(!(await page.content()).includes(stack!.adminKey), 'the key is not left in the DOM');
  });

  test('wallets: the agent row shows its address and the balance MCP reports', async () => {
    await page.getByTestId('nav-wallets').click();
    const row = page.locator(`[data-testid="wallet-row"][data-agent-id="${AGENT}"]`);
    await row.waitFor();
    assert.equal(await page.getByTestId('wallet-row').count(), 1, 'exactly one wallet on this fresh stack');
    assert.match(await row.innerText(), new RegExp(walletAddress, 'i'));
    const balance = row.locator('[data-testid="wallet-balance"][data-state="ok"]');
    await balance.waitFor();
    assert.equal((await balance.innerText()).trim(), balanceEth);
    assert.match(await page.title(), /^Wallets/);
    await page.screenshot({ path: `${ARTIFACTS}admin-wallets.png`, fullPage: true });
  });

  test('transactions: the transfer is listed with its hash and a mined status', async () => {
    await page.getByTestId('nav-transactions').click();
    const row = page.locator(`[data-testid="tx-row"][data-tx-hash="${txHash}"]`);
    await row.waitFor();
    const status = (await row.getByTestId('tx-status').innerText()).trim();
    assert.ok(['mined', 'confirmed'].includes(status), `status shown: ${status}`);
    const text = await row.innerText();
    assert.match(text, new RegExp(AGENT));
    assert.match(text, /0\.01/);
    assert.match(await page.title(), /^Transactions/);

    // Opening the row shows the full hash and the exact value.
    await row.click();
    const detail = page.getByTestId('tx-detail');
    await detail.waitFor();
    const detailText = await detail.innerText();
    assert.ok(detailText.includes(txHash), 'full tx hash in the details');
    assert.match(detailText, /10000000000000000 wei/);
    await page.screenshot({ path: `${ARTIFACTS}admin-transactions.png`, fullPage: true });
  });

  test('events: execute_transfer and spin_up_wallet are in the audit log', async () => {
    await page.getByTestId('nav-events').click();
    const transfer = page.locator('[data-testid="event-row"][data-action="execute_transfer"]');
    const spinUp = page.locator('[data-testid="event-row"][data-action="spin_up_wallet"]');
    await transfer.first().waitFor();
    await spinUp.first().waitFor();
    assert.equal(await transfer.count(), 1);
    assert.equal(await spinUp.count(), 1);
    for (const row of [transfer, spinUp]) {
      const text = await row.innerText();
      assert.match(text, new RegExp(AGENT), 'the agent column names the agent');
      assert.equal((await row.getByTestId('event-status').innerText()).trim(), 'ok');
    }
    assert.match(await page.title(), /^Events/);
    await page.screenshot({ path: `${ARTIFACTS}admin-events.png`, fullPage: true });

    // The transfer's recorded response carries the tx hash.
    await transfer.click();
    const detail = page.getByTestId('event-detail');
    await detail.waitFor();
    assert.ok((await detail.innerText()).includes(txHash), 'the event response shows the tx hash');
    await transfer.click();
    await detail.waitFor({ state: 'detached' });
  });

  test('the session cookie is HttpOnly, SameSite=Strict and hidden from scripts; sign-out ends it', async () => {
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === SESSION_COOKIE);
    assert.ok(session, `a ${SESSION_COOKIE} cookie is set (got ${cookies.map((c) => c.name).join(', ') || 'none'})`);
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.equal(session.path, '/');
    assert.ok(session.value.length >= 32, 'an unguessable token');
    assert.ok(!session.value.includes(stack!.adminKey), 'the cookie is not the API key');
    const visible = await page.evaluate(() => document.cookie);
    assert.ok(!visible.includes(SESSION_COOKIE) && !visible.includes(session.value), `document.cookie exposes nothing: "${visible}"`);
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
    assert.ok(!stored.includes(stack!.adminKey), 'the key is not in web storage');

    // The cookie works on its own (no bearer) before sign-out...
    const withCookie = { headers: { Cookie: `${SESSION_COOKIE}=${session.value}` } };
    assert.equal((await fetch(`${stack!.url}/api/session`, withCookie)).status, 200);

    await page.getByTestId('sign-out-button').click();
    await page.getByTestId('api-key-input').waitFor();
    assert.equal(await page.getByTestId('nav-wallets').count(), 0, 'back at sign-in');
    assert.match(await page.locator('.notice').innerText(), /Signed out/);
    assert.equal((await context.cookies()).find((c) => c.name === SESSION_COOKIE), undefined, 'the cookie is cleared');
    // ...and is dead on the server afterwards, not just forgotten by the browser.
    assert.equal((await fetch(`${stack!.url}/api/session`, withCookie)).status, 401);

    // A reload stays signed out.
    await page.reload();
    await page.getByTestId('api-key-input').waitFor();
    assert.equal(await page.getByTestId('nav-wallets').count(), 0);
  });

  test('no page errors, and no console or HTTP errors beyond the expected 401s from /api/session', () => {
    const { pageErrors, consoleErrors, httpErrors } = browser!;
    assert.deepEqual(pageErrors, []);
    const isSession401 = (url: string) => new URL(url).pathname === '/api/session';
    const unexpectedConsole = consoleErrors.filter((e) => !(/status of 401/.test(e.text) && e.url && isSession401(e.url)));
    assert.deepEqual(unexpectedConsole, []);
    const unexpectedHttp = httpErrors.filter((e) => !(e.status === 401 && isSession401(e.url)));
    assert.deepEqual(unexpectedHttp, []);
    // The expected ones did happen: the first visit (GET), the wrong key (POST), the reload (GET).
    assert.deepEqual(
      httpErrors.map((e) => `${e.method} ${e.status}`),
      ['GET 401', 'POST 401', 'GET 401'],
    );
  });
});
