/**
 * The browser side of the e2e tests: Debian's Chromium driven by playwright-core (no browser
 * download), skipped with a clear message where it is not installed — or failed, when
 * IBACKUP_REQUIRE_BROWSER=1 (CI) requires these tests to run — and screenshots of each state.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { REPO_ROOT } from './repo-root.js';

export const CHROMIUM = process.env.IBACKUP_CHROMIUM ?? '/usr/bin/chromium';

/** Where the screenshots go (gitignored). */
export const ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'e2e');

/** The built page the server serves. */
export const BUILT_PAGE = join(REPO_ROOT, 'dist', 'web', 'ui', 'index.html');

/**
 * Why the browser tests cannot run here (no Chromium, or the page was not built), or null.
 * `npm test` builds the page before it runs the tests.
 */
export function browserMissing(): string | null {
  if (!existsSync(CHROMIUM)) return `Chromium not found at ${CHROMIUM} (apt-get install chromium)`;
  if (!existsSync(BUILT_PAGE)) return `the page is not built (${BUILT_PAGE} missing; run "npx vite build")`;
  return null;
}

/** True when IBACKUP_REQUIRE_BROWSER=1 makes a missing browser a failure instead of a skip. */
export function browserRequired(): boolean {
  return process.env.IBACKUP_REQUIRE_BROWSER === '1';
}

/**
 * The `skip` of a browser suite: false when the tests can run; else the reason to skip them —
 * and, where IBACKUP_REQUIRE_BROWSER=1 requires them, a failing test saying so.
 */
export function browserSkip(): false | string {
  const missing = browserMissing();
  if (missing === null) return false;
  if (browserRequired()) {
    test('browser tests', () =>
      assert.fail(`${missing}, and IBACKUP_REQUIRE_BROWSER=1 requires the browser tests to run`));
  }
  return `${missing}: skipping the browser tests`;
}

/** A new page of `context` at `url`, with a default timeout and its script errors collected in `errors`. */
export async function openPage(
  context: BrowserContext,
  url: string,
  errors: string[],
  timeoutMs: number,
): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(timeoutMs);
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url, { timeout: timeoutMs });
  return page;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'],
    timeout: 30_000,
  });
}

/** Saves a screenshot of the page as test-artifacts/e2e/<name>.png. */
export async function shot(page: Page, name: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), timeout: 10_000 });
}

/**
 * Reads the progress bar every 30 ms until the job on the page is no longer running; returns the
 * distinct percentages seen (bounded by `timeoutMs`). `midShot` names a screenshot taken once
 * the bar is between 30 and 80 %.
 */
export async function watchProgress(
  page: Page,
  timeoutMs: number,
  midShot?: string,
): Promise<{ percents: number[]; state: string }> {
  const seen = new Set<number>();
  let shotTaken = midShot === undefined;
  const until = Date.now() + timeoutMs;
  for (;;) {
    // A string runs in the page (this file is compiled without the DOM's types).
    const now = (await page.evaluate(`(() => {
      const status = document.querySelector('[data-testid="job-status"]');
      const bar = document.querySelector('[data-testid="job-progress"]');
      return { state: status ? status.getAttribute('data-state') : null, value: bar ? bar.getAttribute('aria-valuenow') : null };
    })()`)) as { state: string | null; value: string | null };
    if (now.value !== null) seen.add(Number(now.value));
    if (!shotTaken && now.value !== null && Number(now.value) >= 30 && Number(now.value) <= 80) {
      shotTaken = true;
      await page.waitForTimeout(350); // the bar's width eases over 0.3 s
      await shot(page, midShot!);
    }
    if (now.state !== null && now.state !== 'running')
      return { percents: [...seen].sort((a, b) => a - b), state: now.state };
    if (Date.now() > until)
      throw new Error(`the job was still running after ${timeoutMs} ms (percentages seen: ${[...seen].join(', ')})`);
    await new Promise((r) => setTimeout(r, 30));
  }
}

/** Polls `check` every 50 ms; fails naming `what` after `timeoutMs`. */
export async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One attribute of every element the locator matches now (without waiting). */
export async function attributes(locator: Locator, name: string): Promise<string[]> {
  const out: string[] = [];
  for (const el of await locator.all()) out.push((await el.getAttribute(name, { timeout: 1_000 })) ?? '');
  return out;
}

export function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);
}
