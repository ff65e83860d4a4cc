// Files in chat, the console's side: attaching (the paperclip button, dropping on the open
// chat, pasting a screenshot), each file uploaded on its own with its progress, cancel and
// retry, then sent as a message through the outbox (so a reconnect resends it with the same
// id); and drawing a sent file: an image inline (opening full size), anything else a download
// link with its name, type and size. The console is on Parley's own origin: the session cookie
// fetches the files, so <img src> and <a download> use their addresses as they are.

import { $, h, randomId } from './console-dom.js';

/** "10 MiB", "482 KiB", "300 bytes", counted as the server counts them. */
export function fileSize(n) {
  n = Number(n) || 0;
  if (n < 1024) return `${n} bytes`;
  if (n < 1 << 20) return `${Math.ceil(n / 1024)} KiB`;
  return n % (1 << 20) === 0 ? `${n / (1 << 20)} MiB` : `${(n / (1 << 20)).toFixed(1)} MiB`;
}

const KINDS = {
  'application/pdf': 'PDF',
  'text/html': 'HTML',
  'text/plain': 'Text',
  'image/svg+xml': 'SVG',
  'application/zip': 'ZIP',
  'application/msword': 'Word',
  'application/vnd.ms-excel': 'Excel',
  'application/vnd.ms-powerpoint': 'PowerPoint',
};

/** A file type in words: "PDF", "Word", … or the type itself. */
export function fileKind(mime) {
  const m = String(mime ?? '');
  if (KINDS[m]) return KINDS[m];
  if (m.includes('wordprocessingml')) return 'Word';
  if (m.includes('spreadsheetml')) return 'Excel';
  if (m.includes('presentationml')) return 'PowerPoint';
  if (m.includes('opendocument')) return 'OpenDocument';
  return m || 'File';
}

/**
 * A sent file (`file` of a message event). Only the server's own `/files/…` addresses are
 * used; the server marks only PNG, JPEG, GIF and WebP as `image`, so SVG and HTML are never
 * drawn, only offered as downloads (and served as attachments).
 */
export function fileBlock(file) {
  const name = String(file.name ?? 'file');
  const url = typeof file.url === 'string' && file.url.startsWith('/files/') ? file.url : null;
  const meta = `${fileKind(file.type)} · ${fileSize(file.size)}`;
  if (file.image === true && url) {
    return h(
      'a',
      { class: 'file-image', href: url, target: '_blank', rel: 'noopener', title: `Open ${name} in full size` },
      h('img', { src: url, alt: name }),
    );
  }
  const icon = fileIcon();
  if (!url) return h('span', { class: 'file-link' }, icon, h('span', { class: 'file-name' }, name), h('span', { class: 'file-meta' }, meta));
  return h(
    'a',
    { class: 'file-link', href: url, download: name },
    icon,
    h('span', { class: 'file-name' }, name),
    h('span', { class: 'file-meta' }, meta),
  );
}

const ICON_FILE = 'M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8l-6-6zm-1 7V3.5L18.5 9H13z';
const ICON_CLIP =
  'M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6h-1.5z';

/** A decorative 24×24 icon drawn from one path. */
function icon(d, size) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const p = document.createElementNS(ns, 'path');
  p.setAttribute('d', d);
  p.setAttribute('fill', 'currentColor');
  svg.append(p);
  return svg;
}
const fileIcon = () => icon(ICON_FILE, 22);

const hasFiles = (e) => [...(e.dataTransfer?.types ?? [])].includes('Files');

export class FileUI {
  /** `chats`: the ChatUI (state, send, composer errors, the pending list). */
  constructor(chats) {
    this.chats = chats;
    this.state = chats.state;
    /** Uploads under way or failed: local id -> {id, chat, file, name, xhr, li, …}. */
    this.uploads = new Map();
    this.n = 0;
    this.depth = 0;
    // The paperclip beside the composer's options, its file picker, and the drop zone over
    // the open chat (made here: the page's template holds the composer as it was before files).
    this.button = h(
      'button',
      {
        type: 'button',
        id: 'attach-btn',
        class: 'secondary attach',
        'aria-label': 'Attach files',
        title: 'Attach files (or drop them on the chat, or paste a screenshot)',
        hidden: true,
      },
      icon(ICON_CLIP, 20),
    );
    this.input = h('input', { type: 'file', id: 'attach-input', multiple: true, hidden: true, tabindex: '-1', 'aria-hidden': 'true' });
    const row = $('composer').querySelector('.compose-actions');
    row.prepend(this.button, this.input);
    this.zone = h('div', { id: 'drop-zone', class: 'drop-zone', 'aria-hidden': 'true', hidden: true });
    $('chat-open').append(this.zone);
    this.wire();
  }

  wire() {
    this.button.addEventListener('click', () => {
      if (this.refuseNote()) return;
      this.input.click();
    });
    this.input.addEventListener('change', () => {
      const files = [...this.input.files];
      this.input.value = '';
      this.add(files);
    });
    const pane = $('chat-open');
    for (const type of ['dragenter', 'dragover', 'dragleave']) {
      pane.addEventListener(type, (e) => {
        if (!hasFiles(e) || !this.writable()) return; // (the document's handler refuses it)
        e.preventDefault();
        if (type === 'dragenter') this.depth += 1;
        else if (type === 'dragleave') this.depth = Math.max(0, this.depth - 1);
        else e.dataTransfer.dropEffect = 'copy';
        this.zone.textContent = this.state.files
          ? 'Drop the files to send them to the visitor'
          : 'Files cannot be sent on this site.';
        this.zone.hidden = this.depth === 0;
      });
    }
    pane.addEventListener('drop', (e) => {
      this.depth = 0;
      this.zone.hidden = true;
      if (!hasFiles(e) || !this.writable()) return;
      e.preventDefault();
      this.add([...e.dataTransfer.files]);
    });
    // A file dropped anywhere else never replaces the console with itself.
    for (const type of ['dragover', 'drop']) {
      document.addEventListener(type, (e) => {
        if (!hasFiles(e) || e.defaultPrevented) return;
        e.preventDefault();
        e.dataTransfer.dropEffect = 'none';
      });
    }
    // A pasted screenshot, or files copied in a file manager. Text copied from an office
    // program comes with a picture of itself: with text and only pictures, the text is pasted.
    pane.addEventListener('paste', (e) => {
      const cd = e.clipboardData;
      if (!cd || !this.writable()) return;
      let files = [...cd.files];
      if (!files.length) files = [...cd.items].filter((i) => i.kind === 'file').map((i) => i.getAsFile()).filter(Boolean);
      if (!files.length) return;
      const text = [...cd.types].includes('text/plain') && cd.getData('text/plain').trim();
      if (text && files.every((f) => f.type.startsWith('image/'))) return;
      e.preventDefault();
      this.add(files);
    });
  }

  writable() {
    const c = this.state.open;
    return !!c && !c.closed;
  }

  /** Files go to the visitor: an internal note cannot carry one. */
  refuseNote() {
    if (!this.chats.noteBox.checked) return false;
    this.chats.composerError('Files go to the visitor and cannot be added to an internal note. Switch off “Internal note” to send a file.', false);
    return true;
  }

  /** Each file is its own upload and message; those over the limit or empty are not sent. */
  add(files) {
    const c = this.state.open;
    if (!files.length || !c || c.closed) return;
    const cfg = this.state.files;
    if (!cfg) return this.chats.composerError('Files cannot be sent on this site.', false);
    if (this.refuseNote()) return;
    const problems = [];
    for (const file of files) {
      const name = file.name || 'file';
      if (file.size > cfg.max_bytes) problems.push(`“${name}” is larger than the limit of ${fileSize(cfg.max_bytes)}.`);
      else if (!file.size) problems.push(`“${name}” is empty.`);
      else this.start(c.id, file, name);
    }
    this.chats.composerError(problems.join(' '), false);
  }

  start(chat, file, name) {
    const u = { id: `u${++this.n}`, chat, file, name };
    u.meta = h('span', { class: 'meta' });
    u.bar = h('progress', { max: '100', value: '0', 'aria-label': `Uploading ${name}` });
    u.why = h('p', { class: 'error', role: 'alert', hidden: true });
    u.actions = h('span', { class: 'upload-actions' });
    u.li = h(
      'li',
      { class: 'msg agent mine sending upload', 'data-upload': u.id },
      u.meta,
      h('p', { class: 'text' }, `${name} (${fileSize(file.size)})`),
      u.bar,
      u.why,
      u.actions,
    );
    this.uploads.set(u.id, u);
    this.send(u);
  }

  /** The items of `chat`'s uploads, for the list of what is being sent. */
  items(chat) {
    return [...this.uploads.values()].filter((u) => u.chat === chat).map((u) => u.li);
  }

  redraw(u) {
    const c = this.state.open;
    if (c && c.id === u.chat) this.chats.renderEvents(c);
  }

  buttons(u, list) {
    u.actions.replaceChildren(
      ...list.map(([text, label, act]) => h('button', { type: 'button', class: 'link', 'aria-label': label, onclick: act }, text)),
    );
  }

  send(u) {
    const xhr = new XMLHttpRequest();
    u.xhr = xhr;
    u.bar.hidden = false;
    u.bar.value = 0;
    u.meta.textContent = 'Uploading… 0%';
    u.why.hidden = true;
    u.why.textContent = '';
    this.buttons(u, [['Cancel', `Cancel the upload of ${u.name}`, () => this.cancel(u)]]);
    xhr.open('POST', `/console/uploads?chat=${u.chat}&name=${encodeURIComponent(u.name)}`);
    xhr.setRequestHeader('X-CSRF-Token', document.querySelector('input[name="csrf_token"]')?.value ?? '');
    xhr.upload.onprogress = (e) => {
      if (u.xhr !== xhr || !e.lengthComputable || !e.total) return;
      const pct = Math.min(100, Math.floor((e.loaded * 100) / e.total));
      u.bar.value = pct;
      u.meta.textContent = `Uploading… ${pct}%`;
    };
    xhr.onload = () => {
      if (u.xhr !== xhr) return;
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* not JSON: the status says it */
      }
      if (xhr.status === 201 && body?.upload != null) this.uploaded(u, body);
      else this.failed(u, xhr.status, body, xhr.getResponseHeader('Retry-After'));
    };
    xhr.onerror = () => {
      if (u.xhr === xhr) this.failed(u, 0, null, null);
    };
    xhr.send(u.file);
    this.redraw(u);
  }

  cancel(u) {
    u.xhr?.abort();
    u.xhr = null;
    this.uploads.delete(u.id);
    u.li.remove();
    this.redraw(u);
    this.chats.text.focus();
  }

  /** Why it failed, in the server's words; Retry or Remove. */
  failed(u, status, body, retryAfter) {
    u.xhr = null;
    let why = !status
      ? 'The connection failed.'
      : (body?.message ?? `The server answered ${status}.`);
    const secs = parseInt(retryAfter, 10);
    if (status === 429 && secs > 0) why += ` Try again in ${secs} s.`;
    u.bar.hidden = true;
    u.meta.textContent = 'Not sent';
    u.why.textContent = `Could not send ${u.name}: ${why}`;
    u.why.hidden = false;
    this.buttons(u, [
      ['Retry', `Retry ${u.name}`, () => this.send(u)],
      ['Remove', `Remove ${u.name}`, () => this.cancel(u)],
    ]);
    this.redraw(u);
  }

  /** Stored: send it as a message through the outbox, like a text. */
  uploaded(u, body) {
    u.xhr = null;
    this.uploads.delete(u.id);
    const m = {
      id: randomId(),
      chat: u.chat,
      text: '',
      upload: body.upload,
      file: { name: body.name ?? u.name, type: body.type ?? '', size: body.size ?? u.file.size },
      note: false,
      error: null,
    };
    this.state.outbox.set(m.id, m);
    this.chats.ctx.send({ type: 'message', chat: m.chat, id: m.id, upload: m.upload });
    this.redraw(u);
  }
}
