"""Loading the plugin makes ``posekit`` importable, and nothing else of the
plugin folder: ``operators``, ``panels``, ``bench``, ``scripts`` and ``tests``
stay out of the user's top-level imports."""
import json
import os
import subprocess
import sys

from conftest import PLUGIN, REPO_DIR

SCRIPT = """
import importlib.util, json, sys
import fiftyone.operators as foo
ops = [o.uri for o in foo.list_operators() if o.plugin_name == %r]
import posekit.cvat.backend
print(json.dumps({
    "ops": len(ops),
    "posekit": posekit.__file__,
    "hidden": {n: importlib.util.find_spec(n) is None
               for n in ("operators", "panels", "bench", "scripts", "tests")},
    "on_path": [p for p in sys.path if p.rstrip("/") == %r],
}))
""" % (PLUGIN, REPO_DIR.rstrip("/"))


def test_loading_the_plugin_exposes_only_posekit(tmp_path):
    env = dict(os.environ, FIFTYONE_PLUGINS_DIR=REPO_DIR)
    env.pop("PYTHONPATH", None)
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=str(tmp_path), env=env,
        capture_output=True, text=True, timeout=180,
    )
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["ops"] > 0
    assert got["posekit"] == os.path.join(REPO_DIR, "posekit", "__init__.py")
    assert got["hidden"] == dict.fromkeys(
        ("operators", "panels", "bench", "scripts", "tests"), True)
    assert got["on_path"] == []
