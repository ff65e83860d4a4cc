// The visitor widget as visitors meet it: a real `parley serve`, plain HTML pages of "the
// organization's site" served by hostpage.mjs from another origin (http://localhost:PORT, while
// Parley is http://127.0.0.1:PORT2 — another site, not only another port), each embedding the
// widget with the one documented <script> tag, and headless Chromium. Agents are scripted: a raw
// WebSocket to /ws/agent from Node with the agent's session cookie.
//
// Tests assert what a visitor sees (text, roles, accessible names). Screenshots of the widget's
// states are written to docs/screenshots/widget-*.png for docs/widget.md.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import path from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { startServer } from './server.mjs';
import { launchBrowser, ARTIFACTS, AXE_PATH, STEP_TIMEOUT_MS } from './browser.mjs';
import { ownerSession, signIn, createSite, createDepartment, createAgent, createCampaign, createGroup } from './seed.mjs';
import { startHostPage } from './hostpage.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SHOTS = path.resolve(HERE, '..', '..', 'docs', 'screenshots');
const TEST_TIMEOUT_MS = 40_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- a minimal WebSocket client (Node 20 has none built in) ---------------------------------------

/** Open a WebSocket (RFC 6455) to `url` with extra request `headers`; resolves a RawSocket. */
function openSocket(url, headers = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request({
      host: u.hostname,
      port: u.port,
      path: u.pathname,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': crypto.randomBytes(16).toString('base64'),
        ...headers,
      },
    });
    req.setTimeout(STEP_TIMEOUT_MS, () => req.destroy(new Error(`no WebSocket upgrade from ${url} in time`)));
    req.on('upgrade', (_res, socket, head) => resolve(new RawSocket(socket, head)));
    req.on('response', (res) => reject(new Error(`${url}: upgrade refused with ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
}

class RawSocket {
  constructor(socket, head) {
    this.socket = socket;
    this.buf = head;
    this.frames = []; // received, not yet taken by waitFor
    this.all = []; // every frame received
    this.frag = null;
    this.closed = null;
    this.waiters = new Set();
    socket.setNoDelay(true);
    socket.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.parse();
    });
    socket.on('close', () => {
      this.closed ??= { code: 1006, reason: '' };
      this.wake();
    });
    socket.on('error', () => {});
  }

  parse() {
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      let len = b[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      if (b.length < off + len) return;
      const fin = (b[0] & 0x80) !== 0;
      const op = b[0] & 0x0f;
      const payload = Buffer.from(b.subarray(off, off + len));
      this.buf = b.subarray(off + len);
      if (op === 0x9) this.raw(0xa, payload);
      else if (op === 0x8) {
        this.closed = {
          code: payload.length >= 2 ? payload.readUInt16BE(0) : 1005,
          reason: payload.subarray(2).toString('utf8'),
        };
        this.raw(0x8, payload.subarray(0, 2));
        this.socket.end();
        this.wake();
      } else if (op === 0x1 || op === 0x0) {
        this.frag = op === 0x1 ? [payload] : [...(this.frag ?? []), payload];
        if (fin) {
          const f = JSON.parse(Buffer.concat(this.frag).toString('utf8'));
          this.frag = null;
          this.frames.push(f);
          this.all.push(f);
          this.wake();
        }
      }
    }
  }

  raw(op, payload) {
    if (this.socket.destroyed) return;
    const mask = crypto.randomBytes(4);
    const n = payload.length;
    const head = n < 126 ? Buffer.from([0x80 | op, 0x80 | n]) : Buffer.from([0x80 | op, 0x80 | 126, n >> 8, n & 0xff]);
    const body = Buffer.alloc(n);
    for (let i = 0; i < n; i++) body[i] = payload[i] ^ mask[i % 4];
    this.socket.write(Buffer.concat([head, mask, body]));
  }

  send(obj) {
    this.raw(0x1, Buffer.from(JSON.stringify(obj)));
  }

  wake() {
    for (const w of [...this.waiters]) w();
  }

  /** The first received frame matching `pred` (taken out of the buffer), within `ms`. */
  waitFor(pred, label, ms = STEP_TIMEOUT_MS) {
    return new Promise((resolve, reject) => {
      let timer;
      const check = () => {
        const i = this.frames.findIndex(pred);
        if (i >= 0) {
          const [f] = this.frames.splice(i, 1);
          finish();
          resolve(f);
        } else if (this.closed) {
          finish();
          reject(new Error(`socket closed (${this.closed.code} ${this.closed.reason}) while waiting for ${label}`));
        }
      };
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      timer = setTimeout(() => {
        finish();
        const seen = this.all.slice(-12).map((f) => JSON.stringify(f).slice(0, 200));
        reject(new Error(`no ${label} within ${ms} ms; last frames:\n  ${seen.join('\n  ')}`));
      }, ms);
      this.waiters.add(check);
      check();
    });
  }

  close() {
    if (!this.closed) this.raw(0x8, Buffer.from([0x03, 0xe8]));
    this.socket.end();
    this.socket.destroy();
  }
}

// ---- the test file ----------------------------------------------------------------------------------

describe('the visitor widget on another site', { timeout: 200_000 }, () => {
  let server;
  let browser;
  let host;
  let setupError = null;
  /** Seeded ids and sessions. */
  const S = {};

  const AGENT_PW = 'agent-password-123';

  before(async () => {
    try {
      const [s, b] = await Promise.all([startServer(), launchBrowser()]);
      server = s;
      browser = b;
      host = await startHostPage(server.baseUrl);
      const owner = await ownerSession(server.baseUrl);

      // Site A: a shop with a support department, one agent, a campaign with a pre-chat form.
      S.shop = await createSite(owner, 'Acme Outdoor');
      S.support = await createDepartment(owner, S.shop, { name: 'Support' });
      await createAgent(owner, S.shop, {
        name: 'Ann Agent', email: 'ann@example.com', password: AGENT_PW, departments: [S.support], maxChats: 20,
      });
      // Bob is in no department: chats of "Main" never go to him, only transfers.
      await createAgent(owner, S.shop, { name: 'Bob Agent', email: 'bob@example.com', password: AGENT_PW, maxChats: 20 });
      S.main = await createCampaign(owner, S.shop, {
        name: 'Main',
        department: S.support,
        title: 'Acme Outdoor help',
        color: '#1b6e53',
        prechat: [
          { key: 'name', label: 'Your name', kind: 'text', required: true },
          { key: 'email', label: 'Email', kind: 'email', required: true },
          { key: 'order', label: 'Order number', kind: 'text', required: false },
        ],
        postchat: { enabled: true, question: '', comment: true },
      });
      // Site B: invitations after 1 s on the site.
      S.inviteSite = await createSite(owner, 'Trail Maps');
      await createAgent(owner, S.inviteSite, { name: 'Ben Agent', email: 'ben@example.com', password: AGENT_PW, maxChats: 20 });
      S.invite = await createCampaign(owner, S.inviteSite, {
        name: 'Invite',
        title: 'Trail Maps',
        color: '#7a3e9d',
        position: 'left',
        prechat: [{ key: 'name', label: 'Your name', kind: 'text', required: true }],
        proactive: { mode: 'with_invite', afterSecs: 1, invitationText: 'Planning a hike? Our rangers can help you pick a trail.' },
      });
      // The same site, inviting after 4 s: time for a visitor to open the window first.
      S.inviteLater = await createCampaign(owner, S.inviteSite, {
        name: 'Invite later',
        title: 'Trail Maps',
        prechat: [{ key: 'name', label: 'Your name', kind: 'text', required: true }],
        proactive: { mode: 'with_invite', afterSecs: 4, invitationText: 'Still looking for a trail?' },
      });
      // Site C: without invite, in German.
      S.autoSite = await createSite(owner, 'Bergsport');
      await createAgent(owner, S.autoSite, { name: 'Cara Agent', email: 'cara@example.com', password: AGENT_PW, maxChats: 20 });
      S.auto = await createCampaign(owner, S.autoSite, {
        name: 'Auto',
        language: 'de',
        title: 'Bergsport Beratung',
        color: '#b3261e',
        prechat: [{ key: 'name', label: 'Ihr Name', kind: 'text', required: true }],
        proactive: { mode: 'without_invite', afterSecs: 1 },
      });
      // Site D: nobody works here; the campaign speaks French.
      S.quietSite = await createSite(owner, 'Refuge');
      S.quiet = await createCampaign(owner, S.quietSite, {
        name: 'Calme',
        language: 'fr',
        title: 'Refuge du lac',
        color: '#0b5cad',
        prechat: [{ key: 'name', label: 'Votre nom', kind: 'text', required: true }],
      });
      // Site F: receives cross-site transfers from Acme, in French, without a post-chat survey.
      S.lakeSite = await createSite(owner, 'Lac Bleu');
      await createAgent(owner, S.lakeSite, { name: 'Rémi Agent', email: 'remi@example.com', password: AGENT_PW, maxChats: 20 });
      S.lake = await createCampaign(owner, S.lakeSite, {
        name: 'Lac',
        language: 'fr',
        title: 'Lac Bleu',
        color: '#444444',
        postchat: { enabled: false, question: '', comment: false },
      });
      await createGroup(owner, 'Acme and Lac', [S.shop, S.lakeSite]);
      // Site E: its live chat is turned off by the owner.
      S.closedSite = await createSite(owner, 'Closed Shop');
      S.closed = await createCampaign(owner, S.closedSite, { name: 'Closed' });
      await owner.post(`/admin/sites/${S.closedSite}/enabled`, { enabled: 'no' });
      S.owner = owner;
      S.ann = await signIn(server.baseUrl, 'ann@example.com', AGENT_PW);
      S.bob = await signIn(server.baseUrl, 'bob@example.com', AGENT_PW);
      S.ben = await signIn(server.baseUrl, 'ben@example.com', AGENT_PW);
      S.cara = await signIn(server.baseUrl, 'cara@example.com', AGENT_PW);
      S.remi = await signIn(server.baseUrl, 'remi@example.com', AGENT_PW);
    } catch (e) {
      setupError = e;
    }
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await host?.stop().catch(() => {});
    await server?.stop();
  });

  // ---- helpers ----

  const wsUrl = (p) => server.baseUrl.replace(/^http/, 'ws') + p;

  /** A scripted agent console: signed in, connected, Online (then `presence`). */
  async function agent(session, presence = 'online', chats = []) {
    const ws = await openSocket(wsUrl('/ws/agent'), { Cookie: session.cookieHeader() });
    ws.send({ type: 'hello', v: 1, chats });
    const welcome = await ws.waitFor((f) => f.type === 'agent_welcome', 'agent_welcome');
    if (presence !== 'online') {
      ws.send({ type: 'presence', presence });
      await ws.waitFor((f) => f.type === 'presence' && f.agent === welcome.agent && f.presence === presence, `presence ${presence}`);
    }
    return Object.assign(ws, { welcome, id: welcome.agent });
  }
  let msgN = 0;
  const say = (ws, chat, text) => ws.send({ type: 'message', chat, id: `agent-${++msgN}`, text });

  /** A fresh visitor (own browser context: own storage) on host pages; failures leave artifacts. */
  async function visitor(t, body, { viewport = { width: 1000, height: 720 }, isMobile = false } = {}) {
    if (setupError) throw new Error(`setup failed: ${setupError.message}`, { cause: setupError });
    const context = await browser.newContext({ viewport, isMobile, hasTouch: isMobile, locale: 'en-GB', reducedMotion: 'reduce' });
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
    context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
    const problems = [];
    const watch = (p) => {
      p.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      p.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
      });
    };
    context.on('page', watch);
    const page = await context.newPage();
    try {
      await body({ page, context, problems });
    } catch (err) {
      try {
        await mkdir(ARTIFACTS, { recursive: true });
        const slug = `widget-failure-${t.name}`.toLowerCase().replace(/[^a-z0-9]+/g, '-').slice(0, 80);
        await page.screenshot({ path: path.join(ARTIFACTS, `${slug}.png`) });
        await writeFile(path.join(ARTIFACTS, `${slug}.html`), await page.content());
      } catch {
        /* the page may be gone */
      }
      const tail = server.logs().split('\n').slice(-25).join('\n');
      err.message += `\n  at URL: ${page.url()}` +
        (problems.length ? `\n  browser: ${problems.join('\n  browser: ')}` : '') +
        `\n  server log (last lines):\n${tail}`;
      throw err;
    } finally {
      await context.close().catch(() => {});
    }
  }

  /**
   * Screenshot of what the visitor sees: into artifacts/, and into docs/screenshots/ for
   * docs/widget.md when PARLEY_DOC_SCREENSHOTS=1 (so ordinary runs leave the docs alone).
   */
  async function shot(page, name) {
    const dir = process.env.PARLEY_DOC_SCREENSHOTS === '1' ? SHOTS : ARTIFACTS;
    await mkdir(dir, { recursive: true });
    await page.screenshot({ path: path.join(dir, `widget-${name}.png`), animations: 'disabled' });
  }

  /** axe-core on the host page with the widget (open shadow root) in it: serious/critical only. */
  async function axe(page, label) {
    if (!(await page.evaluate(() => !!window.axe))) await page.addScriptTag({ path: AXE_PATH });
    const r = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
    const serious = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    for (const v of r.violations) {
      const where = v.nodes.slice(0, 4).map((n) => JSON.stringify(n.target)).join(', ');
      console.log(`axe [${label}] ${v.impact}: ${v.id} — ${v.help}: ${where}`);
    }
    return serious.map((v) => `${label}: ${v.impact} ${v.id} (${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')})`);
  }

  const chatWindow = (page, name) => page.getByRole('dialog', { name });
  const launcher = (page, name = 'Open chat') => page.getByRole('button', { name, exact: true });
  /** The conversation's texts, in order. */
  const logTexts = (win) =>
    win.getByRole('log').evaluate((log) => [...log.children].filter((c) => !c.hidden).map((c) => c.textContent));

  async function fillPrechat(win, { name = 'Vera Visitor', email = 'vera@example.com' } = {}) {
    await win.getByRole('textbox', { name: 'Your name', exact: true }).fill(name);
    await win.getByRole('textbox', { name: 'Email', exact: true }).fill(email);
    await win.getByRole('button', { name: 'Start chat' }).click();
  }

  /** Visitor on a shop page with the chat started and assigned to `ann`; returns the chat id. */
  async function chatWithAnn(page, ann, opts = {}) {
    await page.goto(host.url(opts.path ?? '/shop/tents', { campaign: S.main, ...opts.params }));
    await launcher(page).click();
    const win = chatWindow(page, 'Acme Outdoor help');
    await fillPrechat(win, opts);
    const assigned = await ann.waitFor((f) => f.type === 'assigned', 'assigned chat');
    await win.getByText('Ann Agent joined the chat.').waitFor();
    return { win, chat: assigned.chat.id, record: assigned.chat };
  }

  // ---- tests ----

  test('widget.js is served to any origin, cached briefly, under 50 KB gzipped', { timeout: TEST_TIMEOUT_MS }, async () => {
    if (setupError) throw setupError;
    const res = await fetch(`${server.baseUrl}/widget.js`, { headers: { Origin: host.origin } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/javascript/);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.equal(res.headers.get('cross-origin-resource-policy'), 'cross-origin');
    assert.equal(res.headers.get('cache-control'), 'public, max-age=300');
    const body = Buffer.from(await res.arrayBuffer());
    const gz = zlib.gzipSync(body, { level: 9 }).length;
    console.log(`widget.js: ${body.length} bytes, ${gz} gzipped`);
    assert.ok(gz < 50 * 1024, `widget.js is ${gz} bytes gzipped; the limit is 50 KB`);
    const head = await fetch(`${server.baseUrl}/widget.js`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    const again = await fetch(`${server.baseUrl}/widget.js`, { headers: { 'If-None-Match': res.headers.get('etag') } });
    assert.equal(again.status, 304);
  });

  test('a frame over the size limit closes with 1009 in the browser, not 1006', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await visitor(t, async ({ page }) => {
      await page.goto(host.url('/shop', { campaign: S.main }));
      const wsUrl = `${server.baseUrl.replace(/^http/, 'ws')}/ws/visitor`;
      const closed = await page.evaluate(async ({ url, campaign }) => {
        const ws = new WebSocket(url);
        await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
        ws.send(JSON.stringify({ type: 'hello', v: 1, campaign, page: { url: location.href, title: 'x' } }));
        await new Promise((resolve) => { ws.onmessage = resolve; });
        const done = new Promise((resolve) => { ws.onclose = (e) => resolve({ code: e.code, reason: e.reason }); });
        ws.send(JSON.stringify({ type: 'ping', pad: 'y'.repeat(1_000_000) }));
        return done;
      }, { url: wsUrl, campaign: S.main });
      assert.deepEqual(closed, { code: 1009, reason: 'frame too large' });
    });
  });

  test('an unknown campaign, a bad data-campaign or a site with live chat off shows nothing and logs one clear console message', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await visitor(t, async ({ page }) => {
      const cases = [
        ['987654', /campaign 987654 does not exist/],
        ['abc"><img src=x onerror=alert(1)>', /is not a campaign id/],
        [String(S.closed), /live chat is turned off/],
      ];
      for (const [campaign, why] of cases) {
        const messages = [];
        const onConsole = (m) => messages.push(m.text());
        page.on('console', onConsole);
        await page.goto(host.url('/shop', { campaign }));
        const deadline = Date.now() + 8_000;
        while (!messages.some((m) => m.includes('Parley')) && Date.now() < deadline) await sleep(100);
        await sleep(700); // anything more would come now
        page.off('console', onConsole);
        const ours = messages.filter((m) => m.includes('Parley'));
        assert.equal(ours.length, 1, `one console message for campaign ${campaign}: ${JSON.stringify(messages)}`);
        assert.match(ours[0], why);
        assert.equal(await page.locator('parley-chat').count(), 0, 'no widget element on the page');
        assert.equal(await page.getByRole('button', { name: 'Open chat' }).count(), 0);
      }
    });
  });

  test('pre-chat form: required fields marked, checked in the browser and again on the server', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await visitor(t, async ({ page }) => {
      await page.goto(host.url('/shop/tents', { campaign: S.main, title: 'Tents' }));
      await launcher(page).click();
      const win = chatWindow(page, 'Acme Outdoor help');
      await win.waitFor();
      await win.getByText('Fields marked * are required.').waitFor();
      // Required fields carry the mark and the required state; the optional one neither.
      assert.equal(await win.getByRole('textbox', { name: 'Your name', exact: true }).getAttribute('aria-required'), 'true');
      assert.equal(await win.getByRole('textbox', { name: 'Email', exact: true }).getAttribute('aria-required'), 'true');
      assert.equal(await win.getByRole('textbox', { name: 'Order number', exact: true }).getAttribute('aria-required'), null);
      assert.match(await win.locator('label', { hasText: 'Your name' }).innerText(), /Your name\s*\*/);
      // The first field has the focus once the visitor opened the window.
      assert.equal(await page.evaluate(() => document.querySelector('parley-chat').shadowRoot.activeElement?.id), 'pw-f0');

      await win.getByRole('button', { name: 'Start chat' }).click();
      await win.getByText('This field is required.').first().waitFor();
      assert.equal(await win.getByText('This field is required.').count(), 2);
      assert.equal(await win.getByRole('textbox', { name: 'Your name', exact: true }).getAttribute('aria-invalid'), 'true');

      await win.getByRole('textbox', { name: 'Your name', exact: true }).fill('Vera');
      await win.getByRole('textbox', { name: 'Email', exact: true }).fill('not-an-email');
      await win.getByRole('button', { name: 'Start chat' }).click();
      await win.getByText('Enter an email address, like name@example.com.').waitFor();
      assert.equal(await win.getByText('This field is required.').count(), 0);
      await shot(page, 'prechat-errors');
      const problems = await axe(page, 'pre-chat form with errors');
      assert.deepEqual(problems, []);
    });

    // The server checks the same answers (a widget can be bypassed).
    const v = await openSocket(wsUrl('/ws/visitor'));
    try {
      v.send({ type: 'hello', v: 1, campaign: S.main, token: null });
      await v.waitFor((f) => f.type === 'visitor_welcome', 'visitor_welcome');
      v.send({ type: 'start', fields: { email: 'vera@example.com' } });
      const e1 = await v.waitFor((f) => f.type === 'error', 'an error for the missing name');
      assert.equal(e1.code, 'invalid_field');
      assert.equal(e1.field, 'name');
      v.send({ type: 'start', fields: { name: 'Vera', email: 'nope' } });
      const e2 = await v.waitFor((f) => f.type === 'error', 'an error for the bad email');
      assert.equal(e2.field, 'email');
      v.send({ type: 'start', fields: { name: 'x'.repeat(1001), email: 'vera@example.com' } });
      const e3 = await v.waitFor((f) => f.type === 'error', 'an error for the oversized name');
      assert.equal(e3.field, 'name');
      assert.match(e3.message, /too long/);
    } finally {
      v.close();
    }
  });

  test('queue, then an agent, chat with typing both ways, end, survey', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const ann = await agent(S.ann, 'away');
    try {
      await visitor(t, async ({ page }) => {
        await page.goto(host.url('/shop/tents', { campaign: S.main, title: 'Tents' }));
        await launcher(page).click();
        const win = chatWindow(page, 'Acme Outdoor help');
        await win.getByRole('textbox', { name: 'Order number', exact: true }).fill('1042');
        await fillPrechat(win);
        // Queued: the campaign's messages, the position.
        await win.getByText('Hello! How can we help you today?').waitFor();
        await win.getByText('All our agents are busy. You are in the queue; an agent will be with you shortly.').waitFor();
        await win.getByRole('status').getByText('You are number 1 in the queue.').waitFor();
        await win.getByRole('textbox', { name: 'Message', exact: true }).fill('Do you have the Ridge 2 tent in green?');
        await win.getByRole('textbox', { name: 'Message', exact: true }).press('Enter');
        await win.getByText('Do you have the Ridge 2 tent in green?').waitFor();
        await shot(page, 'queue');

        // Ann comes Online: the chat is hers.
        ann.send({ type: 'presence', presence: 'online' });
        const { chat } = await ann.waitFor((f) => f.type === 'assigned', 'assigned');
        assert.equal(chat.info.name, 'Vera Visitor');
        assert.equal(chat.info.fields.order, '1042');
        assert.equal(chat.info.page_title, 'Tents');
        await win.getByText('Ann Agent joined the chat.').waitFor();
        await win.getByText('You are number 1 in the queue.').waitFor({ state: 'hidden' });

        ann.send({ type: 'typing', chat: chat.id, on: true });
        await win.getByText('Ann Agent is typing…').waitFor();
        say(ann, chat.id, 'Hi Vera! Yes, in green and in orange.');
        await win.getByText('Hi Vera! Yes, in green and in orange.').waitFor();
        await win.getByText('Ann Agent is typing…').waitFor({ state: 'hidden' });

        await win.getByRole('textbox', { name: 'Message', exact: true }).pressSequentially('Gre');
        await ann.waitFor((f) => f.type === 'typing' && f.chat === chat.id && f.on === true, 'visitor typing');
        await win.getByRole('textbox', { name: 'Message', exact: true }).pressSequentially('at, I take the green one.');
        await win.getByRole('button', { name: 'Send', exact: true }).click();
        const ev = await ann.waitFor((f) => f.type === 'event' && f.kind === 'message' && f.author.by === 'visitor' && f.text.startsWith('Great'), 'visitor message');
        assert.equal(ev.text, 'Great, I take the green one.');
        await ann.waitFor((f) => f.type === 'typing' && f.chat === chat.id && f.on === false, 'visitor stopped typing');
        await win.getByText('Great, I take the green one.').waitFor();

        // A pasted text over the server's limit is not sent (no refusal, no reconnect loop): the
        // window says the limit and keeps the text to shorten.
        const box = win.getByRole('textbox', { name: 'Message', exact: true });
        await box.fill('x'.repeat(20_000));
        await box.press('Enter');
        await win.getByText('This message is too long: shorten it to at most 4096 characters, then send it.').waitFor();
        assert.equal((await box.inputValue()).length, 20_000, 'the text stays in the box');
        assert.equal(await box.getAttribute('aria-invalid'), 'true');
        await box.fill('Shorter now.');
        await box.press('Enter');
        await ann.waitFor((f) => f.type === 'event' && f.kind === 'message' && f.text === 'Shorter now.', 'the shortened message');
        assert.equal(await win.getByText(/Connection lost/).count(), 0, 'the connection never dropped');
        await shot(page, 'chat');
        assert.deepEqual(await axe(page, 'chat'), []);

        await win.getByRole('button', { name: 'End chat' }).click();
        await ann.waitFor((f) => f.type === 'event' && f.kind === 'ended' && f.by === 'visitor', 'ended');
        await win.getByText('The chat has ended.').waitFor();
        const survey = win.getByRole('group', { name: 'How would you rate this chat?' });
        await survey.waitFor();
        await win.getByRole('button', { name: 'Send rating' }).click();
        await win.getByText('Choose a rating from 1 to 5.').waitFor();
        await survey.getByRole('radio', { name: '4 of 5 – Good' }).check();
        await win.getByRole('textbox', { name: 'Comment (optional)', exact: true }).fill('Quick and friendly');
        await shot(page, 'survey');
        assert.deepEqual(await axe(page, 'survey'), []);
        await win.getByRole('button', { name: 'Send rating' }).click();
        const rated = await ann.waitFor((f) => f.type === 'event' && f.kind === 'survey', 'survey');
        assert.equal(rated.rating, 4);
        assert.equal(rated.comment, 'Quick and friendly');
        await win.getByText('Thank you for your feedback.').waitFor();
        assert.equal(await win.getByText('Thank you for your feedback.').count(), 1, 'the thanks are said once');
        await win.getByText('You rated this chat 4 out of 5.').waitFor();
        await win.getByRole('button', { name: 'Start a new chat' }).waitFor();

        // Minimize and restore, by keyboard.
        await page.keyboard.press('Escape');
        await win.waitFor({ state: 'hidden' });
        await launcher(page).waitFor();
        assert.equal(await page.evaluate(() => document.querySelector('parley-chat').shadowRoot.activeElement?.getAttribute('aria-label')), 'Open chat');
        await page.keyboard.press('Enter');
        await win.waitFor();
      });
    } finally {
      ann.close();
    }
  });

  test('the same conversation in two tabs; minimizing in one minimizes in all', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const ann = await agent(S.ann);
    try {
      await visitor(t, async ({ page, context }) => {
        const { win, chat } = await chatWithAnn(page, ann, { name: 'Tom Tabs', email: 'tom@example.com' });
        say(ann, chat, 'Hello Tom, how can I help?');
        await win.getByText('Hello Tom, how can I help?').waitFor();

        const tab2 = await context.newPage();
        await tab2.goto(host.url('/shop/cart', { campaign: S.main }));
        const win2 = chatWindow(tab2, 'Acme Outdoor help');
        await win2.getByText('Hello Tom, how can I help?').waitFor();
        await win2.getByRole('textbox', { name: 'Message', exact: true }).fill('Written in the second tab');
        await win2.getByRole('textbox', { name: 'Message', exact: true }).press('Enter');
        await win.getByText('Written in the second tab').waitFor();
        say(ann, chat, 'Seen in both');
        await win.getByText('Seen in both').waitFor();
        await win2.getByText('Seen in both').waitFor();
        const expected = ['Hello! How can we help you today?', 'Ann Agent joined the chat.', 'Ann Agent' + 'Hello Tom, how can I help?', 'You' + 'Written in the second tab', 'Ann Agent' + 'Seen in both'];
        assert.deepEqual(await logTexts(win), expected);
        assert.deepEqual(await logTexts(win2), expected);

        // Minimize in tab 1: tab 2 follows; restore in tab 2: tab 1 follows.
        await win.getByRole('button', { name: 'Minimize chat' }).click();
        await win2.waitFor({ state: 'hidden' });
        await launcher(tab2).click();
        await win.waitFor();

        // A page change in tab 1 keeps the conversation, once.
        await page.goto(host.url('/shop/checkout', { campaign: S.main }));
        await win.getByText('Seen in both').waitFor();
        assert.deepEqual(await logTexts(win), expected);
      });
    } finally {
      ann.close();
    }
  });

  test('script in names, messages, page titles and campaign texts is shown as text, never run', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const ann = await agent(S.ann);
    try {
      await visitor(t, async ({ page }) => {
        const title = '<img src=x onerror="window.__pwned=1">Boots';
        const name = '<script>window.__pwned=2</script>Eve';
        const { win, chat, record } = await chatWithAnn(page, ann, { name, email: 'eve@example.com', params: { title } });
        assert.equal(record.info.name, name);
        assert.equal(record.info.page_title, title);
        const agentText = '<img src=x onerror="window.__pwned=3"><b>bold</b>';
        say(ann, chat, agentText);
        await win.getByText(agentText).waitFor();
        const mine = '<svg onload="window.__pwned=4"></svg>&amp; "quotes"';
        await win.getByRole('textbox', { name: 'Message', exact: true }).fill(mine);
        await win.getByRole('textbox', { name: 'Message', exact: true }).press('Enter');
        await ann.waitFor((f) => f.type === 'event' && f.kind === 'message' && f.text === mine, 'the visitor message, as typed');
        await win.getByText(mine).waitFor();
        await sleep(300);
        assert.equal(await page.evaluate(() => window.__pwned), undefined, 'no script ran');
        const tags = await page.evaluate(() =>
          [...document.querySelector('parley-chat').shadowRoot.querySelectorAll('[role=log] *')].map((e) => e.localName),
        );
        assert.deepEqual([...new Set(tags)].sort(), ['div', 'p', 'span'], 'only the widget’s own elements in the log');

        // An oversized message is not sent: the window says the limit, not lost silently.
        await win.getByRole('textbox', { name: 'Message', exact: true }).fill('a'.repeat(5000));
        await win.getByRole('button', { name: 'Send', exact: true }).click();
        await win.getByText('This message is too long: shorten it to at most 4096 characters, then send it.').waitFor();
      });
    } finally {
      ann.close();
    }
  });

  test('isolated from the page: its CSS does not reach the widget, replaced globals do not break it', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const ann = await agent(S.ann);
    try {
      await visitor(t, async ({ page }) => {
        await page.goto(host.url('/shop/hostile', { campaign: S.main, hostile: 1 }));
        await launcher(page).waitFor();
        await page.waitForFunction(() => document.body.getAttribute('data-hijacked') === '1', null, { timeout: STEP_TIMEOUT_MS });
        const look = await launcher(page).evaluate((b) => {
          const s = getComputedStyle(b);
          return { w: b.getBoundingClientRect().width, font: s.fontFamily, color: s.color };
        });
        assert.equal(look.w, 60);
        assert.doesNotMatch(look.font, /Comic/);
        await launcher(page).click();
        const win = chatWindow(page, 'Acme Outdoor help');
        const fontSize = await win.getByRole('textbox', { name: 'Your name', exact: true }).evaluate((e) => getComputedStyle(e).fontSize);
        assert.equal(fontSize, '14px');
        await fillPrechat(win, { name: 'Iso Visitor', email: 'iso@example.com' });
        const { chat } = await ann.waitFor((f) => f.type === 'assigned', 'assigned');
        say(ann, chat.id, 'Still working');
        await win.getByText('Still working').waitFor();
        await win.getByRole('textbox', { name: 'Message', exact: true }).fill('Me too');
        await win.getByRole('textbox', { name: 'Message', exact: true }).press('Enter');
        await ann.waitFor((f) => f.type === 'event' && f.kind === 'message' && f.text === 'Me too', 'visitor message');
      });
    } finally {
      ann.close();
    }
  });

  test('reconnects after the server restarts and resumes after a page change, losing and repeating nothing', { timeout: 60_000 }, async (t) => {
    let ann = await agent(S.ann);
    try {
      await visitor(t, async ({ page }) => {
        const { win, chat } = await chatWithAnn(page, ann, { name: 'Rita Restart', email: 'rita@example.com' });
        say(ann, chat, 'Before the restart');
        await win.getByText('Before the restart').waitFor();
        const seq = (await ann.waitFor((f) => f.type === 'ack', 'ack')).seq;

        ann.close();
        const restarting = server.restart();
        await win.getByText('Connection lost. Reconnecting…').waitFor();
        await win.getByRole('textbox', { name: 'Message', exact: true }).fill('Written while the server was away');
        await win.getByRole('textbox', { name: 'Message', exact: true }).press('Enter');
        await win.getByText('Sending…').waitFor();
        await shot(page, 'reconnecting');
        await restarting;

        ann = await agent(S.ann, 'online', [{ chat, after: seq }]);
        const mineHere = (f) => f.type === 'event' && f.chat === chat && f.kind === 'message' && f.author.by === 'visitor';
        const got = await ann.waitFor((f) => mineHere(f) && f.seq > seq, 'the message written while away', 20_000);
        assert.equal(got.text, 'Written while the server was away');
        await win.getByText('Connection lost. Reconnecting…').waitFor({ state: 'hidden', timeout: 20_000 });
        await win.getByText('Sending…').waitFor({ state: 'hidden' });
        say(ann, chat, 'After the restart');
        await win.getByText('After the restart').waitFor();
        await sleep(500);
        assert.equal(ann.frames.filter(mineHere).length, 0, 'stored once');

        const expected = [
          'Hello! How can we help you today?', 'Ann Agent joined the chat.', 'Ann Agent' + 'Before the restart',
          'You' + 'Written while the server was away', 'Ann Agent' + 'After the restart',
        ];
        assert.deepEqual(await logTexts(win), expected);
        await page.reload();
        await win.getByText('After the restart').waitFor();
        await sleep(300);
        assert.deepEqual(await logTexts(win), expected, 'the same conversation after a reload, nothing twice');
      });
    } finally {
      ann.close();
    }
  });

  test('a transfer keeps the window and the transcript; the campaign’s transfer notice is shown', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const ann = await agent(S.ann);
    let bob = null;
    try {
      await visitor(t, async ({ page }) => {
        const { win, chat } = await chatWithAnn(page, ann, { name: 'Sam Stoves', email: 'sam@example.com' });
        say(ann, chat, 'Let me ask my colleague.');
        await win.getByText('Let me ask my colleague.').waitFor();
        bob = await agent(S.bob);
        ann.send({ type: 'transfer', chat, target: { kind: 'agent', agent: bob.id, mode: 'cold' }, comment: 'knows stoves' });
        await bob.waitFor((f) => f.type === 'assigned' && f.chat.id === chat, 'the chat at Bob');
        await win.getByText('You are being transferred to another agent. Please wait a moment.').waitFor();
        await win.getByText('Bob Agent joined the chat.').waitFor();
        say(bob, chat, 'Bob here, about stoves.');
        await win.getByText('Bob here, about stoves.').waitFor();
        assert.equal(await win.getByText('knows stoves').count(), 0, 'the comment is for agents only');
        assert.equal(await win.getByText('Let me ask my colleague.').count(), 1, 'the transcript stays');
        assert.equal(await win.getByRole('textbox', { name: 'Your name', exact: true }).count(), 0, 'no second pre-chat form');

        // Minimized, the launcher counts what arrives.
        await win.getByRole('button', { name: 'Minimize chat' }).click();
        say(bob, chat, 'Are you still there?');
        await launcher(page, 'Open chat (1 new)').waitFor();
        await launcher(page, 'Open chat (1 new)').click();
        await win.getByText('Are you still there?').waitFor();

        // Bob ends the chat; the survey waits for the visitor, also on the next page.
        bob.send({ type: 'end', chat });
        await win.getByRole('group', { name: 'How would you rate this chat?' }).waitFor();
        await page.goto(host.url('/shop/stoves', { campaign: S.main }));
        await win.getByRole('group', { name: 'How would you rate this chat?' }).waitFor();
        await win.getByRole('button', { name: 'Skip' }).click();
        await win.getByRole('button', { name: 'Start a new chat' }).click();
        await win.getByRole('textbox', { name: 'Your name', exact: true }).waitFor();
      });
    } finally {
      ann.close();
      if (bob) {
        bob.send({ type: 'presence', presence: 'offline' });
        await sleep(100);
        bob.close();
      }
    }
  });

  test('a cross-site transfer: the window keeps its style and follows the receiving campaign’s language, texts and post-chat form', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const ann = await agent(S.ann);
    const remi = await agent(S.remi);
    try {
      await visitor(t, async ({ page }) => {
        const { win, chat } = await chatWithAnn(page, ann, { name: 'Lena Lake', email: 'lena@example.com' });
        say(ann, chat, 'Our lake team will help you.');
        await win.getByText('Our lake team will help you.').waitFor();
        assert.equal(await win.getByRole('button', { name: 'Send', exact: true }).count(), 1);
        ann.send({ type: 'transfer', chat, target: { kind: 'site', site: S.lakeSite }, comment: 'wants a boat, VIP' });
        const moved = await remi.waitFor((f) => f.type === 'assigned', 'the chat at Rémi');
        // The receiving campaign speaks, in French; the window is the same (title, colour) and
        // its buttons now read in French; the conversation so far is still there.
        await win.getByText('Vous êtes transféré vers un autre conseiller. Merci de patienter un instant.').waitFor();
        await win.getByRole('button', { name: 'Envoyer', exact: true }).waitFor();
        assert.equal(await win.getByText('Our lake team will help you.').count(), 1, 'the transcript stays');
        assert.equal(await win.getByText('wants a boat, VIP').count(), 0, 'the comment is for agents only');
        await win.getByText('Rémi Agent a rejoint la discussion.').waitFor();
        say(remi, moved.chat.id, 'Bonjour Lena !');
        await win.getByText('Bonjour Lena !').waitFor();
        // The receiving campaign has no post-chat survey: none is shown when Rémi ends.
        remi.send({ type: 'end', chat: moved.chat.id });
        await win.getByRole('button', { name: 'Nouvelle discussion' }).waitFor();
        assert.equal(await win.getByRole('group', { name: /Comment évaluez-vous|How would you rate/ }).count(), 0);
        // A new chat is the widget's own campaign's again, in English.
        await win.getByRole('button', { name: 'Nouvelle discussion' }).click();
        await win.getByRole('textbox', { name: 'Your name', exact: true }).waitFor();
      });
    } finally {
      ann.close();
      remi.send({ type: 'presence', presence: 'offline' });
      await sleep(100);
      remi.close();
    }
  });

  test('manual invitation from the live list, after a single-page-application page change', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const ann = await agent(S.ann);
    try {
      ann.send({ type: 'watch_visitors', on: true });
      await visitor(t, async ({ page }) => {
        await page.goto(host.url('/shop/tents', { campaign: S.main, title: 'Tents' }));
        await launcher(page).waitFor();
        await page.evaluate(() => {
          history.pushState({}, '', '/shop/stoves');
          document.title = 'Stoves';
        });
        const seen = await ann.waitFor(
          (f) => f.type === 'visitors' && f.visitors.some((v) => v.page_url.endsWith('/shop/stoves') && v.page_title === 'Stoves'),
          'the visitor on /shop/stoves in the live list',
        );
        const v = seen.visitors.find((x) => x.page_url.endsWith('/shop/stoves'));
        ann.send({ type: 'invite', visitor: v.id, text: 'Need help choosing a stove?' });
        const win = chatWindow(page, 'Acme Outdoor help');
        await win.getByText('Ann Agent invites you to chat.').waitFor();
        await win.getByText('Need help choosing a stove?').waitFor();
        await win.getByRole('button', { name: 'Start chatting' }).click();
        await fillPrechat(win, { name: 'Stella Stoves', email: 'stella@example.com' });
        const { chat } = await ann.waitFor((f) => f.type === 'assigned', 'the chat at the inviting agent');
        assert.equal(chat.info.name, 'Stella Stoves');
        assert.match(chat.info.page_url, /\/shop\/stoves$/);
        await win.getByText('Ann Agent joined the chat.').waitFor();
      });
    } finally {
      ann.close();
    }
  });

  test('a visitor token of another site is replaced by one of this site', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await visitor(t, async ({ page }) => {
      const key = `parley:${server.baseUrl}:token`;
      await page.goto(host.url('/refuge', { campaign: S.quiet, lang: 'fr' }));
      await launcher(page, 'Ouvrir la discussion').waitFor();
      const first = await page.evaluate((k) => localStorage.getItem(k), key);
      assert.match(first, /^[0-9a-f]{64}$/);
      await page.goto(host.url('/shop', { campaign: S.main, twice: 1 }));
      await launcher(page).click();
      assert.equal(await page.locator('parley-chat').count(), 1, 'one widget for a tag pasted twice');
      await chatWindow(page, 'Acme Outdoor help').getByRole('textbox', { name: 'Your name', exact: true }).waitFor();
      const second = await page.evaluate((k) => localStorage.getItem(k), key);
      assert.match(second, /^[0-9a-f]{64}$/);
      assert.notEqual(second, first, 'a new token for this site');
    });
  });

  test('nobody available: leave a message, in French', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await visitor(t, async ({ page }) => {
      await page.goto(host.url('/refuge', { campaign: S.quiet, lang: 'fr', title: 'Refuge du lac' }));
      await launcher(page, 'Ouvrir la discussion').click();
      const win = chatWindow(page, 'Refuge du lac');
      await win.getByText('Les champs marqués * sont obligatoires.').waitFor();
      await win.getByRole('textbox', { name: 'Votre nom', exact: true }).fill('Léa');
      await win.getByRole('button', { name: 'Commencer la discussion' }).click();
      await win.getByText('Personne n\'est disponible pour le moment. Laissez-nous un message et nous vous répondrons.').waitFor();
      const form = win.getByRole('form', { name: 'Laisser un message' });
      assert.equal(await form.getByRole('textbox', { name: 'Nom', exact: true }).inputValue(), 'Léa');
      await form.getByRole('button', { name: 'Envoyer le message' }).click();
      await form.getByText('Ce champ est obligatoire.').first().waitFor();
      await form.getByRole('textbox', { name: 'E-mail', exact: true }).fill('lea@example.fr');
      await form.getByRole('textbox', { name: 'Votre message', exact: true }).fill('Avez-vous une chambre libre samedi ?');
      await shot(page, 'leave-message-fr');
      assert.deepEqual(await axe(page, 'leave a message'), []);
      await form.getByRole('button', { name: 'Envoyer le message' }).click();
      await win.getByText('Merci. Votre message a été envoyé ; nous vous répondrons.').waitFor();
    });
    const messages = await S.owner.get(`/admin/sites/${S.quietSite}/messages`);
    assert.match(messages, /Avez-vous une chambre libre samedi/);
  });

  test('invitation accepted: pre-chat form, queue, then the agent', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const ben = await agent(S.ben);
    try {
      await visitor(t, async ({ page }) => {
        await page.goto(host.url('/maps/alps', { campaign: S.invite, title: 'Alps' }));
        const win = chatWindow(page, 'Trail Maps');
        await win.getByText('Planning a hike? Our rangers can help you pick a trail.').waitFor({ timeout: 15_000 });
        await shot(page, 'invitation');
        assert.deepEqual(await axe(page, 'invitation'), []);
        ben.send({ type: 'presence', presence: 'away' });
        await win.getByRole('button', { name: 'Start chatting' }).click();
        await win.getByRole('textbox', { name: 'Your name', exact: true }).fill('Ivo Invited');
        await win.getByRole('button', { name: 'Start chat' }).click();
        await win.getByText('You are number 1 in the queue.').waitFor();
        ben.send({ type: 'presence', presence: 'online' });
        const { chat } = await ben.waitFor((f) => f.type === 'assigned', 'assigned');
        assert.equal(chat.info.name, 'Ivo Invited');
        await win.getByText('Ben Agent joined the chat.').waitFor();
      });
    } finally {
      ben.close();
    }
  });

  test('an automatic invitation never interrupts a visitor who has the window open', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const ben = await agent(S.ben);
    try {
      await visitor(t, async ({ page }) => {
        await page.goto(host.url('/maps/alps', { campaign: S.inviteLater }));
        await launcher(page).click();
        const win = chatWindow(page, 'Trail Maps');
        const name = win.getByRole('textbox', { name: 'Your name', exact: true });
        await name.fill('Iv');
        await sleep(6_000); // past the campaign's 4 s
        assert.equal(await name.inputValue(), 'Iv', 'the form and what was typed stay');
        assert.equal(await win.getByText('Still looking for a trail?').count(), 0, 'no invitation over the form');
        await name.fill('Ivo');
        await win.getByRole('button', { name: 'Start chat' }).click();
        const { chat } = await ben.waitFor((f) => f.type === 'assigned', 'assigned');
        assert.equal(chat.info.name, 'Ivo');
      });
    } finally {
      ben.close();
    }
  });

  test('invitation refused: minimized, and it stays so on two more pages and in a new tab', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const ben = await agent(S.ben);
    try {
      await visitor(t, async ({ page, context }) => {
        await page.goto(host.url('/maps/alps', { campaign: S.invite }));
        const win = chatWindow(page, 'Trail Maps');
        await win.getByText('Planning a hike?', { exact: false }).waitFor({ timeout: 15_000 });
        await win.getByRole('button', { name: 'No, thanks' }).click();
        await win.waitFor({ state: 'hidden' });
        await launcher(page).waitFor();
        for (const p of ['/maps/dolomites', '/maps/pyrenees']) {
          await page.goto(host.url(p, { campaign: S.invite }));
          await launcher(page).waitFor();
          await sleep(2_500); // more than the campaign's 1 s
          assert.equal(await win.isVisible(), false, `minimized on ${p}`);
        }
        await shot(page, 'minimized');
        const tab = await context.newPage();
        await tab.goto(host.url('/maps/tatra', { campaign: S.invite }));
        await launcher(tab).waitFor();
        await sleep(2_500);
        assert.equal(await chatWindow(tab, 'Trail Maps').isVisible(), false, 'minimized in a new tab');
        // Opening it by hand shows the form, not the invitation again.
        await launcher(tab).click();
        await chatWindow(tab, 'Trail Maps').getByRole('textbox', { name: 'Your name', exact: true }).waitFor();
      });
    } finally {
      ben.close();
    }
  });

  test('without invite: the agent is alerted, opens the chat, the window opens with the agent’s message', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const cara = await agent(S.cara);
    try {
      await visitor(t, async ({ page }) => {
        await page.goto(host.url('/touren', { campaign: S.auto, lang: 'de', title: 'Touren' }));
        await launcher(page, 'Chat öffnen').waitFor();
        const alert = await cara.waitFor((f) => f.type === 'proactive_alert', 'proactive_alert', 15_000);
        cara.send({ type: 'open_chat', visitor: alert.visitor.id });
        const { chat } = await cara.waitFor((f) => f.type === 'assigned', 'assigned');
        say(cara, chat.id, 'Hallo! Suchen Sie eine Tour?');
        const win = chatWindow(page, 'Bergsport Beratung');
        await win.getByText('Hallo! Suchen Sie eine Tour?').waitFor();
        assert.equal(await win.getByRole('textbox', { name: 'Ihr Name', exact: true }).count(), 0, 'no pre-chat form');
        await win.getByRole('textbox', { name: 'Nachricht', exact: true }).fill('Ja, am Wochenende.');
        await win.getByRole('button', { name: 'Senden' }).click();
        await cara.waitFor((f) => f.type === 'event' && f.kind === 'message' && f.text === 'Ja, am Wochenende.', 'visitor reply');
        await shot(page, 'proactive-de');
      });
    } finally {
      cara.close();
    }
  });

  test('on a phone the window fills the screen', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await visitor(
      t,
      async ({ page }) => {
        await page.goto(host.url('/shop/tents', { campaign: S.main }));
        await launcher(page).tap();
        const win = chatWindow(page, 'Acme Outdoor help');
        await win.getByRole('textbox', { name: 'Your name', exact: true }).waitFor();
        const box = await win.boundingBox();
        assert.deepEqual([box.x, box.y, box.width, box.height], [0, 0, 390, 844]);
        await shot(page, 'phone');
        assert.deepEqual(await axe(page, 'phone'), []);
      },
      { viewport: { width: 390, height: 844 }, isMobile: true },
    );
  });
});
