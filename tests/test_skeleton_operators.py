"""define/import/export/delete/list skeleton operators, run through FiftyOne's
own execution path (``execute_operator``) with plain params."""
import json

import pytest

from conftest import uri

COCO17 = [
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
]


def run(name, dataset, **params):
    import fiftyone.operators as foo

    return foo.execute_operator(uri(name), dataset=dataset, params=params)


def refused(name, dataset, **params):
    """Runs an operator that must refuse; returns its error text."""
    from fiftyone.operators.executor import ExecutionError

    with pytest.raises(ExecutionError) as info:
        run(name, dataset, **params)
    return str(info.value)


def stored_skeletons(dataset):
    """The skeletons as stored in the database, as JSON text."""
    import fiftyone.core.odm as foo_odm

    doc = foo_odm.get_db_conn().datasets.find_one({"name": dataset.name})
    return json.dumps(
        [doc.get("skeletons"), doc.get("default_skeleton")], sort_keys=True
    )


def edges_of(fo_skeleton):
    labels = fo_skeleton.labels
    return [
        (labels[a], labels[b])
        for p in fo_skeleton.edges
        for a, b in zip(p, p[1:])
    ]


def groups(dataset, field=None):
    from posekit.skeleton_store import load_skeleton

    sk = load_skeleton(dataset, field)
    return [(g.name, [tuple(e) for e in g.edges]) for g in sk.edge_groups]


def edge(a, b):
    return {"from": a, "to": b}


@pytest.fixture
def kp_dataset(dataset):
    """A dataset with a ``kp`` Keypoints field holding 3-point keypoints and an
    existing 3-node skeleton on it, plus a ``det`` Detections field."""
    import fiftyone as fo

    s = fo.Sample(
        filepath="/tmp/posekit-none.jpg",
        kp=fo.Keypoints(keypoints=[fo.Keypoint(points=[[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]])]),
        det=fo.Detections(detections=[]),
        note="x",
    )
    dataset.add_sample(s)
    run(
        "define_skeleton", dataset, target="field", field="kp",
        labels=["a", "b", "c"],
        edge_groups=[{"name": "chain", "edges": [edge("a", "b"), edge("b", "c")]}],
    )
    return dataset


# --- define_skeleton ----------------------------------------------------------


def test_define_default_from_template(dataset):
    from posekit.templates import get_template

    result = run("define_skeleton", dataset, start="template", template="coco17")
    dataset.reload()
    sk = dataset.default_skeleton
    t = get_template("coco17")
    assert sk.labels == COCO17
    assert edges_of(sk) == [tuple(e) for g in t.edge_groups for e in g["edges"]]
    assert [g[0] for g in groups(dataset)] == [
        "head", "torso", "left arm", "right arm", "left leg", "right leg"
    ]
    assert result.result["num_edges"] == 19
    requests = result.executor.to_json()["requests"]
    assert any("reload_dataset" in json.dumps(r) for r in requests)


def test_define_per_field_with_groups_and_unicode(dataset):
    labels = ["tête", "épaule g", "épaule d", "手"]
    eg = [
        {"name": "épaules", "edges": [edge("épaule g", "tête"), edge("tête", "épaule d")]},
        {"name": "bras", "edges": [edge("épaule d", "手")]},
    ]
    run("define_skeleton", dataset, target="field", field="pose", labels=labels, edge_groups=eg)
    dataset.reload()
    assert dataset.default_skeleton is None
    sk = dataset.skeletons["pose"]
    assert sk.labels == labels
    assert sk.edges == [[1, 0, 2], [2, 3]]
    assert groups(dataset, "pose") == [
        ("épaules", [("épaule g", "tête"), ("tête", "épaule d")]),
        ("bras", [("épaule d", "手")]),
    ]


def test_define_edit_current_keeps_other_skeletons(kp_dataset):
    ds = kp_dataset
    run("define_skeleton", ds, start="template", template="coco17")
    # edit the field skeleton: rename a label and add a group
    run(
        "define_skeleton", ds, target="field", field="kp", start="current",
        labels=["a", "b", "tip"],
        edge_groups=[
            {"name": "chain", "edges": [edge("a", "b")]},
            {"name": "end", "edges": [edge("b", "tip")]},
        ],
    )
    ds.reload()
    assert ds.skeletons["kp"].labels == ["a", "b", "tip"]
    assert groups(ds, "kp") == [("chain", [("a", "b")]), ("end", [("b", "tip")])]
    assert ds.default_skeleton.labels == COCO17


def test_define_current_without_edits_is_unchanged(kp_dataset):
    before = stored_skeletons(kp_dataset)
    run("define_skeleton", kp_dataset, target="field", field="kp", start="current")
    assert stored_skeletons(kp_dataset) == before


def test_define_accepts_pairs_as_edges(dataset):
    run(
        "define_skeleton", dataset, labels=["a", "b"],
        edge_groups=[{"name": "g", "edges": [["a", "b"]]}],
    )
    dataset.reload()
    assert dataset.default_skeleton.edges == [[0, 1]]


def test_count_mismatch_keep_saves(kp_dataset):
    run(
        "define_skeleton", kp_dataset, target="field", field="kp",
        start="template", template="coco17", on_mismatch="keep",
    )
    kp_dataset.reload()
    assert kp_dataset.skeletons["kp"].labels == COCO17
    assert len(kp_dataset.first().kp.keypoints[0].points) == 3


# --- one test per validation rule -------------------------------------------


def _assert_refused(ds, needle, **params):
    before = stored_skeletons(ds)
    msg = refused("define_skeleton", ds, **params)
    assert needle in msg, msg
    assert stored_skeletons(ds) == before


def _one_group(*edges):
    return [{"name": "g", "edges": [edge(a, b) for a, b in edges]}]


def test_rule_empty_label(kp_dataset):
    _assert_refused(
        kp_dataset, "Label 2 is empty", target="field", field="kp",
        labels=["a", " ", "c"], edge_groups=_one_group(("a", "c")),
    )


def test_rule_duplicate_label(kp_dataset):
    _assert_refused(
        kp_dataset, "Label 3 'a' duplicates label 1", target="field", field="kp",
        labels=["a", "b", "a"], edge_groups=_one_group(("a", "b")),
    )


def test_rule_labels_differ_only_by_case(kp_dataset):
    _assert_refused(
        kp_dataset, "differs from label 1 'Nose' only by case or whitespace",
        target="field", field="kp", labels=["Nose", "b", "nose"],
        edge_groups=_one_group(("Nose", "b")),
    )


def test_rule_labels_differ_only_by_whitespace(kp_dataset):
    _assert_refused(
        kp_dataset, "'left eye' differs from label 1 'lefteye'",
        target="field", field="kp", labels=["lefteye", "b", "left eye"],
        edge_groups=_one_group(("lefteye", "b")),
    )


def test_rule_edge_names_unknown_label(kp_dataset):
    _assert_refused(
        kp_dataset, "names unknown label 'elbow'", target="field", field="kp",
        labels=["a", "b", "c"], edge_groups=_one_group(("a", "elbow")),
    )


def test_rule_self_loop(kp_dataset):
    _assert_refused(
        kp_dataset, "joins 'b' to itself (self-loop)", target="field", field="kp",
        labels=["a", "b", "c"], edge_groups=_one_group(("a", "b"), ("b", "b")),
    )


def test_rule_duplicate_edge_reversed(kp_dataset):
    _assert_refused(
        kp_dataset, "duplicates edge 1 of group 'g'", target="field", field="kp",
        labels=["a", "b", "c"],
        edge_groups=_one_group(("a", "b"), ("b", "c")) + [
            {"name": "h", "edges": [edge("b", "a")]}
        ],
    )


def test_rule_count_mismatch_refused(kp_dataset):
    _assert_refused(
        kp_dataset, "The skeleton has 17 nodes but keypoints already stored have 3 points",
        target="field", field="kp", start="template", template="coco17",
    )


def test_rule_count_mismatch_default_skeleton(kp_dataset):
    # the default skeleton governs keypoints fields without their own skeleton
    run("delete_skeleton", kp_dataset, target="field", field="kp")
    _assert_refused(
        kp_dataset, "has 17 nodes but keypoints already stored have 3 points",
        start="template", template="coco17",
    )


def test_rule_field_is_not_keypoints(kp_dataset):
    _assert_refused(
        kp_dataset, "This field holds Detections, not Keypoints",
        target="field", field="det", start="template", template="coco17",
    )
    _assert_refused(
        kp_dataset, "This field holds StringField, not Keypoints",
        target="field", field="note", start="template", template="coco17",
    )


def test_rule_duplicate_group_name(kp_dataset):
    _assert_refused(
        kp_dataset, "has the same name as group 1", target="field", field="kp",
        labels=["a", "b", "c"],
        edge_groups=[
            {"name": "g", "edges": [edge("a", "b")]},
            {"name": "g", "edges": [edge("b", "c")]},
        ],
    )


# --- the form -----------------------------------------------------------------


def _resolve(dataset, name="define_skeleton", **params):
    from fiftyone.operators.executor import ExecutionContext
    from fiftyone.operators.registry import OperatorRegistry

    op = OperatorRegistry().get_operator(uri(name))
    ctx = ExecutionContext(request_params={"dataset_name": dataset.name, "params": params})
    return op.resolve_input(ctx).to_json()["type"]["properties"]


def test_form_switching_template_gives_a_fresh_editor(dataset):
    a = _resolve(dataset, start="template", template="coco17")
    b = _resolve(dataset, start="template", template="hand21")
    assert "draft_template_coco17" in a and "draft_template_hand21" in b
    draft = b["draft_template_hand21"]["type"]["properties"]
    assert draft["labels"]["default"][0] == "wrist"
    edge_choices = draft["edge_groups"]["type"]["element_type"]["properties"]["edges"][
        "type"]["element_type"]["properties"]["from"]["type"]["values"]
    assert len(edge_choices) == 21


def test_form_shows_errors_next_to_inputs_and_summary(dataset):
    props = _resolve(
        dataset, labels=["a", "A", "b", "c"],
        edge_groups=[{"name": "g", "edges": [edge("a", "zz")]}],
    )
    assert props["labels"]["invalid"] and "only by case" in props["labels"]["error_message"]
    assert props["edge_groups"]["invalid"]
    assert "unknown label 'zz'" in props["edge_groups"]["error_message"]
    summary = props["summary"]["default"]
    assert "4 nodes, 1 edges" in summary and "Nodes with no edge: A, b, c" in summary
    assert props["preview"]["default"].startswith("data:image/svg+xml")


def test_form_preview_and_panel_draw_edge_groups_in_the_same_colours(dataset):
    """One palette: the define form's drawing and the preview panel's agree
    on every group's colour, the 9th and later ones too."""
    import re
    import urllib.parse

    from posekit.preview import skeleton_drawing
    from posekit.scene import group_color

    labels = ["n%d" % i for i in range(12)]
    groups = [{"name": "g%d" % i, "edges": [edge("n%d" % i, "n%d" % (i + 1))]}
              for i in range(11)]
    props = _resolve(dataset, labels=labels, edge_groups=groups)
    form_svg = urllib.parse.unquote(props["preview"]["default"])
    panel_svg = urllib.parse.unquote(skeleton_drawing(
        labels, [("g%d" % i, [(i, i + 1)]) for i in range(11)])[1])
    strokes = lambda svg: re.findall(r"<path d='[^']*' stroke='(#[0-9a-f]{6})'", svg)
    assert strokes(form_svg) == strokes(panel_svg)
    # edges, then the legend: each group in its palette colour
    assert strokes(form_svg) == [group_color(i) for i in range(11)] * 2


def test_form_field_dropdown_lists_keypoints_fields(kp_dataset):
    props = _resolve(kp_dataset, target="field")
    choices = [c["value"] for c in props["field"]["view"]["choices"]]
    assert choices == ["kp"]
    props = _resolve(kp_dataset, target="field", field="det")
    assert props["field"]["invalid"] and "Detections" in props["field"]["error_message"]


# --- import / export / delete / list -----------------------------------------

COCO_CAT = {
    "supercategory": "person", "id": 1, "name": "person", "keypoints": COCO17,
    "skeleton": [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13],
                 [6, 7], [6, 8], [7, 9], [8, 10], [9, 11], [2, 3], [1, 2], [1, 3],
                 [2, 4], [3, 5], [4, 6], [5, 7]],
}


def test_import_from_file_then_export_round_trip(dataset, tmp_path):
    src = tmp_path / "person_keypoints.json"
    src.write_text(json.dumps({"images": [], "annotations": [], "categories": [COCO_CAT]}))
    run("import_coco_skeleton", dataset, source="file", path=str(src), target="field", field="pose")
    dataset.reload()
    assert dataset.skeletons["pose"].labels == COCO17
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "skeleton.json"
    r = run("export_coco_skeleton", dataset, target="field", field="pose",
            folder=str(tmp_path / "out"), filename="skeleton.json")
    assert r.result["coco"] == {"categories": [COCO_CAT]}
    assert json.loads(out.read_text()) == {"categories": [COCO_CAT]}


def test_import_pasted_json_picks_category(dataset):
    other = dict(COCO_CAT, id=2, name="hand", keypoints=["w", "t"], skeleton=[[1, 2]])
    run("import_coco_skeleton", dataset, source="json",
        json=json.dumps([COCO_CAT, other]), category="hand")
    dataset.reload()
    assert dataset.default_skeleton.labels == ["w", "t"]
    assert dataset.default_skeleton.edges == [[0, 1]]


def test_import_bad_input_is_refused(kp_dataset, tmp_path):
    before = stored_skeletons(kp_dataset)
    msg = refused("import_coco_skeleton", kp_dataset, source="json", json="{nope")
    assert "Not valid JSON" in msg
    msg = refused("import_coco_skeleton", kp_dataset, source="file", path=str(tmp_path / "missing.json"))
    assert "Cannot read that file" in msg
    bad = dict(COCO_CAT, skeleton=[[1, 99]])
    msg = refused("import_coco_skeleton", kp_dataset, source="json", json=json.dumps(bad))
    assert "between 1 and 17" in msg
    msg = refused("import_coco_skeleton", kp_dataset, source="json",
                  json=json.dumps(COCO_CAT), target="field", field="kp")
    assert "has 17 nodes" in msg
    assert stored_skeletons(kp_dataset) == before


def test_import_delegated(dataset, tmp_path):
    import fiftyone.operators as foo
    from fiftyone.operators.delegated import DelegatedOperationService

    src = tmp_path / "cats.json"
    src.write_text(json.dumps({"categories": [COCO_CAT]}))
    foo.execute_operator(
        uri("import_coco_skeleton"), dataset=dataset,
        params={"source": "file", "path": str(src)}, request_delegation=True,
    )
    dataset.reload()
    assert dataset.default_skeleton is None
    DelegatedOperationService().execute_queued_operations(operator=uri("import_coco_skeleton"))
    dataset.reload()
    assert dataset.default_skeleton.labels == COCO17


def test_export_shows_result_without_path_and_refuses_overwrite(dataset, tmp_path):
    run("define_skeleton", dataset, start="template", template="hand21")
    r = run("export_coco_skeleton", dataset, category_name="hand")
    cat = r.result["coco"]["categories"][0]
    assert cat["name"] == "hand" and len(cat["keypoints"]) == 21 and len(cat["skeleton"]) == 20
    assert r.result["path"] is None
    p = tmp_path / "x.json"
    p.write_text("keep me")
    assert "exists" in refused("export_coco_skeleton", dataset, folder=str(tmp_path), filename="x.json")
    assert p.read_text() == "keep me"
    run("export_coco_skeleton", dataset, folder=str(tmp_path), filename="x.json", overwrite=True)
    assert len(json.loads(p.read_text())["categories"][0]["keypoints"]) == 21


def test_delete_and_list(kp_dataset):
    ds = kp_dataset
    run("define_skeleton", ds, start="template", template="mpii16", on_mismatch="keep")
    rows = run("list_skeletons", ds).result["skeletons"]
    assert [(r["target"], r["field"], r["num_nodes"]) for r in rows] == [
        ("default", None, 16), ("field", "kp", 3)
    ]
    run("delete_skeleton", ds, target="field", field="kp")
    ds.reload()
    assert "kp" not in ds.skeletons and ds.default_skeleton is not None
    run("delete_skeleton", ds)
    ds.reload()
    assert ds.default_skeleton is None
    assert "no skeleton" in run("list_skeletons", ds).result["table"]
    assert "No skeleton is set" in refused("delete_skeleton", ds)


def test_app_draft_params_are_saved(dataset):
    """What the App sends: the editor lives under draft_<start>_<template>."""
    draft = {
        "labels": ["wrist", "thumb"],
        "edge_groups": [{"name": "thumb", "edges": [edge("wrist", "thumb")]}, {"name": None, "edges": None}],
    }
    run("define_skeleton", dataset, start="template", template="hand21",
        draft_template_hand21=draft)
    dataset.reload()
    assert dataset.default_skeleton.labels == ["wrist", "thumb"]
    assert groups(dataset) == [("thumb", [("wrist", "thumb")]), ("group 2", [])]


def test_app_draft_errors_are_flagged_in_the_draft(dataset):
    props = _resolve(dataset, start="scratch", draft_scratch={
        "labels": ["a", "a"], "edge_groups": [{"name": "g", "edges": [{"from": "a", "to": None}]}]})
    draft = props["draft_scratch"]["type"]["properties"]
    assert "duplicates label 1" in draft["labels"]["error_message"]
    assert "choose both ends" in draft["edge_groups"]["error_message"]
    assert "problems" in props
    before = stored_skeletons(dataset)
    assert "duplicates label 1" in refused("define_skeleton", dataset, start="scratch",
                                           draft_scratch={"labels": ["a", "a"], "edge_groups": []})
    assert stored_skeletons(dataset) == before


def test_form_offers_keep_or_refuse_on_count_mismatch(kp_dataset):
    props = _resolve(kp_dataset, target="field", field="kp", start="template", template="coco17")
    assert [c["value"] for c in props["on_mismatch"]["view"]["choices"]] == ["refuse", "keep"]
    draft = props["draft_template_coco17"]["type"]["properties"]
    assert "has 17 nodes" in draft["labels"]["error_message"]
    props = _resolve(kp_dataset, target="field", field="kp", start="template",
                     template="coco17", on_mismatch="keep")
    assert not props["draft_template_coco17"]["type"]["properties"]["labels"]["invalid"]


def test_save_recounts_even_when_the_form_saw_no_mismatch(dataset):
    """Forms check a prefix of the samples (cached); saving checks them all."""
    import sys

    import fiftyone as fo
    from fiftyone.operators.registry import OperatorRegistry

    op = OperatorRegistry().get_operator(uri("define_skeleton"))
    # the form helpers shared by the skeleton operators hold the scan limit
    mod = sys.modules[type(op).__module__.rsplit(".", 1)[0] + "._skeleton_forms"]
    old = mod._FORM_SCAN_LIMIT
    mod._FORM_SCAN_LIMIT = 2
    try:
        dataset.add_samples([
            fo.Sample(filepath=f"/tmp/{i}.jpg", kp=fo.Keypoints(keypoints=[
                fo.Keypoint(points=[[0, 0]] * (2 if i < 2 else 5))]))
            for i in range(4)
        ])
        props = _resolve(dataset, target="field", field="kp", labels=["a", "b"], edge_groups=[])
        assert not props["labels"]["invalid"]  # the form only saw 2-point keypoints
        before = stored_skeletons(dataset)
        msg = refused("define_skeleton", dataset, target="field", field="kp",
                      labels=["a", "b"], edge_groups=[])
        assert "already stored have 5 points" in msg
        assert stored_skeletons(dataset) == before
    finally:
        mod._FORM_SCAN_LIMIT = old


def test_rule_unusable_new_field_name(kp_dataset):
    for name in ["a.b", "_private", "has space"]:
        _assert_refused(
            kp_dataset, "is not a usable field name", target="field", field=name,
            start="template", template="coco17",
        )


def test_save_survives_the_app_reloading_its_shared_dataset(dataset, monkeypatch):
    """Another App request reloading the shared dataset object just before
    the save must not drop the new skeleton."""
    import fiftyone as fo

    shared = fo.load_dataset(dataset.name)
    save = fo.Dataset.save

    def save_after_another_requests_reload(self, *args, **kwargs):
        shared.reload()
        return save(self, *args, **kwargs)

    monkeypatch.setattr(fo.Dataset, "save", save_after_another_requests_reload)
    run("define_skeleton", dataset, target="default", start="template", template="coco17")
    dataset.reload()
    assert dataset.default_skeleton.labels == COCO17
