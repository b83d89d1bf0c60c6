"""Regenerates the App screenshots in ``docs/screenshots/`` by running the
browser tests, which save them as they go (operator forms, the preview panel,
a loaded CVAT annotation).

Usage: ``.venv/bin/python scripts/screenshots.py [pytest args, e.g. -k panel]``

The PNGs are written to a temporary directory and copied into
``docs/screenshots/`` only when the tests that made them passed, so a broken
run never replaces good pictures.
"""
import os
import shutil
import subprocess
import sys
import tempfile

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(REPO_DIR, "docs", "screenshots")


def main(argv):
    with tempfile.TemporaryDirectory(prefix="posekit-shots-") as tmp:
        env = dict(os.environ, POSEKIT_SCREENSHOTS_DIR=tmp)
        cmd = [sys.executable, "-m", "pytest", "tests/browser", "-m", "browser",
               "-q", "-p", "no:cacheprovider", *argv]
        rc = subprocess.call(cmd, cwd=REPO_DIR, env=env)
        if rc != 0:
            print(f"screenshots: tests failed (exit {rc}); {OUT_DIR} left as it was")
            return rc
        os.makedirs(OUT_DIR, exist_ok=True)
        for name in sorted(os.listdir(tmp)):
            shutil.copy(os.path.join(tmp, name), os.path.join(OUT_DIR, name))
            print(f"screenshots: docs/screenshots/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
