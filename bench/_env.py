"""An isolated FiftyOne for bench scripts: a temp mongod and home.

Usage (before anything imports fiftyone)::

    from _env import isolated_fiftyone

    with isolated_fiftyone() as env:
        import fiftyone as fo
        ...

Sets ``FIFTYONE_DATABASE_URI``, ``HOME``, ``FIFTYONE_PLUGINS_DIR`` (the repo
root) and quiet defaults; stops mongod and removes the temp dir on exit,
also when the bench is stopped by SIGTERM or Ctrl+C. A bench killed outright
(SIGKILL) cannot clean up: the next one removes its folder (and stops its
mongod) before starting.
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
PREFIX = "posekit-bench-"
OWNER = "owner.pid"  # "<bench pid> <mongod pid>" inside each temp folder


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def remove_stale_dirs():
    """Removes the temp folders of benches that are no longer running (and
    stops a mongod they left behind); returns the folders removed."""
    root = tempfile.gettempdir()
    removed = []
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if not name.startswith(PREFIX) or not os.path.isdir(path):
            continue
        try:
            with open(os.path.join(path, OWNER)) as f:
                bench_pid, mongod_pid = (int(v) for v in f.read().split())
        except (OSError, ValueError):
            continue  # not ours, or still being created
        if _alive(bench_pid):
            continue
        if _alive(mongod_pid) and path in _cmdline(mongod_pid):
            os.kill(mongod_pid, signal.SIGTERM)
            for _ in range(150):
                if not _alive(mongod_pid):
                    break
                time.sleep(0.1)
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)  # unwinds through the cleanup below


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
    remove_stale_dirs()
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    tmp = tempfile.mkdtemp(prefix=PREFIX)
    os.makedirs(os.path.join(tmp, "db"))
    os.makedirs(os.path.join(tmp, "home"))
    port = _free_port()
    log = open(os.path.join(tmp, "mongod.log"), "w")
    proc = subprocess.Popen(
        [_mongod_path(), "--dbpath", os.path.join(tmp, "db"), "--bind_ip",
         "127.0.0.1", "--port", str(port), "--quiet", "--nounixsocket"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    with open(os.path.join(tmp, OWNER), "w") as f:
        f.write(f"{os.getpid()} {proc.pid}")
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
