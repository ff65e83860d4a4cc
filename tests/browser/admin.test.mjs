// The admin pages as a person uses them: a real `parley serve`, headless Chromium, clicks and
// typing through labels and button names (no CSS selectors for what a person would read).
//
// The tests of this file share one server and run in order: the owner signs in, makes a site,
// a department, an agent and a campaign, then the error, sign-out and accessibility checks.
// Each test has its own browser context (own cookies) and signs in itself.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, OWNER } from './server.mjs';
import { launchBrowser, withPage, screenshot, seriousAxeViolations } from './browser.mjs';

const TEST_TIMEOUT_MS = 45_000;

/** Escape a string for use inside a RegExp. */
const re = (s) => new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));

describe('admin pages in a browser', { timeout: 110_000 }, () => {
  let server;
  let browser;
  /** URL of the "Acme Shop" overview, set by the test that creates it. */
  let siteUrl = null;

  /** Why the server or the browser could not start: every test then fails with it. */
  let setupError = null;

  before(async () => {
    // Both are needed by every test; start them side by side. A failure is recorded and
    // thrown by each test (so the run counts them as failed, never as skipped or cancelled).
    const [s, b] = await Promise.allSettled([startServer(), launchBrowser()]);
    if (s.status === 'fulfilled') server = s.value;
    if (b.status === 'fulfilled') browser = b.value;
    if (s.status === 'rejected' || b.status === 'rejected') {
      setupError = s.status === 'rejected' ? s.reason : b.reason;
      await browser?.close().catch(() => {});
      await server?.stop().catch(() => {});
      browser = server = undefined;
    }
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  /** Run a test body in a fresh browser context, once setup has succeeded. */
  async function inPage(t, body) {
    if (setupError) throw new Error(`setup failed: ${setupError.message}`, { cause: setupError });
    await withPage(browser, t, server, body);
  }

  const url = (p) => new URL(p, server.baseUrl).href;
  const pathOf = (page) => new URL(page.url()).pathname;

  /** Sign in through the form on /login as the owner. */
  async function signIn(page, { password = OWNER.password } = {}) {
    await page.goto(url('/login'));
    await page.getByLabel('Email').fill(OWNER.email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  async function signedInAtSite(page) {
    assert.ok(siteUrl, 'needs the site "Acme Shop" made by the earlier test "owner creates a site"');
    await signIn(page);
    await page.waitForURL((u) => u.pathname === '/admin/sites');
    await page.goto(siteUrl);
    await page.getByRole('heading', { level: 1, name: 'Acme Shop' }).waitFor();
  }

  /** A link in the site's own navigation ("Site Acme Shop"). */
  const siteNav = (page, name) =>
    page.getByRole('navigation', { name: 'Site Acme Shop' }).getByRole('link', { name, exact: true });

  test('/admin sends a signed-out person to /login; signing in lands on /admin/sites', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await inPage(t, async ({ page }) => {
      await page.goto(url('/admin'));
      assert.equal(pathOf(page), '/login');
      await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();

      await page.getByLabel('Email').fill(OWNER.email);
      await page.getByLabel('Password').fill(OWNER.password);
      await page.getByRole('button', { name: 'Sign in' }).click();

      await page.waitForURL((u) => u.pathname === '/admin/sites');
      await page.getByRole('heading', { level: 1, name: 'Sites' }).waitFor();
      await page.getByRole('button', { name: 'Sign out' }).waitFor();
    });
  });

  test('owner creates a site', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await inPage(t, async ({ page }) => {
      await signIn(page);
      await page.waitForURL((u) => u.pathname === '/admin/sites');

      await page.getByRole('link', { name: 'New site' }).click();
      await page.waitForURL((u) => u.pathname === '/admin/sites/new');
      await page.getByLabel('Name').fill('Acme Shop');
      await page.getByRole('button', { name: 'Create site' }).click();

      await page.waitForURL((u) => /^\/admin\/sites\/\d+$/.test(u.pathname));
      await page.getByRole('heading', { level: 1, name: 'Acme Shop' }).waitFor();
      const u = new URL(page.url());
      siteUrl = `${u.origin}${u.pathname}`;
    });
  });

  test('site admin adds the department "Billing"', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await inPage(t, async ({ page }) => {
      await signedInAtSite(page);

      await siteNav(page, 'Departments').click();
      await page.getByRole('heading', { level: 1, name: 'Departments' }).waitFor();
      await page.getByRole('link', { name: 'New department' }).click();
      await page.getByLabel('Name', { exact: true }).fill('Billing');
      await page.getByRole('button', { name: 'Save department' }).click();

      await page.waitForURL((u) => u.pathname.endsWith('/departments'));
      await page.getByRole('heading', { level: 1, name: 'Departments' }).waitFor();
      await page.getByRole('table').getByRole('link', { name: 'Billing', exact: true }).waitFor();
    });
  });

  test('site admin adds the agent "Ann Agent" to Billing', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await inPage(t, async ({ page }) => {
      await signedInAtSite(page);

      await siteNav(page, 'Agents').click();
      await page.getByRole('heading', { level: 1, name: 'Agents' }).waitFor();
      await page.getByRole('link', { name: 'New person' }).click();
      await page.getByRole('heading', { level: 1 }).waitFor();

      await page.getByLabel('Name', { exact: true }).fill('Ann Agent');
      await page.getByLabel('Email', { exact: true }).fill('ann@example.com');
      await page.getByRole('checkbox', { name: 'Billing' }).check();
      await page.getByLabel('Max concurrent chats').fill('3');
      await page.getByLabel('First password').fill('ann-password-123');
      await page.getByLabel('Password again').fill('ann-password-123');
      await page.getByRole('button', { name: 'Save', exact: true }).click();

      await page.waitForURL((u) => u.pathname.endsWith('/agents'));
      const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'Ann Agent', exact: true }) });
      await row.waitFor();
      const cells = await row.getByRole('cell').allInnerTexts();
      // Name, Email, Role, Departments, Skills, Max chats, Status
      assert.equal(cells[0].trim(), 'Ann Agent');
      assert.equal(cells[1].trim(), 'ann@example.com');
      assert.equal(cells[3].trim(), 'Billing', `departments cell of ${JSON.stringify(cells)}`);
      assert.equal(cells[5].trim(), '3', `max chats cell of ${JSON.stringify(cells)}`);
    });
  });

  test('site admin makes the campaign "Main" with a pre-chat field, and it keeps it', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await inPage(t, async ({ page }) => {
      await signedInAtSite(page);

      await siteNav(page, 'Campaigns').click();
      await page.getByRole('heading', { level: 1, name: 'Campaigns' }).waitFor();
      await page.getByRole('link', { name: 'New campaign' }).click();
      await page.getByRole('heading', { level: 1 }).waitFor();

      const axeNew = await seriousAxeViolations(page, 'new campaign form');

      await page.getByLabel('Name', { exact: true }).fill('Main');
      await page.getByLabel(/^Language/).selectOption({ label: 'Français' });
      await page.getByLabel('New chats go to').selectOption({ label: 'Billing' });
      await page.getByLabel('Key of field 1', { exact: true }).fill('name');
      await page.getByLabel('Label of field 1', { exact: true }).fill('Your name');
      await page.getByLabel('Field 1 required', { exact: true }).selectOption({ label: 'Required' });
      await page.getByRole('button', { name: 'Save campaign' }).click();

      await page.waitForURL((u) => u.pathname.endsWith('/campaigns'));
      const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'Main', exact: true }) });
      await row.waitFor();
      const cells = await row.getByRole('cell').allInnerTexts();
      // Campaign, Language, Chats go to, Proactive, Widget tag
      assert.equal(cells[1].trim(), 'Français', `language cell of ${JSON.stringify(cells)}`);
      assert.equal(cells[2].trim(), 'Billing', `department cell of ${JSON.stringify(cells)}`);

      // Open it again: what was saved is what the form shows.
      await row.getByRole('link', { name: 'Main', exact: true }).click();
      await page.waitForURL((u) => /\/campaigns\/\d+$/.test(u.pathname));
      assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'Main');
      const selectedText = (loc) => loc.evaluate((s) => s.selectedOptions[0]?.textContent.trim());
      assert.equal(await selectedText(page.getByLabel(/^Language/)), 'Français');
      assert.equal(await selectedText(page.getByLabel('New chats go to')), 'Billing');
      assert.equal(await page.getByLabel('Key of field 1', { exact: true }).inputValue(), 'name');
      assert.equal(await page.getByLabel('Label of field 1', { exact: true }).inputValue(), 'Your name');
      assert.equal(await selectedText(page.getByLabel('Field 1 required', { exact: true })), 'Required');

      const shot = await screenshot(page, 'campaign-form');
      t.diagnostic(`screenshot: ${shot}`);
      const axeEdit = await seriousAxeViolations(page, 'campaign form (edit)');
      const serious = [...axeNew, ...axeEdit];
      assert.deepEqual(
        serious.map((v) => `${v.impact}: ${v.id} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`),
        [],
        'axe-core found serious/critical accessibility violations on the campaign form',
      );
    });
  });

  test('the sites list: accessible, with a screenshot', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await inPage(t, async ({ page }) => {
      await signIn(page);
      await page.waitForURL((u) => u.pathname === '/admin/sites');
      await page.getByRole('heading', { level: 1, name: 'Sites' }).waitFor();
      if (siteUrl) {
        await page.getByRole('table').getByRole('link', { name: 'Acme Shop', exact: true }).waitFor();
      }
      const shot = await screenshot(page, 'sites-list');
      t.diagnostic(`screenshot: ${shot}`);
      const serious = await seriousAxeViolations(page, 'sites list');
      assert.deepEqual(
        serious.map((v) => `${v.impact}: ${v.id} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`),
        [],
        'axe-core found serious/critical accessibility violations on the sites list',
      );
    });
  });

  test('a too-long site name is refused with 422 and the typed name stays in the field', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await inPage(t, async ({ page }) => {
      await signIn(page);
      await page.waitForURL((u) => u.pathname === '/admin/sites');
      await page.getByRole('link', { name: 'New site' }).click();
      await page.waitForURL((u) => u.pathname === '/admin/sites/new');

      const name = page.getByLabel('Name');
      // The browser would stop at maxlength=100; a person pasting past it via an old browser or
      // a script must still get the server's answer, so take the limit off first.
      await name.evaluate((el) => el.removeAttribute('maxlength'));
      const long = 'x'.repeat(101);
      await name.fill(long);
      const answer = page.waitForResponse(
        (r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/admin/sites',
      );
      await page.getByRole('button', { name: 'Create site' }).click();
      const res = await answer;
      assert.equal(res.status(), 422);
      await page.waitForLoadState();

      await page.getByText('At most 100 characters.', { exact: true }).waitFor();
      assert.equal(await page.getByLabel('Name').inputValue(), long);
      assert.equal(await page.getByLabel('Name').getAttribute('aria-invalid'), 'true');
      // Nothing was created.
      await page.goto(url('/admin/sites'));
      assert.equal(await page.getByRole('table').getByRole('link', { name: re(long) }).count(), 0);
    });
  });

  test('the warm-transfer timeout shows its range, and a value outside it is refused naming the range', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await inPage(t, async ({ page }) => {
      await signedInAtSite(page);
      await siteNav(page, 'Settings').click();
      await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor();

      const field = page.getByLabel('Seconds the target agent has to accept');
      /** The texts the field's aria-describedby points at, in order. */
      const description = () =>
        field.evaluate((el) =>
          (el.getAttribute('aria-describedby') ?? '')
            .split(/\s+/)
            .filter(Boolean)
            .map((id) => document.getElementById(id)?.textContent.trim() ?? `(missing #${id})`),
        );
      assert.equal(await field.getAttribute('min'), '5');
      assert.equal(await field.getAttribute('max'), '600');
      const hint = 'From 5 to 600 seconds. When the time is up the offer lapses and the agent who made it can choose someone else.';
      await page.getByText(hint, { exact: true }).waitFor();
      assert.deepEqual(await description(), [hint]);
      assert.equal(await field.getAttribute('aria-invalid'), null);
      const serious = await seriousAxeViolations(page, 'settings');
      assert.deepEqual(
        serious.map((v) => `${v.impact}: ${v.id} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`),
        [],
        'axe-core found serious/critical accessibility violations on the settings form',
      );

      // The browser itself stops a value out of range (min/max) and says so.
      await field.fill('601');
      await page.getByRole('button', { name: 'Save settings' }).click();
      assert.equal(await field.evaluate((el) => el.validity.rangeOverflow), true);
      assert.match(await field.evaluate((el) => el.validationMessage), /600/);
      assert.match(new URL(page.url()).pathname, /\/settings$/);

      // Past the browser (an old one, or a script), the server refuses it and names the range.
      await field.evaluate((el) => {
        el.removeAttribute('min');
        el.removeAttribute('max');
      });
      await field.fill('601');
      const answer = page.waitForResponse(
        (r) => r.request().method() === 'POST' && new URL(r.url()).pathname.endsWith('/settings'),
      );
      await page.getByRole('button', { name: 'Save settings' }).click();
      assert.equal((await answer).status(), 422);
      await page.waitForLoadState();
      const error = 'A whole number of seconds from 5 to 600.';
      await page.getByText(error, { exact: true }).waitFor();
      assert.equal(await field.inputValue(), '601', 'the typed value is kept');
      assert.equal(await field.getAttribute('aria-invalid'), 'true');
      assert.deepEqual(await description(), [hint, error]);
      assert.equal(await field.getAttribute('min'), '5', 'the page shown again has the range');
      assert.equal(await field.getAttribute('max'), '600');

      // A value in the range is saved and shown again.
      await field.fill('45');
      await page.getByRole('button', { name: 'Save settings' }).click();
      await page.waitForURL((u) => u.pathname.endsWith('/settings') && u.searchParams.get('ok') === 'saved');
      assert.equal(await field.inputValue(), '45');
      assert.equal(await field.getAttribute('aria-invalid'), null);
      assert.deepEqual(await description(), [hint]);
    });
  });

  test('signing out, then a wrong password is refused', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await inPage(t, async ({ page }) => {
      await signIn(page);
      await page.waitForURL((u) => u.pathname === '/admin/sites');

      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL((u) => u.pathname === '/login');
      // Signed out for real: the admin pages send us back to the sign-in form.
      await page.goto(url('/admin/sites'));
      assert.equal(pathOf(page), '/login');

      await page.getByLabel('Email').fill(OWNER.email);
      await page.getByLabel('Password').fill('not-the-password');
      const answer = page.waitForResponse(
        (r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/login',
      );
      await page.getByRole('button', { name: 'Sign in' }).click();
      const res = await answer;
      assert.equal(res.status(), 401);
      await page.getByRole('alert').filter({ hasText: 'Wrong email or password.' }).waitFor();
      assert.equal(await page.getByLabel('Email').inputValue(), OWNER.email);
      assert.equal(await page.getByLabel('Password').inputValue(), '');
      assert.equal(pathOf(page), '/login');
    });
  });
});
