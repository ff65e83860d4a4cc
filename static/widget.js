/*! Parley chat widget. One tag on any page:
 *    <script src="https://HOST/widget.js" data-campaign="CAMPAIGN_ID" async></script>
 *  Vanilla JavaScript, no dependencies, no requests to anyone but HOST. The window lives in a
 *  shadow root (the page's CSS does not reach it); every text that comes from data is set with
 *  textContent. It speaks the visitor side of docs/protocol.md over /ws/visitor. */
(function () {
  'use strict';
  var W = window;
  var D = document;
  // Keep our own references: the host page may replace globals after we load.
  var JSONparse = JSON.parse;
  var JSONstringify = JSON.stringify;
  var Sock = W.WebSocket;
  var setT = W.setTimeout.bind(W);
  var clearT = W.clearTimeout.bind(W);
  var setI = W.setInterval.bind(W);
  var logError = W.console && W.console.error ? W.console.error.bind(W.console) : function () {};
  var mkEl = D.createElement.bind(D);
  var mkText = D.createTextNode.bind(D);
  var mkNS = D.createElementNS.bind(D);
  var randomFill = W.crypto.getRandomValues.bind(W.crypto);
  var XHR = W.XMLHttpRequest;
  var fetchF = W.fetch ? W.fetch.bind(W) : null;
  var blobUrl = URL.createObjectURL.bind(URL);
  var dropUrl = URL.revokeObjectURL.bind(URL);
  var encode = W.encodeURIComponent;
  var now = Date.now;
  var store = null;
  try {
    store = W.localStorage;
  } catch (e) {
    /* storage off (sandboxed page, privacy settings): state lives in memory */
  }

  // ---- where we come from -------------------------------------------------------------------
  var me = D.currentScript;
  if (!me || !me.getAttribute('data-campaign')) {
    var all = D.querySelectorAll('script[data-campaign]');
    for (var i = 0; i < all.length; i++) {
      if (/\/widget\.js(\?|#|$)/.test(all[i].src)) me = all[i];
    }
  }
  if (!me) return;
  var rawCampaign = (me.getAttribute('data-campaign') || '').trim();
  if (!/^[1-9][0-9]{0,15}$/.test(rawCampaign)) {
    logError('Parley chat widget: data-campaign="' + rawCampaign + '" is not a campaign id (a positive number); the chat is not shown.');
    return;
  }
  var CAMPAIGN = Number(rawCampaign);
  var SRC = new URL(me.src, D.baseURI);
  var ORIGIN = SRC.origin;
  var WS_URL = (SRC.protocol === 'https:' ? 'wss://' : 'ws://') + SRC.host + '/ws/visitor';
  var HOST_TAG = 'parley-chat';
  var ONCE = Symbol.for('parley.widget:' + SRC.origin + ':' + CAMPAIGN);
  if (W[ONCE]) return; // the tag is on the page twice
  W[ONCE] = true;

  // ---- labels (system messages themselves come from the campaign) -----------------------------
  var LABELS = {
    en: {
      open: 'Open chat', openUnread: 'Open chat ({n} new)', title: 'Chat with us', minimize: 'Minimize chat',
      end: 'End chat', intro: 'Tell us a little about yourself, then start the chat.', reqNote: 'Fields marked * are required.',
      start: 'Start chat', required: 'This field is required.', email: 'Enter an email address, like name@example.com.',
      long: 'At most {n} characters.', message: 'Message', placeholder: 'Write a message…', send: 'Send',
      you: 'You', agent: 'Agent', joined: '{name} joined the chat.', typing: '{name} is typing…', ended: 'The chat has ended.',
      queue: 'You are number {n} in the queue.', eta: 'Estimated wait: about {n} min.', etaSoon: 'Estimated wait: less than a minute.',
      sending: 'Sending…', notSent: 'Not sent: {why}', tooLong: 'the message is too long.', chatOver: 'the chat has ended.',
      tooLongMax: 'This message is too long: shorten it to at most {n} characters, then send it.',
      empty: 'the message is empty.', failed: 'please try again.', reconnecting: 'Connection lost. Reconnecting…',
      rateQ: 'How would you rate this chat?', stars: ['Very poor', 'Poor', 'Fair', 'Good', 'Excellent'], outOf: '{n} of 5',
      comment: 'Comment (optional)', sendRating: 'Send rating', skip: 'Skip', chooseRating: 'Choose a rating from 1 to 5.',
      thanks: 'Thank you for your feedback.', rated: 'You rated this chat {n} out of 5.', newChat: 'Start a new chat', leave: 'Leave a message', name: 'Name',
      emailL: 'Email', text: 'Your message', sendLeft: 'Send message', left: 'Thank you. Your message was sent; we will get back to you.',
      invite: 'Would you like to chat with us?', inviteBy: '{name} invites you to chat.', accept: 'Start chatting', refuse: 'No, thanks',
      conversation: 'Conversation', offline: 'Nobody is available right now. Leave us a message and we will get back to you.',
      retry: 'Could not send. Check your connection and try again.',
      emailMe: 'Email me this conversation', emailSent: 'A copy of this conversation is on its way to your email.',
      emailLimit: 'No more copies of this conversation can be sent for now.',
      attach: 'Attach a file', dropHere: 'Drop files here to send them', noFiles: 'Files cannot be sent in this chat.',
      fileTooBig: '“{name}” is larger than the limit of {n}.', fileEmpty: '“{name}” is empty.', uploading: 'Uploading {name}',
      cancel: 'Cancel', cancelUp: 'Cancel sending {name}', upFailed: 'Could not send {name}: {why}', retryUp: 'Retry', remove: 'Remove',
      upNet: 'the connection failed.', upTooBig: 'the file is larger than the limit of {n}.', upType: 'files of this type cannot be sent here.',
      upRate: 'too many files at once.', retryIn: 'Try again in {n} s.', upGone: 'the file is no longer there: attach it again.',
      fileLoad: 'This file could not be loaded.', openImage: 'Open {name} in full size', bytes: 'bytes', kib: 'KiB', mib: 'MiB', dec: '.',
    },
    fr: {
      open: 'Ouvrir la discussion', openUnread: 'Ouvrir la discussion ({n} nouveaux)', title: 'Discutons', minimize: 'Réduire la discussion',
      end: 'Terminer', intro: 'Présentez-vous en quelques mots, puis commencez la discussion.', reqNote: 'Les champs marqués * sont obligatoires.',
      start: 'Commencer la discussion', required: 'Ce champ est obligatoire.', email: 'Saisissez une adresse e-mail, par exemple nom@exemple.fr.',
      long: '{n} caractères au plus.', message: 'Message', placeholder: 'Écrivez un message…', send: 'Envoyer',
      you: 'Vous', agent: 'Conseiller', joined: '{name} a rejoint la discussion.', typing: '{name} écrit…', ended: 'La discussion est terminée.',
      queue: 'Vous êtes en position {n} dans la file d’attente.', eta: 'Attente estimée : environ {n} min.', etaSoon: 'Attente estimée : moins d’une minute.',
      sending: 'Envoi…', notSent: 'Non envoyé : {why}', tooLong: 'le message est trop long.', chatOver: 'la discussion est terminée.',
      tooLongMax: 'Ce message est trop long : raccourcissez-le à {n} caractères au plus, puis envoyez-le.',
      empty: 'le message est vide.', failed: 'veuillez réessayer.', reconnecting: 'Connexion perdue. Reconnexion…',
      rateQ: 'Comment évaluez-vous cette discussion ?', stars: ['Très mauvais', 'Mauvais', 'Moyen', 'Bien', 'Excellent'], outOf: '{n} sur 5',
      comment: 'Commentaire (facultatif)', sendRating: 'Envoyer la note', skip: 'Passer', chooseRating: 'Choisissez une note de 1 à 5.',
      thanks: 'Merci pour votre avis.', rated: 'Vous avez noté cette discussion {n} sur 5.', newChat: 'Nouvelle discussion', leave: 'Laisser un message', name: 'Nom',
      emailL: 'E-mail', text: 'Votre message', sendLeft: 'Envoyer le message', left: 'Merci. Votre message a été envoyé ; nous vous répondrons.',
      invite: 'Souhaitez-vous discuter avec nous ?', inviteBy: '{name} vous invite à discuter.', accept: 'Discuter', refuse: 'Non merci',
      conversation: 'Discussion', offline: 'Personne n’est disponible pour le moment. Laissez-nous un message.',
      retry: 'Envoi impossible. Vérifiez votre connexion et réessayez.',
      emailMe: 'M’envoyer cette conversation par e-mail', emailSent: 'Une copie de cette conversation part vers votre e-mail.',
      emailLimit: 'Aucune autre copie de cette conversation ne peut être envoyée pour le moment.',
      attach: 'Joindre un fichier', dropHere: 'Déposez les fichiers ici pour les envoyer', noFiles: 'Cette discussion n’accepte pas de fichiers.',
      fileTooBig: '« {name} » dépasse la limite de {n}.', fileEmpty: '« {name} » est vide.', uploading: 'Envoi de {name}',
      cancel: 'Annuler', cancelUp: 'Annuler l’envoi de {name}', upFailed: 'Impossible d’envoyer {name} : {why}', retryUp: 'Réessayer', remove: 'Retirer',
      upNet: 'la connexion a échoué.', upTooBig: 'le fichier dépasse la limite de {n}.', upType: 'ce type de fichier ne peut pas être envoyé ici.',
      upRate: 'trop de fichiers à la fois.', retryIn: 'Réessayez dans {n} s.', upGone: 'le fichier n’est plus disponible : joignez-le à nouveau.',
      fileLoad: 'Ce fichier n’a pas pu être chargé.', openImage: 'Ouvrir {name} en taille réelle', bytes: 'octets', kib: 'Kio', mib: 'Mio', dec: ',',
    },
    de: {
      open: 'Chat öffnen', openUnread: 'Chat öffnen ({n} neu)', title: 'Chatten Sie mit uns', minimize: 'Chat minimieren',
      end: 'Chat beenden', intro: 'Erzählen Sie uns kurz etwas über sich, dann starten Sie den Chat.', reqNote: 'Mit * markierte Felder sind Pflichtfelder.',
      start: 'Chat starten', required: 'Dieses Feld ist ein Pflichtfeld.', email: 'Geben Sie eine E-Mail-Adresse ein, z. B. name@beispiel.de.',
      long: 'Höchstens {n} Zeichen.', message: 'Nachricht', placeholder: 'Nachricht schreiben…', send: 'Senden',
      you: 'Sie', agent: 'Mitarbeiter', joined: '{name} ist dem Chat beigetreten.', typing: '{name} schreibt…', ended: 'Der Chat ist beendet.',
      queue: 'Sie sind Nummer {n} in der Warteschlange.', eta: 'Geschätzte Wartezeit: etwa {n} Min.', etaSoon: 'Geschätzte Wartezeit: unter einer Minute.',
      sending: 'Wird gesendet…', notSent: 'Nicht gesendet: {why}', tooLong: 'die Nachricht ist zu lang.', chatOver: 'der Chat ist beendet.',
      tooLongMax: 'Diese Nachricht ist zu lang: kürzen Sie sie auf höchstens {n} Zeichen und senden Sie sie dann.',
      empty: 'die Nachricht ist leer.', failed: 'bitte erneut versuchen.', reconnecting: 'Verbindung unterbrochen. Neuer Versuch…',
      rateQ: 'Wie bewerten Sie diesen Chat?', stars: ['Sehr schlecht', 'Schlecht', 'Mittel', 'Gut', 'Sehr gut'], outOf: '{n} von 5',
      comment: 'Kommentar (optional)', sendRating: 'Bewertung senden', skip: 'Überspringen', chooseRating: 'Wählen Sie eine Bewertung von 1 bis 5.',
      thanks: 'Danke für Ihre Bewertung.', rated: 'Sie haben diesen Chat mit {n} von 5 bewertet.', newChat: 'Neuen Chat starten', leave: 'Nachricht hinterlassen', name: 'Name',
      emailL: 'E-Mail', text: 'Ihre Nachricht', sendLeft: 'Nachricht senden', left: 'Danke. Ihre Nachricht wurde gesendet; wir melden uns.',
      invite: 'Möchten Sie mit uns chatten?', inviteBy: '{name} lädt Sie zum Chat ein.', accept: 'Chat starten', refuse: 'Nein, danke',
      conversation: 'Unterhaltung', offline: 'Gerade ist niemand erreichbar. Hinterlassen Sie uns eine Nachricht.',
      retry: 'Senden nicht möglich. Prüfen Sie Ihre Verbindung und versuchen Sie es erneut.',
      emailMe: 'Dieses Gespräch per E-Mail senden', emailSent: 'Eine Kopie dieses Gesprächs ist an Ihre E-Mail unterwegs.',
      emailLimit: 'Von diesem Gespräch können vorerst keine weiteren Kopien gesendet werden.',
      attach: 'Datei anhängen', dropHere: 'Dateien hier ablegen, um sie zu senden', noFiles: 'In diesem Chat können keine Dateien gesendet werden.',
      fileTooBig: '„{name}“ ist größer als die Grenze von {n}.', fileEmpty: '„{name}“ ist leer.', uploading: '{name} wird hochgeladen',
      cancel: 'Abbrechen', cancelUp: 'Senden von {name} abbrechen', upFailed: '{name} konnte nicht gesendet werden: {why}', retryUp: 'Erneut versuchen', remove: 'Entfernen',
      upNet: 'die Verbindung ist fehlgeschlagen.', upTooBig: 'die Datei ist größer als die Grenze von {n}.', upType: 'Dateien dieses Typs können hier nicht gesendet werden.',
      upRate: 'zu viele Dateien auf einmal.', retryIn: 'Versuchen Sie es in {n} s erneut.', upGone: 'die Datei ist nicht mehr vorhanden: hängen Sie sie erneut an.',
      fileLoad: 'Diese Datei konnte nicht geladen werden.', openImage: '{name} in voller Größe öffnen', bytes: 'Bytes', kib: 'KiB', mib: 'MiB', dec: ',',
    },
  };
  var L = LABELS.en;
  function t(key, n, name) {
    var s = L[key] || LABELS.en[key] || key;
    // Replaced by functions: a "$&" in a name or a file name stays as it is.
    return s.replace('{n}', function () { return String(n); })
      .replace('{name}', function () { return name == null ? '' : String(name); })
      .replace('{why}', function () { return String(n); });
  }

  // ---- storage shared by the tabs of this site (the host page's origin) -----------------------
  var PREFIX = 'parley:' + ORIGIN + ':';
  var K_TOKEN = PREFIX + 'token';
  var K_UI = PREFIX + 'c' + CAMPAIGN + ':ui';
  var K_OUT = PREFIX + 'outbox';
  var memory = {};
  function lsGet(k) {
    try {
      return store.getItem(k);
    } catch (e) {
      return memory[k] == null ? null : memory[k];
    }
  }
  function lsSet(k, v) {
    memory[k] = v;
    try {
      if (v == null) store.removeItem(k);
      else store.setItem(k, v);
    } catch (e) {
      /* storage off: this tab keeps it in memory */
    }
  }
  function readJSON(k, dflt) {
    try {
      var v = JSONparse(lsGet(k));
      return v == null ? dflt : v;
    } catch (e) {
      return dflt;
    }
  }
  /** {open: bool, ended: chat id waiting for its survey or null} */
  function ui() {
    var u = readJSON(K_UI, {});
    return typeof u === 'object' && u ? u : {};
  }
  function setUi(patch) {
    var u = ui();
    for (var k in patch) u[k] = patch[k];
    lsSet(K_UI, JSONstringify(u));
  }
  /** Messages sent and not yet acknowledged: [{chat, id, text, upload?, file?}] (survive a page change). */
  function outbox() {
    var o = readJSON(K_OUT, []);
    return Array.isArray(o) ? o : [];
  }
  function setOutbox(list) {
    lsSet(K_OUT, list.length ? JSONstringify(list.slice(-50)) : null);
  }
  function dropOut(id) {
    var o = outbox();
    var n = o.filter(function (m) {
      return m.id !== id;
    });
    if (n.length !== o.length) setOutbox(n);
  }

  function randomId() {
    var b = new Uint8Array(12);
    randomFill(b);
    var s = 'w-';
    for (var i = 0; i < b.length; i++) s += (b[i] < 16 ? '0' : '') + b[i].toString(16);
    return s;
  }

  // ---- DOM helpers ----------------------------------------------------------------------------
  /** h('tag', {attr: value, text: '…', on: {click: fn}}, children…): attributes by setAttribute,
   *  text by textContent — never HTML from data. */
  function h(tag, attrs) {
    var e = mkEl(tag);
    if (attrs) {
      for (var k in attrs) {
        var v = attrs[k];
        if (v == null || v === false) continue;
        if (k === 'text') e.textContent = v;
        else if (k === 'on') for (var ev in v) e.addEventListener(ev, v[ev]);
        else if (k === 'cls') e.className = v;
        else e.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (var i = 2; i < arguments.length; i++) if (arguments[i]) e.appendChild(arguments[i]);
    return e;
  }
  function show(el, on) {
    if (on) el.removeAttribute('hidden');
    else el.setAttribute('hidden', '');
  }
  function svg(paths) {
    var NS = 'http://www.w3.org/2000/svg';
    var s = mkNS(NS, 'svg');
    s.setAttribute('viewBox', '0 0 24 24');
    s.setAttribute('width', '24');
    s.setAttribute('height', '24');
    s.setAttribute('aria-hidden', 'true');
    s.setAttribute('focusable', 'false');
    var p = mkNS(NS, 'path');
    p.setAttribute('d', paths);
    p.setAttribute('fill', 'currentColor');
    s.appendChild(p);
    return s;
  }
  var ICON_CHAT = 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z';
  var ICON_MIN = 'M5 11h14v2H5z';
  var ICON_CLIP = 'M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6h-1.5z';
  var ICON_FILE = 'M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8l-6-6zm-1 7V3.5L18.5 9H13z';

  /** Text colour for a background: white, or near-black when white would not reach 4.5:1. */
  function onColor(hex) {
    var c = [1, 3, 5].map(function (i) {
      var v = parseInt(hex.substr(i, 2), 16) / 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    var lum = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    return 1.05 / (lum + 0.05) >= 4.5 ? '#ffffff' : '#111111';
  }

  var CSS =
    ':host{all:initial}' +
    '*,*::before,*::after{box-sizing:border-box}' +
    '[hidden]{display:none!important}' +
    '.root{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1f2328;--c:#2f6fde;--fg:#fff}' +
    'button,input,textarea{font:inherit;color:inherit}' +
    '.sr{position:absolute!important;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}' +
    '.launch{position:fixed;bottom:20px;right:20px;z-index:2147483646;width:60px;height:60px;border-radius:50%;border:0;background:var(--c);color:var(--fg);box-shadow:0 4px 14px rgba(0,0,0,.3);cursor:pointer;display:flex;align-items:center;justify-content:center;padding:0}' +
    '.launch svg{width:28px;height:28px}' +
    '.left .launch,.left .win{right:auto;left:20px}' +
    '.badge{position:absolute;top:-4px;right:-4px;min-width:22px;height:22px;border-radius:11px;background:#c62828;color:#fff;font-size:12px;font-weight:700;line-height:22px;text-align:center;padding:0 6px}' +
    ':focus-visible{outline:3px solid #1f6feb;outline-offset:2px}' +
    '.win{position:fixed;bottom:20px;right:20px;z-index:2147483647;width:370px;height:580px;max-height:calc(100vh - 40px);background:#fff;border-radius:14px;box-shadow:0 10px 36px rgba(0,0,0,.28);display:flex;flex-direction:column;overflow:hidden}' +
    '.win.compact{height:auto}.win.compact .body{flex:none}' +
    '.hd{background:var(--c);color:var(--fg);display:flex;align-items:center;gap:6px;padding:10px 10px 10px 16px;flex:none}' +
    '.hd h2{flex:1;margin:0;font-size:16px;font-weight:600;line-height:1.3;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}' +
    '.hb{background:transparent;color:inherit;border:1px solid currentColor;border-radius:8px;padding:4px 10px;cursor:pointer;font-size:13px;min-height:32px}' +
    '.hb.icon{border-color:transparent;padding:4px;display:flex;min-width:36px;justify-content:center}' +
    '.hb:hover{background:rgba(127,127,127,.25)}' +
    '.conn{background:#fff4ce;color:#5c3c00;padding:6px 16px;font-size:13px;flex:none}' +
    '.body{flex:1;overflow-y:auto;padding:14px 16px;display:flex;flex-direction:column;gap:12px;overscroll-behavior:contain}' +
    '.log{display:flex;flex-direction:column;gap:8px}' +
    '.m{max-width:85%;display:flex;flex-direction:column;gap:2px}' +
    '.m .who{font-size:12px;color:#57606a}' +
    '.m .txt{margin:0;padding:8px 12px;border-radius:14px;white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-word}' +
    '.m.a{align-self:flex-start}.m.a .txt{background:#eef1f4;border-bottom-left-radius:4px}' +
    '.m.v{align-self:flex-end;align-items:flex-end}.m.v .txt{background:var(--c);color:var(--fg);border-bottom-right-radius:4px}' +
    '.m.pend .txt{opacity:.75}' +
    '.m .st{font-size:12px;color:#57606a}.m .st.bad{color:#b3261e}' +
    '.sys{align-self:center;text-align:center;font-size:13px;color:#57606a;margin:0;max-width:95%;white-space:pre-wrap;overflow-wrap:anywhere}' +
    '.qs{background:#f3f6fb;border-radius:10px;padding:10px 12px;font-size:13px}' +
    '.qs p{margin:0}' +
    '.typing{font-size:13px;color:#57606a;font-style:italic;min-height:0}' +
    'form{margin:0;display:flex;flex-direction:column;gap:10px}' +
    '.fld{display:flex;flex-direction:column;gap:4px}' +
    '.fld label,legend{font-weight:600;font-size:13px}' +
    '.req{color:#b3261e}' +
    '.in{width:100%;border:1px solid #8c959f;border-radius:8px;padding:8px 10px;background:#fff;font-size:14px}' +
    'textarea.in{min-height:70px;resize:vertical}' +
    '.in[aria-invalid="true"]{border-color:#b3261e;border-width:2px}' +
    '.err{color:#b3261e;font-size:13px;margin:0}' +
    '.note,.intro{margin:0;font-size:13px;color:#57606a}' +
    '.intro{color:#1f2328}' +
    '.btn{background:var(--c);color:var(--fg);border:0;border-radius:8px;padding:10px 14px;font-weight:600;cursor:pointer;min-height:40px}' +
    '.btn:disabled{opacity:.6;cursor:default}' +
    '.btn2{background:#fff;color:#1f2328;border:1px solid #8c959f;border-radius:8px;padding:10px 14px;cursor:pointer;min-height:40px}' +
    '.row{display:flex;gap:8px;flex-wrap:wrap}' +
    '.card{border:1px solid #d0d7de;border-radius:12px;padding:14px;display:flex;flex-direction:column;gap:10px}' +
    '.card p{margin:0}' +
    '.card .big{font-size:15px;white-space:pre-wrap;overflow-wrap:anywhere}' +
    'fieldset{border:0;margin:0;padding:0;display:flex;flex-direction:column;gap:6px}' +
    'legend{padding:0;margin-bottom:6px}' +
    '.stars{display:flex;gap:4px}' +
    '.stars label{position:relative;font-size:30px;line-height:1;color:#6e7781;padding:4px 6px;border-radius:6px}' +
    '.stars input{position:absolute;inset:0;width:100%;height:100%;margin:0;opacity:0;cursor:pointer}' +
    '.stars label.on{color:#9a6700}' +
    '.stars label:focus-within{outline:3px solid #1f6feb}' +
    '.compose{flex:none;border-top:1px solid #d0d7de;padding:10px;display:flex;flex-direction:row;gap:8px;align-items:flex-end}' +
    '.compose textarea{flex:1;min-height:42px;max-height:120px;resize:none}' +
    '.ok{background:#dafbe1;border-radius:10px;padding:10px 12px;margin:0}' +
    '.clip{flex:none;width:42px;height:42px;border:1px solid #8c959f;border-radius:8px;background:#fff;color:#1f2328;cursor:pointer;display:flex;align-items:center;justify-content:center;padding:0}' +
    '.clip:hover{background:#eef1f4}' +
    '.pic{display:block;line-height:0;border-radius:10px;overflow:hidden;background:#eef1f4;min-width:48px;min-height:48px}' +
    '.pic img{display:block;max-width:240px;max-height:200px;width:auto;height:auto}' +
    '.file{display:flex;gap:8px;align-items:center;padding:8px 12px;border:1px solid #d0d7de;border-radius:12px;background:#fff;color:#1f2328;text-decoration:none;max-width:100%;text-align:left}' +
    'a.file:hover .fn{text-decoration:underline}' +
    '.file svg{flex:none;color:#57606a}' +
    '.fn{display:block;font-weight:600;overflow-wrap:anywhere}.fm{display:block;font-size:12px;color:#57606a}' +
    '.m progress{width:200px;max-width:100%;height:8px}' +
    '.acts{display:flex;gap:6px}' +
    '.lnk{background:none;border:0;padding:2px 4px;color:#0b57d0;text-decoration:underline;cursor:pointer;font-size:12px}' +
    '.dropz{position:absolute;inset:0;z-index:2;display:flex;align-items:center;justify-content:center;text-align:center;padding:24px;background:rgba(255,255,255,.93);border:3px dashed var(--c);border-radius:14px;font-weight:600;font-size:15px;pointer-events:none}' +
    '@media (max-width:480px){.win{top:0;left:0!important;right:0;bottom:0;width:auto;height:auto;max-height:none;border-radius:0}' +
    '.launch{bottom:14px;right:14px}.left .launch{left:14px}.in{font-size:16px}}' +
    '@media (prefers-reduced-motion:no-preference){.win{animation:pop .16s ease-out}@keyframes pop{from{opacity:0;transform:translateY(12px)}}}';

  // ---- state -------------------------------------------------------------------------------------
  var maxBytes = 4096; // the server's message limit, from the welcome
  var filesCfg = null; // what files the site takes ({max_bytes, types}), from the welcome; null: none
  var uploads = []; // files being uploaded (or failed): {chat, file, name, xhr, el, …}
  var blobs = []; // blob: addresses of the files shown
  var dragDepth = 0;
  var campaign = null; // the campaign followed now: the widget's own, or the one a chat moved to
  var ownCampaign = null; // the campaign view from visitor_welcome
  var token = lsGet(K_TOKEN);
  var ws = null;
  var ready = false; // welcome received on the current socket
  var stopped = false;
  var attempt = 0;
  var retryTimer = null;
  var lastHeard = 0;
  var pingSent = 0;
  var chat = null; // the chat shown: id
  var chatStatus = null; // queued | active | ended
  var agentName = '';
  var lastSeq = {}; // chat id -> highest seq shown
  var shown = {}; // "chat:seq" -> true
  var replayUpTo = 0; // seqs up to this of the welcome's chat are history, not news
  var pending = {}; // client id -> element of a message not yet stored
  var starting = false;
  var leaving = false;
  var mailOn = false; // the server sends mail (welcome)
  var chatEmail = false; // the chat shown has the visitor's email address
  var emailBtn, emailSt;
  var invitation = null; // {invitation, text, mode, agent} shown
  var answered = null; // the invitation this tab answered last
  var lastError = null; // code of the last error frame (tells why a 4004 close came)
  var view = 'form';
  var isOpen = false;
  var unread = 0;
  var surveyChat = null;
  var typingOn = false;
  var typingTimer = null;
  var agentTypingTimer = null;
  var lastPage = '';
  var prechatValues = {};

  // ---- the widget's DOM (built at the first welcome) ----------------------------------------------
  var hostEl, root, launcher, badge, win, titleEl, endBtn, connEl, bodyEl, inviteSec, inviteBy, inviteText,
    formEl, formFields, formErr, startBtn, logEl, qsEl, typingEl, surveySec, surveyForm, surveyQ, ratingErr,
    commentFld, commentIn, doneSec, thanksEl, leaveSec, leaveText, leaveForm, leaveErr, leaveOk, leaveBtn, composeEl, composeIn,
    composeErr, attachBtn, fileIn, dropEl;

  function field(id, label, input, required, hint) {
    var errId = id + '-err';
    input.setAttribute('id', id);
    input.setAttribute('aria-describedby', errId);
    input.addEventListener('input', function () {
      if (input.getAttribute('aria-invalid')) setErr(input, ''); // fixed: the next check tells
    });
    if (required) {
      input.setAttribute('required', '');
      input.setAttribute('aria-required', 'true');
    }
    var lab = h('label', { for: id }, mkText(label));
    if (required) lab.appendChild(h('span', { cls: 'req', 'aria-hidden': 'true', text: ' *' }));
    return h('div', { cls: 'fld' }, lab, input, hint || null, h('p', { cls: 'err', id: errId, hidden: true }));
  }
  function setErr(input, msg) {
    var err = input.parentNode.querySelector('.err');
    if (msg) {
      input.setAttribute('aria-invalid', 'true');
      err.textContent = msg;
      show(err, true);
    } else {
      input.removeAttribute('aria-invalid');
      err.textContent = '';
      show(err, false);
    }
  }
  var EMAIL = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]+$/;

  function build() {
    var style = campaign.style || {};
    var color = /^#[0-9a-fA-F]{6}$/.test(style.color || '') ? style.color : '#2f6fde';
    L = LABELS[campaign.language] || LABELS.en;

    hostEl = mkEl(HOST_TAG);
    hostEl.setAttribute('data-campaign', rawCampaign);
    // Inline !important beats any rule of the page on our host element (set through CSSOM, which
    // a page's Content-Security-Policy does not block).
    hostEl.style.setProperty('all', 'initial', 'important');
    hostEl.style.setProperty('display', 'block', 'important');
    hostEl.style.setProperty('position', 'static', 'important');
    var shadow = hostEl.attachShadow({ mode: 'open' });
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      shadow.adoptedStyleSheets = [sheet];
    } catch (e) {
      shadow.appendChild(h('style', { text: CSS }));
    }
    root = h('div', { cls: 'root' + (style.position === 'left' ? ' left' : ''), lang: campaign.language || 'en' });
    root.style.setProperty('--c', color);
    root.style.setProperty('--fg', onColor(color));
    shadow.appendChild(root);

    badge = h('span', { cls: 'badge', 'aria-hidden': 'true', hidden: true });
    launcher = h(
      'button',
      { type: 'button', cls: 'launch', 'aria-label': t('open'), 'aria-expanded': 'false', 'aria-controls': 'pw-win', on: { click: function () { setOpen(true, true, true); } } },
      svg(ICON_CHAT),
      badge
    );
    titleEl = h('h2', { id: 'pw-title', text: style.title || t('title') });
    endBtn = h('button', { type: 'button', cls: 'hb', text: t('end'), hidden: true, on: { click: endChat } });
    var minBtn = h('button', { type: 'button', cls: 'hb icon', 'aria-label': t('minimize'), title: t('minimize'), on: { click: function () { setOpen(false, true, true); } } }, svg(ICON_MIN));
    connEl = h('div', { cls: 'conn', role: 'status', hidden: true });

    // invitation
    inviteBy = h('p', { cls: 'note', hidden: true });
    inviteText = h('p', { cls: 'big' });
    inviteSec = h(
      'section',
      { cls: 'card', 'aria-label': t('invite'), hidden: true },
      inviteBy,
      inviteText,
      h('div', { cls: 'row' },
        h('button', { type: 'button', cls: 'btn', text: t('accept'), on: { click: function () { answerInvitation(true); } } }),
        h('button', { type: 'button', cls: 'btn2', text: t('refuse'), on: { click: function () { answerInvitation(false); } } }))
    );

    // pre-chat form
    formEl = h('form', { novalidate: true, 'aria-label': t('start'), hidden: true, on: { submit: submitPrechat } });
    formFields = [];
    var fields = Array.isArray(campaign.prechat) ? campaign.prechat : [];
    formEl.appendChild(h('p', { cls: 'intro', text: fields.length ? t('intro') : (campaign.messages && campaign.messages.greeting) || t('invite') }));
    if (fields.some(function (f) { return f.required; })) formEl.appendChild(h('p', { cls: 'note', text: t('reqNote') }));
    fields.forEach(function (f, i) {
      var kind = f.kind || 'text';
      var input = kind === 'textarea'
        ? h('textarea', { cls: 'in', rows: 3, maxlength: 1000 })
        : h('input', {
            cls: 'in',
            type: kind === 'email' ? 'email' : kind === 'phone' ? 'tel' : 'text',
            maxlength: 1000,
            autocomplete: f.key === 'name' ? 'name' : kind === 'email' ? 'email' : kind === 'phone' ? 'tel' : 'off',
          });
      formFields.push({ f: f, input: input });
      formEl.appendChild(field('pw-f' + i, String(f.label || f.key), input, !!f.required));
    });
    formErr = h('p', { cls: 'err', role: 'alert' });
    startBtn = h('button', { type: 'submit', cls: 'btn', text: t('start') });
    formEl.appendChild(startBtn);
    formEl.appendChild(formErr);

    // conversation
    logEl = h('div', { cls: 'log', role: 'log', 'aria-label': t('conversation'), hidden: true });
    qsEl = h('div', { cls: 'qs', role: 'status', hidden: true });
    typingEl = h('div', { cls: 'typing', 'aria-live': 'polite' });

    // post-chat survey
    var post = campaign.postchat || {};
    surveyQ = h('legend', { text: post.question || t('rateQ') });
    var stars = h('div', { cls: 'stars' });
    for (var r = 1; r <= 5; r++) {
      var rid = 'pw-r' + r;
      stars.appendChild(h('label', { for: rid, title: L.stars[r - 1] },
        h('input', { type: 'radio', name: 'rating', value: r, id: rid, on: { change: paintStars } }),
        h('span', { cls: 'star', 'aria-hidden': 'true', text: '★' }),
        h('span', { cls: 'sr', text: t('outOf', r) + ' – ' + L.stars[r - 1] })));
    }
    ratingErr = h('p', { cls: 'err', role: 'alert' });
    commentIn = h('textarea', { cls: 'in', rows: 3, maxlength: 1000 });
    commentFld = field('pw-comment', t('comment'), commentIn, false);
    show(commentFld, post.comment !== false);
    surveyForm = h('form', { novalidate: true, on: { submit: submitSurvey } },
      h('fieldset', null, surveyQ, stars), ratingErr, commentFld,
      h('div', { cls: 'row' }, h('button', { type: 'submit', cls: 'btn', text: t('sendRating') }),
        h('button', { type: 'button', cls: 'btn2', text: t('skip'), on: { click: function () { finishSurvey(); } } })));
    surveySec = h('section', { cls: 'card', 'aria-label': t('rateQ'), hidden: true }, surveyForm);

    thanksEl = h('p', { cls: 'ok', role: 'status', hidden: true, text: t('thanks') });
    emailBtn = h('button', { type: 'button', cls: 'btn2', text: t('emailMe'), hidden: true, on: { click: emailTranscript } });
    emailSt = h('p', { cls: 'ok', role: 'status' });
    doneSec = h('div', { cls: 'row', hidden: true }, h('button', { type: 'button', cls: 'btn', text: t('newChat'), on: { click: newChat } }),
      emailBtn, emailSt);

    // leave a message
    leaveText = h('p', { cls: 'big' });
    var lName = h('input', { cls: 'in', type: 'text', maxlength: 200, autocomplete: 'name', name: 'name' });
    var lEmail = h('input', { cls: 'in', type: 'email', maxlength: 320, autocomplete: 'email', name: 'email' });
    var lText = h('textarea', { cls: 'in', rows: 4, maxlength: 4000, name: 'text' });
    leaveBtn = h('button', { type: 'submit', cls: 'btn', text: t('sendLeft') });
    leaveForm = h('form', { novalidate: true, 'aria-label': t('leave'), on: { submit: submitLeave } },
      field('pw-lname', t('name'), lName, false), field('pw-lemail', t('emailL'), lEmail, true),
      field('pw-ltext', t('text'), lText, true), leaveBtn, (leaveErr = h('p', { cls: 'err', role: 'alert' })));
    leaveOk = h('p', { cls: 'ok', role: 'status', hidden: true, text: t('left') });
    leaveSec = h('section', { cls: 'card', 'aria-label': t('leave'), hidden: true }, h('h3', { cls: 'sr', text: t('leave') }), leaveText, leaveForm, leaveOk);

    bodyEl = h('div', { cls: 'body' }, inviteSec, formEl, logEl, qsEl, typingEl, surveySec, thanksEl, doneSec, leaveSec);

    composeIn = h('textarea', { cls: 'in', id: 'pw-msg', rows: 1, placeholder: t('placeholder'),
      'aria-describedby': 'pw-msg-err', on: { keydown: composeKey, input: typed } });
    composeErr = h('p', { cls: 'err', id: 'pw-msg-err', role: 'alert' });
    fileIn = h('input', { type: 'file', multiple: true, hidden: true, tabindex: '-1', 'aria-hidden': 'true',
      on: { change: function () { var fl = list(fileIn.files); fileIn.value = ''; addFiles(fl); } } });
    attachBtn = h('button', { type: 'button', cls: 'clip', 'aria-label': t('attach'), title: t('attach'), hidden: !filesCfg,
      on: { click: function () { fileIn.click(); } } }, svg(ICON_CLIP));
    composeEl = h('form', { cls: 'compose', hidden: true, on: { submit: function (e) { e.preventDefault(); sendMessage(); } } },
      h('label', { cls: 'sr', for: 'pw-msg', text: t('message') }), attachBtn, fileIn, composeIn,
      h('button', { type: 'submit', cls: 'btn', text: t('send') }), composeErr);
    dropEl = h('div', { cls: 'dropz', 'aria-hidden': 'true', hidden: true });

    win = h('div', { cls: 'win', id: 'pw-win', role: 'dialog', 'aria-labelledby': 'pw-title', hidden: true,
      on: { keydown: function (e) { if (e.key === 'Escape') { e.stopPropagation(); setOpen(false, true, true); } },
        dragenter: onDrag, dragover: onDrag, dragleave: onDrag, drop: onDrop, paste: onPaste } },
      h('div', { cls: 'hd' }, titleEl, endBtn, minBtn), connEl, bodyEl, composeEl, dropEl);

    root.appendChild(launcher);
    root.appendChild(win);
    (D.body || D.documentElement).appendChild(hostEl);
  }

  // ---- views ---------------------------------------------------------------------------------------
  /** invite | form | chat | survey | done | leave */
  function setView(v) {
    view = v;
    win.classList.toggle('compact', v === 'invite');
    var hasLog = logEl.childNodes.length > 0;
    show(inviteSec, v === 'invite');
    show(formEl, v === 'form');
    show(logEl, (v === 'chat' || v === 'survey' || v === 'done' || v === 'leave') && hasLog);
    show(qsEl, v === 'chat' && chatStatus === 'queued' && qsEl.childNodes.length > 0);
    show(typingEl, v === 'chat');
    show(surveySec, v === 'survey');
    show(thanksEl, v === 'done' && thanksEl.getAttribute('data-on') === '1');
    show(doneSec, v === 'done');
    show(emailBtn, v === 'done' && mailOn && chatEmail && chat != null && !emailBtn.getAttribute('data-sent'));
    show(leaveSec, v === 'leave');
    show(composeEl, v === 'chat');
    show(endBtn, v === 'chat' && chat != null && chatStatus !== 'ended');
  }
  function defaultView() {
    if (invitation) return setView('invite');
    var u = ui();
    if (!chat && u.ended && campaign.postchat && campaign.postchat.enabled) {
      surveyChat = u.ended;
      return setView('survey');
    }
    setView('form');
  }
  function focusView() {
    var target =
      view === 'invite' ? inviteSec.querySelector('button') :
      view === 'form' ? (formFields.length ? formFields[0].input : startBtn) :
      view === 'chat' ? composeIn :
      view === 'survey' ? surveyForm.querySelector('input') :
      view === 'done' ? doneSec.querySelector('button') :
      view === 'leave' ? (leaveForm.hidden ? leaveOk : leaveForm.querySelector('input')) : null;
    if (target) target.focus({ preventScroll: true });
  }
  /** Open or minimize the window; `share`: tell the other tabs; `byUser`: move focus. */
  function setOpen(open, share, byUser) {
    isOpen = open;
    show(win, open);
    show(launcher, !open);
    launcher.setAttribute('aria-expanded', open ? 'true' : 'false');
    if (open) {
      unread = 0;
      paintBadge();
      scrollDown(true);
    }
    if (share) setUi({ open: open });
    if (byUser) {
      if (open) focusView();
      else launcher.focus();
    }
  }
  function paintBadge() {
    badge.textContent = String(unread);
    show(badge, unread > 0);
    launcher.setAttribute('aria-label', unread > 0 ? t('openUnread', unread) : t('open'));
  }
  function scrollDown(force) {
    var near = bodyEl.scrollHeight - bodyEl.scrollTop - bodyEl.clientHeight < 120;
    if (force || near) bodyEl.scrollTop = bodyEl.scrollHeight;
  }
  function setConn(text) {
    connEl.textContent = text || '';
    show(connEl, !!text);
  }

  // ---- the connection -------------------------------------------------------------------------------
  function page() {
    return { url: String(W.location.href).slice(0, 2000), title: String(D.title || '').slice(0, 500), referrer: String(D.referrer || '').slice(0, 2000) };
  }
  function send(frame) {
    if (!ws || !ready || ws.readyState !== 1) return false;
    try {
      ws.send(JSONstringify(frame));
      return true;
    } catch (e) {
      return false;
    }
  }
  function connect() {
    clearT(retryTimer);
    retryTimer = null;
    if (stopped || ws) return;
    var sock;
    try {
      sock = new Sock(WS_URL);
    } catch (e) {
      return retry();
    }
    ws = sock;
    ready = false;
    sock.onopen = function () {
      var p = page();
      lastPage = p.url + '\n' + p.title;
      var hello = { type: 'hello', v: 1, campaign: CAMPAIGN, token: token || null, page: p };
      // The visitor's time zone, so that agents see their local time.
      try { p.zone = String(Intl.DateTimeFormat().resolvedOptions().timeZone || '').slice(0, 64); } catch (e) { /* no Intl */ }
      if (chat != null && lastSeq[chat]) {
        hello.chat = chat;
        hello.after = lastSeq[chat];
      }
      lastHeard = now();
      sock.send(JSONstringify(hello));
    };
    sock.onmessage = function (e) {
      if (ws !== sock) return;
      lastHeard = now();
      var f;
      try {
        f = JSONparse(e.data);
      } catch (err) {
        return;
      }
      if (f && typeof f.type === 'string') onFrame(f);
    };
    sock.onclose = function (e) {
      if (ws !== sock) return;
      ws = null;
      ready = false;
      closed(e.code, e.reason);
    };
    sock.onerror = function () {
      /* a close follows */
    };
  }
  function closed(code, reason) {
    if (code === 4004) {
      stop(
        reason === 'site_disabled' || lastError === 'site_disabled'
          ? 'Parley chat widget: live chat is turned off for the site of campaign ' + CAMPAIGN + '; the chat is not shown.'
          : 'Parley chat widget: campaign ' + CAMPAIGN + ' does not exist (unknown or deleted campaign id in data-campaign); the chat is not shown.'
      );
      return;
    }
    if (code === 4000) {
      stop('Parley chat widget: the server refused the connection (' + (reason || code) + '); the chat is not shown.');
      return;
    }
    typingStop();
    if (root) setConn(t('reconnecting'));
    retry();
  }
  function stop(message) {
    stopped = true;
    clearT(retryTimer);
    if (ws) {
      try { ws.close(); } catch (e) { /* gone */ }
      ws = null;
    }
    if (hostEl && hostEl.parentNode) hostEl.parentNode.removeChild(hostEl);
    logError(message);
  }
  function retry() {
    if (stopped || retryTimer) return;
    var base = Math.min(30000, 500 * Math.pow(2, attempt));
    attempt = Math.min(attempt + 1, 10);
    retryTimer = setT(function () {
      retryTimer = null;
      connect();
    }, base * (0.6 + Math.random() * 0.4));
  }
  function reconnectNow() {
    if (stopped) return;
    if (ws) {
      var s = ws;
      ws = null;
      ready = false;
      try { s.close(); } catch (e) { /* gone */ }
    }
    attempt = 0;
    connect();
  }
  W.addEventListener('online', function () {
    if (!ready) reconnectNow();
  });
  // Liveness: the server pings at the WebSocket level (browsers answer by themselves), but a
  // silently dead network is only noticed by us asking.
  setI(function () {
    if (!ws || !ready) return;
    var at = now();
    if (pingSent && at - pingSent > 10000 && lastHeard < pingSent) {
      pingSent = 0;
      reconnectNow();
      return;
    }
    if (at - lastHeard > 25000 && !pingSent) {
      pingSent = at;
      send({ type: 'ping' });
    } else if (lastHeard >= pingSent) pingSent = 0;
    // A single-page application changed its page without reloading.
    var p = page();
    var key = p.url + '\n' + p.title;
    if (key !== lastPage) {
      lastPage = key;
      send({ type: 'page', url: p.url, title: p.title, referrer: p.referrer });
    }
  }, 2000);

  // ---- frames from the server ------------------------------------------------------------------------
  function onFrame(f) {
    switch (f.type) {
      case 'visitor_welcome': return welcome(f);
      case 'event': return onEvent(f);
      case 'ack': return onAck(f);
      case 'chat': return onChat(f.chat);
      case 'queue': return onQueue(f);
      case 'offline': return onOffline(f);
      case 'typing': return onTyping(f);
      case 'left': return onLeft();
      case 'transcript_emailed': return onEmailed(f);
      case 'error': return onError(f);
      case 'invitation': return onInvitation(f);
      case 'invitation_closed': return onInvitationClosed(f);
      default: return undefined;
    }
  }

  function welcome(f) {
    token = f.token;
    lsSet(K_TOKEN, token);
    attempt = 0;
    ready = true;
    pingSent = 0;
    var first = !campaign;
    if (f.max_message_bytes > 0) maxBytes = f.max_message_bytes;
    filesCfg = f.files && f.files.max_bytes > 0 ? f.files : null;
    if (attachBtn) show(attachBtn, !!filesCfg);
    mailOn = !!f.mail;
    if (f.chat) chatEmail = !!f.chat.has_email;
    ownCampaign = f.campaign || {};
    if (first) {
      campaign = following(f.chat);
      build();
    } else {
      setConn('');
      follow(following(f.chat));
    }
    var open = f.chat;
    replayUpTo = open ? open.last_seq || 0 : 0;
    if (open) {
      if (chat != null && open.id !== chat) clearLog();
      adopt(open.id);
      chatStatus = open.status;
      setView('chat');
      renderQueue(null);
    } else if (chat != null && chatStatus !== 'ended') {
      // Our chat ended while we were away.
      var gone = h('p', { cls: 'sys', text: t('ended') });
      gone.setAttribute('data-chat', chat);
      gone.setAttribute('data-seq', (lastSeq[chat] || 0) + 0.5);
      logEl.appendChild(gone);
      ended(chat, 'agent');
    } else if (first) {
      defaultView();
    }
    // Messages sent but not acknowledged (here, or on the page before): send them again with
    // the same id; a stored one is only acknowledged again.
    var out = outbox();
    var keep = out.filter(function (m) { return open && m.chat === open.id; });
    if (keep.length !== out.length) setOutbox(keep);
    keep.forEach(function (m) {
      if (!pending[m.id]) renderPending(m);
      send(messageFrame(m));
    });
    if (first) {
      var u = ui();
      setOpen(!!u.open, false, false);
    }
  }

  function clearLog() {
    while (logEl.firstChild) logEl.removeChild(logEl.firstChild);
    pending = {};
    uploads.forEach(function (u) { if (u.xhr) u.xhr.abort(); });
    uploads = [];
    blobs.forEach(dropUrl);
    blobs = [];
    agentName = '';
  }
  /** Make `id` the chat shown (a new one, or the one of the welcome). */
  function adopt(id) {
    if (chat === id) return;
    var wasEnded = chatStatus === 'ended';
    chat = id;
    chatStatus = 'queued';
    surveyChat = null;
    thanksEl.setAttribute('data-on', '0');
    emailBtn.removeAttribute('data-sent');
    emailSt.textContent = '';
    if (wasEnded && logEl.lastChild && logEl.lastChild.getAttribute('data-by') !== 'transfer') clearLog();
    setUi({ ended: null });
  }

  function onEvent(e) {
    if (e.chat !== chat) {
      if (e.kind === 'survey' && e.chat === surveyChat) return surveyDone();
      if (chat != null && e.chat < chat) return;
      adopt(e.chat);
      starting = false;
      if (view !== 'chat') setView('chat');
    }
    var key = e.chat + ':' + e.seq;
    if (shown[key]) return;
    shown[key] = true;
    if (!lastSeq[e.chat] || e.seq > lastSeq[e.chat]) lastSeq[e.chat] = e.seq;
    var live = e.seq > replayUpTo;
    var el = null;
    switch (e.kind) {
      case 'message': {
        var mine = e.author && e.author.by === 'visitor';
        if (e.client_id && pending[e.client_id]) {
          var p = pending[e.client_id];
          delete pending[e.client_id];
          if (p.parentNode) p.parentNode.removeChild(p);
        }
        if (mine && e.client_id) dropOut(e.client_id);
        var who = mine ? t('you') : (e.author && e.author.name) || agentName || t('agent');
        el = e.file ? fileBubble(mine, who, e.text, e.file) : bubble(mine, who, e.text);
        if (!mine) {
          showTyping(false);
          if (live && !isOpen) {
            unread++;
            paintBadge();
          }
        }
        break;
      }
      case 'system':
        el = h('p', { cls: 'sys', text: String(e.text || '') });
        break;
      case 'assigned':
        agentName = String(e.name || '');
        chatStatus = 'active';
        renderQueue(null);
        el = h('p', { cls: 'sys', text: t('joined', 0, agentName || t('agent')) });
        break;
      case 'queued':
        chatStatus = 'queued';
        break;
      case 'ended':
        el = h('p', { cls: 'sys', 'data-by': e.by, text: e.by === 'transfer' ? '' : t('ended') });
        if (e.by === 'transfer') show(el, false);
        break;
      case 'survey':
        // The thanks are the done view's status, said once; the log keeps what was given.
        el = h('p', { cls: 'sys', text: t('rated', e.rating) });
        break;
      default:
        break;
    }
    if (el) {
      el.setAttribute('data-chat', e.chat);
      el.setAttribute('data-seq', e.seq);
      place(el, e.chat, e.seq);
      if (view === 'chat' || view === 'survey' || view === 'done' || view === 'leave') show(logEl, true);
      scrollDown(false);
    }
    if (e.kind === 'ended') ended(e.chat, e.by);
    if (e.kind === 'survey') surveyDone();
    if (view === 'chat') show(endBtn, chatStatus !== 'ended');
  }
  /** Insert in seq order, before any message still being sent. */
  function place(el, c, seq) {
    var kids = logEl.childNodes;
    for (var i = 0; i < kids.length; i++) {
      var k = kids[i];
      if (k.getAttribute('data-pending') === '1') return logEl.insertBefore(el, k);
      if (Number(k.getAttribute('data-chat')) === c && Number(k.getAttribute('data-seq')) > seq) return logEl.insertBefore(el, k);
    }
    logEl.appendChild(el);
  }
  function bubble(mine, who, text) {
    return h('div', { cls: 'm ' + (mine ? 'v' : 'a') },
      h('span', { cls: mine ? 'who sr' : 'who', text: who }),
      h('p', { cls: 'txt', text: String(text == null ? '' : text) }));
  }
  function renderPending(m) {
    var el = m.file ? fileBubble(true, t('you'), m.text, m.file, true) : bubble(true, t('you'), m.text);
    el.classList.add('pend');
    el.setAttribute('data-pending', '1');
    var st = h('span', { cls: 'st', text: t('sending') });
    el.appendChild(st);
    pending[m.id] = el;
    logEl.appendChild(el);
    show(logEl, view === 'chat');
    scrollDown(true);
  }
  function ended(c, by) {
    if (c !== chat) return;
    chatStatus = 'ended';
    typingStop();
    showTyping(false);
    renderQueue(null);
    if (by === 'transfer') return; // a new chat (on another site) follows in this window
    if (by === 'no_agent') return offlineView();
    if (campaign.postchat && campaign.postchat.enabled && view !== 'done') {
      surveyChat = c;
      setUi({ ended: c });
      setView('survey');
    } else if (view !== 'survey') {
      setView('done');
    }
  }

  function onAck(f) {
    dropOut(f.id);
    var p = pending[f.id];
    if (p) {
      // Stored, but its event has not reached us (it will, or it did on another connection).
      p.removeAttribute('data-pending');
      p.classList.remove('pend');
      var st = p.querySelector('.st');
      if (st) st.parentNode.removeChild(st);
      p.setAttribute('data-chat', f.chat);
      p.setAttribute('data-seq', f.seq);
      delete pending[f.id];
      shown[f.chat + ':' + f.seq] = true;
    }
  }

  /**
   * The campaign to follow for a chat: after a cross-site transfer the chat carries the
   * receiving site's (its language, texts and post-chat form; the window keeps its own style),
   * otherwise the widget's own.
   */
  function following(rec) {
    if (!rec || !rec.campaign) return ownCampaign;
    var c = {};
    for (var k in ownCampaign) c[k] = ownCampaign[k];
    c.language = rec.campaign.language;
    c.messages = rec.campaign.messages;
    c.postchat = rec.campaign.postchat;
    return c;
  }
  /** Rebuild the window in another campaign's language, keeping the conversation and the view. */
  function follow(want) {
    if (JSON.stringify(want) === JSON.stringify(campaign)) return;
    campaign = want;
    var kids = Array.prototype.slice.call(logEl.childNodes);
    var draft = composeIn.value;
    var was = view;
    var open = isOpen;
    if (hostEl.parentNode) hostEl.parentNode.removeChild(hostEl);
    build();
    kids.forEach(function (k) { logEl.appendChild(k); });
    composeIn.value = draft;
    setView(was);
    setOpen(open, false, false);
    paintBadge();
  }

  function onChat(rec) {
    if (!rec) return;
    if (!(chat != null && rec.id < chat)) follow(following(rec));
    if (rec.id !== chat) {
      if (chat != null && rec.id < chat) return;
      adopt(rec.id);
    }
    chatEmail = !!rec.has_email;
    // The chat frame of a new chat says "queued" even when its "assigned" event came first.
    if (!(rec.status === 'queued' && chatStatus === 'active')) chatStatus = rec.status;
    var mine = starting;
    starting = false;
    startBtn.disabled = false;
    invitation = null;
    setView('chat');
    if (!isOpen) setOpen(true, true, false); // started in another tab, or opened by an agent
    if (mine) composeIn.focus({ preventScroll: true });
  }

  function onQueue(f) {
    if (f.chat !== chat) return;
    renderQueue(f);
  }
  function renderQueue(f) {
    while (qsEl.firstChild) qsEl.removeChild(qsEl.firstChild);
    if (f && chatStatus === 'queued') {
      qsEl.appendChild(h('p', { text: t('queue', f.position) }));
      if (f.eta_secs != null) {
        qsEl.appendChild(h('p', { text: f.eta_secs < 60 ? t('etaSoon') : t('eta', Math.round(f.eta_secs / 60)) }));
      }
    }
    show(qsEl, view === 'chat' && qsEl.childNodes.length > 0);
  }

  function offlineView() {
    starting = false;
    startBtn.disabled = false;
    leaveText.textContent = (campaign.messages && campaign.messages.offline) || t('offline');
    var name = prechatValues.name;
    var email = prechatValues.email;
    var inputs = leaveForm.querySelectorAll('.in');
    if (name && !inputs[0].value) inputs[0].value = name;
    if (email && !inputs[1].value) inputs[1].value = email;
    show(leaveForm, true);
    show(leaveOk, false);
    setView('leave');
    if (!isOpen) setOpen(true, true, false);
  }
  function onOffline(f) {
    if (f.chat == null || f.chat === chat) offlineView();
  }
  function onLeft() {
    leaving = false;
    leaveBtn.disabled = false;
    show(leaveForm, false);
    show(leaveOk, true);
    leaveOk.setAttribute('tabindex', '-1');
    if (hostEl.shadowRoot.activeElement) leaveOk.focus();
  }

  function onTyping(f) {
    if (f.chat !== chat) return;
    showTyping(!!f.on);
  }
  function showTyping(on) {
    clearT(agentTypingTimer);
    typingEl.textContent = on ? t('typing', 0, agentName || t('agent')) : '';
    if (on) agentTypingTimer = setT(function () { showTyping(false); }, 15000);
  }

  function onError(f) {
    var code = f.code;
    lastError = code;
    if (f.id && pending[f.id]) {
      var p = pending[f.id];
      delete pending[f.id];
      dropOut(f.id);
      p.removeAttribute('data-pending');
      var st = p.querySelector('.st');
      var why = code === 'message_too_long' ? t('tooLong') : code === 'chat_ended' || code === 'chat_not_found' ? t('chatOver') : code === 'empty_message' ? t('empty') : code === 'upload_not_found' ? t('upGone') : t('failed');
      st.textContent = t('notSent', why);
      st.classList.add('bad');
      return;
    }
    if (code === 'invalid_field') {
      if (leaving) {
        leaving = false;
        leaveBtn.disabled = false;
        var inp = leaveForm.querySelector(f.field === 'email' ? '#pw-lemail' : '#pw-ltext');
        if (inp) {
          setErr(inp, f.field === 'email' ? t('email') : t('long', 4000));
          inp.focus();
        }
        return;
      }
      starting = false;
      startBtn.disabled = false;
      for (var i = 0; i < formFields.length; i++) {
        if (formFields[i].f.key === f.field) {
          var ff = formFields[i];
          var local = checkField(ff);
          setErr(ff.input, local || String(f.message || t('required')));
          ff.input.focus();
          return;
        }
      }
      formErr.textContent = String(f.message || '');
      return;
    }
    var asked = emailBtn.getAttribute('data-asked');
    if (asked && f.chat === Number(asked) && (code === 'rate_limited' || code === 'not_allowed' || code === 'internal')) {
      emailBtn.removeAttribute('data-asked');
      emailBtn.disabled = false;
      if (code !== 'internal') emailBtn.setAttribute('data-sent', '1');
      show(emailBtn, code === 'internal');
      emailSt.textContent = code === 'internal' ? t('retry') : code === 'rate_limited' ? t('emailLimit') : String(f.message || '');
      return;
    }
    if (code === 'not_allowed' || code === 'invalid_rating' || (code === 'chat_not_found' && view === 'survey')) {
      if (view === 'survey') finishSurvey();
      return;
    }
    if (code === 'internal' && leaving) {
      leaving = false;
      leaveBtn.disabled = false;
      leaveErr.textContent = t('retry');
    }
  }

  function onInvitation(f) {
    if (chat != null && chatStatus !== 'ended') return;
    // An automatic invitation never interrupts a visitor who has the window open (reading,
    // filling the form, typing): it is skipped, and runs out unanswered.
    if (f.mode === 'auto' && isOpen) return;
    invitation = f;
    var name = f.agent ? String(f.agent) : '';
    inviteBy.textContent = name ? t('inviteBy', 0, name) : '';
    show(inviteBy, !!name);
    inviteText.textContent = String(f.text || '') || t('invite');
    setView('invite');
    if (!isOpen) setOpen(true, false, false);
  }
  function onInvitationClosed(f) {
    if (!invitation || f.invitation !== invitation.invitation) {
      // Our answer came too late: it had been refused (or had run out) in the meantime.
      if (f.invitation === answered && f.outcome !== 'accepted' && !starting && chat == null) {
        answered = null;
        defaultView();
        if (f.outcome === 'refused') setOpen(false, false, false);
      }
      return;
    }
    invitation = null;
    if (f.outcome === 'refused') {
      defaultView();
      setOpen(false, false, false);
    } else if (f.outcome === 'accepted') {
      if (view === 'invite') setView('form');
    } else if (view === 'invite') {
      defaultView();
    }
  }
  function answerInvitation(accept) {
    if (!invitation) return;
    var id = invitation.invitation;
    if (!send({ type: 'invitation_answer', invitation: id, accept: accept })) {
      setConn(t('reconnecting'));
      return;
    }
    invitation = null;
    answered = id;
    if (accept) {
      if (formFields.length === 0) {
        setView('form');
        startChat({});
      } else {
        setView('form');
        focusView();
      }
    } else {
      defaultView();
      setOpen(false, true, true);
    }
  }

  // ---- what the visitor does ---------------------------------------------------------------------------
  function checkField(ff) {
    var v = ff.input.value.trim();
    if (!v) return ff.f.required ? t('required') : '';
    if (v.length > 1000) return t('long', 1000);
    if (ff.f.kind === 'email' && !EMAIL.test(v)) return t('email');
    return '';
  }
  function submitPrechat(e) {
    e.preventDefault();
    if (starting) return;
    var fields = {};
    var firstBad = null;
    formErr.textContent = '';
    formFields.forEach(function (ff) {
      var msg = checkField(ff);
      setErr(ff.input, msg);
      if (msg && !firstBad) firstBad = ff.input;
      var v = ff.input.value.trim();
      if (v) fields[ff.f.key] = v;
    });
    if (firstBad) {
      firstBad.focus();
      return;
    }
    prechatValues = fields;
    startChat(fields);
  }
  function startChat(fields) {
    if (!send({ type: 'start', fields: fields })) {
      formErr.textContent = t('retry');
      return;
    }
    starting = true;
    startBtn.disabled = true;
    setT(function () {
      if (starting) {
        starting = false;
        startBtn.disabled = false;
      }
    }, 15000);
  }

  function composeKey(e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      sendMessage();
    }
  }
  function typed() {
    if (composeErr.textContent && utf8Len(composeIn.value.trim()) <= maxBytes) {
      composeErr.textContent = '';
      composeIn.removeAttribute('aria-invalid');
    }
    if (chat == null || chatStatus === 'ended') return;
    if (!typingOn && composeIn.value.trim()) {
      typingOn = send({ type: 'typing', chat: chat, on: true });
    }
    clearT(typingTimer);
    typingTimer = setT(typingStop, 4000);
  }
  function typingStop() {
    clearT(typingTimer);
    if (typingOn && chat != null) send({ type: 'typing', chat: chat, on: false });
    typingOn = false;
  }
  /** Bytes of `s` in UTF-8 (what the server's limit counts). */
  function utf8Len(s) {
    var n = 0;
    for (var i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i);
      if (c < 0x80) n += 1;
      else if (c < 0x800) n += 2;
      else if (c >= 0xd800 && c <= 0xdbff) { n += 4; i++; } else n += 3;
    }
    return n;
  }
  function sendMessage() {
    var text = composeIn.value.trim();
    if (!text || chat == null || chatStatus === 'ended') return;
    // Over the server's limit: say so and keep the text, rather than send what is refused.
    if (utf8Len(text) > maxBytes) {
      composeErr.textContent = t('tooLongMax', maxBytes);
      composeIn.setAttribute('aria-invalid', 'true');
      composeIn.focus();
      return;
    }
    composeErr.textContent = '';
    composeIn.removeAttribute('aria-invalid');
    var m = { chat: chat, id: randomId(), text: text };
    var o = outbox();
    o.push(m);
    setOutbox(o);
    renderPending(m);
    composeIn.value = '';
    typingStop();
    send(messageFrame(m)); // else: sent again after reconnecting
  }
  /** The frame of an outbox entry: its text, its upload, or both. */
  function messageFrame(m) {
    var f = { type: 'message', chat: m.chat, id: m.id };
    if (m.text) f.text = m.text;
    if (m.upload != null) f.upload = m.upload;
    return f;
  }
  function endChat() {
    if (chat == null || chatStatus === 'ended') return;
    if (!send({ type: 'end', chat: chat })) setConn(t('reconnecting'));
  }

  function paintStars() {
    var labels = surveyForm.querySelectorAll('.stars label');
    var checked = surveyForm.querySelector('.stars input:checked');
    var n = checked ? Number(checked.value) : 0;
    for (var i = 0; i < labels.length; i++) labels[i].classList.toggle('on', i < n);
    ratingErr.textContent = '';
  }
  function submitSurvey(e) {
    e.preventDefault();
    var checked = surveyForm.querySelector('.stars input:checked');
    if (!checked) {
      ratingErr.textContent = t('chooseRating');
      surveyForm.querySelector('.stars input').focus();
      return;
    }
    var frame = { type: 'survey', chat: surveyChat, rating: Number(checked.value) };
    var comment = commentIn.value.trim();
    if (comment && campaign.postchat.comment !== false) frame.comment = comment.slice(0, 1000);
    if (!send(frame)) {
      ratingErr.textContent = t('retry');
      return;
    }
    setT(function () { if (view === 'survey') surveyDone(); }, 5000);
  }
  function surveyDone() {
    thanksEl.setAttribute('data-on', '1');
    finishSurvey();
  }
  function finishSurvey() {
    var wasHere = hostEl.shadowRoot.activeElement != null;
    surveyChat = null;
    setUi({ ended: null });
    setView('done');
    if (wasHere) focusView();
  }
  function newChat() {
    clearLog();
    // A new chat is on the widget's own campaign, whatever the last one moved to.
    follow(ownCampaign);
    chat = null;
    chatStatus = null;
    thanksEl.setAttribute('data-on', '0');
    surveyForm.reset();
    paintStars();
    setView('form');
    focusView();
  }

  function emailTranscript() {
    if (chat == null || emailBtn.getAttribute('data-asked')) return;
    if (!send({ type: 'email_transcript', chat: chat })) {
      emailSt.textContent = t('retry');
      return;
    }
    emailBtn.setAttribute('data-asked', String(chat));
    emailBtn.disabled = true;
  }
  function onEmailed(f) {
    if (f.chat !== chat) return;
    emailBtn.removeAttribute('data-asked');
    emailBtn.disabled = false;
    emailBtn.setAttribute('data-sent', '1');
    show(emailBtn, false);
    emailSt.textContent = t('emailSent');
  }

  function submitLeave(e) {
    e.preventDefault();
    if (leaving) return;
    var inputs = leaveForm.querySelectorAll('.in');
    var name = inputs[0].value.trim();
    var email = inputs[1].value.trim();
    var text = inputs[2].value.trim();
    var eErr = !email ? t('required') : EMAIL.test(email) ? '' : t('email');
    var tErr = !text ? t('required') : text.length > 4000 ? t('long', 4000) : '';
    setErr(inputs[1], eErr);
    setErr(inputs[2], tErr);
    if (eErr || tErr) {
      (eErr ? inputs[1] : inputs[2]).focus();
      return;
    }
    leaveErr.textContent = '';
    if (!send({ type: 'leave_message', name: name, email: email, text: text })) {
      leaveErr.textContent = t('retry');
      return;
    }
    leaving = true;
    leaveBtn.disabled = true;
  }

  // ---- files: attach (button, drop, paste), upload with progress, show ------------------------------
  function list(fl) {
    return Array.prototype.slice.call(fl || []);
  }
  /** "10 MiB", "482 KiB", "300 bytes", as the server counts them (in the widget's language). */
  function human(n) {
    n = Number(n) || 0;
    if (n < 1024) return n + ' ' + t('bytes');
    var mib = n >= 1048576;
    var v = n / (mib ? 1048576 : 1024);
    var s = !mib ? String(Math.ceil(v)) : n % 1048576 === 0 ? String(v) : v.toFixed(1);
    return s.replace('.', t('dec')) + ' ' + t(mib ? 'mib' : 'kib');
  }
  var KINDS = {
    'application/pdf': 'PDF', 'text/html': 'HTML', 'image/svg+xml': 'SVG', 'application/zip': 'ZIP',
    'application/msword': 'Word', 'application/vnd.ms-excel': 'Excel', 'application/vnd.ms-powerpoint': 'PowerPoint',
  };
  function kind(mime) {
    var m = String(mime || '');
    return KINDS[m] || (/wordprocessingml/.test(m) ? 'Word' : /spreadsheetml/.test(m) ? 'Excel' : /presentationml/.test(m) ? 'PowerPoint' : /opendocument/.test(m) ? 'OpenDocument' : m);
  }
  function chatOpen() {
    return chat != null && chatStatus !== 'ended' && view === 'chat';
  }
  function hasFiles(e) {
    var ty = e.dataTransfer && e.dataTransfer.types;
    for (var i = 0; ty && i < ty.length; i++) if (ty[i] === 'Files') return true;
    return false;
  }
  function onDrag(e) {
    if (!hasFiles(e)) return;
    e.preventDefault(); // a file dropped on the window never replaces the page
    if (!chatOpen()) {
      e.dataTransfer.dropEffect = 'none';
      return;
    }
    if (e.type === 'dragenter') dragDepth++;
    else if (e.type === 'dragleave') dragDepth = Math.max(0, dragDepth - 1);
    else e.dataTransfer.dropEffect = 'copy';
    dropEl.textContent = filesCfg ? t('dropHere') : t('noFiles');
    show(dropEl, dragDepth > 0);
  }
  function onDrop(e) {
    dragDepth = 0;
    show(dropEl, false);
    if (!hasFiles(e)) return;
    e.preventDefault();
    addFiles(list(e.dataTransfer.files));
  }
  /**
   * A pasted screenshot (or files copied in a file manager). Text copied from an office program
   * comes with a picture of itself: when the clipboard has text and only pictures, the text is
   * what is pasted.
   */
  function onPaste(e) {
    var cd = e.clipboardData;
    if (!cd || !chatOpen()) return;
    var fl = list(cd.files);
    if (!fl.length) {
      list(cd.items).forEach(function (it) {
        var f = it.kind === 'file' ? it.getAsFile() : null;
        if (f) fl.push(f);
      });
    }
    if (!fl.length) return;
    var text = list(cd.types).indexOf('text/plain') >= 0 && cd.getData('text/plain').trim();
    if (text && fl.every(function (f) { return /^image\//.test(f.type); })) return;
    e.preventDefault();
    addFiles(fl);
  }
  /** Each file is its own upload and message; too large or empty ones are not sent. */
  function addFiles(fl) {
    if (!fl.length || !chatOpen()) return;
    if (!filesCfg) {
      composeErr.textContent = t('noFiles');
      return;
    }
    var errs = [];
    fl.forEach(function (f) {
      var name = String(f.name || 'file');
      if (f.size > filesCfg.max_bytes) errs.push(t('fileTooBig', human(filesCfg.max_bytes), name));
      else if (!f.size) errs.push(t('fileEmpty', 0, name));
      else startUpload({ chat: chat, file: f, name: name });
    });
    composeErr.textContent = errs.join(' ');
  }
  /** The file's name, type and size (a link when `href` is given). */
  function fileCard(tag, name, mime, size, attrs) {
    var meta = h('span', { cls: 'fm', text: [kind(mime), human(size)].filter(Boolean).join(' · ') });
    var a = h(tag, attrs || null, svg(ICON_FILE), h('span', null, h('span', { cls: 'fn', text: name }), meta));
    a.classList.add('file');
    a.meta = meta;
    return a;
  }
  function startUpload(u) {
    u.bar = h('progress', { max: 100, value: 0, 'aria-label': t('uploading', 0, u.name) });
    u.pct = h('span', { cls: 'st', 'aria-hidden': 'true' });
    u.acts = h('span', { cls: 'acts' });
    u.el = h('div', { cls: 'm v pend', 'data-pending': '1' }, h('span', { cls: 'who sr', text: t('you') }),
      fileCard('span', u.name, u.file.type, u.file.size), u.bar, u.pct, u.acts);
    uploads.push(u);
    logEl.appendChild(u.el);
    show(logEl, true);
    scrollDown(true);
    upload(u);
  }
  function actions(u, btns) {
    while (u.acts.firstChild) u.acts.removeChild(u.acts.firstChild);
    btns.forEach(function (b) {
      u.acts.appendChild(h('button', { type: 'button', cls: 'lnk', text: b[0], 'aria-label': b[1], on: { click: b[2] } }));
    });
  }
  function dropUpload(u) {
    if (u.xhr) u.xhr.abort();
    u.xhr = null;
    uploads = uploads.filter(function (x) { return x !== u; });
    if (u.el.parentNode) u.el.parentNode.removeChild(u.el);
    if (composeIn) composeIn.focus({ preventScroll: true });
  }
  function upload(u) {
    var xhr = new XHR();
    u.xhr = xhr;
    u.bar.value = 0;
    show(u.bar, true);
    u.pct.textContent = '0%';
    if (u.err) u.el.removeChild(u.err);
    u.err = null;
    actions(u, [[t('cancel'), t('cancelUp', 0, u.name), function () { dropUpload(u); }]]);
    xhr.open('POST', ORIGIN + '/api/visitor/uploads?chat=' + u.chat + '&name=' + encode(u.name));
    xhr.setRequestHeader('Authorization', 'Bearer ' + token);
    xhr.upload.onprogress = function (e) {
      if (u.xhr !== xhr || !e.lengthComputable || !e.total) return;
      var p = Math.min(100, Math.floor((e.loaded * 100) / e.total));
      u.bar.value = p;
      u.pct.textContent = p + '%';
    };
    xhr.onload = function () {
      if (u.xhr !== xhr) return;
      var body = null;
      try {
        body = JSONparse(xhr.responseText);
      } catch (e) {
        /* not JSON: said by the status */
      }
      if (xhr.status === 201 && body && body.upload != null) return uploaded(u, body);
      // Retry-After is read only when the server exposes it to this origin (CORS): asking for a
      // header it does not expose logs an error in the page's console.
      var exposed = /(^|\n)retry-after:/i.test(xhr.getAllResponseHeaders());
      upFailed(u, xhr.status, body, exposed ? xhr.getResponseHeader('Retry-After') : null);
    };
    xhr.onerror = function () {
      if (u.xhr === xhr) upFailed(u, 0, null, null);
    };
    xhr.send(u.file);
  }
  var UP_WHY = { too_large: 'upTooBig', type_not_allowed: 'upType', type_mismatch: 'upType', rate_limited: 'upRate',
    chat_ended: 'chatOver', chat_not_found: 'chatOver', files_disabled: 'noFiles' };
  /** Why it failed: the server's own words in English, else ours by its code; and Retry. */
  function upFailed(u, status, body, retryAfter) {
    u.xhr = null;
    // (The upload's refusal codes, not the socket's: looked up, never compared one by one.)
    var key = status === 413 ? 'upTooBig' : !status ? 'upNet' : UP_WHY[body && body.error];
    var why = status && L === LABELS.en && body && body.message ? String(body.message)
      : key ? t(key, human(filesCfg ? filesCfg.max_bytes : 0))
      : (body && body.message) || t('failed');
    var secs = parseInt(retryAfter, 10);
    if (status === 429 && secs > 0) why += ' ' + t('retryIn', secs);
    show(u.bar, false);
    u.pct.textContent = '';
    u.err = h('p', { cls: 'st bad', role: 'alert', text: t('upFailed', why, u.name) });
    u.el.insertBefore(u.err, u.acts);
    actions(u, [
      [t('retryUp'), t('retryUp') + ': ' + u.name, function () { upload(u); }],
      [t('remove'), t('remove') + ': ' + u.name, function () { dropUpload(u); }],
    ]);
  }
  /** Stored: send it as a message, through the outbox like a text (resent after a reconnect). */
  function uploaded(u, body) {
    u.xhr = null;
    uploads = uploads.filter(function (x) { return x !== u; });
    var m = { chat: u.chat, id: randomId(), text: '', upload: body.upload,
      file: { name: String(body.name || u.name), type: String(body.type || ''), size: Number(body.size) || u.file.size } };
    var o = outbox();
    o.push(m);
    setOutbox(o);
    u.el.removeChild(u.bar);
    u.el.removeChild(u.acts);
    u.pct.removeAttribute('aria-hidden');
    u.pct.textContent = t('sending');
    pending[m.id] = u.el;
    send(messageFrame(m)); // else: sent again after reconnecting
  }
  /** Fetch a sent file with the visitor's token (the widget has no cookie), as a blob: address. */
  function loadFile(path, ok, bad) {
    if (!fetchF || !/^\/files\//.test(path)) {
      setT(bad, 0);
      return;
    }
    fetchF(ORIGIN + path, { headers: { Authorization: 'Bearer ' + token }, credentials: 'omit' })
      .then(function (r) {
        if (!r.ok) throw new Error('status ' + r.status);
        return r.blob();
      })
      .then(function (b) {
        var u = blobUrl(b);
        blobs.push(u);
        ok(u);
      }, bad);
  }
  /** A message with a file: an image inline (opening full size), anything else a download. */
  function fileBubble(mine, who, text, file, sending) {
    var name = String(file.name || 'file');
    var path = String(file.url || '');
    var el = h('div', { cls: 'm ' + (mine ? 'v' : 'a') }, h('span', { cls: mine ? 'who sr' : 'who', text: who }));
    var box;
    if (sending) {
      box = fileCard('span', name, file.type, file.size);
    } else if (file.image === true) {
      var img = h('img', { alt: name });
      box = h('a', { cls: 'pic', target: '_blank', rel: 'noopener', title: t('openImage', 0, name) }, img);
      loadFile(path, function (u) {
        var near = bodyEl.scrollHeight - bodyEl.scrollTop - bodyEl.clientHeight < 120;
        img.onload = function () { if (near) scrollDown(true); };
        img.src = u;
        box.href = u;
      }, function () {
        var card = fileCard('span', name, file.type, file.size);
        card.meta.textContent = t('fileLoad');
        if (box.parentNode) box.parentNode.replaceChild(card, box);
      });
    } else {
      // Never shown in the page: fetched with the token when asked for, then saved as NAME.
      box = fileCard('a', name, file.type, file.size, { href: ORIGIN + path, download: name });
      box.addEventListener('click', function (e) {
        if (box.getAttribute('data-ready')) return; // the blob: the browser saves it
        e.preventDefault();
        if (box.getAttribute('data-busy')) return;
        box.setAttribute('data-busy', '1');
        loadFile(path, function (u) {
          box.removeAttribute('data-busy');
          box.setAttribute('data-ready', '1');
          box.href = u;
          box.click();
        }, function () {
          box.removeAttribute('data-busy');
          box.meta.textContent = t('fileLoad');
        });
      });
    }
    el.appendChild(box);
    if (text) el.appendChild(h('p', { cls: 'txt', text: String(text) }));
    return el;
  }

  // ---- other tabs of this site --------------------------------------------------------------------------
  W.addEventListener('storage', function (e) {
    if (!root) return;
    if (e.key === K_UI) {
      var u = ui();
      if (!!u.open !== isOpen) setOpen(!!u.open, false, false);
    } else if (e.key === K_TOKEN && e.newValue && e.newValue !== token) {
      token = e.newValue;
    }
  });

  connect();
})();
