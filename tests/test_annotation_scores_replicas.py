"""Keypoint confidences travel as CVAT element scores (2.73; 2.23.1 ignores
them), and consensus replica jobs are not merged into the dataset."""
import math

import numpy as np
import pytest

from annotation_flow import (
    FIELD, assert_loaded, play_annotator, request_params, run, set_credentials,
    snapshot, tag_two,
)
from posekit.templates import get_template

CONF = [0.5, 1.7, -0.2, float("nan")]  # -> 0.5, 1.0 (clamped), 0.0 (clamped), no score


def _with_confidences(ds):
    ds.default_skeleton = get_template("coco17").to_skeleton()
    ds.save()
    ids = tag_two(ds)
    for sample in ds.select(ids):
        for kp in sample[FIELD].keypoints:
            kp.confidence = CONF + [0.25] * (len(kp.points) - len(CONF))
        sample.save()
    return ids


def _served_scores(cvat_server, task_id):
    s = cvat_server.session()
    (label,) = [l for l in s.get("/api/labels", params={"task_id": task_id}).json()["results"]
                if l["type"] == "skeleton"]
    from posekit.cvat import svg
    order = svg.node_order(label)
    shapes = s.get(f"/api/tasks/{task_id}/annotations").json()["shapes"]
    out = []
    for shape in shapes:
        by_label = {e["label_id"]: e for e in shape["elements"]}
        out.append([by_label[sid].get("score") for sid in order])
    return out


@pytest.mark.parametrize("cvat_server", ["2.23.1", "2.73.0"], indirect=True)
def test_confidences_round_trip_as_scores(demo_dataset, cvat_server, monkeypatch):
    ds = demo_dataset
    set_credentials(monkeypatch, cvat_server)
    ids = _with_confidences(ds)
    result = run("request_skeleton_annotation", ds, request_params("conf"))
    assert result.error is None, result.error
    (task_id,) = result.result["task_ids"]
    uploaded = {kp.id for s in ds.select(ids) for kp in s[FIELD].keypoints}
    served = _served_scores(cvat_server, task_id)
    if cvat_server.version == "2.23.1":
        assert all(s is None for scores in served for s in scores)  # ignored
    else:
        for scores in served:  # clamped; NaN sent as no score: CVAT's default 1.0
            assert scores[:4] == [0.5, 1.0, 0.0, 1.0] and set(scores[4:]) == {0.25}

    # an annotator moves nodes of one skeleton; the others are untouched
    play_annotator(cvat_server.session(), task_id, seed=1)
    result = run("load_skeleton_annotation", ds, {"anno_key": "conf"})
    assert result.error is None, result.error
    ds.reload()
    for sample in ds.select(ids):
        for kp in sample[FIELD].keypoints:
            conf = kp.confidence
            if kp.id not in uploaded:
                continue
            if cvat_server.version == "2.23.1":
                # nothing came back: the uploaded confidences are kept as they were
                assert conf[:3] == CONF[:3] and math.isnan(conf[3])
            else:
                assert conf[:4] == [0.5, 1.0, 0.0, 1.0] and set(conf[4:]) == {0.25}
    # skeletons drawn in CVAT get no made-up confidence (every score is 1.0)
    new = [kp for s in ds.select(ids) for kp in s[FIELD].keypoints if kp.id not in uploaded]
    assert new and all(kp.confidence is None for kp in new)


@pytest.mark.parametrize("cvat_server", ["2.73.0"], indirect=True)
def test_consensus_replica_jobs_are_not_merged_twice(demo_dataset, cvat_server, monkeypatch, caplog):
    ds = demo_dataset
    set_credentials(monkeypatch, cvat_server)
    ds.default_skeleton = get_template("coco17").to_skeleton()
    ds.save()
    tag_two(ds)
    result = run("request_skeleton_annotation", ds, request_params("cons"))
    assert result.error is None, result.error
    (task_id,) = result.result["task_ids"]
    task = cvat_server.state.tasks[task_id]
    cvat_server.state.add_replica_jobs(task, 2)
    s = cvat_server.session()
    jobs = s.get("/api/jobs", params={"task_id": task_id}).json()["results"]
    replicas = [j for j in jobs if j["parent_job_id"] is not None]
    assert len(replicas) == 2 and all(j["type"] == "consensus_replica" for j in replicas)

    expected = play_annotator(s, task_id, seed=4)  # the parent job's annotation
    # each replica annotator draws the same skeletons again
    parent = next(j for j in jobs if j["parent_job_id"] is None)
    body = s.get(f"/api/jobs/{parent['id']}/annotations").json()
    for shape in body["shapes"]:
        shape.pop("id")
        for e in shape["elements"]:
            e.pop("id")
    for job in replicas:
        assert s.put(f"/api/jobs/{job['id']}/annotations", json=body).status_code == 200

    result = run("load_skeleton_annotation", ds, {"anno_key": "cons"})
    assert result.error is None, result.error
    assert_loaded(ds, "cons", expected)  # each skeleton once
    assert "2 consensus replica job(s)" in caplog.text
    once = snapshot(ds)
    assert run("load_skeleton_annotation", ds, {"anno_key": "cons"}).error is None
    assert snapshot(ds) == once
