#!/usr/bin/env bash
# Sets up (idempotent), builds the local demo dataset and serves the FiftyOne
# App with posekit loaded on http://127.0.0.1:5151 (pass --port to change).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export FIFTYONE_PLUGINS_DIR="$PWD" FIFTYONE_DO_NOT_TRACK=true
exec .venv/bin/python -m posekit.demo "$@"
