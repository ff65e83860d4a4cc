// What the console knows, kept apart from how it is drawn: the agent, colleagues, chats (their
// events by seq, so a replay or a history page never doubles anything, and each transfer step
// drawn once), messages on their way, offers, visitors. Frames come in through apply(); views
// read the fields and listen to "change" events ({detail: {what, chat}}).

export class ChatView {
  constructor(rec) {
    this.rec = rec;
    /** seq -> event: duplicates (two tabs, a replay, a history page) fold into one. */
    this.events = new Map();
    this.unread = 0;
    this.visitorTyping = false;
    /** Older events exist that are not loaded yet. */
    this.more = true;
    this.loadingOlder = false;
    /** Why the chat is no longer yours to write in (ended, transferred), or null. */
    this.closed = null;
    /** Your transfer of this chat: {outcome, target, note, reason, startedAt} or null. */
    this.transfer = null;
    this.draft = '';
    this.noteMode = false;
    /** When this tab first saw the chat (for the list's order). */
    this.seenAt = Date.now();
  }

  get id() {
    return this.rec.id;
  }

  get lastSeq() {
    let m = 0;
    for (const s of this.events.keys()) if (s > m) m = s;
    return m;
  }

  get firstSeq() {
    let m = Infinity;
    for (const s of this.events.keys()) if (s < m) m = s;
    return m === Infinity ? null : m;
  }

  sorted() {
    return [...this.events.values()].sort((a, b) => a.seq - b.seq);
  }

  /**
   * The events to draw, in seq order: each transfer step once. A cross-site transfer now
   * copies the conversation only, but a chat that came from another site before that holds
   * the step that moved it twice, under two seqs: the source chat's record (copied with the
   * transcript, just before its end) and the chat's own record (same fields and time; only
   * `replied` differs). The later one, where the chat starts here, is the one drawn.
   */
  shown() {
    const steps = new Set();
    const out = [];
    const all = this.sorted();
    for (let i = all.length - 1; i >= 0; i--) {
      const e = all[i];
      if (e.kind === 'transfer') {
        const key = stepKey(e);
        if (steps.has(key)) continue;
        steps.add(key);
      }
      out.push(e);
    }
    return out.reverse();
  }

  /** The visitor's name, or a stand-in. */
  get name() {
    return this.rec.info?.name || `Visitor ${this.rec.visitor}`;
  }

  /**
   * Since when the visitor has been waiting for an answer: their latest message when no agent
   * message follows it, else the time the chat reached you while nobody wrote yet. Null when
   * it is your turn to wait.
   */
  waitingSince() {
    if (this.closed) return null;
    const msgs = this.sorted().filter((e) => e.kind === 'message');
    let lastAgent = -1;
    msgs.forEach((e, i) => {
      if (e.author?.by === 'agent') lastAgent = i;
    });
    const unanswered = msgs.slice(lastAgent + 1).find((e) => e.author?.by === 'visitor');
    if (unanswered) return unanswered.at;
    if (lastAgent === -1) return this.rec.assigned_at ?? this.rec.created_at;
    return null;
  }

  /** The last message or note, for the list. */
  lastText() {
    const all = this.sorted();
    for (let i = all.length - 1; i >= 0; i--) {
      const e = all[i];
      if (e.kind === 'message') return (e.author?.by === 'visitor' ? '' : 'You: ') + (e.text || (e.file ? `File: ${e.file.name}` : ''));
      if (e.kind === 'note') return `Note: ${e.text}`;
    }
    return '';
  }
}

export class State extends EventTarget {
  constructor() {
    super();
    this.me = null; // {id, name, site}
    /** The server's message limit in bytes (from agent_welcome). */
    this.maxMessageBytes = 4096;
    /** What files the site takes, {max_bytes, types} (from agent_welcome); null: none. */
    this.files = null;
    this.presence = 'offline';
    /** id -> {id, name, presence, active_chats} */
    this.agents = new Map();
    /** id -> ChatView; insertion order = list order */
    this.chats = new Map();
    this.openId = null;
    /** client id -> {id, chat, text, note, error, upload?, file?} not yet acknowledged (this tab's). */
    this.outbox = new Map();
    /** chat id -> offer frame (+ receivedAt, preview) */
    this.offers = new Map();
    /** visitor id -> visitor view */
    this.visitors = new Map();
    /** visitor id -> {visitor, invitation, expires_at} */
    this.proactive = new Map();
    /** visitor id -> earlier chats */
    this.visitorChats = new Map();
    this.canned = [];
    this.prefs = { sound: true, notify: false, front_on_chat: false, front_on_message: false };
    /** Does the server speak the "visitors on the site" part of the protocol? */
    this.liveVisitors = false;
    /** site id -> name, learnt from the transfer picker. */
    this.siteNames = new Map();
    /** "site:department" -> name, learnt from the transfer picker. */
    this.deptNames = new Map();
    /** Server clock minus ours, from live events, for offer countdowns. */
    this.skew = 0;
  }

  emit(what, chat = null) {
    this.dispatchEvent(new CustomEvent('change', { detail: { what, chat } }));
  }

  chat(id) {
    return this.chats.get(id) ?? null;
  }

  get open() {
    return this.openId === null ? null : this.chat(this.openId);
  }

  /** Resume points for hello: every chat still yours, with its last seq. */
  resumeList() {
    return [...this.chats.values()].filter((c) => !c.closed).map((c) => ({ chat: c.id, after: c.lastSeq }));
  }

  /** Add or refresh a chat from a chat record. */
  upsert(rec) {
    let c = this.chats.get(rec.id);
    if (c) c.rec = { ...c.rec, ...rec };
    else {
      c = new ChatView(rec);
      this.chats.set(rec.id, c);
    }
    return c;
  }

  /** Merge events; returns the ones that were new. */
  merge(chatId, events) {
    const c = this.chats.get(chatId);
    if (!c) return [];
    const fresh = [];
    for (const e of events) {
      if (c.events.has(e.seq)) continue;
      c.events.set(e.seq, e);
      fresh.push(e);
      if (e.client_id) this.outbox.delete(e.client_id);
      // A chat that came from another site carries the source chat's transcript, whose last
      // event is that chat's end ("by": "transfer"): it does not end this chat.
      if (e.kind === 'ended' && !(e.by === 'transfer' && c.rec.origin)) {
        c.closed = closedText(e.by);
        c.visitorTyping = false;
        c.rec.status = 'ended';
      }
    }
    if (c.firstSeq === 1) c.more = false;
    return fresh;
  }
}

/** What makes a transfer step the same step wherever it is recorded (not its seq or `replied`). */
function stepKey(e) {
  return JSON.stringify([e.at, e.transfer, e.outcome, e.from, e.to_agent ?? null, e.to_department ?? null, e.to_site ?? null, e.comment ?? '', e.reason ?? '']);
}

/** What the console says once a chat has ended, by who ended it. */
export function closedText(by) {
  switch (by) {
    case 'visitor':
      return 'The visitor ended this chat.';
    case 'agent':
      return 'This chat has ended.';
    case 'no_agent':
      return 'This chat ended: nobody could take it.';
    case 'transfer':
      return 'This chat moved to another site and goes on there. You can no longer follow it.';
    default:
      return 'This chat has ended.';
  }
}
