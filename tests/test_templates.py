"""The template library: every template loads and is self-consistent."""
import json
import os

import pytest

from posekit.templates import TEMPLATES_DIR, find_template, get_template, list_templates

IDS = ["coco17", "halpe26", "mpii16", "openpose25", "mediapipe33", "hand21", "ap10k17", "crowdpose14"]
SIZES = {"coco17": 17, "halpe26": 26, "mpii16": 16, "openpose25": 25,
         "mediapipe33": 33, "hand21": 21, "ap10k17": 17, "crowdpose14": 14}


def test_library_has_the_promised_templates_one_file_each():
    assert sorted(t.id for t in list_templates()) == sorted(IDS)
    files = sorted(f[:-5] for f in os.listdir(TEMPLATES_DIR) if f.endswith(".json"))
    assert files == sorted(IDS)


@pytest.mark.parametrize("tid", IDS)
def test_template_is_consistent(tid):
    t = get_template(tid)
    n = len(t.labels)
    assert n == SIZES[tid]
    assert len(set(t.labels)) == n and all(t.labels)
    assert "http" in t.source and t.name
    known = set(t.labels)
    pairs = [frozenset(e) for g in t.edge_groups for e in g["edges"]]
    assert all(len(p) == 2 and p <= known for p in pairs)
    assert len(set(pairs)) == len(pairs)
    assert len({g["name"] for g in t.edge_groups}) == len(t.edge_groups)
    # flip pairs: known labels, each label at most once, never paired with itself
    flat = [x for p in t.flip_pairs for x in p]
    assert set(flat) <= known and len(flat) == len(set(flat))
    # symmetric: flipping twice is the identity, and edges map to edges
    flip = {a: b for a, b in t.flip_pairs}
    flip.update({b: a for a, b in t.flip_pairs})
    assert all(flip[flip[x]] == x for x in flip)
    mirrored = {frozenset(flip.get(x, x) for x in p) for p in pairs}
    assert mirrored == set(pairs)
    if t.sigmas is not None:
        assert len(t.sigmas) == n and all(0 < s < 1 for s in t.sigmas)
        idx = {x: i for i, x in enumerate(t.labels)}
        assert all(t.sigmas[idx[a]] == t.sigmas[idx[b]] for a, b in t.flip_pairs)
    assert len(t.layout) == n
    assert all(len(p) == 2 and 0 <= p[0] <= 100 and 0 <= p[1] <= 100 for p in t.layout)


@pytest.mark.parametrize("tid", IDS)
def test_to_skeleton_has_in_range_edges_covering_every_template_edge(tid):
    t = get_template(tid)
    sk = t.to_skeleton()
    n = len(t.labels)
    assert sk.labels == t.labels
    assert all(0 <= i < n for p in sk.edges for i in p)
    drawn = [(sk.labels[a], sk.labels[b]) for p in sk.edges for a, b in zip(p, p[1:])]
    assert drawn == [tuple(e) for g in t.edge_groups for e in g["edges"]]


def test_layouts_are_plausible_people():
    """Heads above shoulders above hips above ankles; the person's left is on
    the drawing's right (they face the viewer)."""
    for tid in ["coco17", "halpe26", "crowdpose14", "mediapipe33"]:
        t = get_template(tid)
        y = {x: p[1] for x, p in zip(t.labels, t.layout)}
        x = {x: p[0] for x, p in zip(t.labels, t.layout)}
        assert y["left_shoulder"] < y["left_hip"] < y["left_knee"] < y["left_ankle"]
        assert x["left_shoulder"] > x["right_shoulder"]


def test_known_source_facts():
    coco = get_template("coco17")
    assert coco.sigmas[:3] == [0.026, 0.025, 0.025] and coco.sigmas[-1] == 0.089
    assert get_template("crowdpose14").sigmas[-2:] == [0.079, 0.079]
    assert get_template("openpose25").labels[8] == "MidHip"
    assert get_template("mpii16").labels[9] == "head_top"
    assert sum(len(g["edges"]) for g in get_template("mediapipe33").edge_groups) == 35
    assert get_template("ap10k17").labels[4] == "root_of_tail"


def test_unknown_template_names_known_ids():
    with pytest.raises(KeyError, match="coco17"):
        get_template("nope")


def test_find_template_by_labels():
    assert find_template(get_template("hand21").labels).id == "hand21"
    assert find_template(["a", "b"]) is None


def test_files_are_data_with_the_documented_keys():
    for f in os.listdir(TEMPLATES_DIR):
        with open(os.path.join(TEMPLATES_DIR, f), encoding="utf-8") as fh:
            d = json.load(fh)
        assert set(d) == {"id", "name", "source", "labels", "edge_groups",
                          "flip_pairs", "sigmas", "layout"}
        assert f == d["id"] + ".json"
