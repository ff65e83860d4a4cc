// A stand-in for an organization's own web site: a plain Node HTTP server on another loopback
// port (so another origin than Parley's) serving HTML pages that embed the widget with the
// one documented tag. No Parley code runs here; the pages only carry the <script> tag.
//
//   const host = await startHostPage(parleyBaseUrl);
//   host.url('/shop/cart', { campaign: 3, title: 'Your cart' })  -> http://127.0.0.1:PORT/shop/cart?…
//   await host.stop();
//
// Query parameters of a page URL:
//   campaign  the data-campaign value (any text: bad values are part of the tests)
//   title     the page's <title> (HTML-escaped here, so a title "<img …>" is text for the browser)
//   hostile   "1": the page carries aggressive CSS (every element restyled, buttons hidden) and
//             a script that replaces JSON.stringify after load, to show the widget is isolated
//   lang      the <html lang> (default en)
//   twice     "1": the tag is on the page twice (a copy-paste accident)

import http from 'node:http';
import { freePort } from './server.mjs';

const esc = (s) =>
  String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const HOSTILE_CSS = `
  * { font-family: "Comic Sans MS", cursive !important; color: #d00 !important; font-size: 22px !important;
      line-height: 3 !important; letter-spacing: 3px !important; }
  div, section, form, p, button, input, textarea { display: none !important; }
  main, main * { display: block !important; }
  parley-chat { display: none !important; opacity: 0 !important; }
  :root { --c: red; }
`;

function page({ parley, path, campaign, title, hostile, lang, twice }) {
  const one = `<script src="${esc(parley)}/widget.js" data-campaign="${esc(campaign)}" async></script>`;
  const tag = campaign === null ? '' : twice ? `${one}\n${one}` : one;
  return `<!doctype html>
<html lang="${esc(lang || 'en')}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
  body { font: 16px/1.5 Georgia, serif; margin: 0; background: #fbfaf7; color: #222; }
  header { background: #35424a; color: #fff; padding: 18px 32px; font-size: 22px; }
  main { max-width: 720px; padding: 24px 32px; }
  nav a { color: #fff; margin-right: 16px; }
  ${hostile ? HOSTILE_CSS : ''}
</style>
</head>
<body>
<header><span>Acme Outdoor</span> <nav aria-label="Shop"><a href="/">Home</a> <a href="/shop/tents">Tents</a> <a href="/shop/cart">Cart</a></nav></header>
<main>
<h1>${esc(title)}</h1>
<p>This is ${esc(path)}, a plain page of the organization's own site, on another origin than Parley.</p>
<p>Tents, sleeping bags and stoves for every season.</p>
</main>
${tag}
${hostile ? '<script src="/hostile.js"></script>' : ''}
</body>
</html>
`;
}

// Served as a file (not inline) so that it runs even when the page forbids inline scripts.
// It waits for the widget to be on the page (the widget loads async), then breaks the globals a
// careless widget would call later.
const HOSTILE_JS = `
  var timer = setInterval(function () {
    if (!document.querySelector('parley-chat')) return;
    clearInterval(timer);
    JSON.stringify = function () { return '{"type":"hijacked"}'; };
    JSON.parse = function () { return { type: 'hijacked' }; };
    window.WebSocket = function () { throw new Error('hijacked'); };
    window.setTimeout = function () { return 0; };
    document.createElement = function () { throw new Error('hijacked'); };
    document.body.setAttribute('data-hijacked', '1');
  }, 20);
`;

/** Start the host-page server; `parleyBaseUrl` is where widget.js comes from. */
export async function startHostPage(parleyBaseUrl) {
  const port = await freePort();
  const parley = parleyBaseUrl.replace(/\/$/, '');
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, `http://127.0.0.1:${port}`);
    if (u.pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (u.pathname === '/hostile.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(HOSTILE_JS);
      return;
    }
    const q = u.searchParams;
    const html = page({
      parley,
      path: u.pathname,
      campaign: q.has('campaign') ? q.get('campaign') : null,
      title: q.get('title') ?? `Acme Outdoor ${u.pathname}`,
      hostile: q.get('hostile') === '1',
      lang: q.get('lang'),
      twice: q.get('twice') === '1',
    });
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  // "localhost" and Parley's "127.0.0.1" are different sites, not only different origins.
  const origin = `http://localhost:${port}`;
  return {
    origin,
    port,
    /** The URL of a page at `path` embedding the widget of `campaign`. */
    url(path, params = {}) {
      const u = new URL(path, origin);
      for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) u.searchParams.set(k, String(v));
      return u.href;
    },
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
