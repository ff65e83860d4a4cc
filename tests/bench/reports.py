#!/usr/bin/env python3
"""Times a running Parley's reports and transcript search (tests/bench/REPORTS.md).

Signs in as the owner (GET /login for the CSRF cookie and field, POST /login), then requests
each page REPEAT times in turn and prints p50 / p95 / max of the wall time of each request
(connect to last byte, one keep-alive-less request at a time over loopback), with the status
and the body size. Bounded: a fixed number of requests, each with a 60 s timeout.

Usage: reports.py BASE EMAIL PASSWORD SITE --rare WORD --agent ID [--repeat 20] [--pid PID]
"""

import argparse
import http.cookiejar
import math
import re
import statistics
import time
import urllib.parse
import urllib.request


def opener():
    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))


def sign_in(o, base, email, password):
    page = o.open(base + "/login", timeout=60).read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"csrf_token": token, "next": "", "email": email, "password": password})
    r = o.open(base + "/login", data=form.encode(), timeout=60)
    if "/login" in r.geturl():
        raise SystemExit("sign-in failed")


def timed(o, url):
    t = time.perf_counter()
    r = o.open(url, timeout=60)
    body = r.read()
    return time.perf_counter() - t, r.status, len(body), body


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("email")
    ap.add_argument("password")
    ap.add_argument("site", type=int)
    ap.add_argument("--rare", required=True, help="a word found in a few chats")
    ap.add_argument("--agent", required=True, help="an agent's user id")
    ap.add_argument("--from-day", required=True, help="first day of the year, YYYY-MM-DD")
    ap.add_argument("--to-day", required=True, help="last day, YYYY-MM-DD")
    ap.add_argument("--month", required=True, help="a month in the middle: YYYY-MM-DD,YYYY-MM-DD")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--pid", type=int)
    a = ap.parse_args()
    o = opener()
    sign_in(o, a.base, a.email, a.password)
    rep = f"{a.base}/admin/sites/{a.site}/reports?"
    chats = f"{a.base}/admin/sites/{a.site}/chats?"
    m_from, m_to = a.month.split(",")
    q = urllib.parse.urlencode
    last31 = time.strftime("%Y-%m-%d", time.gmtime(time.mktime(time.strptime(a.to_day, "%Y-%m-%d")) - 30 * 86400))
    cases = [
        ("report, year by day, tz 0", rep + q({"from": a.from_day, "to": a.to_day, "tz": 0, "by": "day"})),
        ("report, year by day, tz +60", rep + q({"from": a.from_day, "to": a.to_day, "tz": 60, "by": "day"})),
        ("report, year by day, tz -300", rep + q({"from": a.from_day, "to": a.to_day, "tz": -300, "by": "day"})),
        ("report, 31 days by hour, tz 0", rep + q({"from": last31, "to": a.to_day, "tz": 0, "by": "hour"})),
        ("report, 31 days by hour, tz +60", rep + q({"from": last31, "to": a.to_day, "tz": 60, "by": "hour"})),
        ("CSV agents, year, tz 0", rep + q({"from": a.from_day, "to": a.to_day, "tz": 0, "by": "day", "csv": "agents"})),
        ("CSV over-time, year, tz 60", rep + q({"from": a.from_day, "to": a.to_day, "tz": 60, "by": "day", "csv": "over-time"})),
        ("search: common word", chats + q({"q": "delivery"})),
        ("search: rare word", chats + q({"q": a.rare})),
        ("search: two words", chats + q({"q": "refund tent"})),
        ("search: word + agent", chats + q({"q": "invoice", "agent": a.agent})),
        ("search: agent only", chats + q({"agent": a.agent})),
        ("search: a month, no words", chats + q({"from": m_from, "to": m_to})),
        ("search: common word in a month", chats + q({"q": "delivery", "from": m_from, "to": m_to})),
        ("search: rare word in a month", chats + q({"q": a.rare, "from": m_from, "to": m_to})),
        ("search: agent in a month", chats + q({"agent": a.agent, "from": m_from, "to": m_to})),
        ("search: no match (two rare words)", chats + q({"q": a.rare + " zzzz"})),
    ]
    print(f"| request | n | status | bytes | rows | p50 ms | p95 ms | max ms |")
    print(f"|---|---|---|---|---|---|---|---|")
    for name, url in cases:
        times = []
        status, size, rows = None, None, None
        timed(o, url)  # one warm-up request, not counted
        for _ in range(a.repeat):
            dt, status, size, body = timed(o, url)
            times.append(dt * 1000)
        if "/chats?" in url:
            rows = len(re.findall(rb'href="/admin/sites/\d+/chats/\d+"', body))
        times.sort()
        p95 = times[math.ceil(0.95 * len(times)) - 1]  # nearest rank
        print(
            f"| {name} | {a.repeat} | {status} | {size} | {rows if rows is not None else ''} | "
            f"{statistics.median(times):.1f} | {p95:.1f} | {times[-1]:.1f} |"
        )
    if a.pid:
        print(f"\nserver VmRSS after: {rss_kib(a.pid)} KiB")


if __name__ == "__main__":
    main()
