"""Test session setup: an isolated FiftyOne database and home, the plugin on
FIFTYONE_PLUGINS_DIR, and shared fixtures.

Everything here runs before FiftyOne is imported, so FiftyOne never sees the
user's database or ``~/.fiftyone``.
"""
import atexit
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS_DIR = os.path.join(REPO_DIR, "tests")
for _p in (REPO_DIR, TESTS_DIR):
    if _p not in sys.path:
        sys.path.insert(0, _p)

_TMP = tempfile.mkdtemp(prefix="posekit-tests-")


def free_port():
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mongod_path():
    spec = importlib.util.find_spec("fiftyone")
    pkg_dir = os.path.dirname(spec.origin)
    return os.path.join(pkg_dir, "db", "bin", "mongod")


def _start_mongod():
    dbpath = os.path.join(_TMP, "db")
    os.makedirs(dbpath)
    port = free_port()
    proc = subprocess.Popen(
        [_mongod_path(), "--dbpath", dbpath, "--bind_ip", "127.0.0.1",
         "--port", str(port), "--quiet", "--nounixsocket"],
        stdout=open(os.path.join(_TMP, "mongod.log"), "w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("test mongod exited; see mongod.log")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("test mongod did not start within 30 s")


_MONGOD, _MONGO_PORT = _start_mongod()


def _cleanup():
    if _MONGOD.poll() is None:
        _MONGOD.send_signal(signal.SIGTERM)
        try:
            _MONGOD.wait(timeout=15)
        except subprocess.TimeoutExpired:
            _MONGOD.kill()
    shutil.rmtree(_TMP, ignore_errors=True)


atexit.register(_cleanup)

os.environ.update(
    {
        "HOME": os.path.join(_TMP, "home"),
        "FIFTYONE_DATABASE_URI": f"mongodb://127.0.0.1:{_MONGO_PORT}",
        "FIFTYONE_DATABASE_VALIDATION": "false",
        "FIFTYONE_DO_NOT_TRACK": "true",
        "FIFTYONE_PLUGINS_DIR": REPO_DIR,
        "FIFTYONE_ALLOW_LEGACY_ORCHESTRATORS": "true",
        "FIFTYONE_SHOW_PROGRESS_BARS": "false",
    }
)
os.makedirs(os.environ["HOME"])
# CVAT credentials must come from each test, never from the developer's shell
for _k in list(os.environ):
    if _k.startswith("FIFTYONE_CVAT_"):
        del os.environ[_k]

from cvat_server.fixtures import cvat_server  # noqa: E402,F401

# The real package first: in a clone named "posekit", pytest would otherwise
# import the plugin's root __init__.py under that name (a circular import)
import posekit  # noqa: E402,F401

PLUGIN = "@posekit/skeletons"


def uri(name):
    """Full URI of one of posekit's operators."""
    return f"{PLUGIN}/{name}"


@pytest.fixture(scope="session")
def tmp_root():
    """A session temp dir inside the isolated test home."""
    return _TMP


@pytest.fixture
def dataset():
    """A fresh, empty dataset, deleted after the test."""
    import fiftyone as fo

    ds = fo.Dataset(f"posekit-test-{uuid.uuid4().hex[:8]}")
    yield ds
    if fo.dataset_exists(ds.name):
        ds.delete()


@pytest.fixture(scope="session")
def demo_media_dir():
    """The demo's images, written once per session."""
    from posekit import demo

    return demo.write_media(os.path.join(_TMP, "demo-media"))


@pytest.fixture
def demo_dataset(demo_media_dir):
    """A fresh copy of the demo dataset (photos, COCO-17 keypoints, skeleton)."""
    import fiftyone as fo
    from posekit import demo

    ds = demo.build_dataset(
        f"posekit-demo-{uuid.uuid4().hex[:8]}", media_dir=demo_media_dir
    )
    yield ds
    if fo.dataset_exists(ds.name):
        ds.delete()


def pytest_collection_modifyitems(items):
    """Run browser tests last: Playwright's sync API keeps an asyncio loop
    running in this thread for the rest of the session, and FiftyOne's
    ``execute_operator`` cannot run inside one."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
