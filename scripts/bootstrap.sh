#!/usr/bin/env bash
# Idempotent install: virtualenv + pinned Python packages, npm packages (anvil, solc). Re-runs are cheap:
# each step is skipped while its lock file is unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv" >&2
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing Python packages" >&2
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
  echo "$want" > "$stamp"
fi

if [ -f package-lock.json ]; then
  nstamp=node_modules/.package-lock.sha256
  nwant=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ "$(cat "$nstamp" 2>/dev/null)" != "$nwant" ]; then
    if ! command -v npm >/dev/null; then
      echo "bootstrap: npm is required (Node.js 18+) to install anvil and solc" >&2; exit 1
    fi
    echo "bootstrap: installing npm packages" >&2
    npm ci --no-audit --no-fund --loglevel=error
    echo "$nwant" > "$nstamp"
  fi
fi
