"""The App-independent skeleton model: conversion, validation, layout."""
import fiftyone as fo

from posekit import skeleton as pk
from posekit import skeleton_store as store
from posekit.layout import default_layout
from posekit.templates import get_template


def sk(labels, *groups):
    return pk.Skeleton(labels, [pk.EdgeGroup(n, list(es)) for n, es in groups])


def codes(problems):
    return [p.code for p in problems]


def test_polylines_round_trip_order_and_direction():
    pairs = [(0, 1), (1, 2), (5, 3), (3, 4), (2, 0)]
    lines = pk.edges_to_polylines(pairs)
    assert lines == [[0, 1, 2], [5, 3, 4], [2, 0]]
    assert pk.polylines_to_edges(lines) == pairs


def test_to_fo_and_back_keeps_group_names():
    s = sk(["a", "b", "c", "d"], ("arm", [("a", "b"), ("b", "c")]), ("leg", [("a", "d"), ("c", "d")]))
    f = s.to_fo()
    assert isinstance(f, fo.KeypointSkeleton)
    assert f.edges == [[0, 1, 2], [0, 3], [2, 3]]
    back = pk.Skeleton.from_fo(f, s.meta())
    assert [(g.name, g.edges) for g in back.edge_groups] == [(g.name, g.edges) for g in s.edge_groups]


def test_from_fo_without_record_derives_group_names():
    f = fo.KeypointSkeleton(labels=["a", "b", "c"], edges=[[0, 1], [1, 2]])
    back = pk.Skeleton.from_fo(f)
    assert [(g.name, g.edges) for g in back.edge_groups] == [
        ("group 1", [("a", "b")]), ("group 2", [("b", "c")])
    ]
    # a stale record (edited by hand) is ignored rather than misapplied
    stale = {"groups": [{"name": "x", "polylines": 5}]}
    assert [g.name for g in pk.Skeleton.from_fo(f, stale).edge_groups] == ["group 1", "group 2"]


def test_from_fo_without_labels_names_nodes_by_index():
    back = pk.Skeleton.from_fo(fo.KeypointSkeleton(edges=[[0, 2]]))
    assert back.labels == ["0", "1", "2"]


def test_valid_skeleton_has_no_problems_unicode_ok():
    s = sk(["头", "épaule", "Ω"], ("g", [("头", "épaule"), ("épaule", "Ω")]))
    assert pk.validate(s) == []


def test_each_rule_reports_input_and_index():
    assert codes(pk.validate(sk([]))) == ["no_labels"]
    p = pk.validate(sk(["a", ""]))
    assert codes(p) == ["empty_label"] and p[0].input == "labels" and p[0].index == 1
    assert codes(pk.validate(sk(["a", "a"]))) == ["duplicate_label"]
    assert codes(pk.validate(sk(["Left Eye", "left  eye"]))) == ["similar_labels"]
    assert codes(pk.validate(sk(["ǅ", "ǆ"]))) == ["similar_labels"]
    p = pk.validate(sk(["a", "b"], ("g", [("a", "b"), ("a", "x")])))
    assert codes(p) == ["unknown_label"] and p[0].input == "edge_groups" and p[0].index == (0, 1)
    assert codes(pk.validate(sk(["a"], ("g", [("a", "a")])))) == ["self_loop"]
    p = pk.validate(sk(["a", "b"], ("g", [("a", "b")]), ("h", [("b", "a")])))
    assert codes(p) == ["duplicate_edge"] and p[0].index == (1, 0)
    assert codes(pk.validate(sk(["a"], ("g", []), ("g", [])))) == ["duplicate_group"]
    p = pk.validate(sk(["a"]), field_kind="Detections")
    assert codes(p) == ["not_keypoints_field"] and p[0].input == "field"


def test_count_mismatch_refuse_or_keep():
    s = sk(["a", "b"])
    assert codes(pk.validate(s, stored_counts={2})) == []
    p = pk.validate(s, stored_counts={2, 5})
    assert codes(p) == ["count_mismatch"] and "5 points" in p[0].message
    assert pk.validate(s, stored_counts={5}, on_mismatch="keep") == []


def test_dict_form_accepts_from_to_and_pairs():
    d = {"labels": ["a", "b", "c"], "edge_groups": [
        {"name": "g", "edges": [{"from": "a", "to": "b"}, ["b", "c"]]}, {"edges": []}]}
    s = pk.Skeleton.from_dict(d)
    assert s.edges == [("a", "b"), ("b", "c")]
    assert [g.name for g in s.edge_groups] == ["g", "group 2"]
    assert pk.Skeleton.from_dict(s.to_dict()).to_dict() == s.to_dict()


def test_save_load_delete_on_dataset(dataset):
    s = sk(["a", "b", "c"], ("x", [("a", "b")]), ("y", [("b", "c"), ("c", "a")]))
    store.save_skeleton(dataset, s, "kp")
    store.save_skeleton(dataset, get_template("coco17").to_model())
    dataset.reload()
    assert dataset.skeletons["kp"].edges == [[0, 1], [1, 2, 0]]
    loaded = store.load_skeleton(dataset, "kp")
    assert [(g.name, g.edges) for g in loaded.edge_groups] == [(g.name, g.edges) for g in s.edge_groups]
    assert store.load_skeleton(dataset).sigmas == get_template("coco17").sigmas
    assert store.delete_skeleton(dataset, "kp") and not store.delete_skeleton(dataset, "kp")
    assert "kp" not in dataset.info["posekit"]["skeletons"]


def test_stored_point_counts(dataset):
    dataset.add_samples([
        fo.Sample(filepath="/tmp/a.jpg", kp=fo.Keypoints(keypoints=[
            fo.Keypoint(points=[[0, 0]] * 17), fo.Keypoint(points=[[0, 0]] * 5)]),
            one=fo.Keypoint(points=[[0, 0]] * 4)),
        fo.Sample(filepath="/tmp/b.jpg"),
    ])
    assert store.stored_point_counts(dataset, "kp") == {17, 5}
    assert store.stored_point_counts(dataset, "one") == {4}
    assert store.stored_point_counts(dataset, "missing") == set()
    assert store.keypoint_fields(dataset) == ["kp", "one"]
    assert store.counts_for_target(dataset) == {17, 5, 4}
    assert store.field_kind(dataset, "filepath") == "StringField"
    assert store.field_kind(dataset, "kp") is None and store.field_kind(dataset, "new") is None


def test_default_layout_uses_template_layout():
    t = get_template("coco17")
    assert default_layout(t.labels, t.to_skeleton().edges) == t.layout


def test_default_layout_generic_is_deterministic_and_in_box():
    labels = [f"n{i}" for i in range(133)]
    lines = [[i, i + 1] for i in range(0, 120)] + [[0, 125]]
    a = default_layout(labels, lines)
    assert a == default_layout(labels, lines)
    assert len(a) == 133 and all(0 <= x <= 100 and 0 <= y <= 100 for x, y in a)
    assert len({tuple(p) for p in a}) == 133
    assert default_layout([], []) == []
    # a chain is drawn top to bottom, one row per depth
    chain = default_layout(["a", "b", "c"], [[0, 1, 2]])
    assert chain[0][1] < chain[1][1] < chain[2][1]


def test_incomplete_edge_from_a_new_form_row():
    p = pk.validate(sk(["a", "b"], ("g", [("a", None)])))
    assert codes(p) == ["incomplete_edge"] and "choose both ends" in p[0].message


def test_unknown_label_message_suggests_a_rename():
    s = sk(["a", "b2", "c"], ("g", [("a", "b"), ("b", "c")]))
    p = pk.validate(s)
    assert codes(p) == ["unknown_label", "unknown_label"]
    assert "unknown label 'b' (renamed to 'b2'?)" in p[0].message


def test_stored_point_counts_limit_scans_first_samples(dataset):
    dataset.add_samples([
        fo.Sample(filepath=f"/tmp/{i}.jpg", kp=fo.Keypoints(keypoints=[fo.Keypoint(points=[[0, 0]] * (3 if i < 5 else 4))]))
        for i in range(10)
    ])
    assert store.stored_point_counts(dataset, "kp") == {3, 4}
    assert store.stored_point_counts(dataset, "kp", limit=5) == {3}


def test_template_skeleton_set_by_hand_keeps_the_template_group_names(dataset):
    """A skeleton typed in Python (no posekit record) that is a template's
    gets that template's group names and flip pairs back."""
    coco = get_template("coco17")
    dataset.default_skeleton = coco.to_skeleton()
    dataset.save()
    loaded = store.load_skeleton(dataset)
    expected = coco.to_model()
    assert [g.name for g in loaded.edge_groups] == [g.name for g in expected.edge_groups]
    assert loaded.flip_pairs == expected.flip_pairs
    # another edge set under the same labels stays as stored, groups numbered
    dataset.default_skeleton = fo.KeypointSkeleton(labels=coco.labels, edges=[[0, 1]])
    dataset.save()
    loaded = store.load_skeleton(dataset)
    assert [(g.name, g.edges) for g in loaded.edge_groups] == [("group 1", [("nose", "left_eye")])]


def test_hand_edit_keeping_the_polyline_count_drops_stale_group_names(dataset):
    s = sk(["a", "b", "c", "d"], ("arm", [("a", "b")]), ("leg", [("c", "d")]))
    store.save_skeleton(dataset, s)
    # edited by hand outside posekit: other edges, same number of polylines
    dataset.default_skeleton = fo.KeypointSkeleton(
        labels=["a", "b", "c", "d"], edges=[[0, 2], [1, 3]])
    dataset.save()
    back = store.load_skeleton(dataset)
    assert [(g.name, g.edges) for g in back.edge_groups] == [
        ("group 1", [("a", "c")]), ("group 2", [("b", "d")])]
    # unedited, the names stay
    store.save_skeleton(dataset, s)
    assert [g.name for g in store.load_skeleton(dataset).edge_groups] == ["arm", "leg"]
