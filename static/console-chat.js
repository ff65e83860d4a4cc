// The chats: the list on the left (unread counts, waiting time), the open chat's transcript
// (older history loads when scrolled to the top), typing, internal notes, canned replies and
// the composer. Messages go through the outbox: each has a random id, is shown as "sending…"
// until its ack, and is sent again with the same id after a reconnect, so it is stored once.
// Files (console-files.js) are uploaded first, then sent through the same outbox.

import { $, h, fill, duration, clock, randomId } from './console-dom.js';
import { FileUI, fileBlock, fileSize } from './console-files.js';

const TYPING_IDLE_MS = 2500;

/** Why a transfer stopped short, in words, by the server's code (`StopReason`). */
export const STOP_WORDS = {
  declined: 'declined',
  no_answer: 'no answer',
  chat_ended: 'the chat ended',
  unavailable: 'the agent went offline',
  restart: 'the server restarted',
};

export class ChatUI {
  /** ctx: {state, send(frame) -> bool, history(chat, before, limit), onOpen(chat)} */
  constructor(ctx) {
    this.ctx = ctx;
    this.state = ctx.state;
    this.list = $('chat-list');
    this.events = $('events');
    this.transcript = $('transcript');
    this.text = $('composer-text');
    this.noteBox = $('note-mode');
    this.menu = $('canned-menu');
    this.pendingList = h('ol', { class: 'events pending', 'aria-label': 'Messages being sent' });
    this.transcript.append(this.pendingList);
    /** seq -> <li> of the open chat, to insert new events in place. */
    this.rendered = new Map();
    this.renderedChat = null;
    this.typingOn = false;
    this.typingTimer = null;
    this.menuIndex = 0;
    /** The transcript is scrolled to its end (an image that loads keeps it there). */
    this.pinned = true;
    this.wire();
    this.files = new FileUI(this);
    setInterval(() => this.tick(), 1000);
  }

  wire() {
    $('composer').addEventListener('submit', (e) => {
      e.preventDefault();
      this.sendDraft();
    });
    this.text.addEventListener('keydown', (e) => this.composerKey(e));
    this.text.addEventListener('input', () => {
      const c = this.state.open;
      if (c) c.draft = this.text.value;
      if ($('composer-error').textContent) this.composerError('');
      this.typing(this.text.value.trim() !== '');
      this.updateMenu();
    });
    // Leaving the box closes the menu, a moment later so a click on an option still lands.
    this.text.addEventListener('blur', () =>
      setTimeout(() => {
        if (document.activeElement !== this.text) this.hideMenu();
      }, 150),
    );
    this.noteBox.addEventListener('change', () => this.setNoteMode(this.noteBox.checked));
    $('end-btn').addEventListener('click', () => {
      const c = this.state.open;
      if (c && !c.closed) this.ctx.send({ type: 'end', chat: c.id });
    });
    $('close-btn').addEventListener('click', () => this.closeOpen());
    this.transcript.addEventListener('scroll', () => {
      const t = this.transcript;
      this.pinned = t.scrollHeight - t.scrollTop - t.clientHeight < 60;
      if (t.scrollTop < 40) this.loadOlder();
    });
    // An image that loads grows the transcript: stay at the end if we were there.
    this.transcript.addEventListener(
      'load',
      (e) => {
        if (e.target instanceof HTMLImageElement && this.pinned) this.transcript.scrollTop = this.transcript.scrollHeight;
      },
      true,
    );
  }

  // ---- the list ----

  renderList() {
    const chats = [...this.state.chats.values()];
    $('no-chats').hidden = chats.length > 0;
    const active = chats.filter((c) => !c.closed).length;
    $('chats-count').textContent = active ? `(${active})` : '';
    fill(
      this.list,
      chats.map((c) => {
        const since = c.waitingSince();
        const current = c.id === this.state.openId;
        return h(
          'li',
          { class: `chat-item${c.closed ? ' closed' : ''}${c.unread ? ' unread' : ''}` },
          h(
            'button',
            {
              type: 'button',
              'aria-current': current ? 'true' : null,
              'data-chat': c.id,
              onclick: () => this.ctx.onOpen(c.id),
            },
            h('span', { class: 'who' }, c.name),
            c.unread ? h('span', { class: 'unread-count' }, `${c.unread} unread`) : null,
            h('span', { class: 'last' }, c.lastText() || c.rec.info?.page_title || ''),
            h(
              'span',
              { class: 'wait', 'data-since': since ?? '' },
              c.closed ? 'Ended' : since ? `Waiting ${duration(Date.now() - since)}` : '',
            ),
            c.transfer && !c.closed ? h('span', { class: 'tag' }, 'Transfer') : null,
          ),
        );
      }),
    );
  }

  /** Every second: waiting times and countdowns move on without a re-render. */
  tick() {
    for (const el of this.list.querySelectorAll('.wait[data-since]')) {
      const since = Number(el.dataset.since);
      if (since) el.textContent = `Waiting ${duration(Date.now() - since)}`;
    }
  }

  // ---- the open chat ----

  /** Show chat `c` (or none), keeping the draft of the one left. */
  show(c) {
    $('chat-empty').hidden = !!c;
    $('chat-open').hidden = !c;
    if (!c) {
      this.renderedChat = null;
      return;
    }
    if (this.renderedChat !== c.id) {
      this.renderedChat = c.id;
      this.rendered.clear();
      this.events.replaceChildren();
      this.text.value = c.draft;
      this.noteBox.checked = c.noteMode;
      this.setNoteMode(c.noteMode);
      this.renderEvents(c, true);
    }
    this.renderHead(c);
  }

  renderHead(c) {
    $('chat-title').textContent = c.name;
    const info = c.rec.info ?? {};
    $('chat-sub').textContent = [info.email, c.rec.origin ? `from ${c.rec.origin.site_name}` : null]
      .filter(Boolean)
      .join(' · ');
    const closed = !!c.closed;
    $('chat-closed').hidden = !closed;
    $('chat-closed').textContent = c.closed ?? '';
    $('composer').hidden = closed;
    this.files.button.hidden = !this.state.files;
    $('transfer-btn').hidden = closed;
    $('end-btn').hidden = closed;
    $('close-btn').hidden = !closed;
    $('typing').textContent = c.visitorTyping ? `${c.name} is typing…` : '';
    $('older').hidden = !c.loadingOlder;
  }

  /**
   * Insert the events not drawn yet, in seq order, and take out any that is no longer shown (a
   * transfer step whose later record arrived); stay at the bottom if we were there.
   */
  renderEvents(c, jump = false) {
    const atBottom = this.transcript.scrollHeight - this.transcript.scrollTop - this.transcript.clientHeight < 60;
    const prevHeight = this.transcript.scrollHeight;
    let addedAbove = false;
    const shown = c.shown();
    const keep = new Set(shown.map((e) => e.seq));
    for (const [seq, li] of this.rendered) {
      if (keep.has(seq)) continue;
      li.remove();
      this.rendered.delete(seq);
    }
    for (const e of shown) {
      if (this.rendered.has(e.seq)) continue;
      const li = this.eventItem(e);
      li.dataset.seq = e.seq;
      const next = [...this.rendered.keys()].filter((s) => s > e.seq).sort((a, b) => a - b)[0];
      if (next !== undefined) {
        this.events.insertBefore(li, this.rendered.get(next));
        addedAbove = true;
      } else this.events.append(li);
      this.rendered.set(e.seq, li);
    }
    this.renderPending(c);
    if (jump || atBottom) {
      this.transcript.scrollTop = this.transcript.scrollHeight;
      this.pinned = true;
    } else if (addedAbove) this.transcript.scrollTop += this.transcript.scrollHeight - prevHeight;
  }

  renderPending(c) {
    const mine = [...this.state.outbox.values()].filter((m) => m.chat === c.id);
    fill(
      this.pendingList,
      this.files.items(c.id),
      mine.map((m) =>
        h(
          'li',
          { class: `msg agent mine sending${m.note ? ' note' : ''}` },
          h('span', { class: 'meta' }, m.error ? `Not sent: ${m.error}` : 'Sending…'),
          h('p', { class: 'text' }, m.file ? `${m.file.name} (${fileSize(m.file.size)})` : m.text),
          m.error
            ? h('button', { type: 'button', class: 'link', onclick: () => this.discard(m.id) }, 'Discard')
            : null,
        ),
      ),
    );
  }

  agentName(id) {
    if (id === this.state.me?.id) return 'You';
    return this.state.agents.get(id)?.name ?? `Agent ${id}`;
  }

  eventItem(e) {
    const li = this.eventLine(e);
    // The conversation a cross-site transfer brought along is marked as the other site's.
    const origin = this.state.chat(e.chat)?.rec.origin;
    if (origin && e.seq <= (origin.copied ?? 0)) {
      li.classList.add('copied');
      li.append(h('span', { class: 'from-site' }, `From ${origin.site_name}`));
    }
    return li;
  }

  eventLine(e) {
    const at = h('time', { datetime: new Date(e.at).toISOString() }, clock(e.at));
    const c = this.state.chat(e.chat);
    switch (e.kind) {
      case 'message': {
        const visitor = e.author?.by === 'visitor';
        const mine = !visitor && e.author?.agent === this.state.me?.id;
        const who = visitor ? (c?.name ?? 'Visitor') : mine ? 'You' : e.author?.name;
        // A file, with its text (if any) as the caption.
        return h(
          'li',
          { class: `msg ${visitor ? 'visitor' : 'agent'}${mine ? ' mine' : ''}${e.file ? ' has-file' : ''}` },
          h('span', { class: 'meta' }, who, ' · ', at),
          e.file ? fileBlock(e.file) : null,
          e.file && !e.text ? null : h('p', { class: 'text' }, e.text),
        );
      }
      case 'note':
        return h(
          'li',
          { class: 'msg note' },
          h('span', { class: 'meta' }, 'Internal note · ', e.agent === this.state.me?.id ? 'You' : e.name, ' · ', at),
          h('p', { class: 'text' }, e.text),
          h('span', { class: 'visually-hidden' }, ' (not shown to the visitor)'),
        );
      case 'system':
        return h('li', { class: 'sys' }, h('p', {}, e.text), at);
      case 'queued':
        return h('li', { class: 'sys' }, 'Waiting in the queue · ', at);
      case 'assigned':
        return h('li', { class: 'sys' }, `${e.agent === this.state.me?.id ? 'You' : e.name} took the chat · `, at);
      case 'ended':
        return h('li', { class: 'sys end' }, endedLine(e.by), ' · ', at);
      case 'survey':
        return h('li', { class: 'sys' }, `Rated ${e.rating} of 5`, e.comment ? `: “${e.comment}”` : '', ' · ', at);
      case 'transfer':
        return h('li', { class: 'log' }, h('span', { class: 'meta' }, 'Transfer log · ', at), h('p', {}, this.transferLine(e)));
      default:
        return h('li', { class: 'sys' }, e.kind, ' · ', at);
    }
  }

  transferLine(e) {
    const kinds = {
      cold: 'Cold transfer',
      warm: 'Warm transfer',
      unavailable: 'Transfer to an unavailable agent',
      queue: 'Transfer to a queue',
      broadcast: 'Broadcast transfer',
      cross_site: 'Cross-site transfer',
    };
    const c = this.state.chat(e.chat);
    const origin = c?.rec.origin;
    // Agents of another site are not among our colleagues: the chat's origin names the sender.
    const from = origin && e.from === origin.agent ? `${origin.agent_name} (${origin.site_name})` : this.agentName(e.from);
    const site = e.to_site ?? this.state.me?.site;
    const parts = [`${kinds[e.transfer] ?? 'Transfer'} by ${from}`];
    if (e.to_agent && site === this.state.me?.site) parts.push(`to ${this.agentName(e.to_agent)}`);
    const dept = e.to_department ? this.state.deptNames.get(`${site}:${e.to_department}`) : null;
    if (dept) parts.push(`to ${dept}`);
    if (e.to_site) {
      parts.push(e.to_site === this.state.me?.site ? 'to this site' : `to ${this.state.siteNames.get(e.to_site) ?? `site ${e.to_site}`}`);
    }
    let line = `${parts.join(' ')}: ${e.outcome}`;
    const why = STOP_WORDS[e.reason];
    if (why && !line.endsWith(why)) line += ` (${why})`;
    if (e.decline_text) line += `: “${e.decline_text}”`;
    if (e.comment) line += `. Note: “${e.comment}”`;
    return line;
  }

  /** Load the page of history before the first event shown. */
  async loadOlder() {
    const c = this.state.open;
    if (!c || !c.more || c.loadingOlder) return;
    c.loadingOlder = true;
    $('older').hidden = false;
    try {
      await this.ctx.history(c.id, c.firstSeq, 50);
    } finally {
      c.loadingOlder = false;
      $('older').hidden = true;
    }
  }

  closeOpen() {
    const c = this.state.open;
    if (!c || !c.closed) return;
    this.state.chats.delete(c.id);
    this.state.openId = null;
    this.ctx.onOpen(null);
  }

  // ---- the composer ----

  setNoteMode(on) {
    const c = this.state.open;
    if (c) c.noteMode = on;
    $('composer').classList.toggle('note-mode', on);
    $('send-btn').textContent = on ? 'Add note' : 'Send';
    this.text.setAttribute('aria-label', on ? 'Internal note (agents only)' : 'Message to the visitor');
  }

  toggleNote() {
    this.noteBox.checked = !this.noteBox.checked;
    this.setNoteMode(this.noteBox.checked);
    this.text.focus();
  }

  typing(on) {
    const c = this.state.open;
    if (!c || c.closed) return;
    clearTimeout(this.typingTimer);
    if (on && !this.noteBox.checked) {
      if (!this.typingOn) this.ctx.send({ type: 'typing', chat: c.id, on: true });
      this.typingOn = true;
      this.typingTimer = setTimeout(() => this.typing(false), TYPING_IDLE_MS);
    } else if (this.typingOn) {
      this.typingOn = false;
      this.ctx.send({ type: 'typing', chat: c.id, on: false });
    }
  }

  sendDraft() {
    const c = this.state.open;
    const text = this.text.value.trim();
    if (!c || c.closed || !text) return;
    // Over the server's limit: say so and keep the text, rather than send what is refused.
    const max = this.state.maxMessageBytes;
    if (new TextEncoder().encode(text).length > max) {
      this.composerError(`This message is too long: shorten it to at most ${max} characters, then send it.`);
      return;
    }
    this.composerError('');
    const note = this.noteBox.checked;
    const m = { id: randomId(), chat: c.id, text, note, error: null };
    this.state.outbox.set(m.id, m);
    this.ctx.send({ type: note ? 'note' : 'message', chat: c.id, id: m.id, text });
    this.typing(false);
    this.text.value = '';
    c.draft = '';
    this.hideMenu();
    this.renderEvents(c, true);
  }

  /**
   * Show (or clear, with '') the composer's error, tied to the message box; `invalid`: the
   * error is about the text in the box (not about a file).
   */
  composerError(text, invalid = true) {
    $('composer-error').textContent = text;
    if (text) {
      if (invalid) this.text.setAttribute('aria-invalid', 'true');
      else this.text.removeAttribute('aria-invalid');
      this.text.focus();
    } else {
      this.text.removeAttribute('aria-invalid');
    }
  }

  /** After a reconnect: send again whatever has no ack yet (same ids: stored at most once). */
  resendOutbox() {
    for (const m of this.state.outbox.values()) {
      if (m.error) continue;
      if (m.upload != null) this.ctx.send({ type: 'message', chat: m.chat, id: m.id, upload: m.upload });
      else this.ctx.send({ type: m.note ? 'note' : 'message', chat: m.chat, id: m.id, text: m.text });
    }
  }

  discard(id) {
    this.state.outbox.delete(id);
    const c = this.state.open;
    if (c) this.renderPending(c);
  }

  composerKey(e) {
    if (!this.menu.hidden) {
      const items = [...this.menu.children];
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        this.menuIndex = (this.menuIndex + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length;
        this.highlight();
        return;
      }
      if (e.key === 'Tab' || (e.key === 'Enter' && !e.shiftKey)) {
        e.preventDefault();
        this.insertCanned(this.matches()[this.menuIndex]);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        this.hideMenu();
        return;
      }
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      this.sendDraft();
    }
  }

  // ---- canned replies: "/shortcut" then Tab ----

  /** The canned replies whose shortcut starts with what follows "/" (the whole box). */
  matches() {
    const m = this.text.value.match(/^\/(\S*)$/);
    if (!m) return [];
    const q = m[1].toLowerCase();
    return this.state.canned.filter((c) => c.shortcut.toLowerCase().startsWith(q)).slice(0, 8);
  }

  updateMenu() {
    const found = this.matches();
    if (!found.length) return this.hideMenu();
    this.menuIndex = Math.min(this.menuIndex, found.length - 1);
    fill(
      this.menu,
      found.map((c, i) =>
        h(
          'li',
          {
            role: 'option',
            id: `canned-${i}`,
            'aria-selected': 'false',
            onmousedown: (e) => {
              e.preventDefault();
              this.insertCanned(c);
            },
          },
          h('strong', {}, `/${c.shortcut}`),
          ' ',
          h('span', {}, c.text),
        ),
      ),
    );
    this.menu.hidden = false;
    this.text.setAttribute('aria-controls', 'canned-menu');
    this.highlight();
  }

  highlight() {
    [...this.menu.children].forEach((li, i) => li.setAttribute('aria-selected', String(i === this.menuIndex)));
    this.text.setAttribute('aria-activedescendant', `canned-${this.menuIndex}`);
  }

  hideMenu() {
    this.menu.hidden = true;
    this.menuIndex = 0;
    this.text.removeAttribute('aria-activedescendant');
  }

  insertCanned(c) {
    if (!c) return;
    this.text.value = c.text;
    const open = this.state.open;
    if (open) open.draft = c.text;
    this.hideMenu();
    this.text.focus();
    this.text.setSelectionRange(c.text.length, c.text.length);
  }
}

function endedLine(by) {
  return (
    {
      visitor: 'The visitor ended the chat',
      agent: 'The chat was ended by the agent',
      no_agent: 'The chat ended: nobody could take it',
      transfer: 'The chat moved to another site',
    }[by] ?? 'The chat ended'
  );
}
