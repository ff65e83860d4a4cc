"""Seed a fresh Parley server through its admin forms, the way tests/browser/seed.mjs does, and
make what the API fuzzing needs to authenticate.

    python3 seed.py BASE_URL OWNER_EMAIL OWNER_PASSWORD OUT_DIR

Signs in as the owner (CSRF token from the /login form, `parley_csrf` cookie kept), creates two
sites, each with a department, a site admin, an agent in that department, a campaign targeting
the department ("Main"), one without department and a canned reply, signs the agents in, then
makes TOKENS organization-wide read-and-write API tokens on /admin/tokens (each secret is read
from the page that answers the form). Writes into OUT_DIR, one value a line:

    tokens          the tokens' secrets
    owner_cookie    the owner's cookies (`parley_session=…; parley_csrf=…`, a Cookie header's value)
    owner_csrf      the owner's CSRF token (for the X-CSRF-Token header)
    agent_cookie    the same for the agent of the first site
    agent_csrf
    sites           the seeded sites' ids
    campaigns       each site's "Main" campaign id
    agent_sessions  each site's agent's `parley_session` cookie value

Standard library only; exits non-zero with the page's errors when a form is refused.
"""

import http.cookiejar
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

TIMEOUT = 10
# Each token may make 300 requests a minute: the fuzzing spreads its requests over these.
TOKENS = 10


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Session:
    def __init__(self, base):
        self.base = base.rstrip("/")
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect
        )
        self.csrf = None

    def request(self, method, path, form=None):
        """One request, no redirect followed: (status, location, body text)."""
        data = None
        headers = {}
        if form is not None:
            if self.csrf is None:
                self.refresh_csrf()
            pairs = [("csrf_token", self.csrf)]
            for k, v in form.items():
                if isinstance(v, (list, tuple)):
                    pairs.extend((k, str(x)) for x in v)
                elif v is not None:
                    pairs.append((k, str(v)))
            data = urllib.parse.urlencode(pairs).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRF-Token"] = self.csrf
        req = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        try:
            with self.opener.open(req, timeout=TIMEOUT) as r:
                return r.status, r.headers.get("Location"), r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Location"), e.read().decode("utf-8", "replace")

    def refresh_csrf(self):
        for page in ("/login", "/account"):
            _, _, body = self.request("GET", page)
            m = re.search(r'name="csrf_token" value="([0-9a-f]+)"', body)
            if m:
                self.csrf = m.group(1)
                return
        fail("no csrf_token field on /login or /account")

    def get(self, path):
        status, location, body = self.request("GET", path)
        if status != 200:
            fail(f"GET {path} answered {status} (location {location})")
        return body

    def post(self, path, form, expect=303):
        status, location, body = self.request("POST", path, form)
        if status != expect:
            errors = " | ".join(re.findall(r'class="error"[^>]*>([^<]*)<', body))
            fail(f"POST {path} answered {status}: {errors or body[:400]}")
        return location if expect == 303 else body

    def sign_in(self, email, password):
        self.refresh_csrf()
        status, _, _ = self.request("POST", "/login", {"email": email, "password": password, "next": ""})
        if status != 303 or not self.cookie("parley_session"):
            fail(f"sign-in as {email} failed: status {status}")

    def cookie(self, name):
        return next((c.value for c in self.jar if c.name == name), None)


def fail(msg):
    print(f"seed.py: {msg}", file=sys.stderr)
    sys.exit(1)


def id_in_list(s, list_path, needle):
    """The id of the link `list_path/ID` on the list page searched for `needle`."""
    body = s.get(f"{list_path}?q={urllib.parse.quote(needle)}")
    m = re.search(re.escape(list_path) + r"/(\d+)\"", body)
    if not m:
        fail(f"no link to {needle!r} on {list_path}")
    return int(m.group(1))


def seed_site(s, name):
    to = s.post("/admin/sites", {"name": name})
    m = re.search(r"/admin/sites/(\d+)", to or "")
    if not m:
        fail(f"creating site {name}: unexpected redirect {to}")
    site = int(m.group(1))
    base = f"/admin/sites/{site}"
    s.post(f"{base}/departments", {"name": "Sales desk", "rule": "round_robin"})
    dept = id_in_list(s, f"{base}/departments", "Sales desk")
    slug = name.lower().replace(" ", "-")
    people = [
        ("Ada Admin", f"admin@{slug}.example", "admin", []),
        ("Alan Agent", f"agent@{slug}.example", "agent", [dept]),
    ]
    for person, email, role, depts in people:
        s.post(
            f"{base}/agents",
            {
                "name": person,
                "email": email,
                "role": role,
                "skills": "billing, french",
                "max_chats": 3,
                "active": "on",
                "departments": depts,
                "password": "agent-password-1",
                "password_confirm": "agent-password-1",
            },
        )
    s.post(
        f"{base}/campaigns",
        {
            "name": "Main",
            "language": "fr",
            "department": dept,
            "color": "#123456",
            "position": "right",
            "field_key": "name",
            "field_label": "Your name",
            "field_kind": "text",
            "field_required": "yes",
            "postchat_enabled": "on",
            "notify_transfer": "on",
            "proactive_mode": "with_invite",
            "proactive_after_secs": 30,
            "proactive_url_rules": "/pricing",
            "invitation_text": "Can we help?",
            "reinvite_after_mins": 10,
        },
    )
    s.post(
        f"{base}/campaigns",
        {
            "name": "No department",
            "language": "de",
            "department": "",
            "color": "#2f6fde",
            "position": "left",
            "proactive_mode": "disabled",
            "proactive_after_secs": 0,
            "reinvite_after_mins": 0,
        },
    )
    campaign = id_in_list(s, f"{base}/campaigns", "Main")
    s.post(f"{base}/canned", {"shortcut": "thanks", "text": "Thank you for your patience, \u00e9t\u00e9 \u2014 \U0001F600"})
    agent = Session(s.base)
    agent.sign_in(f"agent@{slug}.example", "agent-password-1")
    return site, campaign, agent


def main():
    if len(sys.argv) != 5:
        fail("usage: seed.py BASE_URL OWNER_EMAIL OWNER_PASSWORD OUT_DIR")
    base, email, password, out = sys.argv[1:]
    s = Session(base)
    s.sign_in(email, password)
    seeded = [seed_site(s, "Acme Shop"), seed_site(s, "Bravo Travel")]
    sites = [x[0] for x in seeded]

    tokens = []
    for i in range(TOKENS):
        body = s.post(
            "/admin/tokens",
            {"name": f"schemathesis {i + 1}", "scope": "read_write", "expires_days": ""},
            expect=200,
        )
        m = re.search(r'id="token-secret">(parley_[0-9a-f]{64})<', body)
        if not m:
            fail("the answer to POST /admin/tokens shows no token secret")
        tokens.append(m.group(1))

    with open(f"{out}/tokens", "w") as f:
        f.write("".join(t + "\n" for t in tokens))
    # A session's unsafe requests need the CSRF token that goes with its `parley_csrf` cookie.
    for name, who in (("owner", s), ("agent", seeded[0][2])):
        with open(f"{out}/{name}_cookie", "w") as f:
            f.write(f"parley_session={who.cookie('parley_session')}; parley_csrf={who.cookie('parley_csrf')}\n")
        with open(f"{out}/{name}_csrf", "w") as f:
            f.write(who.csrf + "\n")
    with open(f"{out}/sites", "w") as f:
        f.write("".join(f"{x}\n" for x in sites))
    with open(f"{out}/campaigns", "w") as f:
        f.write("".join(f"{x[1]}\n" for x in seeded))
    with open(f"{out}/agent_sessions", "w") as f:
        f.write("".join(f"{x[2].cookie('parley_session')}\n" for x in seeded))
    print(f"seeded sites {sites}, {len(tokens)} organization token(s)")


if __name__ == "__main__":
    main()
