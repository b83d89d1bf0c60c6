"""The README's install path: this folder copied into a FiftyOne plugins
directory works there, from a Python that does not have posekit installed."""
import os
import shutil
import subprocess
import sys

from conftest import PLUGIN, REPO_DIR

# Run from the copy only: no repo on sys.path, no installed posekit.
CHECK = """
import sys
sys.path = [p for p in sys.path if p not in ("", {repo!r})]
sys.modules.pop("posekit", None)
import importlib.abc

class NoInstalledPosekit(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "posekit" and not any(p.startswith({plugins!r}) for p in sys.path):
            raise ImportError("posekit must come from the plugins directory")
        return None

sys.meta_path.insert(0, NoInstalledPosekit())

import fiftyone as fo
import fiftyone.operators as foo
import fiftyone.plugins as fop

assert {plugin!r} in [p.name for p in fop.list_plugins()]
ds = fo.Dataset()
ds.add_sample(fo.Sample(filepath="/tmp/a.jpg"))
result = foo.execute_operator({plugin!r} + "/tag_for_annotation", dataset=ds,
                              params={{"tag": "annotate"}})
assert ds.count_sample_tags() == {{"annotate": 1}}, ds.count_sample_tags()
import posekit
print(posekit.__file__)
"""


def _copy_plugin(dst):
    """Copies this folder as a user would (without the venv and git data)."""
    shutil.copytree(REPO_DIR, dst, ignore=shutil.ignore_patterns(
        ".venv", ".git", "test-artifacts", "__pycache__", "*.egg-info"))


def test_plugin_copied_into_the_plugins_dir_works(tmp_path):
    plugins = tmp_path / "plugins"
    _copy_plugin(plugins / "posekit")
    env = dict(os.environ, FIFTYONE_PLUGINS_DIR=str(plugins))
    env.pop("PYTHONPATH", None)
    code = CHECK.format(repo=REPO_DIR, plugins=str(plugins), plugin=PLUGIN)
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == str(
        plugins / "posekit" / "posekit" / "__init__.py")


def test_tests_run_in_a_clone_named_posekit(tmp_path):
    """``git clone .../posekit`` makes a folder named like the package; one
    test file run on its own there must not import the plugin's root
    ``__init__.py`` as ``posekit``."""
    clone = tmp_path / "posekit"
    _copy_plugin(clone)
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_bench_env.py::test_a_terminated_bench_removes_its_temp_folder"],
        cwd=clone, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:]
    assert "1 passed" in out.stdout
