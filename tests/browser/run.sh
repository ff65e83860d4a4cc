#!/usr/bin/env bash
# Headless-browser tests of the admin pages: install what they need, then run them.
#
#   bash tests/browser/run.sh           (from anywhere; exits non-zero when a test fails)
#
# Environment:
#   PARLEY_BIN    the server binary (default: target/x86_64-unknown-linux-gnu/debug/parley,
#                 built with `cargo build` here when it is missing and PARLEY_BIN is unset)
#   CHROMIUM_BIN  the browser (default /usr/bin/chromium, installed from Debian when missing)
#
# A missing browser or server makes the tests FAIL, never skip.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

if [ -z "${CHROMIUM_BIN:-}" ] && [ ! -x /usr/bin/chromium ]; then
  echo "run.sh: /usr/bin/chromium is missing: installing chromium and chromium-driver" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update
  $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y chromium chromium-driver
fi

# The mail tests' SMTP server (tests/mail/smtpd.py) and its test certificate.
if ! /usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1 || ! command -v openssl >/dev/null 2>&1; then
  echo "run.sh: installing python3-aiosmtpd and openssl (the mail tests' SMTP server)" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update
  $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends python3-aiosmtpd openssl
fi

if [ -z "${PARLEY_BIN:-}" ] && [ ! -x "$REPO/target/x86_64-unknown-linux-gnu/debug/parley" ]; then
  echo "run.sh: no server binary yet: cargo build" >&2
  (cd "$REPO" && cargo build)
fi

cd "$HERE"
npm ci --no-audit --no-fund
node --test --test-reporter=spec ./*.test.mjs
