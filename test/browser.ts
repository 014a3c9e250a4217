/**
 * Headless Chromium for the admin UI tests: Debian's build (`/usr/bin/chromium`, or
 * CHROMIUM_PATH) driven by playwright-core, so nothing is downloaded. One page at a laptop
 * viewport that records everything it complains about, for a suite's last "no errors" test.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Where screenshots go (created by {@link openBrowser}). */
export const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));
const VIEWPORT = { width: 1366, height: 800 };
// Generous for a cold Chromium on a busy CI machine; a passing run is far quicker.
const UI_TIMEOUT = 15_000;

/** A browser with one page, and what that page reported. */
export interface BrowserSession {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  consoleErrors: Array<{ text: string; url: string }>;
  pageErrors: string[];
  httpErrors: Array<{ status: number; method: string; url: string }>;
  close: () => Promise<void>;
}

/** Launches Chromium and opens a page that records console errors, page errors and HTTP ≥ 400. */
export async function openBrowser(): Promise<BrowserSession> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: VIEWPORT, locale: 'en-US' });
  context.setDefaultTimeout(UI_TIMEOUT);
  const page = await context.newPage();
  const session: BrowserSession = {
    browser,
    context,
    page,
    consoleErrors: [],
    pageErrors: [],
    httpErrors: [],
    close: () => browser.close().catch(() => undefined),
  };
  page.on('console', (msg) => {
    if (msg.type() === 'error') session.consoleErrors.push({ text: msg.text(), url: msg.location().url });
  });
  page.on('pageerror', (err) => session.pageErrors.push(err.stack ?? err.message));
  page.on('response', (res) => {
    if (res.status() >= 400) session.httpErrors.push({ status: res.status(), method: res.request().method(), url: res.url() });
  });
  return session;
}
