"""Name mapping between skeletons: every template pair that has one maps each
node onto the node with the same meaning, checked geometrically on the
templates' default layouts (all drawn in the same 0..100 box, person facing
the viewer, so the same body part sits at about the same place)."""
import numpy as np
import pytest

from posekit.preannotate.mapping import build_mapping, template_pairs
from posekit.templates import get_template, template_ids

BODY = ["coco17", "halpe26", "openpose25", "mediapipe33", "mpii16", "crowdpose14"]


def test_every_pair_of_a_family_has_a_mapping_and_no_other_pair():
    pairs = set(template_pairs())
    ids = template_ids()
    for a in ids:
        for b in ids:
            same = (a in BODY and b in BODY) or a == b
            assert ((a, b) in pairs) == same, (a, b)
    assert ("hand21", "hand21") in pairs and ("ap10k17", "ap10k17") in pairs


@pytest.mark.parametrize("src,dst", template_pairs())
def test_mapped_nodes_land_on_the_same_body_part(src, dst):
    a, b = get_template(src), get_template(dst)
    mapping = build_mapping(a.labels, b.labels)
    pts, conf = mapping.apply(np.asarray(a.layout, float), np.ones(len(a.labels)))
    target = np.asarray(b.layout, float)
    mapped = ~np.isnan(pts[:, 0])
    assert mapped.any()
    dist = np.linalg.norm(pts[mapped] - target[mapped], axis=1)
    # same body part: within 5.5 units of the target's own drawing (a left/
    # right swap of the closest pair, the eyes, is 6 apart) ...
    assert dist.max() <= 5.5, dict(zip(np.asarray(b.labels)[mapped], dist.round(1)))
    # ... and never the other side of the body
    side = np.sign(np.round(pts[mapped, 0] - 50))
    assert (side * np.sign(np.round(target[mapped, 0] - 50)) >= 0).all()
    assert np.isnan(conf[~mapped]).all() and (conf[mapped] == 1).all()


@pytest.mark.parametrize("src", BODY)
def test_every_body_skeleton_fills_the_coco17_limbs(src):
    mapping = build_mapping(get_template(src).labels, get_template("coco17").labels)
    got = {k for k, v in mapping.as_dict().items() if v is not None}
    limbs = {"left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
             "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
             "right_knee", "left_ankle", "right_ankle"}
    assert limbs <= got
    if src in ("halpe26", "openpose25", "mediapipe33"):
        assert len(got) == 17  # the face too


def test_mediapipe33_to_coco17_by_name_and_openpose_neck_derived():
    mp33 = get_template("mediapipe33").labels
    coco = get_template("coco17").labels
    m = build_mapping(mp33, coco)
    assert m.as_dict() == {name: name for name in coco}
    op = build_mapping(coco, get_template("openpose25").labels).as_dict()
    assert op["Neck"] == ["left_shoulder", "right_shoulder"]
    assert op["MidHip"] == ["left_hip", "right_hip"]
    assert op["LBigToe"] is None  # COCO has no feet
    # a derived node: the midpoint, with the lower confidence
    pts = np.zeros((17, 2))
    pts[5], pts[6] = (10, 20), (30, 40)
    conf = np.ones(17)
    conf[6] = 0.4
    out, c = build_mapping(coco, get_template("openpose25").labels).apply(pts, conf)
    assert out[1].tolist() == [20, 30] and c[1] == 0.4


def test_hand21_maps_onto_itself_and_not_onto_a_body():
    hand = get_template("hand21").labels
    assert build_mapping(hand, hand).sources == [(i,) for i in range(21)]
    with pytest.raises(ValueError, match="hand skeleton to a body skeleton"):
        build_mapping(hand, get_template("coco17").labels)


def test_user_mapping_wins_and_drops():
    coco = get_template("coco17").labels
    model = ["snout", "left_eye", "right_eye", "tail"]
    m = build_mapping(model, coco, {"snout": "nose", "right_eye": None})
    d = m.as_dict()
    assert d["nose"] == "snout" and d["left_eye"] == "left_eye"
    assert d["right_eye"] is None  # dropped by the user
    # a user mapping also overrides a same-name match
    m = build_mapping(["left_eye", "right_eye"], ["left_eye", "right_eye"],
                      {"left_eye": "right_eye", "right_eye": "left_eye"})
    assert m.sources == [(1,), (0,)]


def test_bad_user_mapping_and_nothing_in_common_are_clear_errors():
    coco = get_template("coco17").labels
    with pytest.raises(ValueError, match=r"model nodes \['beak'\]"):
        build_mapping(["nose"], coco, {"beak": "nose"})
    with pytest.raises(ValueError, match=r"skeleton nodes \['snout'\]"):
        build_mapping(["nose"], coco, {"nose": "snout"})
    with pytest.raises(ValueError, match="No node of the model"):
        build_mapping(["fin", "tail"], coco)


def test_custom_names_match_by_spelling_variants():
    m = build_mapping(["Left Shoulder", "RShoulder", "left-hip"],
                      ["left_shoulder", "right_shoulder", "left_hip"])
    assert m.sources == [(0,), (1,), (2,)]
