"""The annotation round trip through FiftyOne's operator execution path:
tag, request (native CVAT skeleton), annotate in CVAT, load."""
import os
import subprocess
import sys

import numpy as np
import pytest

from annotation_flow import (
    FIELD, assert_loaded, play_annotator, request_params, run, set_credentials,
    snapshot, tag_two, task_skeleton,
)
from posekit.cvat import svg
from posekit.templates import get_template
from cvat_server.fixtures import PROFILES

pytestmark = pytest.mark.parametrize("cvat_server", PROFILES, indirect=True)  # 2.23.1 and 2.73.0

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_round_trip_skeleton(demo_dataset, cvat_server, monkeypatch):
    ds = demo_dataset
    set_credentials(monkeypatch, cvat_server)
    skeleton = get_template("coco17").to_skeleton()
    ds.default_skeleton = skeleton
    ds.save()
    tagged = tag_two(ds)
    assert sorted(ds.match_tags("annotate").values("id")) == sorted(tagged)
    before = {s.id: s[FIELD] for s in ds.select(tagged)}

    result = run("request_skeleton_annotation", ds, request_params("pose1"))
    assert result.error is None, result.error
    assert result.result["num_samples"] == 2
    (task_id,) = result.result["task_ids"]
    assert "pose1" in ds.list_annotation_runs()
    info = ds.get_annotation_info("pose1")
    assert info.config.name == "posekit_cvat"
    stored = str(ds._doc.annotation_runs["pose1"].to_dict())
    assert cvat_server.password not in str(info.config.serialize())
    assert cvat_server.password not in stored

    # the task has one skeleton label: the 17 COCO nodes in order, and the edges
    session = cvat_server.session()
    (label,) = task_skeleton(session, task_id)
    name_of = {s["id"]: s["name"] for s in label["sublabels"]}
    assert [name_of[i] for i in svg.node_order(label)] == skeleton.labels
    parsed = svg.parse_svg(label["svg"])
    node_name = {n: name_of[parsed.label_ids[n]] for n in parsed.node_ids}
    served_edges = {frozenset((node_name[a], node_name[b])) for a, b in parsed.edges}
    want_edges = {frozenset((skeleton.labels[a], skeleton.labels[b]))
                  for a, b in svg.edge_pairs(skeleton.edges)}
    assert served_edges == want_edges

    # existing keypoints went up as skeleton shapes: NaN nodes as outside
    task_annos = session.get("/api/tasks/%d/annotations" % task_id).json()
    assert len(task_annos["shapes"]) == sum(len(k.keypoints) for k in before.values())
    for shape in task_annos["shapes"]:
        assert shape["type"] == "skeleton" and len(shape["elements"]) == 17

    expected = play_annotator(session, task_id, seed=3)
    result = run("load_skeleton_annotation", ds, {"anno_key": "pose1"})
    assert result.error is None, result.error
    assert_loaded(ds, "pose1", expected)
    # untouched nodes of the edited existing skeleton keep the uploaded values
    first_ids = {kp.id for k in before.values() for kp in k.keypoints}
    loaded_ids = {kp.id for k in ds.select(tagged).values(FIELD) for kp in k.keypoints}
    assert first_ids <= loaded_ids

    # loading twice changes nothing: no duplicates
    once = snapshot(ds)
    result = run("load_skeleton_annotation", ds, {"anno_key": "pose1"})
    assert result.error is None, result.error
    assert snapshot(ds) == once

    # plain Python in a new process: dataset.load_annotations works too
    env = dict(os.environ, PYTHONPATH=REPO)
    code = (
        "import fiftyone as fo\n"
        "ds = fo.load_dataset(%r)\n"
        "ds.load_annotations('pose1')\n"
        "print(sum(len(k.keypoints) for k in ds.values(%r) if k))\n"
    ) % (ds.name, FIELD)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.strip().splitlines()[-1]) == sum(
        len(k.keypoints) for k in ds.values(FIELD) if k)
    assert snapshot(ds) == once


def test_points_mode_is_stock_behaviour(demo_dataset, cvat_server, monkeypatch):
    ds = demo_dataset
    set_credentials(monkeypatch, cvat_server)
    ds.set_values(FIELD, [None] * len(ds))  # stock points cannot carry NaN nodes
    ids = ds.limit(1).values("id")
    result = run("request_skeleton_annotation", ds,
                 request_params("pts", target="SELECTED", mode="points"), selected=ids)
    assert result.error is None, result.error
    (task_id,) = result.result["task_ids"]
    labels = cvat_server.session().get("/api/labels", params={"task_id": task_id}).json()["results"]
    assert labels and all(l["type"] != "skeleton" for l in labels)
    result = run("load_skeleton_annotation", ds, {"anno_key": "pts"})
    assert result.error is None, result.error
