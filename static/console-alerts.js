// Getting the agent's attention, as far as a browser allows: a short sound (made with Web
// Audio, no file), a desktop notification (permission asked only when the agent clicks the
// button for it), a flashing tab title while the tab is hidden, and "bring to front", which
// browsers permit only from a click on our notification.
//
// With the console open in several tabs only one of them alerts: the tab holding the Web Lock
// "parley-console-alerts" (the lock passes on when that tab closes). Without Web Locks (plain
// http on another host) every tab alerts, and notifications share a tag so they do not pile up.

let leader = !('locks' in navigator);
if (!leader) {
  navigator.locks.request('parley-console-alerts', () => {
    leader = true;
    return new Promise(() => {}); // hold it for the life of the tab
  });
}

let audio = null;
/** Browsers start audio only after a user gesture: unlock on the first click or key. */
function unlockAudio() {
  if (!audio && 'AudioContext' in window) audio = new AudioContext();
  if (audio?.state === 'suspended') audio.resume();
}
window.addEventListener('pointerdown', unlockAudio, { capture: true });
window.addEventListener('keydown', unlockAudio, { capture: true });

/** Two soft notes for a new chat or offer, one for a message. */
export function chime(kind = 'chat') {
  if (!leader || !audio || audio.state !== 'running') return;
  const notes = kind === 'message' ? [660] : [660, 880];
  notes.forEach((freq, i) => {
    const t = audio.currentTime + i * 0.16;
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.15, t + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.25);
    osc.connect(gain).connect(audio.destination);
    osc.start(t);
    osc.stop(t + 0.3);
  });
}

export function notificationsSupported() {
  return 'Notification' in window;
}

export function permission() {
  return notificationsSupported() ? Notification.permission : 'unsupported';
}

/** Ask for permission: call only from a click. Resolves to the permission. */
export async function askPermission() {
  if (!notificationsSupported()) return 'unsupported';
  return Notification.requestPermission();
}

/**
 * A desktop notification. `front`: keep it until acted on (requireInteraction), since a click
 * on it is the one way a page may come to the front. `onClick` runs after focusing.
 */
export function notify({ title, body, tag, front = false, onClick }) {
  if (!leader || permission() !== 'granted') return;
  try {
    const n = new Notification(title, { body, tag, requireInteraction: front, renotify: !!tag });
    n.onclick = () => {
      window.focus();
      onClick?.();
      n.close();
    };
  } catch {
    /* some platforms need a service worker for notifications; the sound and title remain */
  }
}

/** Flash the tab title while the tab is hidden; stops when the agent comes back. */
const baseTitle = document.title;
let flashTimer = null;
export function flashTitle(text) {
  if (document.visibilityState === 'visible') return;
  clearInterval(flashTimer);
  let on = false;
  flashTimer = setInterval(() => {
    on = !on;
    document.title = on ? `● ${text}` : baseTitle;
  }, 1000);
}
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') {
    clearInterval(flashTimer);
    document.title = baseTitle;
  }
});

/** Try to come to the front. Browsers ignore this unless the user just acted; harmless. */
export function tryFront() {
  window.focus();
}
