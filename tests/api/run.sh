#!/usr/bin/env bash
# Fuzz Parley's JSON API with schemathesis, from the OpenAPI document the server serves
# (/api/openapi.json): every operation, with the checks below. A 5xx, a status code the document
# does not list for the route, a response whose content type or body does not match its
# documented schema: each is a failure, printed with the request that caused it.
#
#   bash tests/api/run.sh           (from anywhere; exits non-zero when schemathesis finds a failure)
#
# Steps: a Python virtualenv at target/api-venv with the pinned packages of requirements.txt
# (made, with Debian's python3-venv installed when missing, only when absent or out of date);
# a fresh server on a free loopback port, data in a temporary directory, the owner made with
# `parley owner create`; seed.py fills two sites through the admin forms (departments, people,
# campaigns, canned replies) and makes API tokens on /admin/tokens; visitors.py keeps agents
# online and widget visitors on the sites; then three schemathesis runs, each for a fixed time
# budget (--max-time: the phases repeat until it is spent), about 2 minutes in all:
#   agent   an agent's session cookie (their own site only)
#   token   every request with an organization-wide read-and-write token (hooks.py spreads the
#           requests over the tokens; --rate-limit keeps each under its 300 a minute)
#   owner   the owner's session cookie
# The server is always stopped and the temporary directory removed at the end.
#
# Environment:
#   PARLEY_BIN        the server binary (default: target/x86_64-unknown-linux-gnu/debug/parley)
#   PARLEY_API_SEED   schemathesis' seed (default: a random one, printed, to replay a failure)
#   PARLEY_API_ST_ARGS  more `st run` options for every run (split on spaces), e.g.
#                     "--continue-on-failure" to see every failure, not only each operation's first
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PARLEY_BIN="${PARLEY_BIN:-$REPO/target/x86_64-unknown-linux-gnu/debug/parley}"
VENV="$REPO/target/api-venv"
PY="$VENV/bin/python"
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
OWNER_EMAIL=owner@example.com
OWNER_PASSWORD=correct-horse-battery
started=$SECONDS

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

# ---- the virtualenv ----
if ! /usr/bin/python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  echo "run.sh: Debian's python3 cannot make a virtualenv: installing python3-venv" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update
  $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends python3 python3-venv
fi
want="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/st" ] || [ "$(cat "$VENV/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
  echo "run.sh: making $VENV (pip install -r tests/api/requirements.txt)"
  rm -rf "$VENV"
  /usr/bin/python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$HERE/requirements.txt"
  echo "$want" >"$VENV/.requirements.sha256"
fi
"$VENV/bin/st" --version

# ---- the server ----
# The binary may be being rebuilt at this moment: give it a minute to come back.
for _ in $(seq 60); do [ -x "$PARLEY_BIN" ] && break; sleep 1; done
if [ ! -x "$PARLEY_BIN" ]; then
  echo "run.sh: no server binary at $PARLEY_BIN: run \`cargo build\` in $REPO or set PARLEY_BIN" >&2
  exit 1
fi

TMP="$(mktemp -d -t parley-api.XXXXXX)"
server_pid=""
visitors_pid=""
stop() {
  local pid
  for pid in "$visitors_pid" "$server_pid"; do
    [ -n "$pid" ] || continue
    kill -TERM "$pid" 2>/dev/null || continue
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$TMP"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
cat >"$TMP/parley.toml" <<EOF
[server]
listen = "127.0.0.1:$PORT"
[storage]
data_dir = "$TMP/data"
[log]
level = "info"
EOF
printf '%s\n' "$OWNER_PASSWORD" |
  "$PARLEY_BIN" owner create --email "$OWNER_EMAIL" --name "Olive Owner" --config "$TMP/parley.toml"
"$PARLEY_BIN" serve --config "$TMP/parley.toml" >"$TMP/server.log" 2>&1 &
server_pid=$!
if ! "$PY" - "$BASE/healthz" "$server_pid" <<'EOF'; then
import os, sys, time, urllib.request
url, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 15
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("run.sh: parley serve exited early")
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            if r.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit("run.sh: /healthz not 200 after 15 s")
EOF
  cat "$TMP/server.log" >&2
  exit 1
fi

# ---- data, tokens, live visitors ----
mkdir "$TMP/seed"
"$PY" "$HERE/seed.py" "$BASE" "$OWNER_EMAIL" "$OWNER_PASSWORD" "$TMP/seed"
"$PY" "$HERE/visitors.py" "ws://127.0.0.1:$PORT" "$TMP/seed" "$TMP/visitors.ready" >"$TMP/visitors.log" 2>&1 &
visitors_pid=$!
for _ in $(seq 150); do
  [ -s "$TMP/visitors.ready" ] && break
  kill -0 "$visitors_pid" 2>/dev/null || break
  sleep 0.1
done
if [ ! -s "$TMP/visitors.ready" ]; then
  echo "run.sh: the agents and visitors did not connect:" >&2
  cat "$TMP/visitors.log" >&2
  exit 1
fi

mapfile -t tokens <"$TMP/seed/tokens"
SEED="${PARLEY_API_SEED:-$(((RANDOM << 15) | RANDOM))}"
echo "run.sh: server $BASE, seed $SEED (rerun with PARLEY_API_SEED=$SEED)"

# ---- schemathesis ----
failed=()
# fuzz NAME SECONDS [st options…]: one run, fuzzing for a time budget of SECONDS.
fuzz() {
  local name="$1" budget="$2"
  shift 2
  echo
  echo "---- schemathesis: $name ($budget s)"
  # In the temporary directory: schemathesis keeps its replay data in the working directory.
  # PARLEY_API_ST_ARGS is split on spaces on purpose.
  # shellcheck disable=SC2086
  if ! (cd "$TMP" && timeout --kill-after=10 "$((budget + 30))" "$VENV/bin/st" run "$BASE/api/openapi.json" \
    --checks "$CHECKS" --max-time "$budget" --max-examples 50 --seed "$SEED" \
    --generation-database none --request-timeout 10 "$@" ${PARLEY_API_ST_ARGS:-}); then
    failed+=("$name")
  fi
}
# Sessions: their unsafe requests carry the CSRF token of their `parley_csrf` cookie, and no
# made-up bearer token (the API takes a token over any cookie: they would all be 401s). The
# agent runs first, while the seeded data (themselves included) is still there for them to read.
session=(--generation-with-security-parameters false)
fuzz agent 20 "${session[@]}" -H "Cookie: $(cat "$TMP/seed/agent_cookie")" -H "X-CSRF-Token: $(cat "$TMP/seed/agent_csrf")"
# The token run's `Authorization: Bearer …` is set by hooks.py, one token after the other (an
# -H header would override it and send every request with one token).
PARLEY_API_TOKENS="${tokens[*]}" SCHEMATHESIS_HOOKS="$HERE/hooks.py" \
  fuzz token 30 --rate-limit "$((280 * ${#tokens[@]}))/m"
fuzz owner 40 "${session[@]}" -H "Cookie: $(cat "$TMP/seed/owner_cookie")" -H "X-CSRF-Token: $(cat "$TMP/seed/owner_csrf")"

echo
if [ "${#failed[@]}" -gt 0 ]; then
  echo "run.sh: schemathesis found failures in the run(s): ${failed[*]} (seed $SEED); the server's warnings and errors:" >&2
  grep -E 'WARN|ERROR' "$TMP/server.log" | tail -n 40 >&2 || true
  echo "run.sh: API fuzzing FAILED after $((SECONDS - started)) s" >&2
  exit 1
fi
echo "run.sh: API fuzzing passed in $((SECONDS - started)) s"
