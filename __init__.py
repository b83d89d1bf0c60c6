"""posekit: pose skeletons in the FiftyOne App.

| The plugin's entry point. Operators live in ``operators/``, panels in
| ``panels/``; the App-independent logic is the ``posekit`` package.
"""
import os
import sys

# The logic package sits next to this file. When FiftyOne loads the plugin
# from its plugins directory, make ``import posekit`` resolve to it (annotation
# backends are imported by dotted name, so it must be importable absolutely).
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from .operators import OPERATORS  # noqa: E402
from .panels import PANELS  # noqa: E402


def register(p):
    """Registers posekit's operators and panels with FiftyOne."""
    for cls in OPERATORS + PANELS:
        p.register(cls)
