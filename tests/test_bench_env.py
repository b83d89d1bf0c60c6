"""bench/_env.py: a stopped or killed benchmark leaves no temp folder behind."""
import glob
import os
import signal
import subprocess
import sys
import time

from conftest import REPO_DIR

# A bench that holds its isolated FiftyOne until it is stopped.
HOLD = """
import sys, time
sys.path.insert(0, {bench!r})
from _env import isolated_fiftyone
with isolated_fiftyone() as env:
    print(env["tmp"], flush=True)
    time.sleep(120)
"""


def _start(tmpdir):
    env = dict(os.environ, TMPDIR=str(tmpdir))
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD.format(bench=os.path.join(REPO_DIR, "bench"))],
        env=env, stdout=subprocess.PIPE, text=True,
    )
    folder = proc.stdout.readline().strip()
    assert folder and os.path.isdir(folder), "the bench did not start"
    return proc, folder


def _mongod_pid(folder):
    with open(os.path.join(folder, "owner.pid")) as f:
        return int(f.read().split()[1])


def _gone(pid, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_a_terminated_bench_removes_its_temp_folder(tmp_path):
    proc, folder = _start(tmp_path)
    mongod = _mongod_pid(folder)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert not os.path.exists(folder)
    assert _gone(mongod)
    assert glob.glob(str(tmp_path / "posekit-bench-*")) == []


def test_the_next_bench_removes_what_a_killed_one_left(tmp_path):
    proc, folder = _start(tmp_path)
    mongod = _mongod_pid(folder)
    proc.kill()
    proc.wait(timeout=10)
    assert os.path.isdir(folder)  # SIGKILL: nothing could clean up
    second, folder2 = _start(tmp_path)
    try:
        assert not os.path.exists(folder), "stale bench folder left behind"
        assert _gone(mongod), "the killed bench's mongod still runs"
        assert glob.glob(str(tmp_path / "posekit-bench-*")) == [folder2]
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    assert glob.glob(str(tmp_path / "posekit-bench-*")) == []
