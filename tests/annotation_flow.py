"""Shared steps of the annotation tests: credentials in the environment, the
operator calls, and an annotator editing skeletons in the CVAT test server."""
import random

import numpy as np

import asyncio

import fiftyone.operators.executor as fox

from conftest import uri
from posekit.cvat import svg

FIELD = "ground_truth"


def set_credentials(monkeypatch, server, password=None, username=None):
    monkeypatch.setenv("FIFTYONE_CVAT_URL", server.url)
    monkeypatch.setenv("FIFTYONE_CVAT_USERNAME", username or server.username)
    monkeypatch.setenv("FIFTYONE_CVAT_PASSWORD", password or server.password)
    monkeypatch.delenv("FIFTYONE_CVAT_EMAIL", raising=False)
    monkeypatch.delenv("FIFTYONE_CVAT_API_TOKEN", raising=False)


def set_token(monkeypatch, server, token):
    """Token-only credentials: no username, no password."""
    monkeypatch.setenv("FIFTYONE_CVAT_URL", server.url)
    monkeypatch.setenv("FIFTYONE_CVAT_API_TOKEN", token)
    for name in ("USERNAME", "PASSWORD", "EMAIL"):
        monkeypatch.delenv("FIFTYONE_CVAT_" + name, raising=False)


def run(name, dataset, params=None, selected=None, delegate=False, view=None):
    """Executes one of posekit's operators through FiftyOne's execution path
    (as ``execute_operator`` does); returns the ExecutionResult, failed or not,
    so tests can read ``error_message`` as the App would show it."""
    request = fox._parse_ctx(
        dataset=dataset, params=params or {}, selected=selected or [],
        request_delegation=delegate, view=view,
    )
    try:
        return asyncio.run(
            fox.execute_or_delegate_operator(uri(name), request, exhaust=True))
    except fox.ExecutionError as e:  # the form's validation refused the params
        return fox.ExecutionResult(error=str(e), error_message=str(e))


def tag_two(dataset):
    ids = dataset.exists(FIELD).limit(2).values("id")
    run("tag_for_annotation", dataset, {"tag": "annotate"}, selected=ids)
    return ids


def request_params(anno_key, **extra):
    params = {"target": "TAGGED", "tag": "annotate", "anno_key": anno_key,
              "label_field": FIELD, "mode": "skeleton", "occluded": True}
    params.update(extra)
    return params


def snapshot(dataset):
    """Everything a load must not change on failure: labels and runs."""
    dataset.reload()
    labels = [
        None if k is None else [
            (kp.id, kp.label, str(kp.points), kp.get_attribute_value("occluded", None))
            for kp in k.keypoints
        ]
        for k in dataset.values(FIELD)
    ]
    return labels, sorted(dataset.list_annotation_runs())


def task_skeleton(session, task_id):
    """The task's skeleton label as served: (label, node names in order, svg)."""
    labels = session.get("/api/labels", params={"task_id": task_id}).json()["results"]
    skeletons = [l for l in labels if l.get("type") == "skeleton"]
    return skeletons


def play_annotator(session, task_id, seed=0):
    """Edits the task like a CVAT user: moves/hides/occludes nodes of the first
    existing skeleton, adds a new skeleton on another frame, and saves with
    elements in shuffled order. Returns ``{frame: [(label, points (N,2) in
    pixels with NaN, occluded list)]}`` as it was saved, in shape order."""
    rng = random.Random(seed)
    (label,) = task_skeleton(session, task_id)
    order = svg.node_order(label)
    name_of = {s["id"]: s["name"] for s in label["sublabels"]}
    names = [name_of[i] for i in order]
    jobs = [j for j in session.get("/api/jobs", params={"task_id": task_id}).json()["results"]
            if j.get("parent_job_id") is None]  # consensus replicas are not the annotation
    expected = {}
    for job in jobs:
        body = session.get("/api/jobs/%d/annotations" % job["id"]).json()
        shapes = [s for s in body["shapes"] if s["type"] == "skeleton"]
        if shapes:
            first = shapes[0]
            by_name = {name_of[e["label_id"]]: e for e in first["elements"]}
            by_name["nose"].update(points=[10.5, 20.25], outside=False, occluded=False)
            by_name["left_ear"].update(outside=True)
            by_name["right_wrist"].update(occluded=True, outside=False,
                                          points=[33.0, 44.0])
        new = {
            "type": "skeleton", "frame": job["start_frame"] + (1 if job["stop_frame"] > job["start_frame"] else 0),
            "label_id": label["id"], "points": [], "attributes": [],
            "occluded": False, "outside": False, "group": 0, "z_order": 0,
            "source": "manual",
            "elements": [
                {"type": "points", "frame": None, "label_id": sid,
                 "points": [5.0 + 3 * i, 7.0 + 2 * i],
                 "outside": names[i] in ("left_hip", "right_ankle"),
                 "occluded": names[i] in ("left_knee", "nose"),
                 "attributes": []}
                for i, sid in enumerate(order)
            ],
        }
        for e in new["elements"]:
            e["frame"] = new["frame"]
        shapes.append(new)
        for s in shapes:  # ids must be absent on a PUT (CVAT 2.73)
            rng.shuffle(s["elements"])
            for e in s["elements"]:
                e.pop("id", None)
            s.pop("id", None)
        body["shapes"] = shapes
        r = session.put("/api/jobs/%d/annotations" % job["id"], json=body)
        r.raise_for_status()
        for s in shapes:
            pts = np.full((len(order), 2), np.nan)
            occl = [False] * len(order)
            for e in s["elements"]:
                i = order.index(e["label_id"])
                occl[i] = bool(e["occluded"])
                if not e["outside"]:
                    pts[i] = e["points"]
            expected.setdefault(s["frame"], []).append((label["name"], pts, occl))
    return expected


def assert_loaded(dataset, anno_key, expected):
    """The dataset holds exactly the annotator's skeletons, in skeleton order."""
    dataset.reload()
    results = dataset.load_annotation_results(anno_key)
    (task_id,) = results.task_ids
    frame_map = results.frame_id_map[task_id]
    for frame, shapes in expected.items():
        sample = dataset[frame_map[frame]["sample_id"]]
        w, h = sample.metadata.width, sample.metadata.height
        got = sample[FIELD].keypoints
        assert len(got) == len(shapes)
        got_sorted = sorted(got, key=lambda k: np.nan_to_num(np.asarray(k.points, float)).sum())
        want_sorted = sorted(shapes, key=lambda s: np.nan_to_num(s[1] / [w, h]).sum())
        for kp, (label, pts, occl) in zip(got_sorted, want_sorted):
            assert kp.label == label
            np.testing.assert_allclose(np.asarray(kp.points, float), pts / [w, h], rtol=0, atol=1e-9)
            assert kp["occluded"] == occl


def form(name, dataset, params=None, selected=None, view=None):
    """The operator's resolved input form, as JSON (what the App renders)."""
    from fiftyone.operators.registry import OperatorRegistry

    request = fox._parse_ctx(dataset=dataset, params=params or {},
                             selected=selected or [], view=view)
    prop = asyncio.run(fox.resolve_type(OperatorRegistry(), uri(name), request))
    if isinstance(prop, fox.ExecutionResult):
        raise AssertionError(prop.error)
    return prop.to_json()


def form_text(name, dataset, **kwargs):
    """All labels/descriptions/errors of a resolved form, joined."""
    import json

    return json.dumps(form(name, dataset, **kwargs))
