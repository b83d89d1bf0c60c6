"""What a load says (issue 11, items 8 and 11): which CVAT tasks are gone
(the run keeps them unless the user chooses to forget them, and their samples
are left as they are), and what changed per field: instances added, updated,
deleted, in the operator output and the Python return value."""
import pytest

from annotation_flow import FIELD, play_annotator, request_params, run, set_credentials, snapshot, tag_two
from posekit.cvat import runs


def _labels(ds, ids):
    return {s.id: str(s[FIELD].to_dict()) for s in ds.select(sorted(ids))}


@pytest.fixture
def two_tasks(demo_dataset, cvat_server, monkeypatch):
    set_credentials(monkeypatch, cvat_server)
    ds = demo_dataset
    tag_two(ds)
    result = run("request_skeleton_annotation", ds, request_params("pose", task_size=1))
    assert result.error is None, result.error
    return ds, cvat_server, result.result["task_ids"]


def test_load_names_deleted_tasks_and_keeps_the_run(two_tasks):
    ds, server, (kept, gone) = two_tasks
    session = server.session()
    play_annotator(session, kept, seed=2)
    session.delete("/api/tasks/%d" % gone).raise_for_status()
    ds.reload()
    record = ds.load_annotation_results("pose")
    gone_samples = {fd["sample_id"] for fd in record.frame_id_map[gone].values()}
    before = _labels(ds, gone_samples)

    result = run("load_skeleton_annotation", ds, {"anno_key": "pose"})
    assert result.error is None, result.error
    assert result.result["deleted_tasks"] == [gone]
    assert "CVAT task(s) %d no longer exist" % gone in result.result["summary"]
    ds.reload()
    ds._annotation_cache.clear()
    record = ds.load_annotation_results("pose")
    assert record.task_ids == [kept, gone]  # the run's record is intact
    assert gone in record.frame_id_map and gone in record.job_ids
    assert _labels(ds, gone_samples) == before

    # loading again says it again; choosing to forget drops the task
    again = run("load_skeleton_annotation", ds, {"anno_key": "pose"})
    assert again.result["deleted_tasks"] == [gone]
    forget = run("load_skeleton_annotation", ds,
                 {"anno_key": "pose", "forget_deleted_tasks": True})
    assert forget.error is None, forget.error
    assert "removed from the run" in forget.result["summary"]
    ds._annotation_cache.clear()
    assert ds.load_annotation_results("pose").task_ids == [kept]
    assert _labels(ds, gone_samples) == before


def test_load_reports_what_changed_per_field(two_tasks):
    ds, server, (first, second) = two_tasks
    session = server.session()
    play_annotator(session, first, seed=4)  # edits one skeleton, adds one (1 job)
    # in the second task the annotator deletes every skeleton
    jobs = session.get("/api/jobs", params={"task_id": second}).json()["results"]
    removed = 0
    for job in jobs:
        body = session.get("/api/jobs/%d/annotations" % job["id"]).json()
        removed += len(body["shapes"])
        session.put("/api/jobs/%d/annotations" % job["id"],
                    json=dict(body, shapes=[], tracks=[], tags=[])).raise_for_status()
    assert removed >= 1

    result = run("load_skeleton_annotation", ds, {"anno_key": "pose"})
    assert result.error is None, result.error
    changes = result.result["changes"][FIELD]
    assert changes == {"added": 1, "updated": 1, "deleted": removed}
    assert "1 added, 1 updated, %d deleted" % removed in result.result["summary"]

    # Python: the same report; loading again changes nothing
    ds.reload()
    report = runs.load_annotation(ds, "pose", credentials={
        "url": server.url, "username": server.username, "password": server.password})
    assert report["changes"] == {FIELD: {"added": 0, "updated": 0, "deleted": 0}}
    assert report["deleted_tasks"] == []


def test_points_mode_also_keeps_deleted_tasks(demo_dataset, cvat_server, monkeypatch):
    set_credentials(monkeypatch, cvat_server)
    ds = demo_dataset
    tag_two(ds)
    result = run("request_skeleton_annotation", ds,
                 request_params("pts", task_size=1, mode="points", label_field="pts"))
    assert result.error is None, result.error
    kept, gone = result.result["task_ids"]
    cvat_server.session().delete("/api/tasks/%d" % gone).raise_for_status()
    before = snapshot(ds)
    result = run("load_skeleton_annotation", ds, {"anno_key": "pts"})
    assert result.error is None, result.error
    assert result.result["deleted_tasks"] == [gone]
    assert snapshot(ds) == before  # nothing edited in CVAT: nothing changes
    ds._annotation_cache.clear()
    assert ds.load_annotation_results("pts").task_ids == [kept, gone]
