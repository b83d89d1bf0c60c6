"""Issue 11 item 12: editing a template in the define form keeps what the
edit did not touch: a renamed label is renamed in the edges (and in the flip
pairs and sigmas), the drawing keeps the template's positions; what cannot
follow the edit is said in the form."""
import base64
import re
import urllib.parse

from annotation_flow import run
from posekit.skeleton_store import load_skeleton
from posekit.templates import get_template
from test_app_hardening import props

KEY = "draft_template_coco17"
OLD, NEW = "left_wrist", "left_hand"


def _draft(template, labels=None):
    model = template.to_model()
    return {
        "start": "template", "template": template.id,
        KEY: {
            "labels": list(labels if labels is not None else model.labels),
            # what the App holds: the editor's edges, by the names they had
            "edge_groups": [
                {"name": g.name, "edges": [{"from": a, "to": b} for a, b in g.edges]}
                for g in model.edge_groups
            ],
        },
    }


def _positions(fields):
    """Node positions of the form's drawing, in drawing order."""
    uri = fields["preview"]["default"]
    head, body = uri.split(",", 1)
    svg = base64.b64decode(body).decode() if ";base64" in head else urllib.parse.unquote(body)
    return re.findall(r"<circle[^>]*?cx=['\"]([\d.]+)['\"][^>]*?cy=['\"]([\d.]+)", svg)


def test_renamed_label_is_renamed_in_the_edges(dataset):
    t = get_template("coco17")
    labels = [NEW if x == OLD else x for x in t.to_model().labels]
    params = _draft(t, labels)
    fields = props("define_skeleton", dataset, params)
    assert "problems" not in fields, fields.get("problems")
    assert f"{len(t.to_model().edges)} edges" in fields["summary"]["default"]
    # the edge's dropdown shows the new name
    edge_to = fields["edge_groups"]["type"]["element_type"]["properties"]["edges"][
        "type"]["element_type"]["properties"]["to"]["view"]["choices"]
    assert {"value": OLD, "label": NEW} in [
        {"value": c["value"], "label": c["label"]} for c in edge_to]
    assert NEW not in [c["label"] for c in edge_to if c["value"] != OLD]

    result = run("define_skeleton", dataset, params)
    assert result.error is None, result.error
    dataset.reload()
    saved = load_skeleton(dataset)
    assert saved.labels == labels
    edges = {e for g in saved.edge_groups for e in g.edges}
    assert ("left_elbow", NEW) in edges and not any(OLD in e for e in edges)


def test_flip_pairs_and_sigmas_follow_a_rename(dataset):
    t = get_template("coco17")
    labels = [NEW if x == OLD else x for x in t.to_model().labels]
    run("define_skeleton", dataset, _draft(t, labels))
    dataset.reload()
    saved = load_skeleton(dataset)
    assert [NEW, "right_wrist"] in [list(p) for p in saved.flip_pairs]
    assert len(saved.flip_pairs) == len(t.flip_pairs)
    assert saved.sigmas == list(t.sigmas)


def test_what_an_edit_drops_is_said_in_the_form(dataset):
    t = get_template("coco17")
    labels = list(t.to_model().labels) + ["tail"]
    fields = props("define_skeleton", dataset, _draft(t, labels))
    assert "sigmas" in fields["dropped"]["view"]["description"]  # tail has none
    labels = [x for x in t.to_model().labels if x != "left_ear"]
    fields = props("define_skeleton", dataset, _draft(t, labels))
    text = fields["dropped"]["view"]["description"]
    assert "1 left/right flip pair" in text and "sigmas" not in text


def test_drawing_keeps_the_template_positions_of_kept_names(dataset):
    t = get_template("coco17")
    as_is = _positions(props("define_skeleton", dataset, _draft(t)))
    labels = [NEW if x == OLD else x for x in t.to_model().labels]
    renamed = _positions(props("define_skeleton", dataset, _draft(t, labels)))
    assert len(as_is) >= len(labels) and renamed == as_is
