// Launching the system Chromium through playwright-core, and the small helpers the tests share:
// axe-core runs, screenshots into artifacts/, and a wrapper that records what a failing test saw.

import { chromium } from 'playwright-core';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

export const CHROMIUM_BIN = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
export const ARTIFACTS = path.join(HERE, 'artifacts');
export const AXE_PATH = require.resolve('axe-core/axe.min.js');

/** Per-action and per-navigation limit, so a stuck step fails fast instead of hanging. */
export const STEP_TIMEOUT_MS = 10_000;

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Launch headless Chromium. A missing browser is an error (the test fails, it is never
 * skipped): run tests/browser/run.sh, or `apt-get install chromium`, or set CHROMIUM_BIN.
 *
 * Each launch gets a fresh temporary profile: `chromium.launch` (unlike
 * `launchPersistentContext`) makes its own throw-away user-data dir and deletes it on close;
 * Playwright refuses an explicit `--user-data-dir` argument here.
 */
export async function launchBrowser() {
  try {
    await access(CHROMIUM_BIN, fsConstants.X_OK);
  } catch {
    throw new Error(
      `Chromium not found at ${CHROMIUM_BIN} (CI=${process.env.CI ?? 'unset'}): ` +
        'run tests/browser/run.sh, or `apt-get install chromium chromium-driver`, or set CHROMIUM_BIN',
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_BIN,
    headless: true,
    args: ARGS,
    timeout: 30_000,
  });
}

/** A new context (own cookies) and page with bounded timeouts. */
export async function newPage(browser) {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    locale: 'en-GB',
  });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  return { context, page, problems };
}

function slug(s) {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 80);
}

/** Full-page screenshot into artifacts/NAME.png; returns the path. */
export async function screenshot(page, name) {
  await mkdir(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${slug(name)}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * Run axe-core on what `page` shows; returns the violations of impact "serious" or "critical"
 * (all violations are printed, so a report shows what to fix).
 *
 * Parley sends `Content-Security-Policy: script-src 'self'`, which (rightly) blocks the inline
 * script that `addScriptTag` makes. So the check loads the same URL in a sibling context that
 * has the page's cookies and `bypassCSP`: the flow under test keeps the real policy, and only
 * the audit copy runs without it.
 */
export async function seriousAxeViolations(page, label) {
  const browser = page.context().browser();
  const audit = await browser.newContext({
    storageState: await page.context().storageState(),
    bypassCSP: true,
    viewport: page.viewportSize() ?? undefined,
    locale: 'en-GB',
  });
  audit.setDefaultTimeout(STEP_TIMEOUT_MS);
  audit.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
  let results;
  try {
    const copy = await audit.newPage();
    const res = await copy.goto(page.url());
    if (!res || res.status() !== 200) {
      throw new Error(`axe [${label}]: ${page.url()} answered ${res?.status()} in the audit context`);
    }
    await copy.addScriptTag({ path: AXE_PATH });
    results = await copy.evaluate(() => window.axe.run());
  } finally {
    await audit.close().catch(() => {});
  }
  const serious = results.violations.filter(
    (v) => v.impact === 'serious' || v.impact === 'critical',
  );
  console.log(
    `axe [${label}]: ${results.passes.length} rules passed, ${results.violations.length} violated ` +
      `(${serious.length} serious/critical)`,
  );
  for (const v of results.violations) {
    const where = v.nodes
      .slice(0, 5)
      .map((n) => `      ${n.target.join(' ')}: ${n.failureSummary?.split('\n').join(' / ')}`)
      .join('\n');
    console.log(`axe [${label}] ${v.impact}: ${v.id} — ${v.help} (${v.nodes.length} node(s))\n${where}`);
  }
  return serious;
}

/**
 * Run `body({ page, context })` in a fresh context; on failure save a screenshot and the page's
 * HTML to artifacts/failure-*.{png,html} and attach the server log tail to the error.
 */
export async function withPage(browser, t, server, body) {
  const { context, page, problems } = await newPage(browser);
  try {
    await body({ page, context });
  } catch (err) {
    const name = `failure-${t.name}`;
    try {
      await screenshot(page, name);
      await mkdir(ARTIFACTS, { recursive: true });
      await writeFile(path.join(ARTIFACTS, `${slug(name)}.html`), await page.content());
    } catch {
      /* the page may be gone; the original error matters more */
    }
    const tail = server ? server.logs().split('\n').slice(-30).join('\n') : '';
    err.message +=
      `\n  at URL: ${page.url()}` +
      (problems.length ? `\n  browser: ${problems.join('\n  browser: ')}` : '') +
      (tail ? `\n  server log (last lines):\n${tail}` : '');
    throw err;
  } finally {
    await context.close().catch(() => {});
  }
}
