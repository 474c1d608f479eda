#!/usr/bin/env bash
# Make sure Debian's chromium is installed at /usr/bin/chromium: the console's browser tests drive it through
# Playwright's Python package. Installs from the Debian archive only (never `playwright install`, which would
# download a browser build at run time). Idempotent: does nothing when chromium is already there.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
  echo "ensure_chromium: $CHROMIUM present ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown'))" >&2
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "ensure_chromium: $CHROMIUM missing and apt-get not available; install Debian's chromium package" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "ensure_chromium: $CHROMIUM missing; run as root (or install sudo) to apt-get install chromium" >&2
    exit 1
  fi
  SUDO=sudo
fi
echo "ensure_chromium: $CHROMIUM missing; running apt-get update and apt-get install chromium" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >&2
echo "ensure_chromium: installed $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")" >&2
