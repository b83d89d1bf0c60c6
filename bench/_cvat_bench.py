"""Shared setup of the CVAT benches: the emulator in its own process (so it
does not share the client's GIL), a dataset of N small images with 4 people x
17 keypoints each, and timing helpers."""
import gc
import os
import socket
import statistics
import subprocess
import sys
import time
import tracemalloc

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS_DIR = os.path.join(REPO_DIR, "tests")
PEOPLE = 4
NODES = 17


class EmulatorProcess:
    """``python -m cvat_server`` on a free port; ``.url``, ``.credentials``."""

    def __enter__(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.proc = subprocess.Popen(
            # instant: the benches time the clients, not CVAT's worker
            [sys.executable, "-m", "cvat_server", "--port", str(port), "--instant-processing"],
            cwd=TESTS_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.url = "http://127.0.0.1:%d" % port
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("CVAT emulator did not start")
                time.sleep(0.1)
        sys.path.insert(0, TESTS_DIR)
        from cvat_server.state import State

        self.credentials = {
            "url": self.url, "username": State.ADMIN[0], "password": State.ADMIN[1],
        }
        return self

    def __exit__(self, *args):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def make_dataset(name, size, media_dir, seed=0):
    """``size`` 64x48 JPEGs, each with 4 people x 17 keypoints in ``kps``."""
    import numpy as np
    from PIL import Image

    import fiftyone as fo
    from posekit.templates import get_template

    os.makedirs(media_dir, exist_ok=True)
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(size):
        path = os.path.join(media_dir, "img%06d.jpg" % i)
        if not os.path.exists(path):
            color = tuple(int(c) for c in rng.integers(0, 255, 3))
            Image.new("RGB", (64, 48), color).save(path, quality=80)
        pts = rng.uniform(0.05, 0.95, (PEOPLE, NODES, 2)).round(4)
        samples.append(fo.Sample(filepath=path, kps=fo.Keypoints(keypoints=[
            fo.Keypoint(label="person", points=p.tolist()) for p in pts])))
    ds = fo.Dataset(name, overwrite=True)
    ds.add_samples(samples, progress=False)
    ds.default_skeleton = get_template("coco17").to_skeleton()
    ds.save()
    ds.compute_metadata(progress=False)
    return ds


def timed(fn):
    """Seconds ``fn()`` takes."""
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def peak_mib(fn):
    """Peak Python memory (tracemalloc) of ``fn()``, in MiB."""
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def summarize(title, base, mine, unit="s"):
    """Prints medians and the ratio posekit / baseline; returns the ratio."""
    b, m = statistics.median(base), statistics.median(mine)
    ratio = m / b if b else float("nan")
    print("%-28s baseline %8.3f%s  posekit %8.3f%s  ratio %.2f  (runs: %d)"
          % (title, b, unit, m, unit, ratio, len(base)))
    return ratio
