"""The demo: a local dataset with real photos, and the App served with posekit."""
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid

import numpy as np

from conftest import REPO_DIR, free_port


def test_demo_dataset_has_people_keypoints_and_skeleton(demo_dataset):
    ds = demo_dataset
    assert len(ds) >= 4
    assert ds.default_skeleton is not None
    n_labels = len(ds.default_skeleton.labels)
    assert n_labels == 17 and "left_shoulder" in ds.default_skeleton.labels
    annotated = ds.exists("ground_truth")
    assert len(annotated) >= 3
    for sample in annotated:
        assert sample.metadata.width > 0
        for kp in sample.ground_truth.keypoints:
            pts = np.asarray(kp.points, dtype=float)
            assert pts.shape == (n_labels, 2)
            seen = pts[~np.isnan(pts[:, 0])]
            assert len(seen) >= 5
            assert ((seen >= 0) & (seen <= 1)).all()
            assert len(kp["occluded"]) == n_labels
        assert sample.predictions.keypoints[0].confidence is not None
    assert len(ds.exists("ground_truth", False)) >= 1  # something to annotate


def _get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.status, r.read()


def _demo(*args, timeout=180):
    return subprocess.run(
        [sys.executable, "-m", "posekit.demo", *args], cwd=REPO_DIR,
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
    )


def test_demo_restart_keeps_the_dataset_and_reset_rebuilds_it():
    import fiftyone as fo

    name = f"posekit-demo-{uuid.uuid4().hex[:6]}"
    try:
        first = _demo("--name", name, "--no-wait")
        assert first.returncode == 0, first.stderr[-2000:]
        # it says where it writes: the database and the media folder
        media = os.path.join(fo.config.default_dataset_dir, name + "-media")
        assert f"dataset '{name}' in the database at {os.environ['FIFTYONE_DATABASE_URI']}" in first.stdout
        assert f"photos in {media}" in first.stdout
        assert "samples, built" in first.stdout
        ds = fo.load_dataset(name)
        assert len(ds.exists("pre_annotations")) == 3  # posekit.demo_people, pre-annotated
        sample = ds.first()
        sample.tags.append("my-tag")
        sample.save()

        again = _demo("--name", name, "--no-wait")
        assert again.returncode == 0, again.stderr[-2000:]
        assert "kept as you left it (--reset rebuilds it)" in again.stdout
        ds.reload()
        assert ds.count_sample_tags() == {"my-tag": 1}
        assert "oldest supported" not in again.stdout + again.stderr

        reset = _demo("--name", name, "--no-wait", "--reset")
        assert reset.returncode == 0, reset.stderr[-2000:]
        assert "samples, rebuilt" in reset.stdout
        assert fo.load_dataset(name).count_sample_tags() == {}
    finally:
        if fo.dataset_exists(name):
            fo.delete_dataset(name)


def _check_busy(port, started):
    out = _demo("--port", str(port), timeout=30)
    elapsed = time.time() - started
    lines = (out.stdout + out.stderr).strip().splitlines()
    return out.returncode, lines, elapsed


def test_demo_refuses_a_busy_port_at_once():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        rc, lines, elapsed = _check_busy(port, time.time())
    assert rc == 1
    assert len(lines) == 1, lines
    (line,) = lines
    assert line.startswith(f"posekit demo: port {port} is in use: try --port ")
    suggested = int(line.rsplit(" ", 1)[1])
    assert suggested != port
    with socket.socket() as s:
        s.bind(("127.0.0.1", suggested))  # the suggestion is free
    assert elapsed < 5, f"took {elapsed:.1f}s"


def _wait_for_line(path, text, proc, deadline):
    while time.time() < deadline:
        with open(path) as f:
            for line in f:
                if text in line:
                    return line
        assert proc.poll() is None, open(path).read()
        time.sleep(0.25)
    raise AssertionError(f"no {text!r} line in time:\n{open(path).read()}")


def test_demo_command_serves_the_app_with_the_plugin(tmp_path):
    port = free_port()
    name = f"posekit-demo-{uuid.uuid4().hex[:6]}"
    log_path = tmp_path / "demo.log"
    # the output goes to a file: the App server's processes inherit it
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "posekit.demo", "--port", str(port),
             "--name", name],
            cwd=REPO_DIR, stdout=log, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
            # as in a terminal: a background job of a non-interactive shell
            # (e.g. `nohup ... &`) inherits SIGINT ignored
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    try:
        deadline = time.time() + 180
        line = _wait_for_line(log_path, "open http://", proc, deadline)
        url = line.split("open ", 1)[1].split()[0]
        assert url == f"http://127.0.0.1:{port}/"
        status = None
        while time.time() < deadline and status != 200:
            try:
                status, body = _get(url)
            except OSError:
                time.sleep(0.5)
        assert status == 200 and b"<html" in body.lower()
        # the App server lists posekit's operators
        req = urllib.request.Request(
            url + "operators", data=b"{}",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            listed = r.read().decode()
        assert "@posekit/skeletons/define_skeleton" in listed

        # a second demo on the same port refuses, naming the App already there
        started = time.time()
        rc, lines, elapsed = _check_busy(port, started)
        assert rc == 1 and len(lines) == 1, lines
        assert lines[0].startswith(
            f"posekit demo: port {port} is in use (a FiftyOne App is already "
            "running there): try --port ")
        assert elapsed < 5, f"took {elapsed:.1f}s"

        # Ctrl+C in the terminal (SIGINT to the whole group): a quiet exit
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=120) == 0
        printed = log_path.read_text()
        assert "Traceback" not in printed and "KeyboardInterrupt" not in printed, printed
        assert "posekit demo: stopped" in printed.strip().splitlines()[-1]
        for noise in ("ssh", "oldest supported", "Could not connect", "Computing metadata"):
            assert noise not in printed, printed
        assert [l for l in printed.splitlines() if "http://" in l] == [
            f"posekit demo: open {url} (Ctrl+C to stop)"]
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # the demo and the App server it started
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        import fiftyone as fo

        if fo.dataset_exists(name):
            fo.delete_dataset(name)
