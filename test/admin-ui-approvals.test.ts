/**
 * The admin UI's Approvals view in a real browser (Debian's headless Chromium, see browser.ts)
 * against a real server and worker. An agent key asks for two sends that need a human (made as
 * executeTransfer makes them); an operator signs in, sees the pending count in the nav and each
 * send with its amount, destination, agent, requesting key, rule and the agent's reason, approves
 * one with a note (the worker sends it and it is mined on anvil; the history links its
 * transaction) and rejects the other (nothing sent). A send the operator's own key asked for
 * shows no buttons, and neither does anything for a viewer. No console errors; screenshots land in test-artifacts/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { parseEther } from 'ethers';
import type { Principal } from '../core/auth/api-keys.ts';
import type { ApprovalView } from '../core/approvals/service.ts';
import { chainProvider, eventually, freshAddress, startStack, type Stack } from './harness.ts';
import { adminPrincipal, fundedWallet } from './strategy-harness.ts';
import { approvalRow, createKey, pendingApproval } from './approval-harness.ts';
import { ARTIFACTS, openBrowser, type BrowserSession } from './browser.ts';

const AGENT = 'ui-approvals-agent';
const REASON = 'Pay the dataset vendor: invoice 7731';

describe('admin UI approvals in headless Chromium', () => {
  let stack: Stack;
  let browser: BrowserSession | undefined;
  let page: Page;
  let agent: { key: string; principal: Principal };
  let operator: { key: string; principal: Principal };
  let toApprove: ApprovalView;
  let toReject: ApprovalView;
  let own: ApprovalView;
  let walletId = '';
  const approveTo = freshAddress();
  const rejectTo = freshAddress();

  const card = (id: string) => page.locator(`[data-testid="approval-card"][data-approval-id="${id}"]`);
  const historyRow = (id: string) => page.locator(`[data-testid="history-row"][data-approval-id="${id}"]`);

  before(async () => {
    stack = await startStack();
    agent = await createKey(stack, 'agent', 'ui agent');
    operator = await createKey(stack, 'operator', 'ui operator');
    const w = await fundedWallet(stack, await adminPrincipal(stack), AGENT, '1');
    walletId = w.id;
    toApprove = await pendingApproval(stack, agent.principal, w.id, { to: approveTo, eth: '0.05', reason: REASON });
    toReject = await pendingApproval(stack, agent.principal, w.id, { to: rejectTo, eth: '0.07', reason: 'Tip the reviewer' });
    own = await pendingApproval(stack, operator.principal, w.id, { to: freshAddress(), eth: '0.02', reason: null });

    browser = await openBrowser();
    page = browser.page;
    await page.goto(`${stack.url}/admin`);
    await page.getByTestId('api-key-input').fill(operator.key);
    await page.getByTestId('sign-in-button').click();
    await page.getByTestId('nav-approvals').waitFor();
  });

  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  test('the nav shows the pending count; the view lists each pending send with its reason', async () => {
    await page.getByTestId('pending-approvals-badge').waitFor();
    assert.equal((await page.getByTestId('pending-approvals-badge').innerText()).trim(), '3');
    await page.getByTestId('nav-approvals').click();
    await card(toApprove.approval_id).waitFor();
    assert.match(await page.title(), /^Approvals/);
    assert.equal(await page.getByTestId('approval-card').count(), 3);

    const c = card(toApprove.approval_id);
    assert.equal((await c.getByTestId('approval-amount').innerText()).trim(), '0.05 ETH');
    assert.ok((await c.innerText()).includes(approveTo), 'the destination is shown');
    assert.equal((await c.getByTestId('approval-reason').locator('blockquote').innerText()).trim(), REASON);
    assert.equal((await c.getByTestId('approval-agent').innerText()).trim(), AGENT);
    assert.equal((await c.getByTestId('approval-requested-by').innerText()).trim(), agent.principal.keyPrefix);
    assert.equal((await c.getByTestId('approval-rule').innerText()).trim(), 'approval_threshold_eth');
    assert.match(await c.getByTestId('approval-expires').innerText(), /Expires in \d+ h \d+ min/);
    await page.screenshot({ path: `${ARTIFACTS}admin-approvals.png`, fullPage: true });
  });

  test('a send the signed-in key asked for has no buttons', async () => {
    const c = card(own.approval_id);
    await c.getByTestId('own-request').waitFor();
    assert.equal(await c.getByTestId('approve-button').count(), 0);
    assert.equal(await c.getByTestId('reject-button').count(), 0);
    assert.match(await c.getByTestId('approval-reason').innerText(), /No reason given/);
  });

  test('Approve with a note: the worker sends it, it is mined, the history links the transaction', async () => {
    const c = card(toApprove.approval_id);
    await c.getByTestId('approval-note').fill('vendor confirmed by phone');
    await c.getByTestId('approve-button').click();
    await c.waitFor({ state: 'detached' });
    await eventually(async () => (await approvalRow(stack, toApprove.approval_id)).status === 'executed', 30_000, 'the worker to execute it');
    const row = await approvalRow(stack, toApprove.approval_id);
    assert.equal(row.decided_by, operator.principal.keyPrefix);
    assert.equal(row.decision_note, 'vendor confirmed by phone');

    const tx = await stack.server.ctx.db.selectFrom('transactions').selectAll().where('id', '=', row.transaction_id!).executeTakeFirstOrThrow();
    const provider = chainProvider();
    const receipt = await eventually(() => provider.getTransactionReceipt(tx.tx_hash), 30_000, 'a receipt on anvil');
    assert.equal(receipt.status, 1);
    assert.equal(await provider.getBalance(approveTo), parseEther('0.05'));
    provider.destroy();

    const h = historyRow(toApprove.approval_id);
    await eventually(async () => {
      await page.getByTestId('refresh-button').click();
      return (await h.count()) === 1 && (await h.getAttribute('data-status')) === 'executed' && (await h.getByTestId('approval-tx-link').count()) === 1;
    }, 20_000, 'the history row executed with its transaction');
    assert.equal(await h.getByTestId('approval-tx-link').getAttribute('data-tx-hash'), tx.tx_hash);
    assert.match(await h.innerText(), /vendor confirmed by phone/);
    assert.equal((await page.getByTestId('pending-approvals-badge').innerText()).trim(), '2');
  });

  test('Reject with a note: nothing is sent, the history shows it rejected', async () => {
    const c = card(toReject.approval_id);
    await c.getByTestId('approval-note').fill('not this month');
    await c.getByTestId('reject-button').click();
    await c.waitFor({ state: 'detached' });
    const h = historyRow(toReject.approval_id);
    await h.waitFor();
    assert.equal(await h.getAttribute('data-status'), 'rejected');
    assert.match(await h.innerText(), /not this month/);
    const row = await approvalRow(stack, toReject.approval_id);
    assert.equal(row.status, 'rejected');
    assert.equal(row.decided_by, operator.principal.keyPrefix);
    await new Promise((r) => setTimeout(r, 1_000));
    const txs = await stack.server.ctx.db.selectFrom('transactions').select('to_address').where('wallet_id', '=', walletId).execute();
    assert.deepEqual(txs.map((t) => t.to_address), [approveTo], 'only the approved send went out');
    await page.getByTestId('pending-approvals-badge').filter({ hasText: '1' }).waitFor();

    await page.getByTestId('status-filter').selectOption('rejected');
    await page.waitForURL(/#\/approvals\?status=rejected$/);
    await eventually(async () => (await page.getByTestId('history-row').count()) === 1, 10_000, 'only the rejected one');
    await h.waitFor();
    await page.screenshot({ path: `${ARTIFACTS}admin-approvals-history.png`, fullPage: true });
  });

  test('a viewer sees what waits, read-only: no buttons', async () => {
    const viewer = await createKey(stack, 'viewer', 'ui viewer');
    await page.getByTestId('sign-out-button').click();
    await page.getByTestId('api-key-input').fill(viewer.key);
    await page.getByTestId('sign-in-button').click();
    await page.getByTestId('read-only-notice').waitFor();
    await card(own.approval_id).waitFor();
    assert.equal(await page.getByTestId('approve-button').count(), 0);
    assert.equal(await page.getByTestId('reject-button').count(), 0);
    assert.equal(await page.getByTestId('approval-note').count(), 0);
    assert.equal((await page.getByTestId('pending-approvals-badge').innerText()).trim(), '1');
  });

  test('no page errors, and no console or HTTP errors beyond the signed-out first visit', () => {
    const { pageErrors, consoleErrors, httpErrors } = browser!;
    assert.deepEqual(pageErrors, []);
    const isSession = (url: string) => new URL(url).pathname === '/api/session';
    assert.deepEqual(consoleErrors.filter((e) => !(/status of 401/.test(e.text) && e.url && isSession(e.url))), []);
    assert.deepEqual(httpErrors.map((e) => `${e.method} ${e.status} ${new URL(e.url).pathname}`), ['GET 401 /api/session']);
  });
});
