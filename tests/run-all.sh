#!/usr/bin/env bash
# Parley's one test command: install what the tests need on a fresh Debian 12 machine, then
# run every test (format and lint checks, unit and integration tests, browser tests).
#
#   bash tests/run-all.sh
#
# Needs root (or sudo) only when something must be installed with apt-get. Nothing is skipped
# silently: a missing browser is an error, never a pass.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
# The real SMTP server of the mail tests (tests/mail/smtpd.py) runs on Debian's Python.
/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1 || missing+=(python3-aiosmtpd)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update
  $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${missing[@]}"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is missing: install Rust (rustup) first" >&2
  exit 1
fi

for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    echo "== installing the Rust component $component"
    rustup component add "$component"
  fi
done

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --locked --all-targets -- -D warnings

echo "== cargo check --features acme (the optional ACME build compiles)"
cargo check --locked --features acme

echo "== cargo clippy --features load (the load generator and the store filler compile, lint-clean)"
cargo clippy --locked --features load --bins -- -D warnings

echo "== cargo test (unit and integration)"
# Every test bounds its own waits; this bound turns a hang nobody foresaw into a failure that
# names itself (cargo has printed which test "has been running for over 60 seconds").
cargo test --locked --no-run
if ! timeout --kill-after=30 1200 cargo test --locked; then
  echo "cargo test failed or ran past 20 minutes" >&2
  exit 1
fi

echo "== browser tests (headless Chromium)"
PARLEY_BIN="$PWD/target/x86_64-unknown-linux-gnu/debug/parley" bash tests/browser/run.sh

echo "== API fuzzing (schemathesis against the served /api/openapi.json)"
PARLEY_BIN="$PWD/target/x86_64-unknown-linux-gnu/debug/parley" bash tests/api/run.sh

echo "== packaging (.deb, systemd unit, container image)"
$SUDO bash tests/packaging/run.sh
