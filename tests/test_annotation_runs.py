"""Runs: validation before anything reaches CVAT, listing with CVAT status,
open, rename, delete (with or without the CVAT tasks)."""
import fiftyone as fo
import pytest

from annotation_flow import FIELD, form_text, request_params, run, set_credentials, snapshot, tag_two
from cvat_server.fixtures import PROFILES

pytestmark = pytest.mark.parametrize("cvat_server", PROFILES, indirect=True)  # 2.23.1 and 2.73.0


def _posts(server, path="/api/tasks"):
    return sum(1 for m, p in server.calls if m == "POST" and p == path)


def _request(ds, key="pose", **extra):
    result = run("request_skeleton_annotation", ds, request_params(key, **extra))
    assert result.error is None, result.error
    return result.result


def test_bad_input_is_refused_before_cvat(demo_dataset, cvat_server, monkeypatch):
    ds = demo_dataset
    set_credentials(monkeypatch, cvat_server)
    tag_two(ds)
    _request(ds, "taken")
    cvat_server.calls.clear()
    before = snapshot(ds)

    text = form_text("request_skeleton_annotation", ds, params=request_params("taken"))
    assert "already exists" in text
    assert "must be a valid identifier" in form_text(
        "request_skeleton_annotation", ds, params=request_params("2 bad"))

    cases = {
        "already exists": request_params("taken"),
        "valid identifier": request_params("not valid"),
        "does not hold fo.Keypoints": request_params("k1", label_field="filepath"),
        "no samples": request_params("k2", tag="nothing-tagged"),
    }
    for needle, params in cases.items():
        result = run("request_skeleton_annotation", ds, params)
        assert _posts(cvat_server) == 0, needle
        assert result.error is not None and needle in result.error_message.lower() or \
            needle in (result.error_message or ""), (needle, result.error_message)

    # a skeleton CVAT could not take: duplicate node names
    sk = ds.default_skeleton
    ds.default_skeleton = fo.KeypointSkeleton(labels=["a"] * len(sk.labels), edges=sk.edges)
    ds.save()
    result = run("request_skeleton_annotation", ds, request_params("k3"))
    assert "Duplicate skeleton node names" in result.error_message
    # keypoints with more points than the skeleton has nodes
    ds.default_skeleton = fo.KeypointSkeleton(labels=sk.labels[:5], edges=[[0, 1]])
    ds.save()
    result = run("request_skeleton_annotation", ds, request_params("k4"))
    assert "skeleton has 5 nodes" in result.error_message

    assert _posts(cvat_server) == 0, cvat_server.calls
    assert snapshot(ds) == before


def test_list_open_rename_delete(demo_dataset, cvat_server, monkeypatch):
    ds = demo_dataset
    set_credentials(monkeypatch, cvat_server)
    tag_two(ds)
    out = _request(ds, "pose", segment_size=1, project_name="posekit-proj")
    (task_id,) = out["task_ids"]

    result = run("list_annotation_runs", ds, {"status": True}).result
    (entry,) = result["runs"]
    row = result["table"].splitlines()[2]
    # Markdown-escaped text: underscores backslashed, shown as typed
    assert row.startswith("| pose | posekit\\_cvat | %s |" % FIELD.replace("_", "\\_"))
    assert row.endswith("| 1 (annotation) | 0% of 2 |")
    assert entry["anno_key"] == "pose" and entry["label_fields"] == [FIELD]
    (task,) = entry["status"]["tasks"]
    assert task["id"] == task_id and len(task["jobs"]) == 2  # segment_size=1
    assert all(j["state"] == "new" for j in task["jobs"])
    assert entry["status"]["progress"] == 0.0
    project = cvat_server.session().get("/api/projects", params={"search": "posekit-proj"}).json()
    assert project["count"] == 1

    link = run("open_annotation_run", ds, {"anno_key": "pose"}).result["editor_url"]
    assert link.startswith(cvat_server.url + "/tasks/%d/jobs/" % task_id)

    assert "already exists" not in form_text(
        "rename_annotation_run", ds, params={"anno_key": "pose", "new_anno_key": "pose2"})
    result = run("rename_annotation_run", ds, {"anno_key": "pose", "new_anno_key": "bad key"})
    assert result.error is not None and ds.list_annotation_runs() == ["pose"]
    result = run("rename_annotation_run", ds, {"anno_key": "pose", "new_anno_key": "pose2"})
    assert result.error is None and ds.list_annotation_runs() == ["pose2"]

    # server down: the run is kept, the message is clear
    cvat_server.faults.refuse_connections()
    result = run("delete_annotation_run", ds, {"anno_key": "pose2", "delete_tasks": True})
    assert "cannot reach" in result.error_message.lower()
    assert cvat_server.password not in result.error_message
    listed = run("list_annotation_runs", ds, {"status": True}).result["runs"]
    assert "cannot reach" in listed[0]["status_error"].lower()
    cvat_server.faults.clear()
    assert ds.list_annotation_runs() == ["pose2"]

    result = run("delete_annotation_run", ds, {"anno_key": "pose2", "delete_tasks": True})
    assert result.error is None, result.error
    assert ds.list_annotation_runs() == []
    s = cvat_server.session()
    assert s.get("/api/tasks/%d" % task_id).status_code == 404
    assert s.get("/api/projects", params={"search": "posekit-proj"}).json()["count"] == 0


def test_delete_keeps_tasks_by_default(demo_dataset, cvat_server, monkeypatch):
    ds = demo_dataset
    set_credentials(monkeypatch, cvat_server)
    tag_two(ds)
    (task_id,) = _request(ds)["task_ids"]
    result = run("delete_annotation_run", ds, {"anno_key": "pose"})
    assert result.error is None and ds.list_annotation_runs() == []
    assert cvat_server.session().get("/api/tasks/%d" % task_id).status_code == 200


def test_load_with_cleanup_deletes_tasks(demo_dataset, cvat_server, monkeypatch):
    ds = demo_dataset
    set_credentials(monkeypatch, cvat_server)
    tag_two(ds)
    (task_id,) = _request(ds)["task_ids"]
    result = run("load_skeleton_annotation", ds, {"anno_key": "pose", "cleanup": True})
    assert result.error is None, result.error
    assert cvat_server.session().get("/api/tasks/%d" % task_id).status_code == 404
    assert ds.load_annotation_results("pose").task_ids == []


def test_request_survives_the_app_reloading_its_shared_dataset(
    demo_dataset, cvat_server, monkeypatch
):
    """The App server shares one dataset object between requests and reloads
    it at each one; such a reload landing while the run is being registered
    (here: just before every dataset save) must not drop the run."""
    ds = demo_dataset
    set_credentials(monkeypatch, cvat_server)
    tag_two(ds)
    shared = fo.load_dataset(ds.name)
    save = fo.Dataset.save

    def save_after_another_requests_reload(self, *args, **kwargs):
        shared.reload()
        return save(self, *args, **kwargs)

    monkeypatch.setattr(fo.Dataset, "save", save_after_another_requests_reload)
    result = run("request_skeleton_annotation", ds, request_params("pose"))
    assert result.error is None, result.error
    assert ds.list_annotation_runs() == ["pose"]
    assert ds.load_annotation_results("pose").task_ids == result.result["task_ids"]
