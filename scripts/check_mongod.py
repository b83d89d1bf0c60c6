"""Exit 0 if the mongod that FiftyOne uses exists and runs; print its version.

Finds FiftyOne's package without importing it (importing takes seconds)."""
import importlib.util
import os
import subprocess
import sys

spec = importlib.util.find_spec("fiftyone")
if spec is None:
    sys.exit("fiftyone is not installed")
mongod = os.path.join(os.path.dirname(spec.origin), "db", "bin", "mongod")
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
