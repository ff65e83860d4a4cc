// Mail as people meet it in a browser: a real `parley serve` with a `[mail]` section, a real
// SMTP server (tests/mail/smtpd.py through smtp.mjs: STARTTLS with a fresh certificate, AUTH),
// and headless Chromium. The links are taken from the mails the SMTP server received, and
// opened in the browser as the person who got the mail would.
//
// Each test has its own SMTP server and Parley (started with the SMTP server's `[mail]`
// section) and stops both at its end; the browser is shared. Agents who answer chats are
// scripted: a WebSocket to /ws/agent from Node with the agent's session cookie.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startServer, OWNER } from './server.mjs';
import { launchBrowser, withPage, STEP_TIMEOUT_MS } from './browser.mjs';
import { ownerSession, signIn, signInAgent, createSite, createAgent, createCampaign } from './seed.mjs';
import { startHostPage } from './hostpage.mjs';
import { startSmtp, header, MAIL_FROM, MAIL_FROM_NAME } from './smtp.mjs';

const TEST_TIMEOUT_MS = 40_000;

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The path of the one-time link `${baseUrl}${prefix}…` in a mail's text part. */
function linkIn(mail, baseUrl, prefix) {
  assert.equal(typeof mail.plain, 'string', 'the mail has a text/plain part');
  const m = mail.plain.match(new RegExp(`${escapeRe(baseUrl)}(${escapeRe(prefix)}[0-9A-Za-z_-]+)`));
  assert.ok(m, `a link ${baseUrl}${prefix}… in the mail:\n${mail.plain}`);
  return m[1];
}

/** Errors the page reports (uncaught exceptions, console errors): a passing test has none. */
function watchErrors(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console error: ${m.text()}`);
  });
  return errors;
}

/** An agent's console, scripted: /ws/agent with the agent's session cookie, Online. */
async function agentSocket(baseUrl, session) {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/ws/agent`, {
    headers: { Cookie: session.cookieHeader() },
    origin: baseUrl,
  });
  const frames = [];
  const waiters = new Set();
  ws.on('message', (m) => {
    frames.push(JSON.parse(m.toString()));
    for (const w of [...waiters]) w();
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const send = (f) => ws.send(JSON.stringify(f));
  /** The first frame (received or to come) matching `pred`, taken out of the buffer. */
  const waitFor = (pred, label, ms = STEP_TIMEOUT_MS) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const i = frames.findIndex(pred);
        if (i < 0) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(frames.splice(i, 1)[0]);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`agent: no ${label} within ${ms} ms`));
      }, ms);
      waiters.add(check);
      check();
    });
  send({ type: 'hello', v: 1, chats: [] });
  await waitFor((f) => f.type === 'agent_welcome', 'agent_welcome');
  return { send, waitFor, close: () => ws.close() };
}

describe('mail in a browser: invitations, forgotten passwords, the visitor’s copy', { timeout: 150_000 }, () => {
  let browser;
  let setupError = null;

  before(async () => {
    try {
      browser = await launchBrowser();
    } catch (e) {
      setupError = e;
    }
  });

  after(async () => {
    await browser?.close().catch(() => {});
  });

  /**
   * Start an SMTP server and a Parley sending through it, run `body({ server, smtp })`, then
   * stop both (Parley first: its [mail] files live in the SMTP server's directory). A failure
   * carries what the SMTP server printed.
   */
  async function withMail(body) {
    if (setupError) throw new Error(`setup failed: ${setupError.message}`, { cause: setupError });
    const smtp = await startSmtp();
    let server;
    try {
      server = await startServer({ extraConfig: smtp.mailConfig });
      await body({ server, smtp });
    } catch (err) {
      if (smtp.logs().trim()) err.message += `\n  smtpd output:\n${smtp.logs().trim()}`;
      throw err;
    } finally {
      await server?.stop();
      await smtp.stop();
    }
  }

  test('an invited agent gets the mail, opens its link, chooses a password and lands on the console', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await withMail(async ({ server, smtp }) => {
      const site = await createSite(await ownerSession(server.baseUrl), 'Acme Shop');
      const url = (p) => new URL(p, server.baseUrl).href;

      // The owner adds Nina with a name and an address only: no password.
      await withPage(browser, t, server, async ({ page }) => {
        const errors = watchErrors(page);
        await signInAgent(page, server.baseUrl, OWNER.email, OWNER.password);
        await page.goto(url(`/admin/sites/${site}/agents/new`));
        await page.getByText('Leave the password empty to send an invitation', { exact: false }).waitFor();
        await page.getByLabel('Name', { exact: true }).fill('Nina New');
        await page.getByLabel('Email', { exact: true }).fill('nina@shop.example');
        assert.equal(await page.getByLabel('First password (optional, at least 10 characters)').inputValue(), '');
        assert.equal(await page.getByLabel('Password again').inputValue(), '');
        await page.getByRole('button', { name: 'Save', exact: true }).click();

        await page.waitForURL((u) => u.pathname === `/admin/sites/${site}/agents`);
        await page
          .getByRole('status')
          .filter({ hasText: 'Created. An invitation with a link to choose a password is on its way.' })
          .waitFor();
        const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'Nina New', exact: true }) });
        const cells = await row.getByRole('cell').allInnerTexts();
        assert.equal(cells[1].trim(), 'nina@shop.example');
        assert.equal(cells[6].trim(), 'Invited', `status cell of ${JSON.stringify(cells)}`);
        assert.deepEqual(errors, [], 'errors in the browser');
      });

      const mail = await smtp.waitForMail((m) => m.rcpt_tos.includes('nina@shop.example'), 'invitation for nina@shop.example');
      assert.deepEqual(mail.rcpt_tos, ['nina@shop.example']);
      assert.equal(mail.mail_from, MAIL_FROM);
      assert.deepEqual(header(mail, 'Subject'), ['You are invited to answer chats for Acme Shop']);
      const link = linkIn(mail, server.baseUrl, '/invite/');

      // Nina, in her own browser, follows the link from the mail.
      await withPage(browser, t, server, async ({ page }) => {
        const errors = watchErrors(page);
        const res = await page.goto(url(link));
        assert.equal(res.status(), 200);
        await page.getByRole('heading', { level: 1, name: 'Choose your password' }).waitFor();
        await page.getByText('Welcome, Nina New. You sign in as nina@shop.example.').waitFor();
        await page.getByLabel('Password (at least 10 characters)').fill('nina-password-1');
        await page.getByLabel('Password again').fill('nina-password-1');
        await page.getByRole('button', { name: 'Choose my password' }).click();

        await page.waitForURL((u) => u.pathname === '/console');
        await page.getByRole('status').filter({ hasText: /^Connected$/ }).waitFor();
        await page.getByRole('link', { name: 'Nina New', exact: true }).waitFor();
        await page.getByRole('heading', { level: 1, name: 'No chat open' }).waitFor();
        assert.deepEqual(errors, [], 'errors in the browser');

        // The link worked once.
        const again = await page.goto(url(link));
        assert.equal(again.status(), 410);
        await page.getByRole('alert').filter({ hasText: 'This link has expired or has been used already.' }).waitFor();
      });
    });
  });

  test('forgot password: the reset mail’s link sets a new password, which then signs in', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await withMail(async ({ server, smtp }) => {
      const owner = await ownerSession(server.baseUrl);
      const site = await createSite(owner, 'Acme Shop');
      await createAgent(owner, site, { name: 'Sam Agent', email: 'sam@shop.example', password: 'sam-password-1' });
      const url = (p) => new URL(p, server.baseUrl).href;

      await withPage(browser, t, server, async ({ page }) => {
        const errors = watchErrors(page);
        await page.goto(url('/login'));
        await page.getByRole('link', { name: 'Forgot your password?' }).click();
        await page.waitForURL((u) => u.pathname === '/forgot');
        await page.getByRole('heading', { level: 1, name: 'Forgot your password?' }).waitFor();
        await page.getByLabel('Email').fill('sam@shop.example');
        await page.getByRole('button', { name: 'Send me a link' }).click();
        await page
          .getByRole('status')
          .filter({ hasText: 'If an account uses sam@shop.example, a link to choose a new password is on its way.' })
          .waitFor();
        assert.deepEqual(errors, [], 'errors in the browser');
      });

      const mail = await smtp.waitForMail((m) => m.rcpt_tos.includes('sam@shop.example'), 'reset mail for sam@shop.example');
      assert.deepEqual(mail.rcpt_tos, ['sam@shop.example']);
      assert.deepEqual(header(mail, 'Subject'), ['Choose a new password']);
      const link = linkIn(mail, server.baseUrl, '/reset/');

      await withPage(browser, t, server, async ({ page }) => {
        const errors = watchErrors(page);
        const res = await page.goto(url(link));
        assert.equal(res.status(), 200);
        await page.getByRole('heading', { level: 1, name: 'Choose a new password' }).waitFor();
        await page.getByText('For sam@shop.example.', { exact: false }).waitFor();
        await page.getByLabel('Password (at least 10 characters)').fill('sam-password-2');
        await page.getByLabel('Password again').fill('sam-password-2');
        await page.getByRole('button', { name: 'Set the new password' }).click();

        await page.waitForURL((u) => u.pathname === '/login');
        await page
          .getByRole('status')
          .filter({ hasText: 'Your new password is set, and every other session is signed out. Sign in with it.' })
          .waitFor();
        await page.getByLabel('Email').fill('sam@shop.example');
        await page.getByLabel('Password').fill('sam-password-2');
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.waitForURL((u) => u.pathname === '/console');
        await page.getByRole('status').filter({ hasText: /^Connected$/ }).waitFor();
        await page.getByRole('link', { name: 'Sam Agent', exact: true }).waitFor();
        assert.deepEqual(errors, [], 'errors in the browser');
      });
      // The old password no longer signs in.
      await assert.rejects(signIn(server.baseUrl, 'sam@shop.example', 'sam-password-1'), /sign-in as sam@shop.example failed/);
    });
  });

  test('the widget’s “Email me this conversation” mails the transcript to the chat’s address only', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await withMail(async ({ server, smtp }) => {
      const owner = await ownerSession(server.baseUrl);
      const site = await createSite(owner, 'Acme Outdoor');
      await createAgent(owner, site, { name: 'Ann Agent', email: 'ann@example.com', password: 'agent-password-123' });
      const campaign = await createCampaign(owner, site, {
        name: 'Main',
        title: 'Acme Outdoor help',
        prechat: [
          { key: 'name', label: 'Your name', kind: 'text', required: true },
          { key: 'email', label: 'Email', kind: 'email', required: true },
        ],
        postchat: { enabled: true, question: '', comment: true },
      });
      const answer = 'Your Ridge 2 tent ships today <by courier>.';
      let host;
      let ann;
      try {
        host = await startHostPage(server.baseUrl);
        ann = await agentSocket(server.baseUrl, await signIn(server.baseUrl, 'ann@example.com', 'agent-password-123'));
        await withPage(browser, t, server, async ({ page }) => {
          const errors = watchErrors(page);
          await page.goto(host.url('/shop/tents', { campaign, title: 'Tents' }));
          await page.getByRole('button', { name: 'Open chat', exact: true }).click();
          const win = page.getByRole('dialog', { name: 'Acme Outdoor help' });
          await win.getByRole('textbox', { name: 'Your name', exact: true }).fill('Vera Visitor');
          await win.getByRole('textbox', { name: 'Email', exact: true }).fill('vera@customer.example');
          await win.getByRole('button', { name: 'Start chat' }).click();

          const { chat } = await ann.waitFor((f) => f.type === 'assigned', 'the chat assigned');
          assert.equal(chat.info.name, 'Vera Visitor');
          await win.getByText('Ann Agent joined the chat.').waitFor();
          const box = win.getByRole('textbox', { name: 'Message', exact: true });
          await box.fill('When does my tent ship?');
          await box.press('Enter');
          await ann.waitFor((f) => f.type === 'event' && f.kind === 'message' && f.text === 'When does my tent ship?', 'the visitor’s question');
          ann.send({ type: 'message', chat: chat.id, id: 'ann-1', text: answer });
          await win.getByText(answer).waitFor();
          ann.send({ type: 'end', chat: chat.id });

          await win.getByText('The chat has ended.').waitFor();
          await win.getByRole('group', { name: 'How would you rate this chat?' }).waitFor();
          assert.equal(await win.getByRole('button', { name: 'Email me this conversation' }).count(), 0, 'not before the survey is done');
          await win.getByRole('button', { name: 'Skip' }).click();
          const emailMe = win.getByRole('button', { name: 'Email me this conversation' });
          await emailMe.click();
          await win.getByRole('status').filter({ hasText: 'A copy of this conversation is on its way to your email.' }).waitFor();
          await emailMe.waitFor({ state: 'hidden' });
          assert.deepEqual(errors, [], 'errors in the browser');
        });

        const mail = await smtp.waitForMail((m) => header(m, 'Subject').some((s) => s.startsWith('Your conversation')), 'the transcript mail');
        assert.deepEqual(mail.rcpt_tos, ['vera@customer.example'], 'exactly the address given in the chat');
        assert.deepEqual(header(mail, 'To').map((v) => v.replace(/^.*</, '').replace(/>$/, '')), ['vera@customer.example']);
        assert.deepEqual(header(mail, 'Subject'), [`Your conversation with ${MAIL_FROM_NAME}`]);
        assert.equal(mail.tls, true, 'sent over STARTTLS');
        assert.equal(mail.authenticated, true, 'with the configured credentials');
        assert.ok(mail.plain.includes(answer), `the agent’s answer in the text part:\n${mail.plain}`);
        assert.ok(mail.plain.includes('When does my tent ship?'), `the visitor’s question in the text part:\n${mail.plain}`);
        assert.ok(mail.html.includes('Your Ridge 2 tent ships today &#60;by courier&#62;.'), `the answer, escaped, in the HTML part:\n${mail.html}`);
        assert.deepEqual(
          (await smtp.mails()).map((m) => m.rcpt_tos),
          [['vera@customer.example']],
          'no other mail was sent',
        );
      } finally {
        ann?.close();
        await host?.stop();
      }
    });
  });
});
