"""Keep agents online and a few widget visitors on the seeded sites while the API is fuzzed, so
that GET /v1/sites/{site}/visitors/live answers real visitors (one with a chat, one without).

    python visitors.py WS_BASE_URL SEED_DIR READY_FILE

WS_BASE_URL: ws://127.0.0.1:PORT; SEED_DIR: where seed.py wrote `agent_sessions` and
`campaigns`. Each agent opens the console's socket (/ws/agent, with their session cookie) and
goes Online; then, for each campaign, two visitors connect to /ws/visitor as the widget does
(hello with a page) and the first starts a chat with its pre-chat answers. READY_FILE is
written once all that is done; the connections stay open until the process is ended
(SIGTERM). Exits non-zero if a step is not answered within 10 s.
"""

import asyncio
import json
import signal
import sys

import websockets

STEP = 10


async def frame(ws, kind):
    """The next frame of type `kind` (others skipped)."""
    while True:
        f = json.loads(await asyncio.wait_for(ws.recv(), STEP))
        if f.get("type") == kind:
            return f


async def agent(base, cookie):
    ws = await websockets.connect(
        f"{base}/ws/agent", open_timeout=STEP, additional_headers={"Cookie": f"parley_session={cookie}"}
    )
    await ws.send(json.dumps({"type": "hello", "v": 1, "chats": []}))
    await ws.send(json.dumps({"type": "presence", "presence": "online"}))
    # The console's first frame: the agent is in.
    await asyncio.wait_for(ws.recv(), STEP)
    return ws


async def visitor(base, campaign, n, start_chat):
    ws = await websockets.connect(f"{base}/ws/visitor", open_timeout=STEP)
    page = {"url": f"https://shop.example/pricing?v={n}", "title": "Pricing \u2014 Shop", "referrer": "https://search.example/"}
    await ws.send(json.dumps({"type": "hello", "v": 1, "campaign": campaign, "token": None, "page": page}))
    await frame(ws, "visitor_welcome")
    if start_chat:
        await ws.send(json.dumps({"type": "start", "fields": {"name": f"Vera Visitor {n}"}}))
        await frame(ws, "chat")
    return ws


async def main():
    if len(sys.argv) != 4:
        print("usage: visitors.py WS_BASE_URL SEED_DIR READY_FILE", file=sys.stderr)
        sys.exit(2)
    base, seed, ready = sys.argv[1:]
    campaigns = [int(c) for c in open(f"{seed}/campaigns").read().split()]
    cookies = open(f"{seed}/agent_sessions").read().split()
    socks = [await agent(base, c) for c in cookies]
    n = 0
    for c in campaigns:
        for start_chat in (True, False):
            n += 1
            socks.append(await visitor(base, c, n, start_chat))
    with open(ready, "w") as f:
        f.write(f"{len(socks)}\n")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    # Drain what the server sends, so that its per-socket buffers never fill.
    drains = [asyncio.create_task(drain(ws)) for ws in socks]
    await stop.wait()
    for t in drains:
        t.cancel()
    for ws in socks:
        await ws.close()


async def drain(ws):
    try:
        async for _ in ws:
            pass
    except websockets.ConnectionClosed:
        pass


if __name__ == "__main__":
    asyncio.run(main())
