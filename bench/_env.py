"""An isolated FiftyOne for bench scripts: a temp mongod and home.

Usage (before anything imports fiftyone)::

    from _env import isolated_fiftyone

    with isolated_fiftyone() as env:
        import fiftyone as fo
        ...

Sets ``FIFTYONE_DATABASE_URI``, ``HOME``, ``FIFTYONE_PLUGINS_DIR`` (the repo
root) and quiet defaults; stops mongod and removes the temp dir on exit.
"""
import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mongod_path():
    spec = importlib.util.find_spec("fiftyone")
    return os.path.join(os.path.dirname(spec.origin), "db", "bin", "mongod")


@contextlib.contextmanager
def isolated_fiftyone():
    """Yields ``{"tmp": dir, "uri": mongodb uri}`` with FiftyOne's env set."""
    if "fiftyone" in sys.modules:
        raise RuntimeError("isolated_fiftyone() must run before importing fiftyone")
    tmp = tempfile.mkdtemp(prefix="posekit-bench-")
    os.makedirs(os.path.join(tmp, "db"))
    os.makedirs(os.path.join(tmp, "home"))
    port = _free_port()
    log = open(os.path.join(tmp, "mongod.log"), "w")
    proc = subprocess.Popen(
        [_mongod_path(), "--dbpath", os.path.join(tmp, "db"), "--bind_ip",
         "127.0.0.1", "--port", str(port), "--quiet", "--nounixsocket"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    saved = dict(os.environ)
    try:
        deadline = time.time() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"bench mongod exited; see {tmp}/mongod.log")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("bench mongod did not start within 30 s")
                time.sleep(0.1)
        uri = f"mongodb://127.0.0.1:{port}"
        os.environ.update({
            "HOME": os.path.join(tmp, "home"),
            "FIFTYONE_DATABASE_URI": uri,
            "FIFTYONE_DATABASE_VALIDATION": "false",
            "FIFTYONE_DO_NOT_TRACK": "true",
            "FIFTYONE_PLUGINS_DIR": REPO_DIR,
            "FIFTYONE_ALLOW_LEGACY_ORCHESTRATORS": "true",
            "FIFTYONE_SHOW_PROGRESS_BARS": "false",
        })
        if REPO_DIR not in sys.path:
            sys.path.insert(0, REPO_DIR)
        yield {"tmp": tmp, "uri": uri}
    finally:
        os.environ.clear()
        os.environ.update(saved)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)
