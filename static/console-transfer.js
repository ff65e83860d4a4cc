// Transfers, both sides. Sending: the dialog (agents, departments, other sites; search and site
// filter; a note; warm, cold, "anyway" with its fallback to the queue, queue, broadcast,
// cross-site with or without the transcript) and the banner of a transfer under way
// (countdown, cancel, "transfer now", the reason of a decline or timeout with the dialog again
// and the note kept). Receiving: the offer cards (source, note, visitor, a preview of the
// history, the time left, accept/decline).

import { $, h, fill, duration, clock, toast } from './console-dom.js';

const PRESENCE = { online: 'Online', away: 'Away', offline: 'Offline' };
const WITHDRAWN = {
  taken: 'A colleague accepted it first.',
  cancelled: 'The colleague withdrew it.',
  expired: 'It timed out.',
  chat_ended: 'The chat ended.',
  declined: 'It was declined.',
  unavailable: 'You are no longer available for it.',
  restart: 'The server restarted.',
};
/** The longest "Transfer anyway" fallback the server accepts: 24 hours. */
export const FALLBACK_MAX_MINS = 1440;

/**
 * The "Transfer anyway" fallback as typed: `{mins}` (whole minutes, 0 to 1440; 0: never back
 * to the queue) or `{error}` (what to tell the agent). `badInput`: the browser holds text that
 * is not a number (a number input then reports an empty value).
 */
export function parseFallback(raw, badInput = false) {
  const s = String(raw ?? '').trim();
  const n = Number(s);
  if (badInput || s === '' || Number.isNaN(n)) {
    return { error: `Back to the queue after: enter a number of minutes from 0 to ${FALLBACK_MAX_MINS} (0: the chat waits until they come online).` };
  }
  if (!Number.isInteger(n)) return { error: `Back to the queue after: ${s} is not a whole number of minutes. Enter 0 to ${FALLBACK_MAX_MINS}.` };
  if (n < 0 || n > FALLBACK_MAX_MINS) {
    return { error: `Back to the queue after: ${s} minutes is out of range. Enter 0 to ${FALLBACK_MAX_MINS} (at most 24 hours).` };
  }
  return { mins: n };
}

/** Errors that answer a transfer request; shown in the dialog or the banner. */
export const TRANSFER_ERRORS = new Set([
  'target_unavailable',
  'target_full',
  'transfer_pending',
  'no_transfer',
  'not_in_group',
  'site_unavailable',
  'no_one_available',
  'unknown_target',
]);

export class TransferUI {
  /** ctx: {state, send(frame), history(chat, before, limit), warmTimeoutSecs, siteName, alert(kind, title, body), onChange()} */
  constructor(ctx) {
    this.ctx = ctx;
    this.state = ctx.state;
    this.dialog = $('transfer-dialog');
    this.chatId = null;
    this.searchTimer = null;
    this.targets = { agents: [], departments: [], sites: [] };
    $('t-search').addEventListener('input', () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => this.ask(), 200);
    });
    $('t-site').addEventListener('change', () => this.ask());
    $('t-note').addEventListener('input', () => {
      const c = this.state.chat(this.chatId);
      if (c) c.transferNote = $('t-note').value;
    });
    $('t-fallback').addEventListener('input', () => this.showFallbackError(null));
    // Enter in a field must not submit the dialog's form (its default button is "Close").
    $('transfer-form').addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && e.target instanceof HTMLInputElement) e.preventDefault();
    });
    this.dialog.addEventListener('close', () => (this.chatId = null));
    setInterval(() => this.tick(), 1000);
  }

  // ---- the dialog ----

  open(chat) {
    if (!chat || chat.closed) return;
    this.chatId = chat.id;
    $('t-note').value = chat.transferNote ?? chat.transfer?.note ?? '';
    $('t-fallback').value = '0';
    this.showFallbackError(null);
    this.showError(null);
    if (!this.dialog.open) this.dialog.showModal();
    $('t-search').focus();
    this.ask();
  }

  ask() {
    const site = $('t-site').value;
    const frame = { type: 'targets', q: $('t-search').value };
    if (site) frame.site = Number(site);
    this.ctx.send(frame);
  }

  showError(text) {
    const el = $('transfer-error');
    el.hidden = !text;
    el.textContent = text ?? '';
  }

  /** The fallback field's own error: shown under it, in its description, and it is marked invalid. */
  showFallbackError(text) {
    const input = $('t-fallback');
    const el = $('t-fallback-error');
    el.hidden = !text;
    el.textContent = text ?? '';
    if (text) {
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', 't-fallback-hint t-fallback-error');
    } else {
      input.removeAttribute('aria-invalid');
      input.setAttribute('aria-describedby', 't-fallback-hint');
    }
  }

  /** The fallback minutes for a "Transfer anyway", or null (the field then shows why). */
  fallbackMins() {
    const input = $('t-fallback');
    const r = parseFallback(input.value, input.validity.badInput);
    this.showFallbackError(r.error ?? null);
    if (r.error) {
      input.focus();
      return null;
    }
    return r.mins;
  }

  siteName(id) {
    if (id === this.state.me?.site) return this.ctx.siteName;
    return this.state.siteNames.get(id) ?? `Site ${id}`;
  }

  /** The `targets` answer. */
  onTargets(t) {
    this.targets = t;
    for (const s of t.sites) this.state.siteNames.set(s.id, s.name);
    for (const d of t.departments) this.state.deptNames.set(`${d.site}:${d.id}`, d.name);
    this.renderSiteFilter(t.sites);
    const mySite = this.state.me?.site;
    fill($('t-agents'), t.agents.length ? t.agents.map((a) => this.agentRow(a, a.site === mySite)) : emptyRow(6, 'No agent matches.'));
    fill(
      $('t-depts'),
      t.departments.length ? t.departments.map((d) => this.deptRow(d, d.site === mySite)) : emptyRow(6, 'No department matches.'),
    );
    fill($('t-sites'), t.sites.map((s) => this.siteRow(s)));
    $('t-no-sites').hidden = t.sites.length > 0 || !!$('t-site').value;
  }

  renderSiteFilter(sites) {
    const sel = $('t-site');
    if (sel.options.length > 1 || !sites.length) return;
    sel.append(h('option', { value: this.state.me.site }, `${this.ctx.siteName} (this site)`));
    for (const s of sites) sel.append(h('option', { value: s.id }, s.name));
  }

  agentRow(a, ownSite) {
    const free = a.active_chats < a.max_chats;
    const reachable = a.presence !== 'offline' && free;
    const what = [a.departments.join(', '), a.skills.length ? `Skills: ${a.skills.join(', ')}` : ''].filter(Boolean).join(' · ');
    let actions;
    if (!ownSite) {
      actions = [btn('Send to this agent', `at ${this.siteName(a.site)}: ${a.name}`, () => this.toSite(a.site, { agent: a.id }, a.name))];
    } else if (reachable) {
      actions = [
        btn('Warm', `transfer to ${a.name}`, () => this.toAgent(a, 'warm')),
        btn('Cold', `transfer to ${a.name}`, () => this.toAgent(a, 'cold')),
      ];
    } else {
      actions = [btn('Transfer anyway', `to ${a.name}`, () => this.toAgent(a, 'anyway'))];
    }
    return h(
      'tr',
      {},
      h('th', { scope: 'row' }, a.name, h('br'), h('small', { class: 'muted' }, a.email)),
      h('td', {}, h('span', { class: `dot ${a.presence}` }), PRESENCE[a.presence] ?? a.presence, free ? '' : ' (full)'),
      h('td', {}, `${a.active_chats} of ${a.max_chats}`),
      h('td', {}, what),
      h('td', {}, this.siteName(a.site)),
      h('td', { class: 'actions' }, actions),
    );
  }

  deptRow(d, ownSite) {
    const actions = ownSite
      ? [
          btn('To queue', `of ${d.name}`, () => this.toDept(d, false)),
          btn('Broadcast', `to ${d.name}`, () => this.toDept(d, true), d.available === 0),
        ]
      : [btn('Send to department', `${d.name} at ${this.siteName(d.site)}`, () => this.toSite(d.site, { department: d.id }, d.name))];
    return h(
      'tr',
      {},
      h('th', { scope: 'row' }, d.name),
      h('td', {}, String(d.waiting)),
      h('td', {}, d.waiting ? duration(d.longest_wait_secs * 1000) : '—'),
      h('td', {}, String(d.available)),
      h('td', {}, this.siteName(d.site)),
      h('td', { class: 'actions' }, actions),
    );
  }

  siteRow(s) {
    const box = h('input', { type: 'checkbox', id: `t-transcript-${s.id}`, 'data-site': s.id });
    box.checked = s.with_transcript_default;
    return h(
      'tr',
      {},
      h('th', { scope: 'row' }, s.name),
      h('td', {}, s.can_receive ? 'Yes' : 'No: nobody is available'),
      h('td', {}, h('label', { class: 'check', for: box.id }, box, ' With chat transcript')),
      h('td', { class: 'actions' }, btn('Transfer', `to ${s.name}`, () => this.toSite(s.id, {}, s.name), !s.can_receive)),
    );
  }

  transcriptFor(site) {
    const box = document.getElementById(`t-transcript-${site}`);
    return box ? box.checked : undefined;
  }

  toAgent(a, mode) {
    const target = { kind: 'agent', agent: a.id, mode };
    if (mode === 'anyway') {
      const mins = this.fallbackMins();
      if (mins === null) return;
      target.fallback_mins = mins;
    }
    this.start(target, a.name, mode);
  }

  toDept(d, broadcast) {
    this.start({ kind: 'department', department: d.id, broadcast }, d.name, broadcast ? 'broadcast' : 'queue');
  }

  toSite(site, extra, label) {
    const target = { kind: 'site', site, department: extra.department ?? null, agent: extra.agent ?? null };
    const t = this.transcriptFor(site);
    if (t !== undefined) target.with_transcript = t;
    this.start(target, `${label}${label === this.siteName(site) ? '' : ` (${this.siteName(site)})`}`, 'site');
  }

  start(target, label, mode) {
    const c = this.state.chat(this.chatId);
    if (!c) return;
    const note = $('t-note').value.trim();
    c.transfer = { outcome: 'requested', label, mode, note, startedAt: Date.now(), fallbackMins: target.fallback_mins ?? 0 };
    this.lastChat = c.id;
    this.showError(null);
    this.ctx.send({ type: 'transfer', chat: c.id, target, comment: note });
    this.ctx.onChange(c);
  }

  /** An error frame that answers a transfer request (it names its chat). */
  onError(err) {
    const c = this.state.chat(err.chat ?? this.lastChat);
    if (c?.transfer?.outcome === 'requested') c.transfer = null;
    if (this.dialog.open) this.showError(err.message);
    else toast(err.message);
    if (c) this.ctx.onChange(c);
  }

  // ---- the source side: how my transfer goes ----

  /** The `transfer` frame: {chat, outcome, reason, note, expires_at (offered)}. */
  onStatus(f) {
    const c = this.state.chat(f.chat);
    if (!c) return;
    const prev = c.transfer ?? { label: 'your colleague', note: f.note };
    c.transfer = { ...prev, outcome: f.outcome, reason: f.reason, declineText: f.decline_text ?? '', note: f.note ?? prev.note };
    if (f.outcome === 'offered') {
      c.transfer.startedAt = Date.now();
      // The server says when the offer runs out (the site's setting may have changed since
      // this page was rendered); the page's timeout is only a fallback.
      c.transfer.until = f.expires_at ?? c.transfer.startedAt + this.ctx.warmTimeoutSecs * 1000;
      if (this.dialog.open && this.chatId === c.id) this.dialog.close();
    } else if (f.outcome === 'accepted') {
      this.ctx.alert('message', `${prev.label} accepted the transfer`, `Chat with ${c.name}`);
    } else if (f.outcome === 'declined' || f.outcome === 'expired') {
      c.transferNote = f.note;
      // The dialog again, with the note kept, to try someone else.
      if (c.id === this.state.openId) this.open(c);
    } else if (f.outcome === 'cancelled') {
      c.transfer = null;
    } else if (f.outcome === 'completed' || f.outcome === 'waiting') {
      if (this.dialog.open && this.chatId === c.id) this.dialog.close();
    }
    this.ctx.onChange(c);
  }

  /** The chat left you (transferred): close the dialog if it was for it. */
  onUnassigned(c) {
    if (this.dialog.open && this.chatId === c.id) this.dialog.close();
  }

  /** The banner above the transcript for the open chat's transfer. */
  renderBanner(c) {
    const el = $('transfer-banner');
    const t = c?.closed ? null : c?.transfer;
    if (!t || t.outcome === 'requested') {
      el.hidden = true;
      el.replaceChildren();
      return;
    }
    el.hidden = false;
    el.dataset.outcome = t.outcome;
    const cancel = h('button', { type: 'button', class: 'secondary', onclick: () => this.ctx.send({ type: 'cancel_transfer', chat: c.id }) }, 'Cancel transfer');
    switch (t.outcome) {
      case 'offered': {
        const left = h('span', { class: 'countdown', 'data-until': t.until });
        const who = t.mode === 'broadcast' ? `every available member of ${t.label}` : t.label;
        fill(el, h('p', {}, `Waiting for ${who} to accept. You can keep chatting. `, left), cancel);
        break;
      }
      case 'accepted':
        fill(
          el,
          h('p', {}, `${t.label} accepted. Say goodbye to the visitor, then hand the chat over.`),
          h('button', { type: 'button', onclick: () => this.ctx.send({ type: 'transfer_now', chat: c.id }) }, 'Transfer now'),
          cancel,
        );
        break;
      case 'declined':
        fill(el, h('p', {}, `${t.label} ${t.reason === 'unavailable' ? 'went offline' : 'declined'}${t.declineText ? `: ${t.declineText}.` : '.'} Your note is kept; choose someone else.`), this.againButton(c));
        break;
      case 'expired':
        fill(el, h('p', {}, `No answer from ${t.label} within ${Math.round((t.until - t.startedAt) / 1000)} seconds. Your note is kept.`), this.againButton(c));
        break;
      case 'waiting':
        fill(el, h('p', {}, `The chat waits for ${t.label}.`));
        break;
      default:
        fill(el, h('p', {}, `Transfer: ${t.outcome}`));
    }
    this.tick();
  }

  againButton(c) {
    return h('button', { type: 'button', onclick: () => this.open(c) }, 'Transfer again');
  }

  tick() {
    for (const el of document.querySelectorAll('.countdown[data-until]')) {
      const left = Number(el.dataset.until) - (el.dataset.server ? Date.now() + this.state.skew : Date.now());
      el.textContent = `${Math.max(0, Math.ceil(left / 1000))} s left`;
    }
  }

  /**
   * A (re)connection's welcome says which transfers are under way: offers to me still open
   * (`offers`), and my own (`transfers`). Any other offer card or "waiting" banner is from
   * before (a restart withdrew it, or it ended while the console was away).
   */
  onWelcome(f) {
    const open = new Map((f.offers ?? []).map((o) => [o.chat.id, o]));
    for (const id of [...this.state.offers.keys()]) if (!open.has(id)) this.state.offers.delete(id);
    for (const [id, o] of open) {
      if (!this.state.offers.has(id)) this.state.offers.set(id, { ...o, preview: null });
    }
    const mine = new Map((f.transfers ?? []).map((t) => [t.chat, t]));
    for (const c of this.state.chats.values()) {
      const t = mine.get(c.id);
      if (t) {
        const prev = c.transfer ?? { label: 'your colleague' };
        c.transfer = { ...prev, outcome: t.outcome, note: t.note, until: t.expires_at ?? prev.until, startedAt: prev.startedAt ?? Date.now() };
      } else if (c.transfer && ['offered', 'accepted'].includes(c.transfer.outcome)) {
        c.transfer = null;
      }
    }
    this.renderOffers();
  }

  // ---- the receiving side: offers ----

  onOffer(f) {
    const chat = f.chat;
    this.state.offers.set(chat.id, { ...f, preview: null });
    const who = chat.info?.name || `Visitor ${chat.visitor}`;
    this.ctx.alert('offer', f.broadcast ? `Broadcast transfer: ${who}` : `Transfer offer: ${who}`, `From ${f.from_name}${f.note ? `: ${f.note}` : ''}`);
    this.renderOffers();
    // A preview of the history: the last few messages.
    this.ctx.history(chat.id, null, 10).then((events) => {
      const o = this.state.offers.get(chat.id);
      if (!o) return;
      o.preview = events.filter((e) => e.kind === 'message' || e.kind === 'note').slice(-4);
      this.renderOffers();
    }, () => {});
  }

  onWithdrawn(f) {
    const o = this.state.offers.get(f.chat);
    if (!o) return;
    this.state.offers.delete(f.chat);
    toast(`The offer of ${o.chat.info?.name || 'a chat'} from ${o.from_name} is gone. ${WITHDRAWN[f.reason] ?? ''}`);
    this.renderOffers();
  }

  answer(chatId, accept) {
    const reason = document.getElementById(`offer-reason-${chatId}`)?.value ?? '';
    this.ctx.send({ type: 'answer_offer', chat: chatId, accept, reason });
    this.answering = chatId;
    if (!accept) {
      this.state.offers.delete(chatId);
      this.renderOffers();
    }
  }

  /** Accept the oldest offer (keyboard shortcut). */
  acceptOldest() {
    const first = this.state.offers.keys().next();
    if (!first.done) this.answer(first.value, true);
  }

  /** An `offer_gone` error: the offer just answered is no longer open. */
  onGone() {
    if (this.answering != null) this.state.offers.delete(this.answering);
    toast('This offer is no longer open.');
    this.renderOffers();
  }

  renderOffers() {
    const box = $('alerts');
    for (const el of box.querySelectorAll('.offer')) el.remove();
    for (const o of this.state.offers.values()) box.prepend(this.offerCard(o));
    this.tick();
  }

  offerCard(o) {
    const c = o.chat;
    const id = c.id;
    const title = o.broadcast ? `Broadcast transfer from ${o.from_name}` : `Transfer offer from ${o.from_name}`;
    const info = c.info ?? {};
    return h(
      'article',
      { class: 'offer card', 'aria-labelledby': `offer-title-${id}`, 'data-chat': id },
      h('h2', { id: `offer-title-${id}` }, title),
      h('p', {}, h('strong', {}, 'Visitor: '), info.name || `Visitor ${c.visitor}`, info.email ? ` · ${info.email}` : ''),
      h('p', { class: 'note-text' }, h('strong', {}, 'Note: '), o.note || '(none)'),
      o.preview === null
        ? h('p', { class: 'muted' }, 'Loading the conversation…')
        : o.preview.length
          ? h(
              'ol',
              { class: 'preview', 'aria-label': 'Latest messages' },
              o.preview.map((e) =>
                h('li', {}, h('span', { class: 'muted' }, `${e.kind === 'note' ? 'Note' : e.author?.by === 'visitor' ? 'Visitor' : e.author?.name} · ${clock(e.at)}: `), e.text),
              ),
            )
          : h('p', { class: 'muted' }, 'No messages yet.'),
      h('p', {}, h('span', { class: 'countdown', 'data-until': o.expires_at, 'data-server': '1' })),
      h('label', { for: `offer-reason-${id}` }, 'Reason if you decline (optional)'),
      h('input', { id: `offer-reason-${id}`, type: 'text', maxlength: 200 }),
      h(
        'div',
        { class: 'row-buttons' },
        h('button', { type: 'button', onclick: () => this.answer(id, true) }, 'Accept'),
        h('button', { type: 'button', class: 'secondary', onclick: () => this.answer(id, false) }, 'Decline'),
      ),
    );
  }
}

/** A button whose accessible name says what it does to whom ("Warm transfer to Bob"). */
function btn(text, more, onclick, disabled = false) {
  return h('button', { type: 'button', class: 'small', onclick, disabled }, text, h('span', { class: 'visually-hidden' }, ` ${more}`));
}

function emptyRow(cols, text) {
  return h('tr', {}, h('td', { colspan: cols, class: 'muted' }, text));
}
