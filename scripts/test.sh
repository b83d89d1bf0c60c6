#!/usr/bin/env bash
# Sets up (idempotent) and runs the whole test suite, browser tests included.
# Extra arguments go to pytest, e.g. scripts/test.sh -m "not browser".
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
export FIFTYONE_DO_NOT_TRACK=true
exec .venv/bin/python -m pytest "$@"
