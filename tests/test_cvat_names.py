"""Node names through CVAT (issue 11, item 1): names with ``&``, ``<``, ``>``
come back in their own slots; names CVAT cannot carry (``"``, edge
whitespace, over 64 characters) are refused at define, import and request
time, before anything is saved or created."""
import json

import numpy as np
import pytest

import fiftyone as fo

from annotation_flow import run, set_credentials, task_skeleton
from posekit import skeleton as pk
from posekit.cvat import svg

NAMES = ["head", "hip & knee", "a<b>c", "foot"]


def _pose_dataset(ds, names):
    ds.skeletons = dict(ds.skeletons or {}, pose=fo.KeypointSkeleton(
        labels=list(names), edges=[[0, 1, 2, 3]]))
    ds.save()
    return ds.limit(2).values("id")


def annotate_by_name(session, task_id, point_of):
    """Adds one skeleton per job in CVAT, each node placed by its name."""
    (label,) = task_skeleton(session, task_id)
    id_of = {s["name"]: s["id"] for s in label["sublabels"]}
    frames = []
    for job in session.get("/api/jobs", params={"task_id": task_id}).json()["results"]:
        body = session.get("/api/jobs/%d/annotations" % job["id"]).json()
        frame = job["start_frame"]
        body["shapes"].append({
            "type": "skeleton", "frame": frame, "label_id": label["id"],
            "points": [], "attributes": [], "occluded": False, "outside": False,
            "group": 0, "z_order": 0, "source": "manual",
            "elements": [
                {"type": "points", "frame": frame, "label_id": id_of[n],
                 "points": list(p), "outside": False, "occluded": False,
                 "attributes": []}
                for n, p in reversed(list(point_of.items()))
            ],
        })
        session.put("/api/jobs/%d/annotations" % job["id"], json=body).raise_for_status()
        frames.append(frame)
    return frames


def test_names_with_xml_characters_round_trip_in_their_slots(
        demo_dataset, cvat_server, monkeypatch):
    ds = demo_dataset
    set_credentials(monkeypatch, cvat_server)
    ids = _pose_dataset(ds, NAMES)
    result = run("request_skeleton_annotation", ds, {
        "target": "SELECTED", "anno_key": "amp", "label_field": "pose",
        "mode": "skeleton"}, selected=ids)
    assert result.error is None, result.error
    (task_id,) = result.result["task_ids"]

    session = cvat_server.session()
    (label,) = task_skeleton(session, task_id)
    assert "data-label-name" not in label["svg"]  # CVAT matched every node
    name_of = {s["id"]: s["name"] for s in label["sublabels"]}
    assert [name_of[i] for i in svg.node_order(label)] == NAMES

    point_of = {n: (10.0 * (i + 1), 5.0 * (i + 1)) for i, n in enumerate(NAMES)}
    annotate_by_name(session, task_id, point_of)
    result = run("load_skeleton_annotation", ds, {"anno_key": "amp"})
    assert result.error is None, result.error

    ds.reload()
    loaded = 0
    for sample in ds.select(ids):
        w, h = sample.metadata.width, sample.metadata.height
        for kp in (sample.pose.keypoints if sample.pose else []):
            want = np.array([point_of[n] for n in NAMES]) / [w, h]
            np.testing.assert_allclose(np.asarray(kp.points, float), want, atol=1e-9)
            loaded += 1
    assert loaded >= 1


@pytest.mark.parametrize("name, needle", [
    ('say "hi"', "double quote"),
    (" head", "whitespace"),
    ("x" * 65, "64 characters"),
])
def test_validator_refuses_names_cvat_cannot_carry(name, needle):
    problems = pk.validate(pk.Skeleton(["nose", name]))
    assert [p.code for p in problems] == ["cvat_name"]
    assert needle in problems[0].message and problems[0].index == 1
    assert pk.validate(pk.Skeleton(NAMES + ["it's"])) == []


def _refused(name, dataset, **params):
    import fiftyone.operators as foo
    from fiftyone.operators.executor import ExecutionError

    with pytest.raises(ExecutionError) as info:
        foo.execute_operator("@posekit/skeletons/" + name, dataset=dataset, params=params)
    return str(info.value)


def test_define_and_import_refuse_a_double_quote(dataset):
    msg = _refused("define_skeleton", dataset, target="default",
                   labels=["nose", 'say "hi"'], edge_groups=[])
    assert "double quote" in msg
    cat = {"id": 1, "name": "person", "keypoints": ["nose", 'say "hi"'], "skeleton": [[1, 2]]}
    msg = _refused("import_coco_skeleton", dataset, source="json",
                   json=json.dumps({"categories": [cat]}))
    assert "double quote" in msg
    dataset.reload()
    assert dataset.default_skeleton is None and not dataset.skeletons


def test_request_refuses_a_double_quote_before_cvat(demo_dataset, cvat_server, monkeypatch):
    ds = demo_dataset
    set_credentials(monkeypatch, cvat_server)
    ids = _pose_dataset(ds, ["head", 'say "hi"'])  # set outside posekit
    result = run("request_skeleton_annotation", ds, {
        "target": "SELECTED", "anno_key": "quote", "label_field": "pose",
        "mode": "skeleton"}, selected=ids)
    assert result.error is not None
    assert "double quote" in result.error_message, result.error_message
    assert ds.list_annotation_runs() == []
    assert cvat_server.session().get("/api/tasks").json()["count"] == 0


def test_emulator_trims_names_and_rewrites_only_the_literal_name(cvat_server):
    """As CVAT's serializer: names are stored trimmed; the SVG rewrite is a
    literal replace, so an escaped or untrimmed name keeps no label id."""
    s = cvat_server.session()
    circles = "".join(
        '<circle data-type="element node" data-node-id="%d" data-label-name="%s"></circle>'
        % (i + 1, n) for i, n in enumerate([" head", "hip &amp; knee", "a<b>"]))
    task = s.post("/api/tasks", json={"name": "t", "labels": [{
        "name": " person ", "type": "skeleton", "svg": circles, "attributes": [],
        "sublabels": [{"name": n, "type": "points"} for n in (" head", "hip & knee", "a<b>")],
    }]}).json()
    (label,) = s.get("/api/labels", params={"task_id": task["id"]}).json()["results"]
    assert label["name"] == "person"
    assert [x["name"] for x in label["sublabels"]] == ["head", "hip & knee", "a<b>"]
    parsed = svg.parse_svg(label["svg"])
    assert parsed.label_names == {1: " head", 2: "hip &amp; knee", 3: None}
    assert parsed.label_ids[3] == label["sublabels"][2]["id"]
