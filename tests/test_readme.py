"""The README's Python code runs exactly as written (against the CVAT
emulator, on the demo dataset the README says to build first), in a fresh
Python outside the repository folder, so the README cannot rot again."""
import os
import re
import subprocess
import sys

import pytest

from conftest import REPO_DIR

README = os.path.join(REPO_DIR, "README.md")


def python_blocks():
    with open(README) as f:
        text = f.read()
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.M | re.S)


def test_readme_has_python_blocks():
    blocks = python_blocks()
    assert blocks and all("import" in b for b in blocks)


@pytest.fixture
def demo_named_as_in_readme(demo_media_dir):
    """``posekit-demo`` as ``scripts/demo.sh`` leaves it."""
    import fiftyone as fo
    from posekit import demo

    ds = demo.build_dataset(demo.DATASET_NAME, media_dir=demo_media_dir)
    yield ds
    if fo.dataset_exists(ds.name):
        fo.delete_dataset(ds.name)


@pytest.mark.parametrize("index", range(len(python_blocks())))
def test_readme_python_block_runs_as_written(index, cvat_server, demo_named_as_in_readme, tmp_path):
    code = python_blocks()[index]
    script = tmp_path / f"readme_block_{index}.py"
    script.write_text(code)
    env = dict(os.environ, PYTHONPATH=REPO_DIR,
               FIFTYONE_CVAT_URL=cvat_server.url,
               FIFTYONE_CVAT_USERNAME=cvat_server.username,
               FIFTYONE_CVAT_PASSWORD=cvat_server.password)
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                         stdin=subprocess.DEVNULL, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, f"README block {index}:\n{code}\n{out.stderr[-3000:]}"
    if ".annotate(" in code:  # the CVAT block (not pre_annotate)
        ds = demo_named_as_in_readme
        ds.reload()
        (anno_key,) = ds.list_annotation_runs()
        assert ds.get_annotation_info(anno_key).config.name == "posekit_cvat"
        assert ("POST", "/api/tasks") in cvat_server.calls
        assert "'person'" in out.stdout  # the loaded labels, printed


def test_package_config_includes_every_posekit_module():
    """``pip install -e .`` (what setup runs) installs the whole ``posekit``
    package, subpackages included, and none of the App glue: the packages
    setuptools reads from pyproject.toml."""
    import warnings

    from setuptools.config.pyprojecttoml import read_configuration

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        config = read_configuration(os.path.join(REPO_DIR, "pyproject.toml"), expand=True)
    packages = set(config["tool"]["setuptools"]["packages"])
    want = {os.path.relpath(root, REPO_DIR).replace(os.sep, ".")
            for root, _, files in os.walk(os.path.join(REPO_DIR, "posekit"))
            if "__init__.py" in files}
    assert want <= packages, sorted(want - packages)
    assert not packages & {"operators", "panels", "tests", "bench"}
