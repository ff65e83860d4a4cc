"""Schemathesis hooks (loaded through SCHEMATHESIS_HOOKS) for Parley's API run.

Each API token may make 300 requests a minute. With PARLEY_API_TOKENS set (token secrets
separated by spaces), every request carries the next of these tokens in turn
(`Authorization: Bearer …`), so N tokens allow N times the rate, and run.sh's --rate-limit
keeps every token under its limit. (Do not also pass `-H "Authorization: …"`: schemathesis
applies -H headers over the case's, and every request would carry that one token.)
"""

import itertools
import os

import schemathesis

_TOKENS = os.environ.get("PARLEY_API_TOKENS", "").split()
_NEXT = itertools.cycle(_TOKENS) if _TOKENS else None


@schemathesis.hook
def before_call(context, case, kwargs):
    if _NEXT is None:
        return
    if case.headers is None:
        case.headers = {}
    # Whatever the generator put there (a made-up bearer token) is replaced: this run tests
    # what a valid token's caller gets.
    for name in [h for h in case.headers if h.lower() == "authorization"]:
        del case.headers[name]
    case.headers["Authorization"] = f"Bearer {next(_NEXT)}"
