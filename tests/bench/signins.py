#!/usr/bin/env python3
"""Sign every agent of a parley-load organisation file in through /login (4 at a time), and
print the server's RSS before, right after, and a minute after (BENCHMARKS.md, "RSS after
sign-ins"). Usage: signins.py ORG_FILE BASE_URL SERVER_PID"""
import concurrent.futures, http.cookiejar, json, re, sys, time, urllib.parse, urllib.request

PASSWORD = "load-agent-password-1"  # parley-load's agents (src/bin/parley-load/http.rs)


def rss(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


def sign_in(base, email):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login", timeout=30).read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": PASSWORD}).encode()
    # A good sign-in redirects to the console (or the admin pages); a bad one shows /login again.
    final = opener.open(f"{base}/login", data=form, timeout=30).geturl()
    return not final.endswith("/login")


def main():
    org, base, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
    emails = [a["email"] for s in json.load(open(org))["sites"] for a in s["agents"]]
    before = rss(pid)
    start = time.time()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        ok = sum(pool.map(lambda e: sign_in(base, e), emails))
    took = time.time() - start
    after = rss(pid)
    time.sleep(60)
    later = rss(pid)
    print(f"sign-ins: {ok} of {len(emails)} in {took:.1f} s; RSS before {before} kB, "
          f"after {after} kB, a minute later {later} kB")


main()
