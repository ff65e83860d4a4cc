// The agent console as agents use it: a real `parley serve`, headless Chromium with one
// browser context per agent (own cookies, own console), and visitors speaking the documented
// visitor frames over a raw WebSocket from Node (independent of the widget).
//
// One server for the file, seeded over HTTP (seed.mjs): site "Acme Shop" with the department
// Billing (Ann, Bob, Cleo) and a 5 s warm-transfer timeout, site "Beta Store" (Dora, department
// Sales), and a cross-site group of the two. Each test opens the consoles it needs, makes the
// agents who must not receive new chats Away, and sets everyone Offline at the end, so the
// next test starts from a known allocation.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, copyFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { startServer } from './server.mjs';
import { launchBrowser, screenshot, STEP_TIMEOUT_MS, AXE_PATH } from './browser.mjs';
import * as seed from './seed.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DOCS_SHOTS = path.resolve(HERE, '..', '..', 'docs', 'screenshots');
const TEST_TIMEOUT_MS = 40_000;
const WARM_TIMEOUT_SECS = 5;
const PASSWORD = 'agent-password-123';

const AGENTS = {
  ann: { name: 'Ann Agent', email: 'ann@example.com', skills: ['refunds'] },
  bob: { name: 'Bob Agent', email: 'bob@example.com', skills: ['french', 'invoices'] },
  cleo: { name: 'Cleo Agent', email: 'cleo@example.com', skills: ['german'] },
  dora: { name: 'Dora Agent', email: 'dora@example.com', skills: [] },
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * What a visitor's socket must never receive (docs/protocol.md, "Who receives what"): the
 * transfer log and its comments, notes, `origin`, waiting state, agents' ids. Every frame a
 * test visitor receives is checked, and a failing check fails the test at its next wait.
 */
function agentOnlyIn(f) {
  const found = [];
  const walk = (v) => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!v || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v)) {
      if (['origin', 'waiting_for', 'department', 'email', 'site'].includes(k)) found.push(k);
      if (k === 'agent' && typeof x === 'number') found.push('agent id');
      if (k === 'kind' && (x === 'note' || x === 'transfer')) found.push(`kind ${x}`);
      walk(x);
    }
  };
  walk(f);
  return found;
}

/** A visitor: a raw /ws/visitor socket speaking the documented frames. */
class Visitor {
  constructor(baseUrl, campaign) {
    this.url = `${baseUrl.replace(/^http/, 'ws')}/ws/visitor`;
    this.campaign = campaign;
    this.frames = [];
    /** Agent-only content found in a received frame (must stay empty). */
    this.leaks = [];
    this.waiters = [];
    this.chat = null;
    this.n = 0;
  }

  async connect(page = { url: 'https://shop.example/cart', title: 'Your cart' }, headers = {}) {
    this.ws = new WebSocket(this.url, { headers });
    this.ws.on('message', (m) => {
      const f = JSON.parse(m.toString());
      const leaked = agentOnlyIn(f);
      if (leaked.length) this.leaks.push(`${leaked.join(', ')} in ${JSON.stringify(f)}`);
      this.frames.push(f);
      if (f.type === 'chat') this.chat = f.chat.id;
      for (const w of [...this.waiters]) if (w.pred(f)) w.done(f);
    });
    await new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
    });
    const welcome = this.next((f) => f.type === 'visitor_welcome');
    this.send({ type: 'hello', v: 1, campaign: this.campaign, token: null, chat: null, after: null, page });
    await welcome;
    return this;
  }

  send(f) {
    this.ws.send(JSON.stringify(f));
  }

  /**
   * The first frame (already received or to come) matching `pred`, within `ms`. Refused at
   * once if anything agent-only reached this visitor.
   */
  next(pred, ms = STEP_TIMEOUT_MS, what = 'a frame') {
    if (this.leaks.length) return Promise.reject(new Error(`visitor received agent-only content: ${this.leaks[0]}`));
    const seen = this.frames.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { pred };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`visitor: no ${what} within ${ms} ms; got ${this.frames.map((x) => x.type + (x.kind ? `:${x.kind}` : '')).join(', ')}`));
      }, ms);
      w.done = (f) => {
        clearTimeout(timer);
        this.waiters.splice(this.waiters.indexOf(w), 1);
        resolve(f);
      };
      this.waiters.push(w);
    });
  }

  async start(fields) {
    const chat = this.next((f) => f.type === 'chat', STEP_TIMEOUT_MS, 'chat frame');
    this.send({ type: 'start', fields });
    return (await chat).chat.id;
  }

  async say(text) {
    const id = `v-${++this.n}-${Math.random().toString(16).slice(2)}`;
    const ack = this.next((f) => f.type === 'ack' && f.id === id, STEP_TIMEOUT_MS, `ack of ${text}`);
    this.send({ type: 'message', chat: this.chat, id, text });
    await ack;
  }

  /** The text of an agent's message event, once it arrives. */
  heard(text, ms) {
    return this.next((f) => f.type === 'event' && f.kind === 'message' && f.text === text, ms, `message "${text}"`);
  }

  close() {
    this.ws?.close();
  }
}

describe('agent console in a browser', { timeout: 420_000 }, () => {
  let server;
  let browser;
  let setupError = null;
  const ids = {};
  /** Contexts opened by the running test: closed (agents set Offline first) after it. */
  let open = [];
  let visitors = [];

  before(async () => {
    const [s, b] = await Promise.allSettled([
      startServer({ extraConfig: '[chat]\nagent_grace_secs = 1' }),
      launchBrowser(),
    ]);
    if (s.status === 'fulfilled') server = s.value;
    if (b.status === 'fulfilled') browser = b.value;
    try {
      if (setupError || s.status === 'rejected' || b.status === 'rejected') {
        throw s.status === 'rejected' ? s.reason : b.reason;
      }
      const o = await seed.ownerSession(server.baseUrl);
      ids.acme = await seed.createSite(o, 'Acme Shop');
      ids.beta = await seed.createSite(o, 'Beta Store');
      ids.billing = await seed.createDepartment(o, ids.acme, { name: 'Billing' });
      ids.sales = await seed.createDepartment(o, ids.beta, { name: 'Sales' });
      for (const key of ['ann', 'bob', 'cleo']) {
        const a = AGENTS[key];
        ids[key] = await seed.createAgent(o, ids.acme, { ...a, password: PASSWORD, departments: [ids.billing] });
      }
      ids.dora = await seed.createAgent(o, ids.beta, { ...AGENTS.dora, password: PASSWORD, departments: [ids.sales] });
      const prechat = [
        { key: 'name', label: 'Your name', required: true },
        { key: 'email', label: 'Email', kind: 'email' },
        { key: 'order', label: 'Order number' },
      ];
      ids.main = await seed.createCampaign(o, ids.acme, { name: 'Main', department: ids.billing, prechat });
      ids.betaMain = await seed.createCampaign(o, ids.beta, { name: 'Beta main', department: ids.sales, prechat });
      ids.betaProactive = await seed.createCampaign(o, ids.beta, {
        name: 'Beta proactive',
        department: ids.sales,
        proactive: { mode: 'without_invite', afterSecs: 1 },
      });
      await seed.setTransferSettings(o, ids.acme, { warmTimeoutSecs: WARM_TIMEOUT_SECS, transcriptCrossSite: true });
      ids.group = await seed.createGroup(o, 'Acme and Beta', [ids.acme, ids.beta]);
      ids.canned = await seed.createCanned(o, ids.acme, { shortcut: 'thanks', text: 'Thank you for waiting, I am on it.' });
    } catch (e) {
      setupError = e;
    }
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  /**
   * Run a test body; on failure save screenshots and HTML of every open console. Afterwards
   * set every agent Offline and close their contexts and the visitors' sockets.
   */
  async function run(t, body) {
    if (setupError) throw new Error(`setup failed: ${setupError.message}`, { cause: setupError });
    open = [];
    visitors = [];
    try {
      await body();
    } catch (err) {
      for (const c of open) {
        await screenshot(c.page, `failure-${c.who}-${t.name}`).catch(() => {});
      }
      const problems = open.flatMap((c) => c.problems.map((p) => `${c.who}: ${p}`));
      const tail = server.logs().split('\n').slice(-25).join('\n');
      err.message += (problems.length ? `\n  browser: ${problems.join('\n  browser: ')}` : '') + `\n  server log:\n${tail}`;
      throw err;
    } finally {
      // Visitors end their chats, so no chat of this test is handed to the next one's agents.
      for (const v of visitors) if (v.chat) v.send({ type: 'end', chat: v.chat });
      await sleep(visitors.length ? 300 : 0);
      for (const v of visitors) v.close();
      for (const c of open) {
        await c.page.getByLabel('Status').selectOption('offline', { timeout: 2_000 }).catch(() => {});
      }
      await sleep(open.length ? 300 : 0);
      for (const c of open) await c.context.close().catch(() => {});
      // Past the grace period: nobody of this test still counts as connected.
      await sleep(1_200);
    }
    // Console errors are bugs, even when the test passed.
    const problems = open.flatMap((c) => c.problems.map((p) => `${c.who}: ${p}`));
    assert.deepEqual(problems, [], 'errors in the browser console');
    assert.deepEqual(visitors.flatMap((v) => v.leaks), [], 'a visitor received agent-only content');
  }

  /** Sign `who` in, open /console, wait for "Connected". `audit`: allow axe to be injected. */
  async function consoleOf(who, { audit = false, viewport = { width: 1280, height: 720 } } = {}) {
    const context = await browser.newContext({ viewport, locale: 'en-GB', bypassCSP: audit });
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
    context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
    });
    /** Every frame this console sent over its agent socket (all its connections), parsed. */
    const sent = [];
    page.on('websocket', (ws) =>
      ws.on('framesent', (f) => {
        try {
          sent.push(JSON.parse(f.payload));
        } catch {
          /* not JSON: not ours */
        }
      }),
    );
    const c = { who, context, page, problems, sent };
    open.push(c);
    await seed.signInAgent(page, server.baseUrl, AGENTS[who].email, PASSWORD);
    await page.goto(new URL('/console', server.baseUrl).href);
    await connected(page);
    return c;
  }

  const connected = (page) => page.getByRole('status').filter({ hasText: /^Connected$/ }).waitFor();

  /** Choose a status and wait until the Team list shows it for oneself (the server's echo). */
  async function setStatus(page, label) {
    await page.getByLabel('Status').selectOption({ label });
    await page.getByRole('tab', { name: /Team/ }).click();
    await page
      .getByRole('list', { name: 'Colleagues' })
      .getByRole('listitem')
      .filter({ hasText: '(you)' })
      .filter({ hasText: label })
      .waitFor();
    await page.getByRole('tab', { name: /Chats/ }).click();
  }

  const chatList = (page) => page.getByRole('list', { name: 'Your chats' });
  const chatButton = (page, name) => chatList(page).getByRole('button', { name: new RegExp(escapeRe(name)) });
  const transcript = (page) => page.getByRole('log', { name: 'Transcript' });

  async function newVisitor(campaign = ids.main, pageInfo, headers) {
    const v = await new Visitor(server.baseUrl, campaign).connect(pageInfo, headers);
    visitors.push(v);
    return v;
  }

  /** A visitor starts a chat and writes; `agentPage` sees it in its transcript. */
  async function chatWith(agentPage, name, first) {
    const v = await newVisitor();
    await v.start({ name, email: `${name.toLowerCase().replace(/[^a-z]/g, '')}@example.com` });
    await v.say(first);
    await chatButton(agentPage, name).click();
    await transcript(agentPage).getByText(first, { exact: true }).waitFor();
    return v;
  }

  async function axe(page, label) {
    await page.addScriptTag({ path: AXE_PATH });
    const results = await page.evaluate(() => window.axe.run());
    const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    for (const v of results.violations) {
      console.log(`axe [${label}] ${v.impact}: ${v.id} — ${v.help}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    }
    return serious.map((v) => `${label}: ${v.id} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  }

  /**
   * A screenshot into artifacts/ and, for the documentation, docs/screenshots/NAME.png when
   * PARLEY_DOC_SCREENSHOTS=1 (so ordinary runs leave the docs alone).
   */
  async function docShot(page, name) {
    const file = await screenshot(page, name);
    if (process.env.PARLEY_DOC_SCREENSHOTS !== '1') return;
    await mkdir(DOCS_SHOTS, { recursive: true });
    await copyFile(file, path.join(DOCS_SHOTS, `${name}.png`));
  }

  async function openTransfer(page) {
    await page.getByRole('button', { name: 'Transfer', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Transfer this chat' });
    await dialog.waitFor();
    return dialog;
  }

  /** The transfer log lines of the open chat's transcript, in order, as the agent reads them. */
  const logLines = (page) =>
    transcript(page)
      .getByRole('listitem')
      .filter({ hasText: 'Transfer log' })
      .locator('p')
      .allInnerTexts();

  /** Wait for `last` in the transcript, let late frames land, then read the log lines. */
  async function settledLog(page, last) {
    await transcript(page).getByText(last).first().waitFor();
    await sleep(600);
    return logLines(page);
  }

  const offerCard = (page, from) =>
    page.getByRole('region', { name: 'Offers and alerts' }).getByRole('article').filter({ hasText: `from ${from}` });

  test('a chat is allocated and exchanged; notes, typing, canned replies, reconnect, two tabs, status; text stays text', { timeout: 60_000 }, async (t) => {
    await run(t, async () => {
      const ann = await consoleOf('ann', { audit: true });
      const bob = await consoleOf('bob');
      await setStatus(bob.page, 'Away');
      const evil = '<script>window.pwned=1</script>Vera';
      const firefox = {
        'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0',
        'accept-language': 'de-DE,de;q=0.9',
      };
      const page = { url: 'https://shop.example/cart', title: '<img src=x onerror="window.pwned=2">Cart', referrer: 'https://search.example/?q=parcel', zone: 'Asia/Tokyo' };
      const v = await newVisitor(ids.main, page, firefox);
      await v.start({ name: evil, email: 'vera@example.com', order: '1042' });
      await v.say('Hello <b>there</b>, where is my order?');

      // Ann gets the chat, with the visitor's words as text.
      await chatButton(ann.page, evil).waitFor();
      await transcript(ann.page).getByText('Hello <b>there</b>, where is my order?', { exact: true }).waitFor();
      await ann.page.getByRole('heading', { level: 1, name: evil }).waitFor();
      const panel = ann.page.getByRole('complementary', { name: 'Visitor' });
      await panel.getByText('vera@example.com').first().waitFor();
      await panel.getByText('1042').waitFor();
      await panel.getByText('<img src=x onerror="window.pwned=2">Cart').first().waitFor();
      assert.equal(await ann.page.evaluate(() => window.pwned), undefined, 'visitor input ran as code');
      // The live visitor list (sent at most once a second) fills in the pages seen and time on site.
      await panel.getByRole('list').filter({ hasText: '<img src=x onerror="window.pwned=2">Cart' }).first().waitFor();
      await panel.locator('dt:text-is("Time on site") + dd').filter({ hasText: /^\d+:\d\d$/ }).waitFor();
      // What the connection told: browser, system, device, language, where the visit came from.
      await panel.locator('dt:text-is("Browser") + dd').filter({ hasText: 'Firefox 128 · Windows 10 · Computer' }).waitFor();
      await panel.locator('dt:text-is("Language") + dd').filter({ hasText: 'de-DE' }).waitFor();
      await panel.locator('dt:text-is("Local time") + dd').filter({ hasText: /^\d\d:\d\d.*\(Asia\/Tokyo\)$/ }).waitFor();
      await panel.locator('dt:text-is("Came from") + dd').getByRole('link', { name: 'https://search.example/?q=parcel' }).waitFor();
      await ann.page.getByRole('tab', { name: /Visitors/ }).click();
      await ann.page.getByRole('list', { name: 'Visitors on the site now' }).getByText(evil).waitFor();
      await ann.page.getByRole('tab', { name: /Chats/ }).click();

      // Typing both ways, a reply, a note the visitor never gets.
      v.send({ type: 'typing', chat: v.chat, on: true });
      await ann.page.getByText(`${evil} is typing…`).waitFor();
      const box = ann.page.getByLabel('Message to the visitor');
      await box.fill('Hi Vera, let me check.');
      await v.next((f) => f.type === 'typing' && f.on === true, STEP_TIMEOUT_MS, 'agent typing');
      await box.press('Enter');
      await v.heard('Hi Vera, let me check.');
      // A text over the server's limit is not sent: the console says the limit, keeps the text.
      await box.fill('y'.repeat(20_000));
      await box.press('Enter');
      await ann.page.getByText('This message is too long: shorten it to at most 4096 characters, then send it.').waitFor();
      assert.equal((await box.inputValue()).length, 20_000, 'the text stays in the box');
      await box.fill('');
      await ann.page.getByText('This message is too long').waitFor({ state: 'hidden' });
      await ann.page.getByRole('checkbox', { name: 'Internal note (agents only)' }).check();
      await ann.page.getByRole('textbox', { name: 'Internal note (agents only)' }).fill('Order 1042 shipped yesterday');
      await ann.page.getByRole('button', { name: 'Add note' }).click();
      await transcript(ann.page).getByText('Order 1042 shipped yesterday').waitFor();
      await transcript(ann.page).getByText(/Internal note/).waitFor();
      await ann.page.keyboard.press('Alt+I');
      await ann.page.getByRole('button', { name: 'Send', exact: true }).waitFor();

      // A canned reply: "/thanks" then Tab.
      await box.fill('/tha');
      await ann.page.getByRole('listbox', { name: 'Canned replies' }).getByRole('option', { name: /\/thanks/ }).waitFor();
      await box.press('Tab');
      assert.equal(await box.inputValue(), 'Thank you for waiting, I am on it.');
      await box.press('Enter');
      await v.heard('Thank you for waiting, I am on it.');
      await docShot(ann.page, 'console-chat');

      // The network drops: "Reconnecting…", and what was written meanwhile arrives once.
      await ann.page.evaluate(() => window.parleyConsole.drop());
      await ann.page.getByRole('status').filter({ hasText: /Reconnecting/ }).waitFor();
      await box.fill('Written while offline');
      await box.press('Enter');
      await v.say('Are you still there?');
      await connected(ann.page);
      await v.heard('Written while offline');
      await transcript(ann.page).getByText('Are you still there?', { exact: true }).waitFor();
      await sleep(500);
      assert.equal(await transcript(ann.page).getByText('Are you still there?', { exact: true }).count(), 1);
      assert.equal(await transcript(ann.page).getByText('Written while offline', { exact: true }).count(), 1);
      const agentCopies = v.frames.filter((f) => f.type === 'event' && f.text === 'Written while offline');
      assert.equal(agentCopies.length, 1, 'the message sent during the drop reached the visitor once');
      assert.ok(!v.frames.some((f) => f.type === 'event' && f.kind === 'note'), 'the visitor got a note');

      // Alert preferences are saved for the agent: a new tab has them too.
      await ann.page.getByRole('button', { name: 'Alerts' }).click();
      const prefs = ann.page.getByRole('dialog', { name: 'Alerts' });
      await prefs.getByRole('checkbox', { name: 'Bring the window to the front on a new message' }).check();
      await prefs.getByText('Saved for your account.').waitFor();
      await prefs.getByText(/Browsers do not let a page bring itself to the front/).waitFor();
      await docShot(ann.page, 'console-alerts');
      await prefs.getByRole('button', { name: 'Done' }).click();

      // A second tab of the same console shows the same chat, and a message once.
      const tab2 = await ann.context.newPage();
      tab2.on('pageerror', (e) => ann.problems.push(`tab 2 page error: ${e.message}`));
      await tab2.goto(new URL('/console', server.baseUrl).href);
      await connected(tab2);
      await transcript(tab2).getByText('Order 1042 shipped yesterday').waitFor();
      await box.fill('One message, two tabs');
      await box.press('Enter');
      await transcript(tab2).getByText('One message, two tabs', { exact: true }).waitFor();
      await sleep(300);
      assert.equal(await transcript(tab2).getByText('One message, two tabs', { exact: true }).count(), 1);
      assert.equal(await transcript(ann.page).getByText('One message, two tabs', { exact: true }).count(), 1);
      await tab2.getByRole('button', { name: 'Alerts' }).click();
      assert.equal(
        await tab2.getByRole('checkbox', { name: 'Bring the window to the front on a new message' }).isChecked(),
        true,
        'the preference did not follow the agent',
      );
      await tab2.close();

      // Status: Ann goes Away; Bob sees it at once.
      await setStatus(ann.page, 'Away');
      await bob.page.getByRole('tab', { name: /Team/ }).click();
      await bob.page.getByRole('list', { name: 'Colleagues' }).getByRole('listitem').filter({ hasText: 'Ann Agent' }).filter({ hasText: 'Away' }).waitFor();

      const serious = await axe(ann.page, 'console with a chat');
      assert.deepEqual(serious, [], 'axe-core found serious/critical violations');
      assert.equal(await ann.page.evaluate(() => window.pwned), undefined, 'visitor input ran as code');

      await ann.page.getByRole('button', { name: 'End chat' }).click();
      await v.next((f) => f.type === 'event' && f.kind === 'ended', STEP_TIMEOUT_MS, 'ended');
      await ann.page.getByText('This chat has ended.').first().waitFor();
    });
  });

  test('warm transfer accepted: countdown, chatting meanwhile, "Transfer now"; the target gets the whole transcript', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await run(t, async () => {
      const ann = await consoleOf('ann', { audit: true });
      const bob = await consoleOf('bob', { audit: true });
      await setStatus(bob.page, 'Away');
      const v = await chatWith(ann.page, 'Walter', 'I was charged twice.');

      const dialog = await openTransfer(ann.page);
      await dialog.getByLabel('Search by name, email, department or skill').fill('french');
      const row = dialog.getByRole('row').filter({ hasText: 'Bob Agent' });
      await row.waitFor();
      await row.getByText('Away').waitFor();
      // The search answers: Cleo (no "french" skill) leaves the list.
      await dialog.getByRole('row').filter({ hasText: 'Cleo Agent' }).waitFor({ state: 'detached' });
      await dialog.getByLabel('Note for the next agent (agents only)').fill('Double charge, card ending 42');
      const dialogAxe = await axe(ann.page, 'transfer dialog');
      await docShot(ann.page, 'console-transfer-dialog');
      await row.getByRole('button', { name: 'Warm transfer to Bob Agent' }).click();

      // Ann: waiting, with a countdown; she can still write.
      await ann.page.getByText('Waiting for Bob Agent to accept').waitFor();
      await ann.page.getByText(/\d s left/).first().waitFor();
      // Bob: the offer, with the note, the visitor and a preview of the conversation.
      const card = offerCard(bob.page, 'Ann Agent');
      await card.getByText('Double charge, card ending 42').waitFor();
      await card.getByText('Walter').first().waitFor();
      await card.getByText('I was charged twice.').waitFor();
      await card.getByText(/\d s left/).waitFor();
      const offerAxe = await axe(bob.page, 'offer card');
      await docShot(bob.page, 'console-offer');
      await ann.page.getByLabel('Message to the visitor').fill('One moment, I am asking a colleague.');
      await ann.page.getByLabel('Message to the visitor').press('Enter');
      await v.heard('One moment, I am asking a colleague.');

      await card.getByRole('button', { name: 'Accept' }).click();
      await ann.page.getByText('Bob Agent accepted').waitFor();
      await docShot(ann.page, 'console-transfer-accepted');
      await ann.page.getByLabel('Message to the visitor').fill('Bob will take it from here. Goodbye!');
      await ann.page.getByLabel('Message to the visitor').press('Enter');
      await v.heard('Bob will take it from here. Goodbye!');
      await ann.page.getByRole('button', { name: 'Transfer now' }).click();

      await ann.page.getByText('You transferred this chat to Bob Agent').waitFor();
      assert.equal(await ann.page.getByLabel('Message to the visitor').isVisible(), false);
      await chatButton(bob.page, 'Walter').click();
      await transcript(bob.page).getByText('I was charged twice.').waitFor();
      await transcript(bob.page).getByText('Bob will take it from here. Goodbye!').waitFor();
      await transcript(bob.page).getByText(/Warm transfer by Ann Agent to You/).first().waitFor();
      await bob.page.getByLabel('Message to the visitor').fill('Hi Walter, Bob here.');
      await bob.page.getByLabel('Message to the visitor').press('Enter');
      await v.heard('Hi Walter, Bob here.');
      assert.deepEqual([...dialogAxe, ...offerAxe], [], 'axe-core found serious/critical violations');
    });
  });

  test('cold transfer of a long chat: the new agent gets the latest page, and older history loads on scroll', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await run(t, async () => {
      const ann = await consoleOf('ann');
      const bob = await consoleOf('bob');
      await setStatus(bob.page, 'Away');
      const v = await chatWith(ann.page, 'Ursula', 'Line 1 of my long story');
      for (let i = 2; i <= 60; i++) await v.say(`Line ${i} of my long story`);
      await transcript(ann.page).getByText('Line 60 of my long story', { exact: true }).waitFor();
      const dialog = await openTransfer(ann.page);
      await dialog.getByRole('button', { name: 'Cold transfer to Bob Agent' }).click();
      await ann.page.getByText('You transferred this chat to Bob Agent').waitFor();

      await chatButton(bob.page, 'Ursula').click();
      const log = transcript(bob.page);
      await log.getByText('Line 60 of my long story', { exact: true }).waitFor();
      assert.equal(await log.getByText('Line 1 of my long story', { exact: true }).count(), 0, 'the first page already had it all');
      await log.evaluate((el) => (el.scrollTop = 0));
      await log.getByText('Line 1 of my long story', { exact: true }).waitFor();
      assert.equal(await log.getByText('Line 30 of my long story', { exact: true }).count(), 1);
    });
  });

  test('warm transfer declined: the reason, the dialog again with the note kept, then another agent accepts', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await run(t, async () => {
      const ann = await consoleOf('ann');
      const bob = await consoleOf('bob');
      const cleo = await consoleOf('cleo');
      await setStatus(bob.page, 'Away');
      await setStatus(cleo.page, 'Away');
      await chatWith(ann.page, 'Xena', 'Can I pay by invoice?');

      let dialog = await openTransfer(ann.page);
      await dialog.getByLabel('Note for the next agent (agents only)').fill('Wants to pay by invoice');
      await dialog.getByRole('button', { name: 'Warm transfer to Bob Agent' }).click();
      const card = offerCard(bob.page, 'Ann Agent');
      await card.getByLabel('Reason if you decline (optional)').fill('On a call');
      await card.getByRole('button', { name: 'Decline' }).click();
      await card.waitFor({ state: 'detached' });

      await ann.page.getByText('Bob Agent declined: On a call').waitFor();
      dialog = ann.page.getByRole('dialog', { name: 'Transfer this chat' });
      await dialog.waitFor();
      assert.equal(await dialog.getByLabel('Note for the next agent (agents only)').inputValue(), 'Wants to pay by invoice');
      await docShot(ann.page, 'console-transfer-declined');
      await dialog.getByRole('button', { name: 'Warm transfer to Cleo Agent' }).click();

      const card2 = offerCard(cleo.page, 'Ann Agent');
      await card2.getByText('Wants to pay by invoice').waitFor();
      await card2.getByRole('button', { name: 'Accept' }).click();
      await ann.page.getByRole('button', { name: 'Transfer now' }).click();
      await chatButton(cleo.page, 'Xena').click();
      await transcript(cleo.page).getByText('Can I pay by invoice?').waitFor();
      await ann.page.getByText('You transferred this chat to Cleo Agent').waitFor();
    });
  });

  test('an offer survives a reload of the console it was made to, and is accepted there', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await run(t, async () => {
      const ann = await consoleOf('ann');
      const bob = await consoleOf('bob');
      await setStatus(bob.page, 'Away');
      await chatWith(ann.page, 'Zoe', 'Is the shop open on Sunday?');
      const dialog = await openTransfer(ann.page);
      await dialog.getByLabel('Note for the next agent (agents only)').fill('Opening hours');
      await dialog.getByRole('button', { name: 'Warm transfer to Bob Agent' }).click();
      await offerCard(bob.page, 'Ann Agent').waitFor();
      // The reloaded console has no memory of the frame: the card comes from agent_welcome.
      await bob.page.reload();
      const card = offerCard(bob.page, 'Ann Agent');
      await card.getByText('Opening hours').waitFor();
      await card.getByRole('button', { name: 'Accept' }).click();
      await ann.page.getByRole('button', { name: 'Transfer now' }).click();
      await chatButton(bob.page, 'Zoe').click();
      await transcript(bob.page).getByText('Is the shop open on Sunday?').waitFor();
    });
  });

  test(`warm transfer timeout after the site's ${WARM_TIMEOUT_SECS} s: "no answer", the offer vanishes`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await run(t, async () => {
      const ann = await consoleOf('ann');
      const bob = await consoleOf('bob');
      await setStatus(bob.page, 'Away');
      await chatWith(ann.page, 'Yann', 'Hello?');
      const dialog = await openTransfer(ann.page);
      await dialog.getByLabel('Note for the next agent (agents only)').fill('Knows billing?');
      await dialog.getByRole('button', { name: 'Warm transfer to Bob Agent' }).click();
      const card = offerCard(bob.page, 'Ann Agent');
      await card.waitFor();
      const started = Date.now();
      await ann.page
        .getByText(`No answer from Bob Agent within ${WARM_TIMEOUT_SECS} seconds`)
        .waitFor({ timeout: (WARM_TIMEOUT_SECS + 8) * 1000 });
      const waited = Date.now() - started;
      assert.ok(waited > (WARM_TIMEOUT_SECS - 1.5) * 1000, `timed out after only ${waited} ms`);
      await card.waitFor({ state: 'detached' });
      const again = ann.page.getByRole('dialog', { name: 'Transfer this chat' });
      assert.equal(await again.getByLabel('Note for the next agent (agents only)').inputValue(), 'Knows billing?');
    });
  });

  test('broadcast to a department: the second agent’s offer disappears when the first accepts', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await run(t, async () => {
      const ann = await consoleOf('ann');
      const bob = await consoleOf('bob');
      const cleo = await consoleOf('cleo');
      await setStatus(bob.page, 'Away');
      await setStatus(cleo.page, 'Away');
      await chatWith(ann.page, 'Zoe', 'Anyone from billing?');
      const dialog = await openTransfer(ann.page);
      await dialog.getByLabel('Note for the next agent (agents only)').fill('Billing question');
      await dialog.getByRole('button', { name: 'Broadcast to Billing' }).click();
      await ann.page.getByText('Waiting for every available member of Billing to accept').waitFor();

      const bobCard = bob.page.getByRole('article').filter({ hasText: 'Broadcast transfer from Ann Agent' });
      const cleoCard = cleo.page.getByRole('article').filter({ hasText: 'Broadcast transfer from Ann Agent' });
      await bobCard.waitFor();
      await cleoCard.waitFor();
      await bobCard.getByRole('button', { name: 'Accept' }).click();
      await cleoCard.waitFor({ state: 'detached' });
      await cleo.page.getByText(/A colleague accepted it first/).waitFor();
      await chatButton(bob.page, 'Zoe').click();
      await transcript(bob.page).getByText('Anyone from billing?').waitFor();
      await ann.page.getByText(/no longer yours/).waitFor();
      assert.equal(await chatList(cleo.page).getByRole('button', { name: /Zoe/ }).count(), 0);
    });
  });

  test('cross-site transfer: the source loses the chat; the target sees the transfer log and the transcript', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await run(t, async () => {
      const ann = await consoleOf('ann');
      const dora = await consoleOf('dora');
      const v = await chatWith(ann.page, 'Quentin', 'Do you ship to Belgium?');
      const first = v.chat;
      const dialog = await openTransfer(ann.page);
      await dialog.getByLabel('Site', { exact: true }).selectOption({ label: 'Beta Store' });
      const row = dialog.getByRole('table', { name: 'Other sites' }).getByRole('row').filter({ hasText: 'Beta Store' });
      await row.waitFor();
      assert.equal(await row.getByRole('checkbox', { name: 'With chat transcript' }).isChecked(), true, 'default from the settings');
      await dialog.getByLabel('Note for the next agent (agents only)').fill('Shipping to Belgium');
      await row.getByRole('button', { name: 'Transfer to Beta Store' }).click();

      await ann.page.getByText('This chat moved to another site and goes on there. You can no longer follow it.').waitFor();
      assert.equal(await ann.page.getByLabel('Message to the visitor').isVisible(), false);
      assert.equal(await ann.page.getByRole('button', { name: 'Transfer', exact: true }).isVisible(), false);
      const moved = await v.next((f) => f.type === 'chat' && f.chat.id !== first, STEP_TIMEOUT_MS, 'the new chat');

      await chatButton(dora.page, 'Quentin').click();
      await transcript(dora.page).getByText('Do you ship to Belgium?').waitFor();
      // The copied conversation is marked as coming from the source site.
      const copied = transcript(dora.page).locator('li.copied').filter({ hasText: 'Do you ship to Belgium?' });
      await copied.getByText('From Acme Shop').waitFor();
      await transcript(dora.page).getByText(/Cross-site transfer by Ann Agent \(Acme Shop\)/).first().waitFor();
      const origin = dora.page.getByRole('complementary', { name: 'Visitor' });
      await origin.getByText('Transferred from another site').waitFor();
      await origin.getByText('Ann Agent at Acme Shop').waitFor();
      await origin.getByText('Shipping to Belgium').waitFor();
      await docShot(dora.page, 'console-cross-site');
      await dora.page.getByLabel('Message to the visitor').fill('Yes, we do!');
      await dora.page.getByLabel('Message to the visitor').press('Enter');
      const heard = await v.heard('Yes, we do!');
      assert.equal(heard.chat, moved.chat.id);
      // The transfer note and log are for agents: nothing of them reached the visitor.
      const leaked = v.frames.filter((f) => JSON.stringify(f).includes('Shipping to Belgium') || (f.type === 'chat' && 'origin' in f.chat));
      assert.deepEqual(leaked, [], 'the visitor received agent-only content');

      // Tablet size: the console still fits.
      await dora.page.setViewportSize({ width: 820, height: 1180 });
      await dora.page.getByRole('button', { name: 'Transfer', exact: true }).waitFor();
      await docShot(dora.page, 'console-tablet');
    });
  });

  test('"Transfer anyway" to an offline agent: the fallback minutes are checked, sent, and the chat goes back to the queue after them', { timeout: 120_000 }, async (t) => {
    await run(t, async () => {
      const ann = await consoleOf('ann', { audit: true });
      const cleo = await consoleOf('cleo');
      await setStatus(cleo.page, 'Away');
      // Bob has no console open: he is Offline.

      // The default, 0: the chat waits for Bob, however long it takes.
      const v1 = await chatWith(ann.page, 'Olga', 'Is Bob there?');
      let dialog = await openTransfer(ann.page);
      const fallback = dialog.getByLabel('Transfer anyway: back to the queue after (minutes)');
      const description = () =>
        fallback.evaluate((el) =>
          (el.getAttribute('aria-describedby') ?? '')
            .split(/\s+/)
            .filter(Boolean)
            .map((id) => (document.getElementById(id)?.hidden ? `(hidden #${id})` : document.getElementById(id)?.textContent.trim())),
        );
      const hint =
        'For an agent who is Offline or full: 0 to 1440 minutes (24 hours). 0 means the chat waits until they come online or have a free place, however long that takes.';
      assert.equal(await fallback.inputValue(), '0');
      assert.equal(await fallback.getAttribute('min'), '0');
      assert.equal(await fallback.getAttribute('max'), '1440');
      assert.deepEqual(await description(), [hint]);
      const bobRow = dialog.getByRole('row').filter({ hasText: 'Bob Agent' });
      await bobRow.getByText('Offline').waitFor();
      await bobRow.getByRole('button', { name: 'Transfer anyway to Bob Agent' }).click();
      await ann.page.getByText('You transferred this chat to Bob Agent. It waits until they come online or have a free place. It is no longer yours.').waitFor();
      const first = ann.sent.find((f) => f.type === 'transfer' && f.chat === v1.chat);
      assert.deepEqual(first?.target, { kind: 'agent', agent: ids.bob, mode: 'anyway', fallback_mins: 0 });
      await v1.next((f) => f.type === 'event' && f.kind === 'system' && /queue/i.test(f.text), STEP_TIMEOUT_MS, 'the queue message');

      // Not a whole number of minutes, or out of range: said next to the field, nothing sent.
      const v2 = await chatWith(ann.page, 'Nadia', 'I need Bob, he knows my case.');
      dialog = await openTransfer(ann.page);
      assert.equal(await fallback.inputValue(), '0', 'the field starts at 0 again');
      const anyway = dialog.getByRole('button', { name: 'Transfer anyway to Bob Agent' });
      const refused = [
        ['1441', 'Back to the queue after: 1441 minutes is out of range. Enter 0 to 1440 (at most 24 hours).'],
        ['-5', 'Back to the queue after: -5 minutes is out of range. Enter 0 to 1440 (at most 24 hours).'],
        ['2.5', 'Back to the queue after: 2.5 is not a whole number of minutes. Enter 0 to 1440.'],
        ['', 'Back to the queue after: enter a number of minutes from 0 to 1440 (0: the chat waits until they come online).'],
      ];
      for (const [typed, message] of refused) {
        await fallback.fill(typed);
        await anyway.click();
        await dialog.getByText(message, { exact: true }).waitFor();
        assert.equal(await fallback.getAttribute('aria-invalid'), 'true', `aria-invalid for ${JSON.stringify(typed)}`);
        assert.deepEqual(await description(), [hint, message]);
        assert.equal(await fallback.evaluate((el) => el === document.activeElement), true, 'the field has the focus');
      }
      // Text that is not a number at all (the browser keeps it as "bad input").
      await fallback.fill('');
      await fallback.pressSequentially('e');
      await anyway.click();
      await dialog.getByText(refused[3][1], { exact: true }).waitFor();
      const errorAxe = await axe(ann.page, 'transfer dialog with a fallback error');
      assert.equal(ann.sent.filter((f) => f.type === 'transfer' && f.chat === v2.chat).length, 0, 'a refused value was sent');
      assert.equal(await dialog.isVisible(), true);

      // Enter in the field does not close the dialog; typing clears the error.
      await fallback.fill('1');
      await fallback.press('Enter');
      assert.equal(await dialog.isVisible(), true, 'Enter closed the dialog');
      assert.equal(await fallback.getAttribute('aria-invalid'), null);
      assert.deepEqual(await description(), [hint]);
      await anyway.click();
      const sentAt = Date.now();
      await ann.page
        .getByText('You transferred this chat to Bob Agent. It waits for them; if they have not taken it within 1 minute, it goes back to the queue. It is no longer yours.')
        .waitFor();
      const second = ann.sent.find((f) => f.type === 'transfer' && f.chat === v2.chat);
      assert.deepEqual(second?.target, { kind: 'agent', agent: ids.bob, mode: 'anyway', fallback_mins: 1 });
      assert.equal(await dialog.isVisible(), false);

      // After the minute the chat goes back to Billing's queue, and Cleo (Online now) gets it;
      // Olga's chat (no fallback) still waits for Bob.
      await setStatus(ann.page, 'Away');
      await setStatus(cleo.page, 'Online');
      await sleep(1_000);
      assert.equal(await chatList(cleo.page).getByRole('button', { name: /Nadia/ }).count(), 0, 'back to the queue too early');
      await chatButton(cleo.page, 'Nadia').waitFor({ timeout: 80_000 });
      const waited = Date.now() - sentAt;
      assert.ok(waited > 55_000, `back in the queue after only ${waited} ms`);
      await chatButton(cleo.page, 'Nadia').click();
      await transcript(cleo.page).getByText('I need Bob, he knows my case.').waitFor();
      await transcript(cleo.page).getByText('Transfer to an unavailable agent by Ann Agent to Bob Agent: waiting').waitFor();
      await transcript(cleo.page).getByText(/^You took the chat/).waitFor();
      assert.equal(await chatList(cleo.page).getByRole('button', { name: /Olga/ }).count(), 0, 'the chat without a fallback left Bob');
      assert.deepEqual(errorAxe, [], 'axe-core found serious/critical violations');
    });
  });

  test('each transfer step shows once in the transcript: both agents, after a reconnect and a reload, and at the site it moved to', { timeout: 60_000 }, async (t) => {
    await run(t, async () => {
      const ann = await consoleOf('ann');
      const bob = await consoleOf('bob');
      const dora = await consoleOf('dora');
      await setStatus(bob.page, 'Away');
      await chatWith(ann.page, 'Petra', 'My parcel is late.');

      let dialog = await openTransfer(ann.page);
      await dialog.getByLabel('Note for the next agent (agents only)').fill('Parcel late');
      await dialog.getByRole('button', { name: 'Warm transfer to Bob Agent' }).click();
      await offerCard(bob.page, 'Ann Agent').getByRole('button', { name: 'Accept' }).click();
      await ann.page.getByRole('button', { name: 'Transfer now' }).click();
      await ann.page.getByText('You transferred this chat to Bob Agent').waitFor();

      /** Every line once, and exactly one line per step. */
      const once = (lines, steps, where) => {
        assert.equal(new Set(lines).size, lines.length, `${where}: a transfer log line shows twice: ${JSON.stringify(lines)}`);
        for (const step of steps) {
          const n = lines.filter((l) => step.test(l)).length;
          assert.equal(n, 1, `${where}: ${n} lines match ${step}: ${JSON.stringify(lines)}`);
        }
      };
      const warm = [/^Warm transfer .*: offered/, /^Warm transfer .*: accepted/, /^Warm transfer .*: completed/];
      const annLog = await settledLog(ann.page, /Warm transfer by You to Bob Agent: completed/);
      once(annLog, warm, 'Ann');
      assert.equal(annLog.length, 3, `Ann: ${JSON.stringify(annLog)}`);

      await chatButton(bob.page, 'Petra').click();
      const bobLog = await settledLog(bob.page, /Warm transfer by Ann Agent to You: completed/);
      once(bobLog, warm, 'Bob');
      assert.equal(bobLog.length, 3, `Bob: ${JSON.stringify(bobLog)}`);

      // The connection drops and comes back: the replay adds nothing.
      await bob.page.evaluate(() => window.parleyConsole.drop());
      await bob.page.getByRole('status').filter({ hasText: /Reconnecting/ }).waitFor();
      await connected(bob.page);
      assert.deepEqual(await settledLog(bob.page, /: completed/), bobLog, 'Bob after a reconnect');

      // A reload: the history is loaded again from the server, each step once.
      await bob.page.reload();
      await connected(bob.page);
      await chatButton(bob.page, 'Petra').click();
      assert.deepEqual(await settledLog(bob.page, /: completed/), bobLog, 'Bob after a reload');

      // Bob sends it on to Beta Store with the transcript: Dora reads the conversation and the
      // step that brought it, once; Acme's own transfer log stays at Acme.
      dialog = await openTransfer(bob.page);
      await dialog.getByLabel('Site', { exact: true }).selectOption({ label: 'Beta Store' });
      const row = dialog.getByRole('table', { name: 'Other sites' }).getByRole('row').filter({ hasText: 'Beta Store' });
      await row.getByRole('button', { name: 'Transfer to Beta Store' }).click();
      await bob.page.getByText('This chat moved to another site').first().waitFor();
      await chatButton(dora.page, 'Petra').click();
      await transcript(dora.page).getByText('My parcel is late.').waitFor();
      const doraLog = await settledLog(dora.page, /Cross-site transfer by Bob Agent \(Acme Shop\)/);
      once(doraLog, [/^Cross-site transfer by Bob Agent \(Acme Shop\) to this site: completed$/], 'Dora');
      assert.equal(doraLog.length, 1, `Dora: ${JSON.stringify(doraLog)}`);
    });
  });

  test('the live visitor list: invite a visitor (they accept and the chat comes), or start a chat at once', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await run(t, async () => {
      const ann = await consoleOf('ann');
      const v1 = await newVisitor(ids.main, { url: 'https://shop.example/pricing', title: 'Pricing' });
      const v2 = await newVisitor(ids.main, { url: 'https://shop.example/help', title: 'Help centre' });
      const id1 = v1.frames.find((f) => f.type === 'visitor_welcome').visitor;
      const id2 = v2.frames.find((f) => f.type === 'visitor_welcome').visitor;
      await ann.page.getByRole('tab', { name: /Visitors/ }).click();
      const list = ann.page.getByRole('list', { name: 'Visitors on the site now' });
      await list.getByRole('listitem').filter({ hasText: 'Pricing' }).waitFor();
      await docShot(ann.page, 'console-visitors');

      await list.getByRole('button', { name: `Invite Visitor ${id1} to chat` }).click();
      const inv = await v1.next((f) => f.type === 'invitation', STEP_TIMEOUT_MS, 'invitation');
      assert.equal(inv.mode, 'manual');
      assert.equal(inv.agent, 'Ann Agent');
      // The list shows the invitation as pending: no second invitation from here.
      const item1 = list.getByRole('listitem').filter({ hasText: 'Pricing' });
      await item1.getByText('Invited').waitFor();
      assert.equal(await item1.getByRole('button', { name: `Invite Visitor ${id1} to chat` }).isDisabled(), true);
      v1.send({ type: 'invitation_answer', invitation: inv.invitation, accept: true });
      await v1.start({ name: 'Ines' });
      await ann.page.getByRole('tab', { name: /Chats/ }).click();
      await chatButton(ann.page, 'Ines').waitFor();

      await ann.page.getByRole('tab', { name: /Visitors/ }).click();
      await list.getByRole('button', { name: `Chat now with Visitor ${id2}` }).click();
      const opened = await v2.next((f) => f.type === 'chat', STEP_TIMEOUT_MS, 'the chat opened by the agent');
      assert.equal(opened.chat.status, 'active');
      await ann.page.getByRole('tab', { name: /Chats/ }).click();
      await chatButton(ann.page, `Visitor ${id2}`).click();
      await ann.page.getByLabel('Message to the visitor').fill('Hello! Can I help you find something?');
      await ann.page.getByLabel('Message to the visitor').press('Enter');
      await v2.heard('Hello! Can I help you find something?');
    });
  });

  test('without invite: the agent is alerted about a visitor, starts the chat and writes first', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await run(t, async () => {
      const dora = await consoleOf('dora');
      const v = await newVisitor(ids.betaProactive, { url: 'https://beta.example/pricing', title: 'Pricing plans' });
      const id = v.frames.find((f) => f.type === 'visitor_welcome').visitor;
      const card = dora.page.getByRole('article', { name: `Visitor ${id} could use a chat` });
      await card.getByText('Pricing plans').waitFor();
      await card.getByRole('button', { name: 'Start chat' }).click();
      const opened = await v.next((f) => f.type === 'chat', STEP_TIMEOUT_MS, 'the chat the agent opened');
      assert.equal(opened.chat.status, 'active');
      await card.waitFor({ state: 'detached' });
      await chatButton(dora.page, `Visitor ${id}`).click();
      await dora.page.getByLabel('Message to the visitor').fill('Hi! Questions about our plans?');
      await dora.page.getByLabel('Message to the visitor').press('Enter');
      await v.heard('Hi! Questions about our plans?');
    });
  });

  test('the console needs a signed-in agent; the owner goes to the admin pages', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    if (setupError) throw new Error(`setup failed: ${setupError.message}`, { cause: setupError });
    const anon = await fetch(new URL('/console', server.baseUrl), { redirect: 'manual' });
    assert.equal(anon.status, 303);
    assert.match(anon.headers.get('location'), /^\/login/);
    const owner = await seed.ownerSession(server.baseUrl);
    const r = await owner.request('GET', '/console');
    assert.equal(r.status, 303);
    assert.equal(r.location, '/admin');
    void t;
  });
});
