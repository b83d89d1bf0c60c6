"""The skeleton preview panel, driven the way the App drives it: an
ExecutionContext per event (on_load, change of current sample, change of
field, step), the panel state carried from one event to the next, and the
panel data read from the patches the App would receive."""
import math
import os
import urllib.parse

import numpy as np
import pytest
from PIL import Image

import fiftyone as fo
import fiftyone.operators as foo
from fiftyone.operators.executor import ExecutionContext, Executor

from conftest import uri

NAN = float("nan")
LABELS = ["nose", "left_eye", "right_eye", "left_hand", "right_hand", "<b>tail</b> & co"]
# two edge groups: head (polyline 1-0-2), arms (polyline 3-0-4); tail alone
POLYLINES = [[1, 0, 2], [3, 0, 4]]


class App:
    """Plays the App for one panel: keeps its state, applies the patches the
    panel sends, and remembers the last data and rendered layout."""

    def __init__(self, dataset, view=None):
        self.dataset = dataset
        self.view = view
        self.state = {}
        self.data = {}
        self.output = None
        self.requests = []
        self.extra = {}  # more request params, e.g. ``selected_labels``
        self.panel = foo.get_operator(uri("skeleton_preview"))

    def call(self, method, current_sample=None, **params):
        request = {
            "dataset_name": self.dataset.name,
            "current_sample": current_sample,
            "params": {
                "panel_id": "panel-1",
                "__method__": method,
                "panel_state": dict(self.state),
                **params,
            },
        }
        if self.view is not None:
            request["view"] = self.view._serialize()
        request.update(self.extra)
        executor = Executor()
        ctx = ExecutionContext(request_params=request, executor=executor)
        self.panel.execute(ctx)
        self.requests = [r.to_json() for r in executor._requests]
        for r in self.requests:
            name, p = r["operator_uri"], r["params"]
            if name == "patch_panel_state":
                self.state.update(p["state"])
            elif name == "patch_panel_data":
                self.data.update(p["data"])
            elif name == "show_panel_output":
                self.output = p["output"]
        return ctx

    def change(self, method, path, value, current_sample=None):
        """An input's on_change: the App stores the value at the input's path
        (``options.show_labels``), then calls the handler with it."""
        node = self.state
        *parents, leaf = path.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
        return self.call(method, current_sample=current_sample, value=value, path=path)

    def patched(self, kind="data"):
        """Whether the last event patched the panel's ``kind``."""
        return any(r["operator_uri"] == f"patch_panel_{kind}" for r in self.requests)

    @property
    def scene(self):
        return self.data["scene"]

    def svg(self):
        prefix = "data:image/svg+xml;charset=utf-8,"
        assert self.data["image"].startswith(prefix)
        return urllib.parse.unquote(self.data["image"][len(prefix):])


def _image(path, size, color=(90, 120, 150)):
    Image.new("RGB", size, color).save(path, quality=90)
    return path


def _kp(points, occluded=None, confidence=None, label="person"):
    kp = fo.Keypoint(label=label, points=points)
    if occluded is not None:
        kp["occluded"] = occluded
    if confidence is not None:
        kp.confidence = confidence
    return kp


@pytest.fixture
def posed(dataset, tmp_path):
    """Three samples (640×480, 320×240, 800×600) with ``gt`` keypoints in
    LABELS order, one mismatched instance, and a ``pred`` field with its own
    two-node skeleton."""
    sizes = [(640, 480), (320, 240), (800, 600)]
    samples = []
    for k, size in enumerate(sizes):
        s = fo.Sample(filepath=_image(str(tmp_path / f"im{k}.jpg"), size))
        a = [[0.5, 0.2], [0.45, 0.15], [0.55, 0.15], [0.3, 0.5], [NAN, NAN], [0.5, 0.9]]
        b = [[0.1 + 0.05 * k, 0.1], [0.2, 0.2], [0.3, 0.3]]  # 3 points: mismatch
        s["gt"] = fo.Keypoints(
            keypoints=[
                _kp(a, occluded=[False, False, True, False, False, False],
                    confidence=[0.9, 0.2, 0.8, 0.95, NAN, 0.6]),
                _kp(b, label="<img src=x onerror=alert(1)>"),
            ]
        )
        s["pred"] = fo.Keypoints(keypoints=[_kp([[0.1, 0.1], [0.9, 0.9]])])
        samples.append(s)
    dataset.add_samples(samples)
    dataset.default_skeleton = fo.KeypointSkeleton(labels=LABELS, edges=POLYLINES)
    dataset.skeletons = {"pred": fo.KeypointSkeleton(labels=["a", "b"], edges=[[0, 1]])}
    dataset.save()
    return dataset


def _expected_segments(kps, size, polylines):
    """Per instance, every skeleton edge whose two nodes exist, in pixels."""
    w, h = size
    out = []
    for i, kp in enumerate(kps):
        pts = kp.points
        for line in polylines:
            for a, b in zip(line, line[1:]):
                if a >= len(pts) or b >= len(pts):
                    continue
                (xa, ya), (xb, yb) = pts[a], pts[b]
                if any(math.isnan(v) for v in (xa, ya, xb, yb)):
                    continue
                out.append((round(xa * w, 1), round(ya * h, 1),
                            round(xb * w, 1), round(yb * h, 1), i))
    return sorted(out)


def _drawn(scene):
    return sorted(tuple(s[:4]) + (s[5],) for s in scene["segments"])


def test_view_event_racing_on_load_still_draws_the_sample(posed):
    """The App sends on_change_view with an empty state alongside on_load:
    that answer must be the full picture too, not an empty panel."""
    app = App(posed)
    app.call("on_change_view")
    assert app.state["field"] == "gt"
    assert app.state["sample_id"] == posed.first().id
    assert app.data["image"] and app.scene["segments"]


def test_load_draws_the_first_sample_edges_between_existing_nodes(posed):
    app = App(posed)
    app.call("on_load")
    first = posed.first()
    assert app.state["fields"] == ["gt", "pred"]
    assert app.state["field"] == "gt"
    assert app.state["index"] == 0 and app.state["count"] == 3
    assert app.state["sample_id"] == first.id
    scene = app.scene
    assert (scene["width"], scene["height"]) == (640, 480)
    assert _drawn(scene) == _expected_segments(first.gt.keypoints, (640, 480), POLYLINES)
    # right_hand is NaN: the arms edge 0-4 is not drawn
    assert not any(s[5] == 0 and (s[2], s[3]) == (0.0, 0.0) for s in scene["segments"])
    # two groups, two distinct colours; each segment coloured by its group
    colors = [g["color"] for g in scene["groups"]]
    assert len(colors) == 2 and len(set(colors)) == 2
    svg = app.svg()
    for c in colors:
        assert f"stroke='{c}'" in svg
    assert scene["counts"] == {
        "instances": 2, "visible": 7, "occluded": 1, "missing": 1,
        "low_confidence": 0, "segments": len(scene["segments"]),
    }
    assert scene["mismatched"] == [{
        "instance": 1, "label": "<img src=x onerror=alert(1)>",
        "points": 3, "expected": 6,
    }]


def test_summary_flags_mismatch_without_markup(posed):
    app = App(posed)
    app.call("on_load")
    summary = app.data["summary"]
    assert "**Instances:** 2" in summary and "**occluded:** 1" in summary
    assert "disagree with the skeleton (6 nodes)" in summary
    assert "instance 2" in summary and "3 points" in summary
    assert "<img" not in summary and "&lt;img" in summary
    # the mismatched instance is still drawn (its nodes and in-range edges)
    nodes = [n for n in app.scene["nodes"] if n["instance"] == 1]
    assert len(nodes) == 3
    assert "stroke='#ff0000'" in app.svg()  # the red mismatch box


def test_label_text_is_escaped_in_the_svg(posed):
    app = App(posed)
    app.call("on_load")
    assert "tail" not in app.svg()  # labels are off by default
    app.change("on_change_show_labels", "options.show_labels", True)
    svg = app.svg()
    assert "&lt;b&gt;tail&lt;/b&gt; &amp; co" in svg
    assert "<b>" not in svg and "<img" not in svg


def test_events_that_change_nothing_do_not_redraw(posed):
    """The App announces every input's value on first render and sends
    on_change_view when nothing changed: those must not redraw."""
    app = App(posed)
    app.call("on_load")
    first = app.state["sample_id"]
    app.change("on_change_field", "controls.field", "gt")
    app.change("on_change_show_labels", "options.show_labels", False)
    assert not app.patched("data")
    app.change("on_change_skeleton_only", "options.skeleton_only", False)
    app.change("on_change_threshold", "threshold.conf_threshold", 0)
    assert not app.patched("data")
    app.call("on_change_view", value=[])
    assert not app.patched("data")
    app.call("on_change_current_sample", current_sample=first)
    assert not app.patched("data")


def test_change_of_view_restarts_at_its_first_sample(posed):
    app = App(posed)
    app.call("on_load")
    app.call("next_sample")
    view = posed.sort_by("filepath", reverse=True).limit(2)
    app.view = view
    app.call("on_change_view", value=[])
    assert app.state["index"] == 0 and app.state["count"] == 2
    assert app.state["sample_id"] == view.first().id == app.scene["sample_id"]


def test_follows_the_current_sample(posed):
    app = App(posed)
    app.call("on_load")
    second = posed.skip(1).first()
    app.call("on_change_current_sample", current_sample=second.id)
    assert app.state["sample_id"] == second.id
    assert app.scene["sample_id"] == second.id
    assert (app.scene["width"], app.scene["height"]) == (320, 240)
    assert _drawn(app.scene) == _expected_segments(
        second.gt.keypoints, (320, 240), POLYLINES
    )
    # closing the modal (no current sample) keeps the last drawing
    app.call("on_change_current_sample", current_sample=None)
    assert app.scene["sample_id"] == second.id


def test_load_in_the_modal_shows_that_sample(posed):
    third = posed.skip(2).first()
    app = App(posed)
    app.call("on_load", current_sample=third.id)
    assert app.scene["sample_id"] == third.id
    assert (app.scene["width"], app.scene["height"]) == (800, 600)


def test_change_of_field_uses_that_fields_skeleton(posed):
    app = App(posed)
    app.call("on_load")
    app.change("on_change_field", "controls.field", "pred")
    assert app.state["field"] == "pred"
    scene = app.scene
    assert scene["field"] == "pred"
    assert [g["name"] for g in scene["groups"]] == ["group 1"]
    assert _drawn(scene) == [(64.0, 48.0, 576.0, 432.0, 0)]
    assert scene["mismatched"] == []


def test_unknown_field_is_refused_and_nothing_changes(posed):
    app = App(posed)
    app.call("on_load")
    before = dict(app.scene)
    app.call("on_change_field", value="filepath")
    assert app.state["field"] == "gt"
    assert app.scene == before
    notes = [r for r in app.requests if r["operator_uri"] == "notify"]
    assert notes and "not a keypoints field" in notes[0]["params"]["message"]


def test_step_through_the_view_fetches_one_sample_per_step(posed, monkeypatch):
    view = posed.sort_by("filepath", reverse=True)
    app = App(posed, view=view)
    app.call("on_load")
    ids = view.values("id")
    assert app.state["sample_id"] == ids[0]

    import fiftyone.core.collections as foc

    values = foc.SampleCollection.values

    def one_sample_only(self, *args, **kwargs):
        out = values(self, *args, **kwargs)
        column = out[0] if isinstance(args[0], (list, tuple)) else out
        assert len(column) <= 1, "stepping must not read the whole view"
        return out

    monkeypatch.setattr(foc.SampleCollection, "values", one_sample_only)
    app.call("next_sample")
    assert (app.state["index"], app.state["sample_id"]) == (1, ids[1])
    assert app.scene["sample_id"] == ids[1]
    app.call("next_sample")
    app.call("next_sample")  # clamped at the end
    assert (app.state["index"], app.state["sample_id"]) == (2, ids[2])
    app.call("previous_sample")
    assert (app.state["index"], app.state["sample_id"]) == (1, ids[1])
    sample = posed[ids[1]]
    size = (sample.filepath.endswith("im1.jpg") and (320, 240)) or (640, 480)
    assert _drawn(app.scene) == _expected_segments(sample.gt.keypoints, size, POLYLINES)


def test_step_from_the_modal_moves_the_modal_too(posed):
    ids = posed.values("id")
    app = App(posed)
    app.call("on_load", current_sample=ids[1])
    app.call("next_sample", current_sample=ids[1])
    assert app.state["sample_id"] == ids[2]
    opened = [r for r in app.requests if r["operator_uri"] == "open_sample"]
    assert opened and opened[0]["params"]["id"] == ids[2]


def test_confidence_threshold_fades_low_confidence_nodes(posed):
    app = App(posed)
    app.call("on_load")
    app.change("on_change_threshold", "threshold.conf_threshold", 0.7)
    faded = [(n["instance"], n["index"]) for n in app.scene["nodes"] if n["faded"]]
    assert faded == [(0, 1), (0, 5)]  # confidences 0.2 and 0.6
    assert app.scene["counts"]["low_confidence"] == 2
    assert app.svg().count("opacity='0.3'") == 2
    assert "Below confidence 0.70" in app.data["summary"]


def test_skeleton_only_mode_draws_the_default_layout(posed):
    from posekit.layout import default_layout

    app = App(posed)
    app.call("on_load")
    app.change("on_change_skeleton_only", "options.skeleton_only", True)
    scene = app.scene
    assert scene["counts"]["instances"] == 1
    assert scene["counts"]["visible"] == len(LABELS)
    edges = {(a, b) for line in POLYLINES for a, b in zip(line, line[1:])}
    assert len(scene["segments"]) == len(edges)
    layout = np.asarray(default_layout(LABELS, POLYLINES), dtype=float)
    xy = np.array([n["xy"] for n in sorted(scene["nodes"], key=lambda n: n["index"])])
    # same shape as the layout: an affine map of it
    fit = np.linalg.lstsq(np.c_[layout, np.ones(len(layout))], xy, rcond=None)
    assert np.allclose(np.c_[layout, np.ones(len(layout))] @ fit[0], xy, atol=0.2)
    assert "Nodes with no edge" in app.data["summary"]
    assert "&lt;b&gt;tail" in app.svg()


def test_left_right_from_template_flip_pairs_on_the_demo(demo_dataset):
    app = App(demo_dataset)
    app.call("on_load")
    scene = app.scene
    assert scene["field"] == "ground_truth"
    sides = {n["index"]: n["side"] for n in scene["nodes"]}
    assert sides[0] == "center"  # nose
    assert sides[1] == "left" and sides[2] == "right"  # eyes (COCO flip pair)
    assert len(scene["groups"]) >= 2
    assert len({g["color"] for g in scene["groups"]}) == len(scene["groups"])
    sample = demo_dataset[app.state["sample_id"]]
    polylines = demo_dataset.default_skeleton.edges
    size = (scene["width"], scene["height"])
    assert _drawn(scene) == _expected_segments(
        sample.ground_truth.keypoints, size, polylines
    )


def test_large_image_payload_is_bounded(dataset, tmp_path):
    rng = np.random.default_rng(0)
    big = rng.integers(0, 255, (3000 // 8, 4000 // 8, 3), dtype=np.uint8)
    path = str(tmp_path / "big.jpg")
    Image.fromarray(big).resize((4000, 3000), Image.Resampling.BICUBIC).save(path, quality=92)
    assert os.path.getsize(path) > 1_000_000
    kps = [
        _kp(rng.uniform(0.05, 0.95, (17, 2)).tolist(), label=f"p{i}")
        for i in range(10)
    ]
    dataset.add_sample(fo.Sample(filepath=path, gt=fo.Keypoints(keypoints=kps)))
    from posekit.templates import get_template

    dataset.default_skeleton = get_template("coco17").to_skeleton()
    dataset.save()
    app = App(dataset)
    app.call("on_load")
    scene = app.scene
    assert (scene["width"], scene["height"]) == (4000, 3000)
    assert max(scene["display_size"]) <= 1024
    assert scene["payload_bytes"] <= 200_000
    assert len(app.data["image"]) == scene["payload_bytes"]
    assert scene["counts"]["instances"] == 10
    assert len(scene["segments"]) == 10 * len(
        {(a, b) for line in dataset.default_skeleton.edges for a, b in zip(line, line[1:])}
    )


def test_missing_image_is_reported_and_keypoints_still_drawn(posed):
    sample = posed.first()
    os.remove(sample.filepath)
    app = App(posed)
    app.call("on_load")
    assert "Image unreadable" in app.data["summary"]
    assert app.scene["segments"]


def test_render_lays_out_controls_image_and_summary(posed):
    app = App(posed)
    app.call("on_load")
    props = app.output["type"]["properties"]
    assert props["image"]["view"]["name"] == "ImageView"
    assert props["summary"]["view"]["name"] == "MarkdownView"
    controls = props["controls"]["type"]["properties"]
    assert [c["value"] for c in controls["field"]["view"]["choices"]] == ["gt", "pred"]
    assert {"previous", "next"} <= set(controls)
    options = props["options"]["type"]["properties"]
    assert {"show_labels", "skeleton_only"} <= set(options)
    slider = props["threshold"]["type"]["properties"]["conf_threshold"]
    assert slider["view"]["name"] == "SliderView"
    assert (slider["type"]["min"], slider["type"]["max"]) == (0.0, 1.0)


def test_operator_opens_the_panel(posed):
    result = foo.execute_operator(uri("open_skeleton_preview"), dataset=posed)
    requests = result.executor.to_json()["requests"]
    opened = [r for r in requests if r["operator_uri"] == "open_panel"]
    assert opened and opened[0]["params"]["name"] == "skeleton_preview"
    assert opened[0]["params"]["isActive"] is True


def test_dataset_without_keypoints_says_so(dataset, tmp_path):
    dataset.add_sample(fo.Sample(filepath=_image(str(tmp_path / "a.jpg"), (64, 48))))
    app = App(dataset)
    app.call("on_load")
    assert app.state["fields"] == [] and app.state["field"] is None
    assert app.data["image"] is None
    assert "no keypoints field" in app.data["summary"]
    assert "field" not in app.output["type"]["properties"]["controls"]["type"]["properties"]


def test_deleted_skeleton_is_no_longer_drawn(posed):
    """The App sends a view event after a dataset reload (here: the skeleton
    deleted by the operator, which reloads the dataset): the panel redraws."""
    app = App(posed)
    app.call("on_load")
    assert app.scene["segments"]
    foo.execute_operator(uri("delete_skeleton"), dataset=posed, params={"target": "default"})
    app.call("on_change_view", value=[])
    assert app.patched("data")
    assert app.scene["segments"] == [] and app.scene["mismatched"] == []
    assert "No skeleton: nodes only" in app.data["summary"]


def test_no_mismatch_warning_without_a_skeleton(posed):
    posed.default_skeleton = None
    posed.save()
    app = App(posed)
    app.call("on_load")
    summary = app.data["summary"]
    assert "No skeleton: nodes only" in summary
    assert "disagree" not in summary and "0 nodes" not in summary
    assert "stroke='#ff0000'" not in app.svg()
