"""A pre-annotated field goes to CVAT (the emulator) for correction as
skeleton shapes with ``source: "auto"``, an annotator fixes them, load
brings them back, and the correction effort is reported per node."""
import numpy as np

from annotation_flow import run, set_credentials, task_skeleton
from posekit.cvat import svg
from posekit.preannotate import pre_annotate
from posekit.preannotate.effort import correction_effort
from posekit.templates import get_template
from preannotate_models import coco_oks


def _annotate(session, task_id):
    """The annotator: on every skeleton, moves the nose by (6, -8) px and sets
    left_ear outside; adds left_ankle where it was outside on the first
    shape; deletes the last shape; draws a new skeleton on an empty frame.
    Returns (shapes as sent, per-shape node names in order)."""
    (label,) = task_skeleton(session, task_id)
    order = svg.node_order(label)
    name_of = {s["id"]: s["name"] for s in label["sublabels"]}
    (job,) = session.get("/api/jobs", params={"task_id": task_id}).json()["results"]
    body = session.get("/api/jobs/%d/annotations" % job["id"]).json()
    shapes = [s for s in body["shapes"] if s["type"] == "skeleton"]
    used = {s["frame"] for s in shapes}
    for s in shapes:
        by_name = {name_of[e["label_id"]]: e for e in s["elements"]}
        x, y = by_name["nose"]["points"]
        by_name["nose"]["points"] = [x + 6, y - 8]
        by_name["left_ear"]["outside"] = True
    first = {name_of[e["label_id"]]: e for e in shapes[0]["elements"]}
    first["left_ankle"].update(outside=False, points=[100.0, 400.0])
    deleted = shapes.pop()
    free = next(f for f in range(job["start_frame"], job["stop_frame"] + 1) if f not in used)
    shapes.append({
        "type": "skeleton", "frame": free, "label_id": label["id"], "points": [],
        "attributes": [], "occluded": False, "outside": False, "group": 0,
        "z_order": 0, "source": "manual",
        "elements": [{"type": "points", "frame": free, "label_id": sid,
                      "points": [10.0 + i, 20.0 + i], "outside": False,
                      "occluded": False, "attributes": []}
                     for i, sid in enumerate(order)],
    })
    body["shapes"] = shapes
    session.put("/api/jobs/%d/annotations" % job["id"], json=body).raise_for_status()
    return deleted


def test_pre_annotation_round_trip_and_correction_effort(demo_dataset, cvat_server, monkeypatch):
    ds = demo_dataset
    set_credentials(monkeypatch, cvat_server)
    pre_annotate(ds, "pre")
    ds.clone_sample_field("pre", "keypoints")  # keep the model's guess aside
    ids = ds.values("id")
    run("tag_for_annotation", ds, {"tag": "annotate"}, selected=ids)
    sent = run("request_skeleton_annotation", ds, {
        "target": "TAGGED", "tag": "annotate", "anno_key": "fix",
        "label_field": "keypoints", "mode": "skeleton", "occluded": True})
    assert sent.error is None, sent.error

    session = cvat_server.session()
    (task_id,) = ds.load_annotation_results("fix").task_ids
    (job,) = session.get("/api/jobs", params={"task_id": task_id}).json()["results"]
    uploaded = [s for s in session.get("/api/jobs/%d/annotations" % job["id"]).json()["shapes"]
                if s["type"] == "skeleton"]
    assert len(uploaded) == 3  # three people, nobody on the cat
    for s in uploaded:
        assert s["source"] == "auto"
        assert {e["source"] for e in s["elements"]} == {"auto"}

    _annotate(session, task_id)
    loaded = run("load_skeleton_annotation", ds, {"anno_key": "fix"})
    assert loaded.error is None, loaded.error
    ds.reload()

    report = correction_effort(ds, "pre", "keypoints")
    assert report["instances"] == {"matched": 2, "added": 1, "deleted": 1}
    nodes = {n["node"]: n for n in report["nodes"]}
    assert nodes["nose"]["kept"] == 2 and nodes["nose"]["moved"] == 2
    assert np.isclose(nodes["nose"]["mean_px"], 10.0)  # |(6, -8)|
    assert nodes["left_ear"]["removed"] == 2 and nodes["left_ear"]["kept"] == 0
    assert nodes["left_ankle"]["added"] == 1
    # OKS of the model's guess against the correction: COCO's formula, area =
    # the box of the corrected points
    want = []
    for s in ds:
        post = {kp.id: kp for kp in s.keypoints.keypoints}
        for kp in s.pre.keypoints:
            if kp.id in post:
                wh = [s.metadata.width, s.metadata.height]
                g = np.asarray(post[kp.id].points, float) * wh
                p = np.asarray(kp.points, float) * wh
                area = float(np.prod(np.nanmax(g, axis=0) - np.nanmin(g, axis=0)))
                want.append(coco_oks(g, p, area, get_template("coco17").sigmas))
    assert len(want) == 2 and np.isclose(report["mean_oks"], np.mean(want))
    assert report["mean_oks"] < 1.0  # the nose moved, a node was added
    # nothing else was touched: zero displacement, nothing added or removed
    for name, n in nodes.items():
        if name not in ("nose", "left_ear", "left_ankle"):
            assert n["moved"] == 0 and n["added"] == 0 and n["removed"] == 0, n
            assert n["max_px"] is None or n["max_px"] < 1e-6, n

    # the same report from the operator, as a table in the App
    import fiftyone.operators as foo

    from conftest import uri

    out = foo.execute_operator(uri("correction_report"), dataset=ds, params={
        "pre_field": "pre", "corrected_field": "keypoints"})
    assert out.error is None, out.error
    assert out.result["report"] == report
    assert "| nose | 2 | 2 | 10.0 | 10.0 | 10.0 | 0 | 0 |" in out.result["table"]
    assert "1 added, 1 deleted" in out.result["table"]
