// Who is on the site: the live visitor list (invite, or start a chat at once), the visitor
// panel beside the open chat (name, email, pre-chat answers, current page, pages seen, time
// on site, earlier chats) and the proactive alerts ("this visitor qualifies: talk to them").
// The live parts need the server's "visitors on the site" frames; without them the panel
// shows what the chat record knows.

import { $, h, fill, duration, clock, dateTime, safeHref } from './console-dom.js';

export class VisitorUI {
  /** ctx: {state, send(frame), alert(kind, title, body)} */
  constructor(ctx) {
    this.ctx = ctx;
    this.state = ctx.state;
    this.askedChats = new Set();
    setInterval(() => this.tick(), 1000);
  }

  // ---- the live list ----

  onVisitors(f) {
    if (f.full) this.state.visitors.clear();
    for (const v of f.visitors ?? []) this.state.visitors.set(v.id, v);
    for (const id of f.left ?? []) this.state.visitors.delete(id);
    this.renderList();
  }

  renderList() {
    const all = [...this.state.visitors.values()].sort((a, b) => a.visit_started_at - b.visit_started_at);
    $('visitors-count').textContent = all.length ? `(${all.length})` : '';
    $('no-visitors').hidden = all.length > 0;
    $('no-visitors').textContent = this.state.liveVisitors
      ? 'Nobody is on the site right now.'
      : 'The live visitor list is not available on this server yet.';
    fill(
      $('visitor-list'),
      all.map((v) => {
        const name = visitorName(v);
        // An invitation shown and not answered yet (manual or automatic; an alert is for agents).
        const invited = v.invitation?.outcome === 'pending' && v.invitation.mode !== 'alert';
        return h(
          'li',
          { class: 'visitor-item' },
          h('span', { class: 'who' }, name),
          h('span', { class: 'page' }, v.page_title || v.page_url || ''),
          h('span', { class: 'muted since', 'data-since': v.visit_started_at }, `On the site ${duration(Date.now() - v.visit_started_at)}`),
          h('span', { class: 'muted' }, v.chat ? 'Chatting' : invited ? 'Invited' : `${v.pages?.length ?? 1} page(s)`),
          v.chat
            ? null
            : h(
                'span',
                { class: 'row-buttons' },
                h('button', { type: 'button', class: 'small', disabled: invited, onclick: () => this.ctx.send({ type: 'invite', visitor: v.id }) }, 'Invite', h('span', { class: 'visually-hidden' }, ` ${name} to chat`)),
                h('button', { type: 'button', class: 'small secondary', onclick: () => this.ctx.send({ type: 'open_chat', visitor: v.id }) }, 'Chat now', h('span', { class: 'visually-hidden' }, ` with ${name}`)),
              ),
        );
      }),
    );
  }

  tick() {
    for (const el of document.querySelectorAll('.since[data-since]')) {
      el.textContent = `On the site ${duration(Date.now() - Number(el.dataset.since))}`;
    }
    for (const el of document.querySelectorAll('.since-plain[data-since]')) {
      el.textContent = duration(Date.now() - Number(el.dataset.since));
    }
  }

  // ---- proactive alerts ----

  onAlert(f) {
    this.state.proactive.set(f.visitor.id, f);
    this.ctx.alert('chat', 'A visitor could use a chat', `${visitorName(f.visitor)} on ${f.visitor.page_title || f.visitor.page_url}`);
    this.renderAlerts();
  }

  onAlertWithdrawn(f) {
    this.state.proactive.delete(f.visitor);
    this.renderAlerts();
  }

  renderAlerts() {
    const box = $('alerts');
    for (const el of box.querySelectorAll('.proactive')) el.remove();
    for (const a of this.state.proactive.values()) {
      const v = a.visitor;
      const id = `proactive-${a.invitation}`;
      box.append(
        h(
          'article',
          { class: 'proactive card', 'aria-labelledby': id },
          h('h2', { id }, `${visitorName(v)} could use a chat`),
          h('p', {}, 'On ', v.page_title || v.page_url || 'the site', ` for ${duration(Date.now() - v.visit_started_at)}.`),
          h('p', {}, h('span', { class: 'countdown', 'data-until': a.expires_at, 'data-server': '1' })),
          h('div', { class: 'row-buttons' }, h('button', { type: 'button', onclick: () => this.ctx.send({ type: 'open_chat', visitor: v.id }) }, 'Start chat')),
        ),
      );
    }
  }

  // ---- the panel ----

  onVisitorChats(f) {
    this.state.visitorChats.set(f.visitor, f.chats);
    const c = this.state.open;
    if (c && c.rec.visitor === f.visitor) this.renderPanel(c);
  }

  renderPanel(c) {
    $('panel-empty').hidden = !!c;
    $('panel-body').hidden = !c;
    if (!c) return;
    const info = c.rec.info ?? {};
    const live = this.state.visitors.get(c.rec.visitor);
    const facts = [
      ['Name', info.name || '—'],
      ['Email', info.email || '—'],
      ...Object.entries(info.fields ?? {}).map(([k, v]) => [k, v]),
    ];
    const pageEl = (url, title) => {
      const href = safeHref(url);
      const text = title || url || '—';
      return href ? h('a', { href, target: '_blank', rel: 'noopener noreferrer' }, text) : text;
    };
    facts.push(['Current page', live ? pageEl(live.page_url, live.page_title) : pageEl(info.page_url, info.page_title)]);
    if (live) facts.push(['Time on site', h('span', { class: 'since-plain', 'data-since': live.visit_started_at }, duration(Date.now() - live.visit_started_at))]);
    else if (c.rec.origin) facts.push(['Time on site', `On a page of ${c.rec.origin.site_name}`]);
    else facts.push(['Time on site', this.state.liveVisitors ? 'Not on the site now' : '—']);
    if (!live && info.page_url) facts.push(['Chat started on', pageEl(info.page_url, info.page_title)]);
    if (live) {
      const device = { desktop: 'Computer', phone: 'Phone', tablet: 'Tablet', bot: 'Robot' }[live.device] || '';
      const system = [live.browser, live.os, device].filter(Boolean).join(' · ');
      facts.push(['Browser', system || '—']);
      facts.push(['Language', live.language || '—']);
      facts.push(['Local time', localTime(live.time_zone)]);
      facts.push(['Came from', live.referrer ? pageEl(live.referrer, '') : 'Direct, or not told']);
      if (live.pages?.length) facts.push(['Landing page', pageEl(live.pages[0].url, live.pages[0].title)]);
    }
    fill($('visitor-facts'), facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));

    const pages = live?.pages ?? [];
    fill(
      $('pages-seen'),
      pages.length
        ? pages.map((p) => h('li', {}, pageEl(p.url, p.title), ' ', h('span', { class: 'muted' }, clock(p.at))))
        : h('li', { class: 'muted' }, this.state.liveVisitors ? 'None known.' : 'Not available on this server yet.'),
    );

    this.renderOrigin(c);

    const earlier = (this.state.visitorChats.get(c.rec.visitor) ?? []).filter((x) => x.id !== c.id);
    if (this.state.liveVisitors && !this.askedChats.has(c.rec.visitor)) {
      this.askedChats.add(c.rec.visitor);
      this.ctx.send({ type: 'visitor_chats', visitor: c.rec.visitor });
    }
    fill(
      $('earlier-chats'),
      earlier.length
        ? earlier.map((x) =>
            h('li', {}, dateTime(x.created_at), ' · ', x.status === 'ended' ? 'ended' : x.status, x.survey ? ` · rated ${x.survey.rating}/5` : ''),
          )
        : h('li', { class: 'muted' }, this.state.liveVisitors ? 'None.' : 'Not available on this server yet.'),
    );
  }

  /** A chat that came from another site: the transfer log (from where, whom, when, the note). */
  renderOrigin(c) {
    const o = c.rec.origin;
    const el = $('origin');
    el.hidden = !o;
    if (!o) return el.replaceChildren();
    fill(
      el,
      h('h3', {}, 'Transferred from another site'),
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'From'),
        h('dd', {}, `${o.agent_name} at ${o.site_name}`),
        h('dt', {}, 'When'),
        h('dd', {}, dateTime(o.at)),
        h('dt', {}, 'Note'),
        h('dd', {}, o.comment || '(none)'),
        h('dt', {}, 'Transcript'),
        h('dd', {}, o.with_transcript ? 'Included below' : 'Not included'),
      ),
    );
  }
}

/** The time now in `zone` ("14:05 (Europe/Paris)"), or "—" when unknown. */
function localTime(zone) {
  if (!zone) return '—';
  try {
    return `${new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', timeZone: zone }).format(new Date())} (${zone})`;
  } catch {
    return '—';
  }
}

/** A visitor's name once known; before that, what tells them apart: "Firefox 128 · Windows 10". */
export function visitorName(v) {
  const seen = [v.browser, v.os].filter(Boolean).join(' · ');
  return v.name || (seen ? `${seen} (${v.id})` : `Visitor ${v.id}`);
}
