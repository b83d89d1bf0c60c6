"""Scenarios 4 and 5: CVAT annotation requested and loaded from the App.

The App server's CVAT credentials point at the test CVAT server; an annotator
edits the task through that server's REST API, as CVAT's UI would.
"""
import math

import pytest

from browser import helpers
from posekit.cvat import svg

pytestmark = pytest.mark.browser

FIELD = "ground_truth"
PANEL = "skeleton_preview"
MOVED = ("nose", (300.0, 150.0))  # pixels
HIDDEN = "left_ear"  # the annotator marks it outside
OCCLUDED = "right_wrist"


def play_annotator(session, task_id):
    """Moves, hides and occludes nodes of the task's first skeleton shape and
    saves the job, as a CVAT user would. Returns the node names in order."""
    labels = session.get("/api/labels", params={"task_id": task_id}).json()["results"]
    (label,) = [l for l in labels if l.get("type") == "skeleton"]
    order = svg.node_order(label)
    name_of = {s["id"]: s["name"] for s in label["sublabels"]}
    (job,) = session.get("/api/jobs", params={"task_id": task_id}).json()["results"]
    body = session.get(f"/api/jobs/{job['id']}/annotations").json()
    (shape,) = [s for s in body["shapes"] if s["type"] == "skeleton"]
    for element in shape["elements"]:
        name = name_of[element["label_id"]]
        if name == MOVED[0]:
            element.update(points=list(MOVED[1]), outside=False, occluded=False)
        elif name == HIDDEN:
            element.update(outside=True)
        elif name == OCCLUDED:
            element.update(outside=False, occluded=True)
    session.put(f"/api/jobs/{job['id']}/annotations", json=body).raise_for_status()
    return [name_of[i] for i in order]


def request_from_app(app, anno_key, schedule=False):
    """Fills "Request skeleton annotation in CVAT" for the selection and runs
    it (or schedules it); returns the Execution."""
    app.choose_operator("Request skeleton annotation in CVAT")
    app.prompt.get_by_text("1 sample(s) will be sent to CVAT").wait_for()
    params = app.fill_labelled("Annotation key", anno_key)
    assert params["anno_key"] == anno_key and params["target"] == "SELECTED"
    assert params["label_field"] == FIELD
    app.wait_ready()
    helpers.save_screenshot(app.page, "request-annotation-form", app.prompt)
    return app.execute("request_skeleton_annotation", button="Schedule" if schedule else "Execute")


def test_request_annotate_load_and_preview(cvat_app, cvat_server):
    app, page, ds = cvat_app, cvat_app.page, cvat_app.dataset
    sample = ds.first()
    w, h = sample.metadata.width, sample.metadata.height
    before = sample[FIELD].keypoints[0]

    app.toggle_select(0)
    execution = request_from_app(app, "browser_run")
    assert execution.error is None, execution
    app.prompt.get_by_text("browser_run", exact=True).wait_for()
    assert "Samples sent:" in app.prompt.inner_text()
    app.close_prompt()

    # the run exists and CVAT has one task with a native skeleton label
    ds.reload()
    assert "browser_run" in ds.list_annotation_runs()
    (task_id,) = ds.load_annotation_results("browser_run").task_ids
    session = cvat_server.session()
    names = play_annotator(session, task_id)
    assert names == list(ds.default_skeleton.labels)

    # load from the App
    app.toggle_select(0)  # clear the selection: load works on the run
    app.choose_operator("Load skeleton annotations from CVAT")
    app.prompt.get_by_text("CVAT server:").first.wait_for()
    loaded = app.execute("load_skeleton_annotation")
    assert loaded.error is None, loaded
    assert loaded.params["anno_key"] == "browser_run"
    # the load says what changed
    app.prompt.get_by_text("0 added, 1 updated, 0 deleted", exact=False).wait_for()
    app.close_prompt()

    # the database holds the annotator's edits, in skeleton order
    ds.reload()
    kp = ds.first()[FIELD].keypoints[0]
    i_moved, i_hidden, i_occ = (names.index(n) for n in (MOVED[0], HIDDEN, OCCLUDED))
    assert kp.points[i_moved] == pytest.approx([MOVED[1][0] / w, MOVED[1][1] / h], abs=1e-4)
    assert all(math.isnan(v) for v in kp.points[i_hidden])
    assert kp["occluded"][i_occ] is True
    untouched = [i for i in range(len(names)) if i not in (i_moved, i_hidden, i_occ)]
    for i in untouched:
        old, new = before.points[i], kp.points[i]
        if math.isnan(old[0]):
            assert math.isnan(new[0])
        else:
            assert new == pytest.approx(old, abs=1e-3)

    # the preview panel shows the loaded skeleton over the image
    opened = app.open_panel(PANEL)
    assert opened.error is None, opened
    scene = opened.panel_patch("data")["scene"]
    assert scene["sample_id"] == ds.first().id and scene["field"] == FIELD
    moved = [n for n in scene["nodes"] if n["index"] == i_moved]
    assert moved and moved[0]["xy"] == pytest.approx(list(MOVED[1]), abs=1.0)
    assert not [n for n in scene["nodes"] if n["index"] == i_hidden]
    present = sum(not math.isnan(p[0]) for p in kp.points)
    occluded = sum(
        bool(o) and not math.isnan(p[0]) for p, o in zip(kp.points, kp["occluded"])
    )
    summary = (
        f"Instances: 1 · visible: {present - occluded} · occluded: {occluded} · "
        f"missing: {len(names) - present}"
    )
    page.get_by_text(summary).wait_for()
    page.get_by_alt_text("skeleton preview").wait_for(state="visible")
    helpers.save_screenshot(page, "loaded-annotation")


def _run_queue(operator_uri, dataset_name):
    """Runs the dataset's queued delegated operations of ``operator_uri`` (as
    an orchestrator would); returns their final records."""
    from fiftyone.operators.delegated import DelegatedOperationService

    service = DelegatedOperationService()
    service.execute_queued_operations(operator=operator_uri, dataset_name=dataset_name)
    return service.list_operations(operator=operator_uri, dataset_name=dataset_name)


def test_scheduled_request_runs_from_the_queue(cvat_app, cvat_server, monkeypatch):
    app, page, ds = cvat_app, cvat_app.page, cvat_app.dataset
    anno_key = "scheduled_run"
    app.toggle_select(0)
    app.choose_operator("Request skeleton annotation in CVAT")
    app.prompt.get_by_text("1 sample(s) will be sent to CVAT").wait_for()
    app.fill_labelled("Annotation key", anno_key)
    execution = app.schedule("request_skeleton_annotation")
    assert execution.error is None, execution
    assert execution.body.get("delegated") is True, execution

    # queued, nothing sent yet
    ds.reload()
    assert anno_key not in ds.list_annotation_runs()
    assert not cvat_server.state.tasks
    from fiftyone.operators.delegated import DelegatedOperationService

    (queued,) = DelegatedOperationService().list_operations(
        operator=f"{helpers.PLUGIN}/request_skeleton_annotation", dataset_name=ds.name
    )
    assert queued.run_state == "queued"
    assert queued.context.request_params["params"]["anno_key"] == anno_key

    # an orchestrator (here: this process, with the same CVAT credentials)
    monkeypatch.setenv("FIFTYONE_CVAT_URL", cvat_server.url)
    monkeypatch.setenv("FIFTYONE_CVAT_USERNAME", cvat_server.username)
    monkeypatch.setenv("FIFTYONE_CVAT_PASSWORD", cvat_server.password)
    (done,) = helpers.in_thread(
        _run_queue, f"{helpers.PLUGIN}/request_skeleton_annotation", ds.name
    )
    assert done.run_state == "completed", done.run_state
    assert done.result.result["anno_key"] == anno_key
    assert done.result.result["num_samples"] == 1

    # the database and CVAT hold the run
    ds.reload()
    assert anno_key in ds.list_annotation_runs()
    (task_id,) = ds.load_annotation_results(anno_key).task_ids
    assert task_id in cvat_server.state.tasks

    # the App sees it: the load form offers the new run
    app.choose_operator("Load skeleton annotations from CVAT")
    app.prompt.get_by_role("combobox").filter(has_text=anno_key).first.wait_for()
    helpers.save_screenshot(page, "load-annotation-form", app.prompt)


AMP = "nose & <tip>"  # CVAT must carry &, < and > in a node name


def test_label_with_ampersand_round_trips_through_the_app(cvat_app, cvat_server):
    """Issue 11, item 1: a node named with & < > comes back in its own slot."""
    import fiftyone as fo

    app, ds = cvat_app, cvat_app.dataset
    labels = list(ds.default_skeleton.labels)
    labels[0] = AMP
    ds.default_skeleton = fo.KeypointSkeleton(labels=labels, edges=ds.default_skeleton.edges)
    ds.save()
    sample = ds.first()
    w, h = sample.metadata.width, sample.metadata.height
    before = sample[FIELD].keypoints[0]

    app.toggle_select(0)
    app.choose_operator("Request skeleton annotation in CVAT")
    app.prompt.get_by_text(AMP, exact=False).first.wait_for()  # shown as text
    app.prompt.get_by_text("1 sample(s) will be sent to CVAT").wait_for()
    app.fill_labelled("Annotation key", "amp_run")
    app.wait_ready()
    execution = app.execute("request_skeleton_annotation")
    assert execution.error is None, execution
    app.close_prompt()

    ds.reload()
    (task_id,) = ds.load_annotation_results("amp_run").task_ids
    session = cvat_server.session()
    (label,) = [l for l in session.get("/api/labels", params={"task_id": task_id}).json()["results"]
                if l.get("type") == "skeleton"]
    assert "data-label-name" not in label["svg"]
    name_of = {s["id"]: s["name"] for s in label["sublabels"]}
    assert [name_of[i] for i in svg.node_order(label)] == labels
    (job,) = session.get("/api/jobs", params={"task_id": task_id}).json()["results"]
    body = session.get(f"/api/jobs/{job['id']}/annotations").json()
    (shape,) = [s for s in body["shapes"] if s["type"] == "skeleton"]
    for element in shape["elements"]:
        if name_of[element["label_id"]] == AMP:
            element.update(points=list(MOVED[1]), outside=False, occluded=False)
    session.put(f"/api/jobs/{job['id']}/annotations", json=body).raise_for_status()

    app.toggle_select(0)
    app.choose_operator("Load skeleton annotations from CVAT")
    app.prompt.get_by_text("CVAT server:").first.wait_for()
    loaded = app.execute("load_skeleton_annotation")
    assert loaded.error is None, loaded

    ds.reload()
    kp = ds.first()[FIELD].keypoints[0]
    assert kp.points[0] == pytest.approx([MOVED[1][0] / w, MOVED[1][1] / h], abs=1e-4)
    for old, new in list(zip(before.points, kp.points))[1:]:  # every other node in its slot
        if math.isnan(old[0]):
            assert math.isnan(new[0])
        else:
            assert new == pytest.approx(old, abs=1e-3)
