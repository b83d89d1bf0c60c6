"""What real CVAT servers answered: our recordings in ``tests/recordings/``
(part of the repository), and CVAT's own REST test assets
(``skeleton_labels.json``, ``skeleton_annotations.json``), which are not ours
to ship and are read from ``../shared/cvat/`` beside the repository where it
exists (CI has it). Where it does not, the tests that need an asset are
reported as skipped with the reason; every fact they check is also checked on
our recordings. ``POSEKIT_REQUIRE_CVAT_ASSETS=1`` (set by ``.ci/run``) makes
a missing asset a failure instead."""
import glob
import json
import os

import pytest

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(TESTS_DIR)
RECORDINGS = os.path.join(TESTS_DIR, "recordings")
VERSIONS = ("2.23.1", "2.73.0")
CVAT_ASSETS = os.path.normpath(os.path.join(REPO_DIR, "..", "shared", "cvat"))


def recorded(version, name):
    """Path of one recorded file, e.g. ``recorded("2.23.1", "skeleton_flow.txt")``."""
    return os.path.join(RECORDINGS, version, name)


def _scenarios(version):
    """[(file name, calls)] of the recorded request/response scenarios."""
    out = []
    for path in sorted(glob.glob(os.path.join(RECORDINGS, version, "*.json"))):
        with open(path) as f:
            data = json.load(f)
        calls = data.get("calls") if isinstance(data, dict) else None
        if calls and all(isinstance(c, dict) and "request" in c for c in calls):
            out.append((os.path.basename(path), calls))
    return out


def served_skeleton_labels(version):
    """[(where, label)]: every distinct skeleton label a real server served
    on ``GET /api/labels``, first time seen."""
    out, seen = [], set()
    for name, calls in _scenarios(version):
        for call in calls:
            req, resp = call["request"], call["response"]
            if req.get("path") != "/api/labels" or resp.get("status") != 200:
                continue
            for label in resp["json"]["results"]:
                key = (name, label["id"])
                if label["type"] == "skeleton" and key not in seen:
                    seen.add(key)
                    out.append((f"{version}/{name}: label {label['id']}", label))
    return out


def served_skeleton_annotations(version):
    """[(where, labels by id, body)]: every ``GET .../annotations`` answer
    holding skeleton shapes or tracks, with the skeleton labels served in the
    same scenario."""
    out = []
    for name, calls in _scenarios(version):
        labels = {}
        for call in calls:
            req, resp = call["request"], call["response"]
            if resp.get("status") != 200 or not isinstance(resp.get("json"), dict):
                continue
            if req.get("path") == "/api/labels":
                labels.update({l["id"]: l for l in resp["json"]["results"]})
            elif req.get("method") == "GET" and req.get("path", "").endswith("/annotations"):
                body = resp["json"]
                if any(s["type"] == "skeleton" for s in body.get("shapes", [])) or body.get("tracks"):
                    out.append((f"{version}/{name}: {call['label']}", dict(labels), body))
    return out


def cvat_asset(name):
    """Parsed JSON of one of CVAT's own test assets, or a skip that says why
    it is absent (it shows in the pytest summary)."""
    path = os.path.join(CVAT_ASSETS, name)
    if not os.path.exists(path):
        why = (f"CVAT's own test asset {name} is not in the repository (not ours "
               f"to ship) and {CVAT_ASSETS} does not exist here; the same facts "
               "are checked on tests/recordings/")
        if os.environ.get("POSEKIT_REQUIRE_CVAT_ASSETS"):  # CI has them
            pytest.fail(why)
        pytest.skip(why)
    with open(path) as f:
        return json.load(f)
