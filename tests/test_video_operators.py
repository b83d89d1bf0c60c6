"""The request/load operators on video datasets and clips views, immediate
and delegated (progress per CVAT job)."""
import numpy as np
from fiftyone.operators.delegated import DelegatedOperationService
from fiftyone.operators.executor import ExecutionRunState

from annotation_flow import run, set_credentials
from posekit.cvat import runs
from posekit.cvat.progress import progress_callback
from test_annotation_delegated import _work
from test_video_annotation import W, H, assert_same_tracks, frame_tracks, video_dataset  # noqa: F401


def params(key, **extra):
    p = {"target": "VIEW", "anno_key": key, "label_field": "frames.kps",
         "mode": "skeleton", "occluded": True, "segment_size": 10}
    p.update(extra)
    return p


def test_operators_on_a_video_dataset_delegated(video_dataset, cvat_server, monkeypatch):
    ds = video_dataset
    set_credentials(monkeypatch, cvat_server)
    before = frame_tracks(ds)
    queued = run("request_skeleton_annotation", ds, params("vid"), delegate=True)
    assert queued.error is None, queued.error
    done = _work("request_skeleton_annotation", ds)
    assert len(done) == 1 and done[0].error is None, done[0].error
    ds.reload()
    (task_id,) = ds.load_annotation_results("vid").task_ids

    ds.clear_frame_field("kps")
    seen = []
    with progress_callback(lambda f, label: seen.append(label)):
        runs.load_annotation(ds, "vid")
    assert ["Downloaded %d/3 job(s)" % n for n in (1, 2, 3)] == [
        s for s in seen if s.startswith("Downloaded")]
    assert_same_tracks(frame_tracks(ds), before)

    ds.clear_frame_field("kps")
    queued = run("load_skeleton_annotation", ds, {"anno_key": "vid"}, delegate=True)
    assert queued.error is None, queued.error
    done = _work("load_skeleton_annotation", ds)
    assert len(done) == 1 and done[0].error is None, done[0].error
    ds.reload()
    assert_same_tracks(frame_tracks(ds), before)
    for op in DelegatedOperationService().list_operations(dataset_name=ds.name):
        assert op.run_state == ExecutionRunState.COMPLETED
        assert op.status is not None and op.status.progress == 1.0


def test_request_form_offers_frame_fields(video_dataset):
    from annotation_flow import form

    props = form("request_skeleton_annotation", video_dataset, params("vid"))["type"]["properties"]
    field = props["label_field"]
    assert field["default"] == "frames.kps" and not field["invalid"]
    assert [c["value"] for c in field["view"]["choices"]] == ["frames.kps"]
    assert "5 nodes" in props["skeleton"]["view"]["label"]


def test_operators_on_a_clips_view(video_dataset, cvat_server, monkeypatch):
    ds = video_dataset
    set_credentials(monkeypatch, cvat_server)
    clips = ds.to_clips([[(1, 12), (15, 30)]])
    before = frame_tracks(ds)
    result = run("request_skeleton_annotation", ds, params("clip"), view=clips)
    assert result.error is None, result.error
    task_ids = result.result["task_ids"]
    assert result.result["num_samples"] == 2 and len(task_ids) == 2
    s = cvat_server.session()
    sizes = [s.get("/api/tasks/%d" % t).json()["size"] for t in task_ids]
    assert sizes == [12, 16]
    # the annotator moves node a of the first track on the clip's first frame
    # of the second clip (dataset frame 15)
    jobs = sorted(s.get("/api/jobs", params={"task_id": task_ids[1]}).json()["results"],
                  key=lambda j: j["start_frame"])
    body = s.get("/api/jobs/%d/annotations" % jobs[0]["id"]).json()
    track = min(body["tracks"], key=lambda t: t["id"])
    shape = next(sh for sh in track["elements"][0]["shapes"] if sh["frame"] == 0)
    shape["points"] = [7.0, 9.0]
    patch = {"tracks": [track], "shapes": [], "tags": []}
    assert s.patch("/api/jobs/%d/annotations" % jobs[0]["id"], params={"action": "update"},
                   json=patch).ok
    result = run("load_skeleton_annotation", ds, {"anno_key": "clip"})
    assert result.error is None, result.error
    after = frame_tracks(ds)
    np.testing.assert_allclose(after[1][15][0][0], [7 / W, 9 / H])
    after[1][15][0][0] = before[1][15][0][0]
    assert_same_tracks(after, before)
