// The console's connection to /ws/agent: connect, say hello (with what the console already
// shows, so the server replays only what was missed), reconnect with backoff after any drop,
// and notice a silent network with an application ping. The caller decides what hello says
// and what each frame means; this module only keeps a socket alive.

const PING_EVERY_MS = 15_000;
const PONG_WITHIN_MS = 10_000;
const MAX_BACKOFF_MS = 15_000;

/** Close codes after which reconnecting cannot help. */
const FINAL = new Map([
  [4001, 'You were signed out. Sign in again to go on.'],
  [4000, 'This console does not speak the server’s protocol. Reload the page.'],
]);

export class Connection {
  /**
   * `hello()`: the hello frame to send on every (re)connect.
   * `onFrame(frame)`: every server frame. `onState(state, detail)`: "connecting", "open",
   * "reconnecting" (detail: seconds until the next try), "closed" (detail: why).
   */
  constructor(path, { hello, onFrame, onState }) {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    this.url = `${proto}//${location.host}${path}`;
    this.hello = hello;
    this.onFrame = onFrame;
    this.onState = onState;
    this.ws = null;
    this.attempt = 0;
    this.open = false;
    this.stopped = false;
    this.pingTimer = null;
    this.pongTimer = null;
  }

  start() {
    this.connect();
    // Coming back online or to the tab: try at once instead of waiting for the backoff.
    window.addEventListener('online', () => this.retryNow());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.retryNow();
    });
  }

  retryNow() {
    if (this.stopped || this.open || !this.retryTimer) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.connect();
  }

  connect() {
    this.onState(this.attempt ? 'reconnecting' : 'connecting', 0);
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      ws.send(JSON.stringify(this.hello()));
    };
    ws.onmessage = (m) => {
      let frame;
      try {
        frame = JSON.parse(m.data);
      } catch {
        return;
      }
      if (frame.type === 'agent_welcome') {
        this.open = true;
        this.attempt = 0;
        this.onState('open');
        this.startPings();
      }
      if (frame.type === 'pong') {
        clearTimeout(this.pongTimer);
        return;
      }
      this.onFrame(frame);
    };
    ws.onclose = (e) => this.dropped(ws, e.code);
    ws.onerror = () => {};
  }

  dropped(ws, code) {
    if (ws !== this.ws) return;
    this.open = false;
    this.stopPings();
    if (FINAL.has(code)) {
      this.stopped = true;
      this.onState('closed', FINAL.get(code));
      if (code === 4001) setTimeout(() => location.assign('/login?next=/console'), 1500);
      return;
    }
    this.attempt += 1;
    // 0.5 s, 1 s, 2 s … 15 s, with jitter so many consoles do not come back in step.
    const wait = Math.min(MAX_BACKOFF_MS, 500 * 2 ** (this.attempt - 1)) * (0.8 + Math.random() * 0.4);
    this.onState('reconnecting', Math.ceil(wait / 1000));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, wait);
  }

  startPings() {
    this.stopPings();
    this.pingTimer = setInterval(() => {
      if (!this.send({ type: 'ping' })) return;
      clearTimeout(this.pongTimer);
      // No pong: the network is gone without a close frame. Drop and reconnect.
      this.pongTimer = setTimeout(() => this.ws?.close(), PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }

  stopPings() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
  }

  /** Send a frame if connected; false when not (the caller keeps what must survive). */
  send(frame) {
    if (!this.open || this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** For tests and "reconnect now": drop the socket as a network failure would. */
  drop() {
    this.ws?.close();
  }
}
