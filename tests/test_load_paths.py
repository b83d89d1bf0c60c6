"""One load path: the ``load_skeleton_annotation`` operator and FiftyOne's
``dataset.load_annotations`` give the same dataset, in any order, on one shared
dataset object or on copies."""
import numpy as np
import pytest

import fiftyone as fo

from annotation_flow import (
    FIELD, assert_loaded, play_annotator, request_params, run, set_credentials,
    tag_two,
)

KEY = "pose"


def _request(ds):
    result = run("request_skeleton_annotation", ds, request_params(KEY))
    assert result.error is None, result.error
    (task_id,) = result.result["task_ids"]
    return task_id


def _operator_load(ds, **params):
    result = run("load_skeleton_annotation", ds, dict(anno_key=KEY, **params))
    assert result.error is None, result.error


def _fiftyone_load(ds, **kwargs):
    ds.load_annotations(KEY, **kwargs)


def _labels(ds, field=FIELD):
    """Every label of ``field`` per sample: id, label, points, confidence,
    per-node occluded flags (NaN as None, so lists compare)."""
    ds.reload()
    out = {}
    for sid, value in zip(ds.values("id"), ds.values(field)):
        items = []
        for lab in (value[value._LABEL_LIST_FIELD] if value is not None else []):
            geom = lab.points if hasattr(lab, "points") else lab.bounding_box
            geom = np.asarray(geom, dtype=float).round(9)
            items.append((
                lab.id, lab.label, str(np.where(np.isnan(geom), None, geom).tolist()),
                lab.confidence, lab.get_attribute_value("occluded", None),
            ))
        out[sid] = sorted(items, key=str)
    return out


def _assert_unique_ids(ds):
    for value in ds.values(FIELD):
        ids = [kp.id for kp in (value.keypoints if value else [])]
        assert len(ids) == len(set(ids)), "an instance appears twice: %s" % ids


@pytest.mark.parametrize("order", [
    (_operator_load, _fiftyone_load),
    (_fiftyone_load, _operator_load),
], ids=["operator-then-load_annotations", "load_annotations-then-operator"])
def test_both_entry_points_on_one_shared_dataset_give_each_instance_once(
    demo_dataset, cvat_server, monkeypatch, order
):
    """The App server shares one dataset object across requests: loading a
    run with the operator and with ``dataset.load_annotations`` on that same
    object, in either order, gives CVAT's instances once each."""
    ds = demo_dataset
    set_credentials(monkeypatch, cvat_server)
    tag_two(ds)
    task_id = _request(ds)
    expected = play_annotator(cvat_server.session(), task_id, seed=5)
    # earlier requests left the run's results cached on the shared object
    # (opening the run in CVAT, FiftyOne's own calls)
    assert run("open_annotation_run", ds, {"anno_key": KEY}).error is None
    ds.load_annotation_results(KEY)
    first, second = order
    first(ds)
    after_first = _labels(ds)
    second(ds)
    _assert_unique_ids(ds)
    assert_loaded(ds, KEY, expected)
    assert _labels(ds) == after_first  # the second load changes nothing


def _unexpected_box(session, task_id):
    """The annotator adds a "car" box label to the task and draws one box."""
    r = session.patch("/api/tasks/%d" % task_id, json={
        "labels": [{"name": "car", "type": "rectangle", "attributes": []}]})
    r.raise_for_status()
    labels = session.get("/api/labels", params={"task_id": task_id}).json()["results"]
    car = next(lab["id"] for lab in labels if lab["name"] == "car")
    job = session.get("/api/jobs", params={"task_id": task_id}).json()["results"][0]
    body = session.get("/api/jobs/%d/annotations" % job["id"]).json()
    body["shapes"].append({
        "type": "rectangle", "frame": job["start_frame"], "label_id": car,
        "points": [4.0, 6.0, 40.0, 30.0], "attributes": [], "occluded": False,
        "outside": False, "group": 0, "z_order": 0, "rotation": 0.0,
        "source": "manual",
    })
    session.put("/api/jobs/%d/annotations" % job["id"], json=body).raise_for_status()


def _delete_one_uploaded(session, task_id):
    """The annotator deletes one of the skeletons posekit uploaded."""
    job = session.get("/api/jobs", params={"task_id": task_id}).json()["results"][-1]
    body = session.get("/api/jobs/%d/annotations" % job["id"]).json()
    skeletons = [s for s in body["shapes"] if s["type"] == "skeleton"]
    body["shapes"].remove(skeletons[-1])
    session.put("/api/jobs/%d/annotations" % job["id"], json=body).raise_for_status()


def test_same_cvat_edits_through_both_entry_points_give_the_same_dataset(
    demo_dataset, cvat_server, monkeypatch
):
    """Moved, hidden, occluded, added and deleted skeletons plus a box drawn
    in CVAT, loaded into two copies of the dataset: one by the operator, one
    by ``load_annotations``. Every keypoint, confidence and occluded flag
    agrees, and so do ``unexpected`` and ``dest_field``."""
    ds = demo_dataset
    set_credentials(monkeypatch, cvat_server)
    tagged = tag_two(ds)
    for sample in ds.select(tagged):  # confidences must survive the load
        for i, kp in enumerate(sample[FIELD].keypoints):
            kp.confidence = [0.5 + 0.01 * i] * len(kp.points)
        sample.save()
    task_id = _request(ds)
    session = cvat_server.session()
    play_annotator(session, task_id, seed=7)
    _delete_one_uploaded(session, task_id)
    _unexpected_box(session, task_id)

    by_fiftyone = ds.clone()
    ignoring = ds.clone()
    into_other = ds.clone()
    into_other_fo = ds.clone()
    n_untagged = sum(len(v.keypoints) for v in ds.match_tags("annotate", bool=False).values(FIELD) if v)

    _operator_load(ds, unexpected="keep")
    _fiftyone_load(by_fiftyone, unexpected="keep")
    mine, theirs = _labels(ds), _labels(by_fiftyone)
    assert mine == theirs
    confidences = [c for labs in mine.values() for (_, _, _, c, _) in labs if c]
    assert confidences, "existing confidences were kept"
    occluded = [o for labs in mine.values() for (*_, o) in labs if o and any(o)]
    assert occluded, "per-node occluded flags were loaded"
    in_cvat = session.get("/api/tasks/%d/annotations" % task_id).json()["shapes"]
    n_cvat = sum(1 for s in in_cvat if s["type"] == "skeleton")
    n_tagged = sum(len(ds[sid][FIELD].keypoints) for sid in tagged)
    assert n_tagged == n_cvat  # CVAT's skeletons, the deleted one gone
    assert sum(len(v) for v in mine.values()) == n_untagged + n_cvat
    # the box went to a "detections" field, the same way on both paths
    assert _labels(ds, "detections") == _labels(by_fiftyone, "detections")
    boxes = [b for labs in _labels(ds, "detections").values() for b in labs]
    assert [b[1] for b in boxes] == ["car"]

    _operator_load(ignoring, unexpected="ignore")
    assert not ignoring.has_sample_field("detections")
    assert _labels(ignoring) == mine

    _operator_load(into_other, dest_field="edited")
    _fiftyone_load(into_other_fo, dest_field="edited", unexpected="keep")
    assert _labels(into_other, "edited") == _labels(into_other_fo, "edited")
    assert len([x for v in _labels(into_other, "edited").values() for x in v]) == \
        sum(len(v) for sid, v in mine.items() if sid in tagged)
    # the run's own field is untouched by a load into another field
    assert _labels(into_other) == _labels(into_other_fo)


def test_load_form_offers_dest_field_and_refuses_a_bad_one(
    demo_dataset, cvat_server, monkeypatch
):
    from annotation_flow import form

    ds = demo_dataset
    set_credentials(monkeypatch, cvat_server)
    tag_two(ds)
    _request(ds)
    props = form("load_skeleton_annotation", ds, params={"anno_key": KEY})["type"]["properties"]
    assert "dest_field" in props and "unexpected" in props
    bad = form("load_skeleton_annotation", ds,
               params={"anno_key": KEY, "dest_field": "filepath"})["type"]["properties"]
    assert bad["dest_field"]["invalid"]
    assert "does not hold fo.Keypoints" in bad["dest_field"]["error_message"]
    result = run("load_skeleton_annotation", ds, {"anno_key": KEY, "dest_field": "2d"})
    assert result.error is not None and "not a usable field name" in result.error_message
    assert isinstance(ds.get_field(FIELD), fo.EmbeddedDocumentField)


def test_a_run_deleted_and_requested_again_is_not_served_stale(
    demo_dataset, cvat_server, monkeypatch
):
    """Runs written from the App go through a private dataset instance (safe
    against the App's concurrent reloads); the shared object must not keep
    serving the old run's cached results afterwards."""
    ds = demo_dataset
    set_credentials(monkeypatch, cvat_server)
    tag_two(ds)
    old_task = _request(ds)
    assert ds.load_annotation_results(KEY).task_ids == [old_task]  # cached
    assert run("delete_annotation_run", ds, {"anno_key": KEY}).error is None
    new_task = _request(ds)
    assert new_task != old_task
    assert ds.load_annotation_results(KEY).task_ids == [new_task]
    _fiftyone_load(ds)
    _assert_unique_ids(ds)


def test_python_request_and_load_of_a_whole_dataset(demo_dataset, cvat_server):
    """From Python, on a dataset (not a view): request, annotate, load."""
    from posekit.cvat import runs

    ds = demo_dataset.select_fields(FIELD).exists(FIELD).limit(2).clone()
    creds = {"url": cvat_server.url, "username": cvat_server.username,
             "password": cvat_server.password}
    try:
        results = runs.request_annotation(ds, KEY, FIELD, credentials=creds)
        (task_id,) = results.task_ids
        expected = play_annotator(cvat_server.session(), task_id, seed=9)
        runs.load_annotation(ds, KEY, credentials=creds)
        assert_loaded(ds, KEY, expected)
        _assert_unique_ids(ds)
    finally:
        ds.delete()
