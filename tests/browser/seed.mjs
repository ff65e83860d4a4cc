// Seeding a server over plain HTTP, the way the admin pages' forms would: sign in as the owner,
// create sites, departments, people, campaigns, transfer settings and cross-site groups, and
// get their ids back. Browser tests use it to reach the state they test in a second instead of
// clicking through the admin pages (admin.test.mjs tests those).
//
// Every POST carries the CSRF token: the `parley_csrf` cookie is kept in a small cookie jar and
// the matching `csrf_token` is read from the hidden field of a page's form, then sent in the
// `X-CSRF-Token` header (which the server accepts for scripts).
//
// Stable API (other test files use it):
//   ownerSession(baseUrl)                          -> Session signed in as OWNER
//   signIn(baseUrl, email, password)               -> Session signed in as anyone
//   createSite(s, name)                            -> site id
//   createDepartment(s, site, {name, rule})        -> department id
//   createAgent(s, site, {name, email, password, role, departments, skills, maxChats}) -> user id
//   createCampaign(s, site, {name, language, department, prechat, proactive, ...}) -> campaign id
//   setTransferSettings(s, site, {warmTimeoutSecs, notifyVisitor, transcriptCrossSite, defaultCampaign})
//   createGroup(s, name, siteIds)                  -> group id
//   createCanned(s, site, {shortcut, text})        -> canned reply id
//   signInAgent(page, baseUrl, email, password)    (a Playwright page, through the /login form)

import { OWNER } from './server.mjs';

const TIMEOUT_MS = 10_000;

/** A cookie jar and the CSRF token of one HTTP "browser". */
export class Session {
  constructor(baseUrl) {
    this.baseUrl = baseUrl;
    /** name -> value */
    this.cookies = new Map();
    this.csrf = null;
  }

  cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  keepCookies(res) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '';
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  /** One request without following redirects; returns { status, location, text }. */
  async request(method, path, { form = null } = {}) {
    const headers = { cookie: this.cookieHeader() };
    let body;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = encodeForm(form);
    }
    if (method !== 'GET') {
      if (!this.csrf) await this.refreshCsrf();
      headers['x-csrf-token'] = this.csrf;
    }
    const res = await fetch(new URL(path, this.baseUrl), {
      method,
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    this.keepCookies(res);
    const text = await res.text();
    return { status: res.status, location: res.headers.get('location'), text };
  }

  async get(path) {
    const r = await this.request('GET', path);
    if (r.status !== 200) throw new Error(`GET ${path} answered ${r.status} (location ${r.location})`);
    return r.text;
  }

  /** POST a form; expects a 303 redirect and returns its location. Errors show the page's messages. */
  async post(path, form) {
    const r = await this.request('POST', path, { form });
    if (r.status !== 303) {
      const errors = [...r.text.matchAll(/class="error"[^>]*>([^<]*)</g)].map((m) => m[1]).join(' | ');
      throw new Error(`POST ${path} answered ${r.status}: ${errors || r.text.slice(0, 400)}`);
    }
    return r.location;
  }

  /** Read the csrf token from the sign-in page's form (it also sets the `parley_csrf` cookie). */
  async refreshCsrf() {
    const r = await this.request('GET', '/login');
    const m = r.text.match(/name="csrf_token" value="([0-9a-f]+)"/);
    if (m) {
      this.csrf = m[1];
      return;
    }
    // Signed in: /login redirects; any signed-in page has the sign-out form with the token.
    const page = await this.request('GET', '/account');
    const n = page.text.match(/name="csrf_token" value="([0-9a-f]+)"/);
    if (!n) throw new Error('no csrf_token field found on /login or /account');
    this.csrf = n[1];
  }
}

/** application/x-www-form-urlencoded; an array value becomes the same key repeated. */
function encodeForm(form) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) {
    if (v === undefined || v === null || v === false) continue;
    if (Array.isArray(v)) for (const item of v) p.append(k, String(item));
    else p.append(k, v === true ? 'on' : String(v));
  }
  return p.toString();
}

/** A session signed in as `email`. */
export async function signIn(baseUrl, email, password) {
  const s = new Session(baseUrl);
  await s.refreshCsrf();
  const r = await s.request('POST', '/login', { form: { email, password, next: '', csrf_token: s.csrf } });
  if (r.status !== 303 || !s.cookies.has('parley_session')) {
    throw new Error(`sign-in as ${email} failed: status ${r.status}`);
  }
  return s;
}

/** A session signed in as the owner that startServer() created. */
export function ownerSession(baseUrl) {
  return signIn(baseUrl, OWNER.email, OWNER.password);
}

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const htmlText = (s) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;');

/** The id in a list page's link `<a href="PREFIX/ID">NAME</a>`, searching the list for `q`. */
async function idFromList(s, listPath, prefix, name, q = name) {
  const html = await s.get(`${listPath}?q=${encodeURIComponent(q)}`);
  const re = new RegExp(`href="${escapeRe(prefix)}/(\\d+)"[^>]*>\\s*${escapeRe(htmlText(name))}\\s*<`);
  const m = html.match(re);
  if (!m) throw new Error(`no link to "${name}" on ${listPath}`);
  return Number(m[1]);
}

export async function createSite(s, name) {
  const to = await s.post('/admin/sites', { name });
  const m = to.match(/\/admin\/sites\/(\d+)/);
  if (!m) throw new Error(`creating site ${name}: unexpected redirect ${to}`);
  return Number(m[1]);
}

export async function createDepartment(s, site, { name, rule = 'round_robin', members = [] }) {
  await s.post(`/admin/sites/${site}/departments`, { name, rule, members });
  const base = `/admin/sites/${site}/departments`;
  return idFromList(s, base, base, name);
}

/**
 * An agent (or site admin with role "admin"). `departments`: ids; `skills`: array or
 * comma-separated string. Saving the person also makes them a member of those departments.
 */
export async function createAgent(
  s,
  site,
  { name, email, password, role = 'agent', departments = [], skills = [], maxChats = 5, active = true },
) {
  await s.post(`/admin/sites/${site}/agents`, {
    name,
    email,
    role,
    skills: Array.isArray(skills) ? skills.join(', ') : skills,
    max_chats: maxChats,
    active,
    departments,
    password,
    password_confirm: password,
  });
  const base = `/admin/sites/${site}/agents`;
  return idFromList(s, base, base, name, email);
}

/**
 * A campaign. `prechat`: [{key, label, kind = 'text', required = false}];
 * `proactive`: {mode = 'disabled' | 'with_invite' | 'without_invite', afterSecs, urlRules: [],
 * invitationText, reinviteAfterMins}.
 */
export async function createCampaign(
  s,
  site,
  {
    name,
    language = 'en',
    department = null,
    title = '',
    color = '#2f6fde',
    position = 'right',
    greeting = '',
    queue = '',
    transfer = '',
    offline = '',
    prechat = [],
    postchat = { enabled: true, question: '', comment: true },
    notifyTransfer = true,
    proactive = {},
  },
) {
  const p = { mode: 'disabled', afterSecs: 30, urlRules: [], invitationText: '', reinviteAfterMins: 0, ...proactive };
  await s.post(`/admin/sites/${site}/campaigns`, {
    name,
    language,
    department: department ?? '',
    title,
    color,
    position,
    greeting,
    queue,
    transfer,
    offline,
    field_key: prechat.map((f) => f.key),
    field_label: prechat.map((f) => f.label),
    field_kind: prechat.map((f) => f.kind ?? 'text'),
    field_required: prechat.map((f) => (f.required ? 'yes' : 'no')),
    postchat_enabled: postchat.enabled,
    postchat_question: postchat.question ?? '',
    postchat_comment: postchat.comment,
    notify_transfer: notifyTransfer,
    proactive_mode: p.mode,
    proactive_after_secs: p.afterSecs,
    proactive_url_rules: p.urlRules.join('\n'),
    invitation_text: p.invitationText,
    reinvite_after_mins: p.reinviteAfterMins,
  });
  const base = `/admin/sites/${site}/campaigns`;
  return idFromList(s, base, base, name);
}

/** The site's transfer settings. `warmTimeoutSecs`: 5 to 600. */
export async function setTransferSettings(
  s,
  site,
  { warmTimeoutSecs = 30, notifyVisitor = true, transcriptCrossSite = true, defaultCampaign = null } = {},
) {
  await s.post(`/admin/sites/${site}/settings`, {
    default_campaign: defaultCampaign ?? '',
    warm_timeout_secs: warmTimeoutSecs,
    notify_visitor: notifyVisitor,
    transcript_cross_site: transcriptCrossSite,
  });
}

/** A cross-site transfer group of at least two sites (owner only). */
export async function createGroup(s, name, siteIds) {
  await s.post('/admin/groups', { name, sites: siteIds });
  return idFromList(s, '/admin/groups', '/admin/groups', name);
}

/** A canned reply of the site: typed as "/shortcut" then Tab in the console. */
export async function createCanned(s, site, { shortcut, text }) {
  await s.post(`/admin/sites/${site}/canned`, { shortcut, text });
  const base = `/admin/sites/${site}/canned`;
  return idFromList(s, base, base, `/${shortcut}`, shortcut).catch(() => idFromList(s, base, base, shortcut));
}

/** Sign in through the /login form in a Playwright page and wait until it has left /login. */
export async function signInAgent(page, baseUrl, email, password) {
  await page.goto(new URL('/login', baseUrl).href);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => u.pathname !== '/login', { timeout: TIMEOUT_MS });
}
