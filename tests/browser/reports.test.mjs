// The reports page in a browser: a chat happens today (through the real sockets), the report of
// last week shows nothing, then the person moves the range to include today and the chart and
// its table show the chat. The filters land in the URL, so the report can be bookmarked.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, copyFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { startServer, OWNER } from './server.mjs';
import { launchBrowser, withPage, screenshot, seriousAxeViolations, STEP_TIMEOUT_MS } from './browser.mjs';
import * as seed from './seed.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DOCS_SHOTS = path.resolve(HERE, '..', '..', 'docs', 'screenshots');

/** A raw socket that collects frames; `until(pred)` waits (bounded) for one. */
async function socket(url, headers, hello) {
  const ws = new WebSocket(url, { headers });
  const frames = [];
  const waiters = [];
  ws.on('message', (m) => {
    const f = JSON.parse(m.toString());
    frames.push(f);
    for (const w of [...waiters]) if (w.pred(f)) w.done(f);
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const until = (pred, what) => {
    const seen = frames.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { pred };
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
      w.done = (f) => {
        clearTimeout(timer);
        waiters.splice(waiters.indexOf(w), 1);
        resolve(f);
      };
      waiters.push(w);
    });
  };
  ws.send(JSON.stringify(hello));
  return { ws, until, send: (f) => ws.send(JSON.stringify(f)) };
}

const day = (offset) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

describe('reports in a browser', { timeout: 90_000 }, () => {
  let server;
  let browser;
  let setupError = null;
  let site;

  before(async () => {
    try {
      [server, browser] = await Promise.all([startServer(), launchBrowser()]);
      const owner = await seed.ownerSession(server.baseUrl);
      site = await seed.createSite(owner, 'Acme Reports');
      const desk = await seed.createDepartment(owner, site, { name: 'Desk' });
      await seed.createAgent(owner, site, {
        name: 'Ann Agent',
        email: 'ann@reports.example',
        password: 'ann-password-1',
        departments: [desk],
      });
      const campaign = await seed.createCampaign(owner, site, { name: 'Main', department: desk });
      // Ann's console is open (a raw agent socket), a visitor chats and ends without an answer.
      const ann = await seed.signIn(server.baseUrl, 'ann@reports.example', 'ann-password-1');
      const ws = server.baseUrl.replace(/^http/, 'ws');
      const agent = await socket(`${ws}/ws/agent`, { cookie: ann.cookieHeader(), origin: server.baseUrl }, {
        type: 'hello',
        v: 1,
        chats: [],
      });
      await agent.until((f) => f.type === 'agent_welcome', 'agent_welcome');
      const visitor = await socket(`${ws}/ws/visitor`, {}, { type: 'hello', v: 1, campaign });
      await visitor.until((f) => f.type === 'visitor_welcome', 'visitor_welcome');
      visitor.send({ type: 'start', fields: {} });
      const chat = (await visitor.until((f) => f.type === 'chat', 'chat')).chat.id;
      await agent.until((f) => f.type === 'assigned', 'assigned');
      visitor.send({ type: 'end', chat });
      await visitor.until((f) => f.type === 'event' && f.kind === 'ended', 'ended');
      visitor.ws.close();
      agent.ws.close();
    } catch (e) {
      setupError = e;
    }
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  test('changing the range redraws the chart and the table, and the URL keeps the filters', async (t) => {
    if (setupError) throw new Error(`setup failed: ${setupError.message}`, { cause: setupError });
    await withPage(browser, t, server, async ({ page }) => {
      await page.goto(new URL('/login', server.baseUrl).href);
      await page.getByLabel('Email').fill(OWNER.email);
      await page.getByLabel('Password').fill(OWNER.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL((u) => u.pathname !== '/login');

      // Last week without today: nothing.
      await page.goto(new URL(`/admin/sites/${site}/reports?from=${day(-7)}&to=${day(-1)}`, server.baseUrl).href);
      const chart = page.getByRole('img', { name: /Answered and missed chats/ });
      await chart.waitFor();
      assert.equal(await page.locator('svg g.bar rect').count(), 0, 'no bar in a week without chats');
      const table = page.getByRole('table', { name: 'Chats by day' });
      assert.equal(await table.getByRole('row', { name: new RegExp(day(0)) }).count(), 0);

      // Move the last day to today and show the report again.
      await page.getByLabel('Last day').fill(day(0));
      await page.getByRole('button', { name: 'Show' }).click();
      await page.waitForURL((u) => u.searchParams.get('to') === day(0));
      const bar = page.locator('svg g.bar').filter({ has: page.locator('rect') });
      assert.equal(await bar.count(), 1, 'one day with chats');
      assert.match(await bar.locator('title').textContent(), new RegExp(`${day(0)}: 0 answered, 1 missed`));
      const today = table.getByRole('row', { name: new RegExp(day(0)) });
      // Day, chats, answered, missed.
      assert.deepEqual((await today.getByRole('cell').allTextContents()).slice(0, 3), ['1', '0', '1']);
      const agents = page.getByRole('table', { name: 'Agents' });
      assert.equal(await agents.getByRole('row', { name: /Ann Agent/ }).count(), 1);

      // The CSV of the same table, from the link on the page.
      const href = await page.getByRole('link', { name: 'Download CSV' }).first().getAttribute('href');
      const csv = await page.evaluate(async (u) => (await fetch(u)).text(), href);
      assert.match(csv, new RegExp(`"${day(0)}","1","0","1"`));

      // A bad range is explained, with the input kept.
      await page.getByLabel('First day').fill(day(1));
      await page.getByRole('button', { name: 'Show' }).click();
      await page.getByRole('alert').filter({ hasText: 'The first day comes after the last day.' }).waitFor();
      assert.equal(await page.getByLabel('First day').inputValue(), day(1));

      await page.goto(new URL(`/admin/sites/${site}/reports?to=${day(0)}`, server.baseUrl).href);
      assert.deepEqual(await seriousAxeViolations(page, 'reports'), []);
      const file = await screenshot(page, 'reports');
      if (process.env.PARLEY_DOC_SCREENSHOTS === '1') {
        await mkdir(DOCS_SHOTS, { recursive: true });
        await copyFile(file, path.join(DOCS_SHOTS, 'reports.png'));
      }
    });
  });
});
