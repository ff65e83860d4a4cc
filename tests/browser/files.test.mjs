// Files in chat, as visitors and agents use them: a real `parley serve`, the widget on a page
// of "the organization's site" (hostpage.mjs, another origin than Parley's) in one browser
// context, the agent console in another, headless Chromium. Files are attached the ways people
// do it — the paperclip's file picker, pasting a screenshot, dropping on the chat — and each
// test asserts what the other side sees: an image inline (loaded), anything else a download
// link that is never rendered, progress while a large file goes up, the limit said before
// anything is sent, the server's reason when it refuses one.
//
// One server for the file (default limit: 10 MiB), seeded over HTTP (seed.mjs): site "Acme
// Files" (agent Ann; campaigns "Main" in English and "Principal" in French) and site "Plain
// Shop" whose files are turned off (agent Nia, campaign "Plain"). Pictures are made on the fly
// (files-fixtures.mjs); a slow uplink is emulated through the DevTools protocol.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { startServer } from './server.mjs';
import { launchBrowser, screenshot, STEP_TIMEOUT_MS, AXE_PATH } from './browser.mjs';
import * as seed from './seed.mjs';
import { startHostPage } from './hostpage.mjs';
import { png } from './files-fixtures.mjs';

const TEST_TIMEOUT_MS = 60_000;
const PASSWORD = 'agent-password-123';
const MiB = 1024 * 1024;
const LIMIT = 10 * MiB;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A PDF-headed file of `n` bytes (random after the header: not text, not an image). */
function pdfBytes(n) {
  const b = crypto.randomBytes(n);
  b.write('%PDF-1.7\n%\u00e2\u00e3\n', 0, 'latin1');
  return b;
}

const EVIL_HTML = '<!doctype html><html><body><script>window.parent.pwned = 1; window.pwned = 1;</script><h1>Not rendered</h1></body></html>\n';

describe('files in chat: widget and console', { timeout: 420_000 }, () => {
  let server;
  let browser;
  let host;
  let setupError = null;
  const ids = {};
  /** Pages opened by the running test (closed after it), with the browser errors they logged. */
  let open = [];

  before(async () => {
    try {
      const [s, b] = await Promise.all([startServer({ extraConfig: '[chat]\nagent_grace_secs = 1' }), launchBrowser()]);
      server = s;
      browser = b;
      host = await startHostPage(server.baseUrl);
      const o = await seed.ownerSession(server.baseUrl);
      ids.acme = await seed.createSite(o, 'Acme Files');
      ids.support = await seed.createDepartment(o, ids.acme, { name: 'Support' });
      ids.ann = await seed.createAgent(o, ids.acme, {
        name: 'Ann Agent', email: 'ann@example.com', password: PASSWORD, departments: [ids.support], maxChats: 30,
      });
      ids.main = await seed.createCampaign(o, ids.acme, {
        name: 'Main',
        department: ids.support,
        title: 'Acme help',
        prechat: [{ key: 'name', label: 'Your name', kind: 'text', required: true }],
        postchat: { enabled: false, question: '', comment: false },
      });
      ids.french = await seed.createCampaign(o, ids.acme, {
        name: 'Principal',
        language: 'fr',
        department: ids.support,
        title: 'Aide Acme',
        prechat: [{ key: 'name', label: 'Votre nom', kind: 'text', required: true }],
        postchat: { enabled: false, question: '', comment: false },
      });
      // A site that takes no files (its Settings page: "Files" off).
      ids.plain = await seed.createSite(o, 'Plain Shop');
      await seed.createAgent(o, ids.plain, { name: 'Nia Agent', email: 'nia@example.com', password: PASSWORD, maxChats: 30 });
      ids.plainCampaign = await seed.createCampaign(o, ids.plain, {
        name: 'Plain',
        title: 'Plain help',
        prechat: [{ key: 'name', label: 'Your name', kind: 'text', required: true }],
        postchat: { enabled: false, question: '', comment: false },
      });
      await o.post(`/admin/sites/${ids.plain}/settings`, {
        default_campaign: '',
        warm_timeout_secs: 30,
        notify_visitor: true,
        transcript_cross_site: true,
        mail_notify: '',
        mail_language: 'en',
        // files_enabled left out: the checkbox is off
        file_types: ['image', 'pdf', 'text', 'office'],
      });
    } catch (e) {
      setupError = e;
    }
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await host?.stop().catch(() => {});
    await server?.stop();
  });

  /**
   * Run a test body; on failure save a screenshot of every open page and attach the browser
   * errors and the server log. Browser errors fail the test even when it passed otherwise,
   * except those matching `expected` (the browser's own line for a refusal the test causes).
   */
  async function run(t, body, { expected = [] } = {}) {
    if (setupError) throw new Error(`setup failed: ${setupError.message}`, { cause: setupError });
    open = [];
    try {
      await body();
    } catch (err) {
      for (const p of open) await screenshot(p.page, `failure-files-${p.who}-${t.name}`).catch(() => {});
      const problems = open.flatMap((p) => p.problems.map((x) => `${p.who}: ${x}`));
      const tail = server.logs().split('\n').slice(-25).join('\n');
      err.message += (problems.length ? `\n  browser: ${problems.join('\n  browser: ')}` : '') + `\n  server log:\n${tail}`;
      throw err;
    } finally {
      // Visitors end their chats, so no chat of this test stays with the next one's agents.
      for (const p of open) {
        if (p.win) await p.win.getByRole('button', { name: 'End chat' }).click({ timeout: 2_000 }).catch(() => {});
      }
      for (const p of open) {
        if (p.agent) await p.page.getByLabel('Status').selectOption('offline', { timeout: 2_000 }).catch(() => {});
      }
      await sleep(open.length ? 300 : 0);
      for (const p of open) await p.context.close().catch(() => {});
      await sleep(1_200); // past the grace period: nobody of this test is still connected
    }
    const problems = open
      .flatMap((p) => p.problems.map((x) => `${p.who}: ${x}`))
      .filter((x) => !expected.some((re) => re.test(x)));
    assert.deepEqual(problems, [], 'errors in the browser console');
  }

  /** A browser context and page; `audit`: axe may be injected (the console's CSP would refuse it). */
  async function newContext(who, { agent = false, audit = false } = {}) {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 800 }, locale: 'en-GB', reducedMotion: 'reduce', bypassCSP: audit,
    });
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
    context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
    });
    /** Every upload request this page made. */
    const uploads = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && /\/(api\/visitor|console)\/uploads/.test(r.url())) uploads.push(r.url());
    });
    const p = { who, context, page, problems, uploads, agent };
    open.push(p);
    return p;
  }

  /** Sign an agent in and open the console, until "Connected". */
  async function consoleOf(email, who = 'agent', { audit = false } = {}) {
    const c = await newContext(who, { agent: true, audit });
    await seed.signInAgent(c.page, server.baseUrl, email, PASSWORD);
    await c.page.goto(new URL('/console', server.baseUrl).href);
    await c.page.getByRole('status').filter({ hasText: /^Connected$/ }).waitFor();
    return c;
  }

  const transcript = (page) => page.getByRole('log', { name: 'Transcript' });
  const chatButton = (page, name) =>
    page.getByRole('list', { name: 'Your chats' }).getByRole('button', { name: new RegExp(escapeRe(name)) });

  /** A visitor on a shop page who started a chat that an agent took; returns the window. */
  async function visitorChat(
    name,
    { campaign = ids.main, title = 'Acme help', agent = 'Ann Agent', words = ['Open chat', 'Your name', 'Start chat', 'joined the chat.'] } = {},
  ) {
    const [open, label, start, joined] = words;
    const v = await newContext(`visitor ${name}`);
    await v.page.goto(host.url('/shop/cart', { campaign }));
    await v.page.getByRole('button', { name: open, exact: true }).click();
    const win = v.page.getByRole('dialog', { name: title });
    await win.getByRole('textbox', { name: label, exact: true }).fill(name);
    await win.getByRole('button', { name: start }).click();
    await win.getByText(`${agent} ${joined}`).waitFor();
    v.win = win;
    return v;
  }

  /** Open the visitor's chat in the console, once it is listed. */
  async function openChat(page, name) {
    await chatButton(page, name).click();
    await page.getByRole('heading', { level: 1, name }).waitFor();
  }

  /** Attach files with a paperclip button (the file picker opens; the files are chosen in it). */
  async function attach(page, button, files) {
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), button.click()]);
    assert.ok(chooser.isMultiple(), 'the picker takes several files at once');
    await chooser.setFiles(files);
  }

  /** Wait until an <img> has loaded its picture, and give its natural and shown size. */
  async function loaded(img) {
    await img.waitFor();
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    for (;;) {
      const s = await img.evaluate((i) => ({
        complete: i.complete,
        naturalWidth: i.naturalWidth,
        naturalHeight: i.naturalHeight,
        width: i.getBoundingClientRect().width,
        height: i.getBoundingClientRect().height,
        src: i.getAttribute('src'),
      }));
      if (s.complete && s.naturalWidth > 0) return s;
      if (Date.now() > deadline) throw new Error(`the image did not load: ${JSON.stringify(s)}`);
      await sleep(100);
    }
  }

  /** axe-core on what `page` shows (the widget's open shadow root included): serious/critical only. */
  async function axe(page, label) {
    await page.addScriptTag({ path: AXE_PATH });
    const r = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
    const serious = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    for (const v of r.violations) {
      console.log(`axe [${label}] ${v.impact}: ${v.id} — ${v.help}: ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`);
    }
    return serious.map((v) => `${label}: ${v.id} (${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')})`);
  }

  /** Dispatch a paste of `files` ({name, type, bytes}) and optional `text` into `box`. */
  const paste = (box, files, text = null) =>
    box.evaluate(
      (el, { files, text }) => {
        const dt = new DataTransfer();
        if (text !== null) dt.setData('text/plain', text);
        for (const f of files) dt.items.add(new File([new Uint8Array(f.bytes)], f.name, { type: f.type }));
        el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true, composed: true }));
      },
      { files: files.map((f) => ({ ...f, bytes: [...f.bytes] })), text },
    );

  /** The visitor's token, as the widget keeps it (in the host page's storage). */
  const visitorToken = (page) =>
    page.evaluate((origin) => localStorage.getItem(`parley:${origin}:token`), server.baseUrl);

  test('a pasted screenshot and two pictures from the paperclip show inline in the console and open full size', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await run(t, async () => {
      const ann = await consoleOf('ann@example.com', 'ann', { audit: true });
      const v = await visitorChat('Vera Paste');
      await openChat(ann.page, 'Vera Paste');
      const box = v.win.getByRole('textbox', { name: 'Message', exact: true });
      await box.click();

      // Text copied from an office program comes with a picture of itself: that is text, not a file.
      await paste(box, [{ name: 'image.png', type: 'image/png', bytes: png(20, 10, [0, 0, 0]) }], 'Row 1\tRow 2');
      await sleep(300);
      assert.deepEqual(v.uploads, [], 'copied text is not sent as a picture');

      // The visitor pastes a screenshot into the message box (a clipboard holding an image file).
      await paste(box, [{ name: 'screenshot.png', type: 'image/png', bytes: png(640, 400, [30, 110, 200]) }]);

      // The agent sees the picture itself, its size capped (240 × 200 at most, ratio kept).
      const img = transcript(ann.page).getByRole('img', { name: 'screenshot.png' });
      const s = await loaded(img);
      assert.equal(s.naturalWidth, 640);
      assert.equal(s.naturalHeight, 400);
      assert.ok(s.width <= 240.5 && s.height <= 200.5, `shown at most 240 × 200: ${s.width} × ${s.height}`);
      assert.ok(Math.abs(s.width / s.height - 1.6) < 0.02, `the ratio is kept: ${s.width} × ${s.height}`);
      assert.match(s.src, /^\/files\/\d+\/\d+\/[0-9a-f]+\/screenshot\.png$/);
      // In the list: what the visitor sent last.
      await chatButton(ann.page, 'Vera Paste').filter({ hasText: 'File: screenshot.png' }).waitFor();

      // The visitor sees it in their own window too (fetched with their token, shown from a blob:).
      const mine = v.win.getByRole('log').getByRole('img', { name: 'screenshot.png' });
      const ms = await loaded(mine);
      assert.match(ms.src, /^blob:/);
      assert.ok(ms.width <= 240.5 && ms.height <= 200.5, `capped in the widget: ${ms.width} × ${ms.height}`);
      await v.win.getByText('Sending…').waitFor({ state: 'detached' });

      // Clicking the picture opens it full size in a new tab.
      const [tab] = await Promise.all([ann.context.waitForEvent('page'), img.click()]);
      await tab.waitForLoadState();
      assert.equal(new URL(tab.url()).pathname, s.src);
      const full = await tab.evaluate(() => {
        const i = document.querySelector('img');
        return i ? { w: i.naturalWidth, h: i.naturalHeight } : null;
      });
      assert.deepEqual(full, { w: 640, h: 400 });
      await tab.close();

      // Two pictures at once with the paperclip: each its own message.
      const button = v.win.getByRole('button', { name: 'Attach a file' });
      await attach(v.page, button, [
        { name: 'front.png', mimeType: 'image/png', buffer: png(120, 90, [200, 60, 40]) },
        { name: 'back.png', mimeType: 'image/png', buffer: png(90, 120, [40, 160, 60]) },
      ]);
      const front = await loaded(transcript(ann.page).getByRole('img', { name: 'front.png' }));
      const back = await loaded(transcript(ann.page).getByRole('img', { name: 'back.png' }));
      assert.deepEqual([front.naturalWidth, front.naturalHeight, back.naturalWidth, back.naturalHeight], [120, 90, 90, 120]);
      assert.equal(await transcript(ann.page).getByRole('listitem').filter({ has: ann.page.getByRole('img') }).count(), 3);
      await loaded(v.win.getByRole('log').getByRole('img', { name: 'back.png' }));
      assert.equal(v.uploads.length, 3, 'three uploads, one per file');
      await screenshot(ann.page, 'files-console-images');
      await screenshot(v.page, 'files-widget-images');
      assert.deepEqual([...(await axe(v.page, 'widget with pictures')), ...(await axe(ann.page, 'console with pictures'))], []);
    });
  });

  test('an HTML file from the agent is a download for the visitor, never rendered; served as an attachment', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await run(t, async () => {
      const ann = await consoleOf('ann@example.com', 'ann');
      const v = await visitorChat('Hugo Html');
      await openChat(ann.page, 'Hugo Html');

      const attachBtn = ann.page.getByRole('button', { name: 'Attach files' });
      await attach(ann.page, attachBtn, [{ name: 'page.html', mimeType: 'text/html', buffer: Buffer.from(EVIL_HTML) }]);
      const size = `${Buffer.byteLength(EVIL_HTML)} bytes`;

      // The visitor: a link with the name, the type and the size; nothing of the file on the page.
      const link = v.win.getByRole('link', { name: new RegExp(`page\\.html.*HTML · ${size}`) });
      await link.waitFor();
      assert.equal(await v.win.getByText('Not rendered').count(), 0);
      assert.equal(await v.page.locator('iframe, object, embed').count(), 0);
      // The agent's own transcript: the same link, a download of the file's address.
      const own = transcript(ann.page).getByRole('link', { name: new RegExp(`page\\.html.*HTML · ${size}`) });
      await own.waitFor();
      assert.equal(await own.getAttribute('download'), 'page.html');
      const href = await own.getAttribute('href');
      assert.match(href, /^\/files\/\d+\/\d+\/[0-9a-f]+\/page\.html$/);
      assert.equal(await transcript(ann.page).getByRole('img').count(), 0);
      await screenshot(ann.page, 'files-console-download');
      await screenshot(v.page, 'files-widget-download');

      // The visitor downloads it: the file as it was sent, under its name.
      const [download] = await Promise.all([v.page.waitForEvent('download'), link.click()]);
      assert.equal(download.suggestedFilename(), 'page.html');
      assert.equal(await readFile(await download.path(), 'utf8'), EVIL_HTML);
      await sleep(300);
      assert.equal(await v.page.evaluate(() => window.pwned), undefined, 'the HTML ran in the visitor’s page');
      assert.equal(await ann.page.evaluate(() => window.pwned), undefined, 'the HTML ran in the console');

      // Served as an attachment, never as a page: to the agent's session and the visitor's token.
      const cookie = (await ann.context.cookies(server.baseUrl)).map((c) => `${c.name}=${c.value}`).join('; ');
      for (const headers of [{ cookie }, { authorization: `Bearer ${await visitorToken(v.page)}` }]) {
        const res = await fetch(new URL(href, server.baseUrl), { headers });
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-disposition'), /^attachment;.*filename="page\.html"/);
        assert.equal(res.headers.get('content-type'), 'application/octet-stream');
        assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
        assert.match(res.headers.get('content-security-policy'), /sandbox/);
        assert.equal(await res.text(), EVIL_HTML);
      }
      // Nobody else: no session, a wrong token.
      assert.equal((await fetch(new URL(href, server.baseUrl))).status, 404);
      assert.equal((await fetch(new URL(href, server.baseUrl), { headers: { authorization: 'Bearer nope' } })).status, 404);
    });
  });

  test('an SVG dropped on the widget reaches the agent as a download, not a picture', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await run(t, async () => {
      const ann = await consoleOf('ann@example.com', 'ann');
      const v = await visitorChat('Dora Drop');
      await openChat(ann.page, 'Dora Drop');
      const svg = '<svg xmlns="http://www.w3.org/2000/svg" onload="window.pwned=1" width="10" height="10"><rect width="10" height="10"/></svg>\n';
      // Dragging a file over the window shows where to drop it; dropping sends it.
      await v.win.getByRole('log').evaluate(async (log, text) => {
        const dt = new DataTransfer();
        dt.items.add(new File([text], 'logo.svg', { type: 'image/svg+xml' }));
        const fire = (type) => log.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true, composed: true }));
        fire('dragenter');
        fire('dragover');
      }, svg);
      await v.win.getByText('Drop files here to send them').waitFor();
      await v.win.getByRole('log').evaluate((log, text) => {
        const dt = new DataTransfer();
        dt.items.add(new File([text], 'logo.svg', { type: 'image/svg+xml' }));
        log.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true, composed: true }));
      }, svg);
      await v.win.getByText('Drop files here to send them').waitFor({ state: 'hidden' });
      const link = transcript(ann.page).getByRole('link', { name: /logo\.svg.*SVG · \d+ bytes/ });
      await link.waitFor();
      assert.equal(await transcript(ann.page).getByRole('img').count(), 0, 'an SVG is never drawn');
      assert.equal(await link.getAttribute('download'), 'logo.svg');
      await v.win.getByRole('link', { name: /logo\.svg/ }).waitFor();
      assert.equal(await v.win.getByRole('log').getByRole('img').count(), 0);
      await sleep(200);
      assert.equal(await ann.page.evaluate(() => window.pwned), undefined);
      const res = await fetch(new URL(await link.getAttribute('href'), server.baseUrl), {
        headers: { authorization: `Bearer ${await visitorToken(v.page)}` },
      });
      assert.match(res.headers.get('content-disposition'), /^attachment/);
    });
  });

  test('a large file shows its progress while it goes up, can be cancelled, then arrives', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await run(t, async () => {
      const ann = await consoleOf('ann@example.com', 'ann');
      const v = await visitorChat('Paul Progress');
      await openChat(ann.page, 'Paul Progress');
      // A slow uplink (about 1.5 MB/s), so the upload takes a few seconds as on a real network.
      const cdp = await v.context.newCDPSession(v.page);
      await cdp.send('Network.enable');
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 1.5 * MiB,
      });
      const button = v.win.getByRole('button', { name: 'Attach a file' });

      // A first one is cancelled halfway: it disappears and never reaches the agent.
      await attach(v.page, button, [{ name: 'draft.pdf', mimeType: 'application/pdf', buffer: pdfBytes(4 * MiB) }]);
      const draftBar = v.win.getByRole('progressbar', { name: 'Uploading draft.pdf' });
      await draftBar.waitFor();
      await v.page.waitForFunction(
        () => {
          const bar = document.querySelector('parley-chat').shadowRoot.querySelector('progress');
          return bar && bar.value > 0;
        },
        null,
        { timeout: STEP_TIMEOUT_MS },
      );
      await v.win.getByRole('button', { name: 'Cancel sending draft.pdf' }).click();
      await draftBar.waitFor({ state: 'detached' });
      await v.win.getByText('draft.pdf').waitFor({ state: 'detached' });

      // The real one: the bar fills, its percentage is shown, then the message arrives.
      await attach(v.page, button, [{ name: 'manual.pdf', mimeType: 'application/pdf', buffer: pdfBytes(6 * MiB) }]);
      const bar = v.win.getByRole('progressbar', { name: 'Uploading manual.pdf' });
      await bar.waitFor();
      const seen = new Set();
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const value = await bar.evaluate((b) => b.value).catch(() => null);
        if (value === null) break; // gone: uploaded
        seen.add(value);
        if (value > 0 && value < 100) {
          const item = v.win.getByRole('log').locator('[data-pending]').filter({ hasText: 'manual.pdf' });
          const text = await item.innerText().catch(() => null);
          if (text !== null) assert.match(text, /manual\.pdf[\s\S]*PDF · 6 MiB[\s\S]*\d+%/);
          if (seen.size === 3) await screenshot(v.page, 'files-widget-progress');
        }
        await sleep(150);
      }
      const between = [...seen].filter((x) => x > 0 && x < 100);
      assert.ok(between.length >= 2, `the bar moved while the file went up: ${[...seen].sort((a, b) => a - b).join(', ')}`);
      const link = transcript(ann.page).getByRole('link', { name: /manual\.pdf.*PDF · 6 MiB/ });
      await link.waitFor({ timeout: 20_000 });
      await v.win.getByRole('link', { name: /manual\.pdf.*PDF · 6 MiB/ }).waitFor();
      assert.equal(await transcript(ann.page).getByText('draft.pdf').count(), 0, 'the cancelled file never arrived');
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });

      // The console shows the same: the agent's upload fills its bar, then reaches the visitor.
      const acdp = await ann.context.newCDPSession(ann.page);
      await acdp.send('Network.enable');
      await acdp.send('Network.emulateNetworkConditions', {
        offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 1.5 * MiB,
      });
      await attach(ann.page, ann.page.getByRole('button', { name: 'Attach files' }), [
        { name: 'brochure.pdf', mimeType: 'application/pdf', buffer: pdfBytes(3 * MiB) },
      ]);
      const agentBar = transcript(ann.page).getByRole('progressbar', { name: 'Uploading brochure.pdf' });
      await agentBar.waitFor();
      await ann.page.waitForFunction(() => {
        const bar = document.querySelector('#transcript progress');
        return bar && bar.value > 0 && bar.value < 100;
      });
      await transcript(ann.page).getByText(/Uploading… \d+%/).waitFor();
      await screenshot(ann.page, 'files-console-progress');
      await v.win.getByRole('link', { name: /brochure\.pdf.*PDF · 3 MiB/ }).waitFor({ timeout: 20_000 });
      await agentBar.waitFor({ state: 'detached' });
      await transcript(ann.page).getByRole('link', { name: /brochure\.pdf.*PDF · 3 MiB/ }).waitFor();
    });
  });

  test('over the limit: the widget says the limit and sends nothing; a refused file says why and offers Retry', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await run(t, async () => {
      const ann = await consoleOf('ann@example.com', 'ann');
      const v = await visitorChat('Olga Oversize');
      await openChat(ann.page, 'Olga Oversize');
      const button = v.win.getByRole('button', { name: 'Attach a file' });

      await attach(v.page, button, [{ name: 'huge.pdf', mimeType: 'application/pdf', buffer: pdfBytes(LIMIT + 1) }]);
      await v.win.getByText('“huge.pdf” is larger than the limit of 10 MiB.').waitFor();
      await sleep(300);
      assert.deepEqual(v.uploads, [], 'nothing was uploaded');
      assert.equal(await v.win.getByRole('progressbar').count(), 0);

      // The server refuses what the widget cannot know: a picture's name on a PDF's content.
      await attach(v.page, button, [{ name: 'photo.png', mimeType: 'image/png', buffer: pdfBytes(2048) }]);
      const why = v.win.getByRole('alert').filter({ hasText: 'Could not send photo.png: The file\'s name ends in .png but its content is application/pdf.' });
      await why.waitFor();
      await v.win.getByRole('button', { name: 'Retry: photo.png' }).click();
      await why.waitFor({ state: 'detached' }).catch(() => {});
      await why.waitFor(); // refused again, for the same reason
      await screenshot(v.page, 'files-widget-refused');
      assert.deepEqual(await axe(v.page, 'widget with a refused file'), []);
      assert.equal(v.uploads.length, 2, 'Retry uploaded it again');
      await v.win.getByRole('button', { name: 'Remove: photo.png' }).click();
      await v.win.getByText('photo.png').waitFor({ state: 'detached' });
      assert.equal(await transcript(ann.page).getByText('photo.png').count(), 0);

      // More than 20 uploads in a minute (photo.png went up twice): those over the limit go back
      // with the server's reason, the others arrive.
      const many = Array.from({ length: 21 }, (_, i) => ({
        name: `part-${String(i + 1).padStart(2, '0')}.txt`,
        mimeType: 'text/plain',
        buffer: Buffer.from(`Part ${i + 1}\n`),
      }));
      await attach(v.page, button, many);
      const slow = v.win.getByRole('alert').filter({ hasText: /Could not send part-\d\d\.txt: Too many files at once: wait a moment\./ });
      const parts = transcript(ann.page).getByRole('link', { name: /part-\d\d\.txt/ });
      await slow.nth(2).waitFor();
      await parts.nth(17).waitFor({ timeout: 15_000 });
      await sleep(300);
      assert.equal(await slow.count(), 3, 'three files over the limit of 20 a minute');
      assert.equal(await v.win.getByRole('button', { name: /^Retry: part-\d\d\.txt$/ }).count(), 3);
      assert.equal(await parts.count(), 18, 'the others arrived');

      // The agent's side: the same limit, said in the console before anything is sent.
      await attach(ann.page, ann.page.getByRole('button', { name: 'Attach files' }), [
        { name: 'huge.pdf', mimeType: 'application/pdf', buffer: pdfBytes(LIMIT + 1) },
      ]);
      await ann.page.getByRole('alert').filter({ hasText: '“huge.pdf” is larger than the limit of 10 MiB.' }).waitFor();
      assert.deepEqual(ann.uploads, []);

      // And the server's own answer to a file over the limit (the widget's check bypassed: an
      // upload straight from the page): 413, with the limit in words.
      const token = await visitorToken(v.page);
      const chat = await v.page.evaluate(() => {
        const el = document.querySelector('parley-chat').shadowRoot.querySelector('[data-chat]');
        return Number(el.getAttribute('data-chat'));
      });
      const answer = await v.page.evaluate(
        ({ url, token, size }) =>
          new Promise((resolve) => {
            const xhr = new XMLHttpRequest();
            xhr.open('POST', url);
            xhr.setRequestHeader('Authorization', `Bearer ${token}`);
            xhr.onload = () => resolve({ status: xhr.status, body: xhr.responseText });
            xhr.onerror = () => resolve({ status: 0, body: 'network error' });
            xhr.send(new Blob([new Uint8Array(size)], { type: 'application/pdf' }));
          }),
        { url: `${server.baseUrl}/api/visitor/uploads?chat=${chat}&name=huge.pdf`, token, size: LIMIT + 1 },
      );
      assert.equal(answer.status, 413, `answer: ${JSON.stringify(answer)}`);
      assert.deepEqual(JSON.parse(answer.body), { error: 'too_large', message: 'The file is larger than the limit of 10 MiB.' });
    }, { expected: [/Failed to load resource: the server responded with a status of (413|415|429)/] });
  });

  test('in French: the paperclip, the limit, a refusal and a file’s size are in the campaign’s language', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await run(t, async () => {
      const ann = await consoleOf('ann@example.com', 'ann');
      const v = await visitorChat('Flore Français', {
        campaign: ids.french,
        title: 'Aide Acme',
        words: ['Ouvrir la discussion', 'Votre nom', 'Commencer la discussion', 'a rejoint la discussion.'],
      });
      await openChat(ann.page, 'Flore Français');
      const button = v.win.getByRole('button', { name: 'Joindre un fichier' });
      await attach(v.page, button, [{ name: 'énorme.pdf', mimeType: 'application/pdf', buffer: pdfBytes(LIMIT + 1) }]);
      await v.win.getByText('« énorme.pdf » dépasse la limite de 10 Mio.').waitFor();
      assert.deepEqual(v.uploads, []);
      await attach(v.page, button, [{ name: 'outil.exe', mimeType: 'application/octet-stream', buffer: Buffer.from('MZ\x90\x00\x03\x00\x00\x00\x04\x00', 'latin1') }]);
      await v.win.getByRole('alert').filter({ hasText: 'Impossible d’envoyer outil.exe : ce type de fichier ne peut pas être envoyé ici.' }).waitFor();
      await v.win.getByRole('button', { name: 'Retirer: outil.exe' }).click();
      await v.win.getByText('outil.exe').waitFor({ state: 'detached' });
      await attach(v.page, button, [{ name: 'devis.pdf', mimeType: 'application/pdf', buffer: pdfBytes(1.5 * MiB) }]);
      await v.win.getByRole('link', { name: /devis\.pdf.*PDF · 1,5 Mio/ }).waitFor();
      await transcript(ann.page).getByRole('link', { name: /devis\.pdf.*PDF · 1\.5 MiB/ }).waitFor();
    }, { expected: [/Failed to load resource: the server responded with a status of 415/] });
  });

  test('a file sent while the console reconnects arrives once; a site without files shows no paperclip', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await run(t, async () => {
      const ann = await consoleOf('ann@example.com', 'ann');
      const v = await visitorChat('Rene Reconnect');
      await openChat(ann.page, 'Rene Reconnect');
      // The console's socket drops and its next connection is held (no welcome: not connected);
      // the upload goes over HTTP meanwhile and its message waits in the outbox. Once the
      // socket is back, it is sent (once) and the visitor gets it once.
      let hold = true;
      let held = null;
      /** The frames the console sent on the connections that reached the server. */
      const sent = [];
      await ann.page.routeWebSocket(/\/ws\/agent$/, (ws) => {
        if (hold) {
          held = ws;
          return;
        }
        const srv = ws.connectToServer();
        ws.onMessage((m) => {
          sent.push(JSON.parse(m));
          srv.send(m);
        });
      });
      await ann.page.evaluate(() => window.parleyConsole.drop());
      await ann.page.getByRole('status').filter({ hasText: /Reconnecting/ }).waitFor();
      await attach(ann.page, ann.page.getByRole('button', { name: 'Attach files' }), [
        { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('Order 1042: shipped.\n') },
      ]);
      const waiting = transcript(ann.page).getByRole('listitem').filter({ hasText: 'Sending…' }).filter({ hasText: 'notes.txt (21 bytes)' });
      await waiting.waitFor();
      assert.equal(ann.uploads.length, 1, 'uploaded while the socket was down');
      for (let i = 0; i < 100 && !held; i++) await sleep(100);
      assert.ok(held, 'the console tried to reconnect');
      await sleep(300);
      await waiting.waitFor(); // still waiting: the held connection brought no welcome
      await ann.page.getByRole('status').filter({ hasText: /Reconnecting/ }).waitFor();
      hold = false;
      await held.close({ code: 1001, reason: 'held' }).catch(() => {}); // the console retries: now through
      await ann.page.getByRole('status').filter({ hasText: /^Connected$/ }).waitFor({ timeout: 20_000 });
      const link = v.win.getByRole('link', { name: /notes\.txt.*text\/plain · 21 bytes/ });
      await link.waitFor();
      await transcript(ann.page).getByRole('link', { name: /notes\.txt/ }).waitFor();
      await waiting.waitFor({ state: 'detached' });
      await sleep(500);
      assert.equal(await link.count(), 1);
      assert.equal(await transcript(ann.page).getByRole('link', { name: /notes\.txt/ }).count(), 1);
      const messages = sent.filter((f) => f.type === 'message');
      assert.equal(messages.length, 1, `one message frame: ${JSON.stringify(messages)}`);
      assert.equal(typeof messages[0].upload, 'number');
      assert.equal(messages[0].text, undefined);
      assert.equal(sent[0].type, 'hello', 'sent after the hello of the new connection');
      await ann.page.unrouteAll({ behavior: 'ignoreErrors' });

      // An internal note cannot carry a file (it would reach the visitor).
      await ann.page.getByRole('checkbox', { name: 'Internal note (agents only)' }).check();
      await ann.page.getByRole('button', { name: 'Attach files' }).click();
      await ann.page.getByRole('alert').filter({ hasText: 'cannot be added to an internal note' }).waitFor();
      await ann.page.getByRole('checkbox', { name: 'Internal note (agents only)' }).uncheck();

      // A site that takes no files: no paperclip on either side, and a pasted file is not sent.
      const nia = await consoleOf('nia@example.com', 'nia');
      const w = await visitorChat('Pia Plain', { campaign: ids.plainCampaign, title: 'Plain help', agent: 'Nia Agent' });
      await openChat(nia.page, 'Pia Plain');
      await nia.page.getByRole('textbox', { name: 'Message to the visitor' }).waitFor();
      assert.equal(await nia.page.getByRole('button', { name: 'Attach files' }).count(), 0);
      assert.equal(await w.win.getByRole('button', { name: 'Attach a file' }).count(), 0);
      await paste(w.win.getByRole('textbox', { name: 'Message', exact: true }), [
        { name: 'screenshot.png', type: 'image/png', bytes: png(20, 20, [0, 0, 0]) },
      ]);
      await w.win.getByText('Files cannot be sent in this chat.').waitFor();
      await sleep(300);
      assert.deepEqual(w.uploads, []);
    });
  });
});
