"""posekit: pose skeletons in the FiftyOne App.

| The plugin's entry point. Operators live in ``operators/``, panels in
| ``panels/``; the App-independent logic is the ``posekit`` package.
"""
import importlib.util
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))


def _expose_posekit():
    """Makes ``import posekit`` resolve to the package next to this file
    (annotation backends are imported by dotted name, so it must be
    importable absolutely), without putting this folder on ``sys.path``:
    that would also make ``operators``, ``panels``, ``bench`` and
    ``scripts`` top-level packages of the user's Python. An already imported
    ``posekit`` (e.g. ``pip install -e .``) is kept."""
    if "posekit" in sys.modules:
        return
    package_dir = os.path.join(_HERE, "posekit")
    spec = importlib.util.spec_from_file_location(
        "posekit", os.path.join(package_dir, "__init__.py"),
        submodule_search_locations=[package_dir],
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["posekit"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules["posekit"]
        raise


_expose_posekit()

from .operators import OPERATORS  # noqa: E402
from .panels import PANELS  # noqa: E402


def register(p):
    """Registers posekit's operators and panels with FiftyOne."""
    for cls in OPERATORS + PANELS:
        p.register(cls)
