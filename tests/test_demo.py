"""The demo: a local dataset with real photos, and the App served with posekit."""
import os
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


def test_demo_command_serves_the_app_with_the_plugin():
    port = free_port()
    name = f"posekit-demo-{uuid.uuid4().hex[:6]}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "posekit.demo", "--port", str(port),
         "--name", name],
        cwd=REPO_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = None
        deadline = time.time() + 120
        for line in proc.stdout:
            if "open http://" in line:
                url = line.split("open ", 1)[1].split()[0]
                break
            assert time.time() < deadline, "demo did not print its URL"
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
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        import fiftyone as fo

        if fo.dataset_exists(name):
            fo.delete_dataset(name)
