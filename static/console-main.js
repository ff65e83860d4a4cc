// The agent console's entry module: reads what the page was rendered with, keeps the socket,
// turns each server frame into state changes and redraws, and holds the keyboard shortcuts,
// the status menu, the list tabs and the alert preferences. Sibling modules are imported by
// relative paths: they resolve under this module's fingerprinted folder, and the asset route
// serves every embedded file under any fingerprint (uncached when it is not the file's own).

import { $, toast } from './console-dom.js';
import { Connection } from './console-socket.js';
import { State, closedText } from './console-state.js';
import { ChatUI } from './console-chat.js';
import { TransferUI, TRANSFER_ERRORS } from './console-transfer.js';
import { VisitorUI } from './console-visitors.js';
import * as alerts from './console-alerts.js';

const page = document.body.dataset;
const state = new State();
let conn = null;
/** Between agent_welcome and our own presence frame the server replays what we missed. */
let replaying = false;
const send = (frame) => conn?.send(frame) ?? false;

// ---- history requests (answers come in order, per connection) ----

const historyWaiters = new Map();
function history(chat, before, limit) {
  return new Promise((resolve, reject) => {
    const w = { resolve, reject };
    const list = historyWaiters.get(chat) ?? [];
    historyWaiters.set(chat, list);
    list.push(w);
    w.timer = setTimeout(() => {
      list.splice(list.indexOf(w), 1);
      reject(new Error('no answer'));
    }, 10_000);
    if (!send({ type: 'history', chat, before: before ?? null, limit })) {
      clearTimeout(w.timer);
      list.splice(list.indexOf(w), 1);
      reject(new Error('offline'));
    }
  });
}

function onHistory(f) {
  const w = historyWaiters.get(f.chat)?.shift();
  if (w) clearTimeout(w.timer);
  const c = state.chat(f.chat);
  if (c) {
    const before = c.firstSeq;
    state.merge(f.chat, f.events);
    if (!f.events.length || before === null || f.events[0].seq < before) c.more = f.more && c.firstSeq !== 1;
    redraw(c);
  }
  w?.resolve(f.events);
}

// ---- views ----

const ctx = {
  state,
  send,
  history,
  warmTimeoutSecs: Number(page.warmTimeout) || 30,
  siteName: page.siteName,
  onOpen: (id) => openChat(id, true),
  onChange: (c) => redraw(c),
  alert,
};
const chats = new ChatUI(ctx);
const transfer = new TransferUI(ctx);
const visitors = new VisitorUI(ctx);

/** Redraw what depends on chat `c` (and the list). */
function redraw(c = null) {
  chats.renderList();
  const open = state.open;
  if (!c || (open && c.id === open.id)) {
    chats.show(open);
    if (open) chats.renderEvents(open);
    transfer.renderBanner(open);
    visitors.renderPanel(open);
  }
}

function openChat(id, byUser = false) {
  const c = id === null ? null : state.chat(id);
  state.openId = c ? c.id : null;
  if (c) c.unread = 0;
  redraw();
  if (c && byUser && !c.closed) $('composer-text').focus();
}

/** Sound, desktop notification, title and "front", as the agent's preferences say. */
function alert(kind, title, body, chatId = null) {
  const p = state.prefs;
  if (p.sound) alerts.chime(kind === 'message' ? 'message' : 'chat');
  const hidden = document.visibilityState !== 'visible';
  // New chats and transfer offers follow "on a new chat"; messages "on a new message".
  const front = kind === 'message' ? p.front_on_message : p.front_on_chat;
  if (hidden && (p.notify || front)) {
    alerts.notify({
      title,
      body,
      tag: `parley-${kind}-${chatId ?? ''}`,
      front,
      onClick: () => chatId !== null && openChat(chatId, true),
    });
  }
  if (hidden) alerts.flashTitle(title);
  if (front) alerts.tryFront();
}

// ---- frames ----

function onWelcome(f) {
  state.me = { id: f.agent, name: f.name, site: f.site };
  if (f.max_message_bytes > 0) state.maxMessageBytes = f.max_message_bytes;
  state.files = f.files?.max_bytes > 0 ? f.files : null;
  replaying = true;
  state.liveVisitors = 'prefs' in f || 'canned' in f;
  state.canned = f.canned ?? [];
  if (f.prefs) applyPrefs(f.prefs);
  state.agents = new Map(f.agents.map((a) => [a.id, a]));
  setPresence(f.presence);
  const mine = new Set(f.chats.map((r) => r.id));
  // Chats shown here that are no longer ours: they ended or moved while we were away.
  for (const c of state.chats.values()) {
    if (c.closed || mine.has(c.id)) continue;
    c.closed = 'This chat is no longer yours (it ended or moved while you were offline).';
    history(c.id, null, 50).catch(() => {});
  }
  for (const rec of f.chats) {
    const c = state.upsert(rec);
    c.closed = null;
  }
  transfer.onWelcome(f);
  chats.resendOutbox();
  if (state.liveVisitors) send({ type: 'watch_visitors', on: true });
  visitors.renderList();
  renderTeam();
  if (state.openId === null && f.chats.length) state.openId = f.chats[0].id;
  redraw();
}

function onEvent(e) {
  const c = state.chat(e.chat);
  if (!c) return;
  const fresh = state.merge(e.chat, [e]);
  if (!fresh.length) return;
  if (!replaying) state.skew = e.at - Date.now();
  if (e.kind === 'message' && e.author?.by === 'visitor') {
    c.visitorTyping = false;
    const looking = e.chat === state.openId && document.visibilityState === 'visible';
    if (!looking) c.unread += 1;
    if (!replaying && !looking) alert('message', `${c.name} wrote`, e.text || (e.file ? `File: ${e.file.name}` : ''), c.id);
  }
  redraw(c);
}

function onAssigned(rec) {
  const c = state.upsert(rec);
  c.closed = null;
  c.transfer = null;
  c.more = true;
  const accepted = state.offers.has(rec.id);
  state.offers.delete(rec.id);
  transfer.renderOffers();
  history(rec.id, null, 50).catch(() => {});
  if (!accepted) alert('chat', `New chat: ${c.name}`, rec.info?.page_title || '', c.id);
  if (state.openId === null || accepted) openChat(rec.id, accepted);
  else redraw(c);
}

function onUnassigned(f) {
  const c = state.chat(f.chat);
  if (!c) return;
  const t = c.transfer;
  const endedByTransfer = [...c.events.values()].some((e) => e.kind === 'ended' && e.by === 'transfer');
  if (t?.mode === 'site' || endedByTransfer) {
    // Cross-site: the chat ended here and goes on at the other site, out of our reach.
    c.closed = closedText('transfer');
  } else if (c.rec.status !== 'ended') {
    c.closed = t ? `You transferred this chat to ${t.label}.${t.mode === 'anyway' ? ` ${waitsText(t)}` : ''} It is no longer yours.` : 'This chat is no longer yours.';
  }
  c.transfer = null;
  c.visitorTyping = false;
  transfer.onUnassigned(c);
  redraw(c);
}

/** What a "Transfer anyway" chat does next, as the agent chose in the dialog. */
function waitsText(t) {
  if (!t.fallbackMins) return 'It waits until they come online or have a free place.';
  const n = t.fallbackMins;
  return `It waits for them; if they have not taken it within ${n} minute${n === 1 ? '' : 's'}, it goes back to the queue.`;
}

function onError(f) {
  if (f.id && state.outbox.has(f.id)) {
    state.outbox.get(f.id).error = f.message;
    redraw(state.chat(state.outbox.get(f.id).chat));
    return;
  }
  if (TRANSFER_ERRORS.has(f.code)) return transfer.onError(f);
  if (f.code === 'offer_gone') return transfer.onGone();
  if (f.code === 'bad_frame') return console.warn('console: the server refused a frame:', f.message);
  toast(f.message);
}

const handlers = {
  agent_welcome: onWelcome,
  event: onEvent,
  history: onHistory,
  assigned: (f) => onAssigned(f.chat),
  unassigned: onUnassigned,
  ack: (f) => {
    const m = state.outbox.get(f.id);
    state.outbox.delete(f.id);
    if (m) redraw(state.chat(m.chat));
  },
  presence: (f) => {
    const a = state.agents.get(f.agent) ?? { id: f.agent, name: `Agent ${f.agent}` };
    state.agents.set(f.agent, { ...a, presence: f.presence, active_chats: f.active_chats });
    if (f.agent === state.me?.id) {
      replaying = false;
      setPresence(f.presence);
    }
    renderTeam();
  },
  typing: (f) => {
    const c = state.chat(f.chat);
    if (!c) return;
    c.visitorTyping = f.on;
    redraw(c);
  },
  transfer: (f) => transfer.onStatus(f),
  targets: (f) => transfer.onTargets(f),
  offer: (f) => transfer.onOffer(f),
  offer_withdrawn: (f) => transfer.onWithdrawn(f),
  error: onError,
  visitors: (f) => {
    visitors.onVisitors(f);
    if (state.open) visitors.renderPanel(state.open);
  },
  proactive_alert: (f) => visitors.onAlert(f),
  proactive_alert_withdrawn: (f) => visitors.onAlertWithdrawn(f),
  visitor_chats: (f) => visitors.onVisitorChats(f),
  prefs: (f) => applyPrefs(f.prefs),
};

// ---- connection state ----

function onState(s, detail) {
  const el = $('connection');
  el.dataset.state = s;
  el.textContent =
    s === 'open'
      ? 'Connected'
      : s === 'connecting'
        ? 'Connecting…'
        : s === 'reconnecting'
          ? detail
            ? `Reconnecting… (next try in ${detail} s)`
            : 'Reconnecting…'
          : detail;
  $('presence').disabled = s !== 'open';
  document.body.classList.toggle('offline', s !== 'open');
}

// ---- status, team, tabs ----

const PRESENCE = { online: 'Online', away: 'Away', offline: 'Offline' };

function setPresence(p) {
  state.presence = p;
  $('presence').value = p;
  $('presence').dataset.presence = p;
}

$('presence').addEventListener('change', (e) => send({ type: 'presence', presence: e.target.value }));

function renderTeam() {
  const list = $('team-list');
  list.replaceChildren();
  const all = [...state.agents.values()].sort((a, b) => a.name.localeCompare(b.name));
  for (const a of all) {
    const li = document.createElement('li');
    li.className = 'team-item';
    const dot = document.createElement('span');
    dot.className = `dot ${a.presence}`;
    const name = document.createElement('span');
    name.className = 'who';
    name.textContent = a.id === state.me?.id ? `${a.name} (you)` : a.name;
    const status = document.createElement('span');
    status.className = 'muted';
    status.textContent = `${PRESENCE[a.presence] ?? a.presence} · ${a.active_chats} chat${a.active_chats === 1 ? '' : 's'}`;
    li.append(dot, name, status);
    list.append(li);
  }
}

const tabs = ['chats', 'visitors', 'team'];
function selectTab(name, focus = false) {
  for (const t of tabs) {
    const tab = $(`tab-${t}`);
    const on = t === name;
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
    $(`panel-${t}`).hidden = !on;
    if (on && focus) tab.focus();
  }
}
for (const t of tabs) {
  const tab = $(`tab-${t}`);
  tab.addEventListener('click', () => selectTab(t));
  tab.addEventListener('keydown', (e) => {
    const i = tabs.indexOf(t);
    if (e.key === 'ArrowRight') selectTab(tabs[(i + 1) % tabs.length], true);
    if (e.key === 'ArrowLeft') selectTab(tabs[(i + tabs.length - 1) % tabs.length], true);
  });
}

// ---- preferences ----

const PREF_BOXES = { sound: 'pref-sound', notify: 'pref-notify', front_on_chat: 'pref-front-chat', front_on_message: 'pref-front-message' };
const PREF_KEY = `parley-console-prefs`;

function applyPrefs(p) {
  state.prefs = { ...state.prefs, ...p };
  for (const [k, id] of Object.entries(PREF_BOXES)) $(id).checked = !!state.prefs[k];
  renderNotifyState();
}

function renderNotifyState() {
  const perm = alerts.permission();
  const wants = state.prefs.notify || state.prefs.front_on_chat || state.prefs.front_on_message;
  $('notify-state').textContent = {
    granted: 'This browser shows Parley’s notifications.',
    denied: 'This browser blocks Parley’s notifications: allow them in the site settings of the browser.',
    default: wants ? 'Notifications need your permission in this browser.' : 'Parley asks the browser for permission only when you turn notifications on.',
    unsupported: 'This browser cannot show desktop notifications.',
  }[perm];
  $('notify-ask').hidden = !(perm === 'default' && wants);
}

async function savePrefs() {
  for (const [k, id] of Object.entries(PREF_BOXES)) state.prefs[k] = $(id).checked;
  try {
    localStorage.setItem(PREF_KEY, JSON.stringify(state.prefs));
  } catch {
    /* private mode */
  }
  if (state.liveVisitors) send({ type: 'prefs', prefs: state.prefs });
  $('prefs-saved').textContent = state.liveVisitors ? 'Saved for your account.' : 'Saved in this browser.';
  renderNotifyState();
}

for (const id of Object.values(PREF_BOXES)) {
  $(id).addEventListener('change', async (e) => {
    const needsPermission = e.target.checked && id !== 'pref-sound' && alerts.permission() === 'default';
    if (needsPermission) await alerts.askPermission();
    savePrefs();
  });
}
$('notify-ask').addEventListener('click', async () => {
  await alerts.askPermission();
  renderNotifyState();
});
$('open-prefs').addEventListener('click', () => {
  $('prefs-saved').textContent = '';
  renderNotifyState();
  $('prefs-dialog').showModal();
});
$('open-keys').addEventListener('click', () => $('keys-dialog').showModal());
$('transfer-btn').addEventListener('click', () => transfer.open(state.open));

try {
  const saved = JSON.parse(localStorage.getItem(PREF_KEY) ?? 'null');
  if (saved) applyPrefs(saved);
  else applyPrefs({});
} catch {
  applyPrefs({});
}

// ---- keyboard shortcuts ----

/** The next chat to look at: the longest-waiting or unread one, else the next in the list. */
function nextChat(step) {
  const list = [...state.chats.values()];
  if (!list.length) return null;
  if (step > 0) {
    const needy = list
      .filter((c) => c.id !== state.openId && !c.closed && (c.unread || c.waitingSince()))
      .sort((a, b) => (a.waitingSince() ?? Infinity) - (b.waitingSince() ?? Infinity));
    if (needy.length) return needy[0].id;
  }
  const i = list.findIndex((c) => c.id === state.openId);
  return list[(i + step + list.length) % list.length].id;
}

document.addEventListener('keydown', (e) => {
  if (!e.altKey || e.ctrlKey || e.metaKey) return;
  const act = {
    KeyN: () => openChat(nextChat(1), true),
    KeyP: () => openChat(nextChat(-1), true),
    KeyT: () => transfer.open(state.open),
    KeyI: () => chats.toggleNote(),
    KeyA: () => transfer.acceptOldest(),
  }[e.code];
  if (!act) return;
  e.preventDefault();
  act();
});

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && state.open?.unread) {
    state.open.unread = 0;
    redraw(state.open);
  }
});

// ---- start ----

conn = new Connection(page.ws, {
  hello: () => ({ type: 'hello', v: 1, chats: state.resumeList() }),
  onFrame: (f) => handlers[f.type]?.(f),
  onState,
});
// For the browser tests (and the curious): the connection can be dropped on purpose.
window.parleyConsole = { state, drop: () => conn.drop() };
conn.start();
