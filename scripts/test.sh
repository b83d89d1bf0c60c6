#!/usr/bin/env bash
# Sets up (idempotent) and runs the whole test suite, browser tests included.
# Extra arguments go to pytest, e.g. scripts/test.sh -m "not browser".
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${POSEKIT_VENV:-.venv}
scripts/setup.sh --test
export FIFTYONE_DO_NOT_TRACK=true FIFTYONE_DATABASE_VALIDATION=false
exec "$VENV/bin/python" -m pytest "$@"
