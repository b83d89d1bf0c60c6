"""The preview panel's "Compare with" overlay: ground truth and predictions of
a posekit pose evaluation, a line from each matched predicted node to its
ground-truth node coloured by the keypoint's stored error class, false
positives and missed people marked; only pose evaluations are offered."""
import re

import numpy as np
import pytest
from PIL import Image

import fiftyone as fo

import posekit.qa as qa
from posekit.drawing import PAYLOAD_BUDGET
from posekit.markdown import md_escape
from posekit.scene import ERROR_COLORS
from posekit.skeleton_store import save_skeleton
from posekit.templates import get_template
from test_panel import App

COCO17 = get_template("coco17")
W, H = 640, 480
AREA = 6000.0  # px^2, so a keypoint's OKS scale is sqrt(AREA) * 2 sigma
L = COCO17.labels
NOSE, LWRIST, RWRIST = L.index("nose"), L.index("left_wrist"), L.index("right_wrist")


def _person(cx, cy, size):
    pts = np.asarray(COCO17.layout, float) / 100.0 - 0.5
    return np.c_[cx + pts[:, 0] * size, cy + pts[:, 1] * size]


def _kp(px, **attrs):
    kp = fo.Keypoint(label="person", points=[[x / W, y / H] for x, y in px])
    for k, v in attrs.items():
        kp[k] = v
    return kp


def _scale(k):
    return np.sqrt(AREA) * 2 * COCO17.sigmas[k]


@pytest.fixture
def planted(dataset, tmp_path):
    """One photo-sized image, three people (A, B, C), predictions for A and B
    with planted errors (A: jittered nose, left/right wrists inverted; B: its
    nose on A's nose, a swap), no prediction for C (missed) and one false
    positive at the bottom; a second image with exact predictions."""
    A, B, C = _person(110, 140, 150), _person(320, 140, 150), _person(530, 140, 150)
    pa, pb = A.copy(), B.copy()
    pa[NOSE] += [_scale(NOSE) * np.sqrt(-2 * np.log(0.7)), 0]  # ks 0.7: jitter
    pa[[LWRIST, RWRIST]] = A[[RWRIST, LWRIST]]  # inversion, both wrists
    pb[NOSE] = A[NOSE]  # swap: B's nose on A's
    fp = _person(320, 400, 60)
    paths = []
    for k in range(2):
        paths.append(str(tmp_path / f"im{k}.jpg"))
        Image.new("RGB", (W, H), (90, 120, 150)).save(paths[-1], quality=90)
    s1 = fo.Sample(filepath=paths[0])
    s1["gt"] = fo.Keypoints(keypoints=[_kp(p, area=AREA) for p in (A, B, C)])
    s1["pred"] = fo.Keypoints(keypoints=[
        _kp(pa, confidence=[0.9] * 17), _kp(pb, confidence=[0.8] * 17),
        _kp(fp, confidence=[0.3] * 17)])
    s2 = fo.Sample(filepath=paths[1])
    s2["gt"] = fo.Keypoints(keypoints=[_kp(A, area=AREA)])
    s2["pred"] = fo.Keypoints(keypoints=[_kp(A, confidence=[0.9] * 17)])
    dataset.add_samples([s1, s2])
    dataset.compute_metadata()
    save_skeleton(dataset, COCO17.to_model(), "gt")
    save_skeleton(dataset, COCO17.to_model(), "pred")
    return dataset


def _paths(svg):
    """``{class: (stroke colour, number of lines)}`` of the comparison lines."""
    out = {}
    for m in re.finditer(r"<path d='([^']*)' stroke='([^']*)'[^>]*data-class='(\w+)'", svg):
        out[m.group(3)] = (m.group(2), m.group(1).count("M"))
    return out


def test_evaluation_stores_per_keypoint_classes(planted):
    qa.evaluate(planted, "pred", "gt", eval_key="ev")
    first = planted.first()
    a, b, fp = first.pred.keypoints
    assert (a.ev, b.ev, fp.ev) == ("tp", "tp", "fp")
    assert a.ev_classes[NOSE] == "jitter"
    assert a.ev_classes[LWRIST] == a.ev_classes[RWRIST] == "inversion"
    assert b.ev_classes[NOSE] == "swap"
    assert a.ev_classes.count("good") == 14 and b.ev_classes.count("good") == 16
    assert fp.ev_classes is None
    assert planted.get_field("pred.keypoints.ev_classes") is not None
    planted.delete_evaluation("ev")  # the run's cleanup removes them too
    assert planted.get_field("pred.keypoints.ev_classes") is None


def test_compare_draws_a_line_per_predicted_node_coloured_by_class(planted):
    qa.evaluate(planted, "pred", "gt", eval_key="ev")
    app = App(planted)
    app.call("on_load")
    assert app.state["compare_runs"] == ["ev"] and app.state["compare"] is None
    app.change("on_change_field", "controls.field", "pred")
    plain = app.data["image"]  # the predictions alone
    app.change("on_change_field", "controls.field", "gt")  # ground truth on show
    assert app.state["field"] == "gt"
    app.change("on_change_compare", "options.compare", "ev")
    assert app.state["compare"] == "ev"
    assert app.state["field"] == "pred"  # the dropdown names what is drawn
    svg = app.svg()
    lines = _paths(svg)
    # A: 14 good + 1 jitter + 2 inversion; B: 16 good + 1 swap (34 lines)
    assert lines == {
        "good": (ERROR_COLORS["good"], 30),
        "jitter": (ERROR_COLORS["jitter"], 1),
        "inversion": (ERROR_COLORS["inversion"], 2),
        "swap": (ERROR_COLORS["swap"], 1),
    }
    cmp = app.scene["comparison"]
    assert cmp["eval_key"] == "ev" and len(cmp["lines"]) == 34
    assert cmp["classes"] == {"good": 30, "jitter": 1, "inversion": 2, "swap": 1}
    # the swap line runs from B's predicted nose (on A's nose) to B's nose
    first = planted.first()
    (swap,) = [ln for ln in cmp["lines"] if ln[4] == "swap"]
    a_nose, b_nose = first.gt.keypoints[0].points[NOSE], first.gt.keypoints[1].points[NOSE]
    assert swap[:4] == pytest.approx([a_nose[0] * W, a_nose[1] * H,
                                      b_nose[0] * W, b_nose[1] * H], abs=0.11)
    # ground-truth nodes (3 people x 17), one false positive, one missed person
    assert len(cmp["gt_nodes"]) == 51
    assert (cmp["fp"], cmp["fn"]) == (1, 1)
    assert svg.count("data-outcome='fp'") == 1 and svg.count("data-outcome='fn'") == 1
    # the legend names each class drawn, the ground truth and the outcomes
    legend = svg[svg.rindex("<g font-size"):]
    for text in ("good", "jitter", "inversion", "swap", "ground truth",
                 "false positive", "missed (fn)"):
        assert f">{text}</text>" in legend
    assert ">miss</text>" not in legend  # not drawn, not listed
    assert "Compared with ev" in app.data["summary"]
    assert app.scene["payload_bytes"] <= PAYLOAD_BUDGET
    # back to no comparison: the predictions alone, as drawn before
    app.change("on_change_compare", "options.compare", "-")
    assert app.state["compare"] is None and app.state["field"] == "pred"
    assert app.data["image"] == plain
    assert "comparison" not in app.scene


def test_compare_shows_the_evaluations_report_below_the_picture(planted):
    results = qa.evaluate(planted, "pred", "gt", eval_key="ev")
    app = App(planted)
    app.call("on_load")
    assert app.data["report"] == "" and "report" not in _rendered(app)
    app.change("on_change_compare", "options.compare", "ev")
    report = app.data["report"]
    assert report.startswith("#### Evaluation ev: pred vs gt")
    # the run's own numbers and charts, laid out for a narrow panel: the
    # ten metrics one per row, per keypoint as a chart (no 9-column table)
    assert results.markdown(compact=True) in report
    for name, value in results.metrics().items():
        assert f"| {md_escape(name)} | {value:.3f} |" in report
    assert "##### COCO keypoint metrics" in report and "Per keypoint" not in report
    assert "###### Error classes (Ronchi & Perona)" in report
    assert "| jitter | 1 |" in report and "| swap | 1 |" in report
    assert report.count("data:image/svg+xml;base64,") == 3
    assert _rendered(app)["report"]["view"]["name"] == "MarkdownView"
    # the report stays while stepping through samples, and goes with the run
    app.call("next_sample")
    assert app.data["report"] == report
    app.change("on_change_compare", "options.compare", "-")
    assert app.data["report"] == "" and "report" not in _rendered(app)


def test_only_pose_evaluations_are_offered(planted):
    planted.add_sample_field("dets", fo.EmbeddedDocumentField, embedded_doc_type=fo.Detections)
    planted.evaluate_detections("dets", "dets", eval_key="boxes")
    qa.evaluate(planted, "pred", "gt", eval_key="ev")
    app = App(planted)
    app.call("on_load")
    assert app.state["compare_runs"] == ["ev"]
    assert any(c.get("value") == "ev" for c in _choices(app, "compare"))
    assert not any(c.get("value") == "boxes" for c in _choices(app, "compare"))
    app.change("on_change_compare", "options.compare", "boxes")
    assert app.state["compare"] is None  # refused, nothing drawn differently
    assert "comparison" not in app.scene


def test_without_an_evaluation_the_option_is_absent(planted):
    app = App(planted)
    app.call("on_load")
    assert app.state["compare_runs"] == []
    assert _choices(app, "compare") is None
    plain = app.data["image"]
    app.change("on_change_compare", "options.compare", "ev")  # no such run
    assert app.state["compare"] is None and app.data["image"] == plain


def test_deleted_evaluation_falls_back_to_the_plain_preview(planted):
    qa.evaluate(planted, "pred", "gt", eval_key="ev")
    app = App(planted)
    app.call("on_load")
    plain = app.data["image"]
    app.change("on_change_compare", "options.compare", "ev")
    assert app.data["image"] != plain
    planted.delete_evaluation("ev")
    app.call("on_change_view")
    app.call("next_sample")
    app.call("previous_sample")
    assert app.state["compare"] is None and app.state["compare_runs"] == []
    assert "comparison" not in app.scene


def _render(app):
    """The panel's rendered form, as the App receives it (JSON)."""
    from fiftyone.operators.executor import ExecutionContext

    ctx = ExecutionContext(request_params={
        "dataset_name": app.dataset.name,
        "params": {"panel_id": "panel-1", "panel_state": dict(app.state)},
    })
    return app.panel.render(ctx).to_json()


def _rendered(app):
    """The panel's top-level rendered properties, by name."""
    return _render(app)["type"]["properties"]


def _choices(app, name):
    """The choices of the rendered input ``name`` (``None``: not rendered)."""
    rendered = _render(app)

    def find(node):
        if isinstance(node, dict):
            if name in (node.get("properties") or {}):
                return node["properties"][name]
            for v in node.values():
                got = find(v)
                if got is not None:
                    return got
        elif isinstance(node, list):
            for v in node:
                got = find(v)
                if got is not None:
                    return got
        return None

    prop = find(rendered)
    if prop is None:
        return None
    return prop["view"].get("choices") or prop["type"].get("choices") or []
