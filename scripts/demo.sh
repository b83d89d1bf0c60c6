#!/usr/bin/env bash
# Sets up (idempotent), builds the local demo dataset if it does not exist yet
# and serves the FiftyOne App with posekit loaded on http://127.0.0.1:5151.
# Arguments go to `python -m posekit.demo` (--port N, --reset, --help).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${POSEKIT_VENV:-.venv}
scripts/setup.sh
export FIFTYONE_PLUGINS_DIR="$PWD" FIFTYONE_DO_NOT_TRACK=true FIFTYONE_DATABASE_VALIDATION=false
exec "$VENV/bin/python" -m posekit.demo "$@"
