// Uploads during a load run (BENCHMARKS.md, "Files"): a visitor of CAMPAIGN starts a chat,
// then uploads and sends COUNT files of SIZE bytes, one every EVERY_MS (or one after the
// other), printing each upload's time and throughput, and the totals. One visitor may start
// 20 uploads a minute. Uses the `ws` package of tests/browser.
//
//   node tests/bench/uploads.mjs http://127.0.0.1:18080 CAMPAIGN [COUNT=10] [SIZE=10485760] [EVERY_MS=0]

import WebSocket from '../browser/node_modules/ws/index.js';

const [base, campaign, count = '10', size = String(10 * 1024 * 1024), every = '0'] = process.argv.slice(2);
if (!base || !campaign) {
  console.error('usage: node tests/bench/uploads.mjs BASE CAMPAIGN [COUNT] [SIZE]');
  process.exit(2);
}

const ws = new WebSocket(base.replace(/^http/, 'ws') + '/ws/visitor');
const frames = [];
let waiter = null;
ws.on('message', (data) => {
  const f = JSON.parse(String(data));
  if (waiter && waiter.pred(f)) {
    const w = waiter;
    waiter = null;
    w.resolve(f);
  } else {
    frames.push(f);
  }
});
function until(pred, ms = 30000) {
  const i = frames.findIndex(pred);
  if (i >= 0) return Promise.resolve(frames.splice(i, 1)[0]);
  return new Promise((resolve, reject) => {
    waiter = { pred, resolve };
    setTimeout(() => reject(new Error('no frame within ' + ms + ' ms; others: ' + JSON.stringify(frames.slice(-5)))), ms);
  });
}
await new Promise((r) => ws.once('open', r));
ws.send(JSON.stringify({ type: 'hello', v: 1, campaign: Number(campaign) }));
const welcome = await until((f) => f.type === 'visitor_welcome');
ws.send(JSON.stringify({ type: 'start', fields: { name: 'Uploader' } }));
const chat = (await until((f) => f.type === 'chat')).chat.id;

// A PDF: its header, then padding (the type is read from the first bytes).
const body = Buffer.alloc(Number(size), 0x20);
Buffer.from('%PDF-1.7\n').copy(body);
const times = [];
for (let i = 0; i < Number(count); i++) {
  if (i > 0 && Number(every) > 0) await new Promise((r) => setTimeout(r, Number(every)));
  const t0 = performance.now();
  const r = await fetch(`${base}/api/visitor/uploads?chat=${chat}&name=load-${i}.pdf`, {
    method: 'POST',
    headers: { Authorization: 'Bearer ' + welcome.token },
    body,
  });
  const up = await r.json();
  if (r.status !== 201) throw new Error(`upload ${i}: ${r.status} ${JSON.stringify(up)}`);
  ws.send(JSON.stringify({ type: 'message', chat, id: 'u' + i, upload: up.upload }));
  await until((f) => f.type === 'ack' && f.id === 'u' + i);
  const ms = performance.now() - t0;
  times.push(ms);
  console.log(`upload ${i}: ${(ms / 1000).toFixed(2)} s, ${(Number(size) / 1048576 / (ms / 1000)).toFixed(1)} MiB/s`);
}
const total = times.reduce((a, b) => a + b, 0);
console.log(`${times.length} uploads of ${Number(size)} bytes: ${(total / 1000).toFixed(1)} s in all, ` +
  `${((times.length * Number(size)) / 1048576 / (total / 1000)).toFixed(1)} MiB/s`);
ws.send(JSON.stringify({ type: 'end', chat }));
ws.close();
