"""fo.Keypoint <-> CVAT skeleton shapes: order by sublabel id, NaN <-> outside,
per-node occlusion flags."""
import json
import math
import os
import random

import numpy as np
import pytest

import fiftyone as fo

from posekit.cvat import convert, svg
from real_cvat import VERSIONS, cvat_asset, served_skeleton_annotations

SUBLABELS = [101, 102, 103, 104]
SIZE = (200, 100)


def _kp(points, **attrs):
    kp = fo.Keypoint(label="person", points=points)
    for k, v in attrs.items():
        kp[k] = v
    return kp


def test_keypoint_to_shape_outside_and_occluded():
    kp = _kp(
        [[0.5, 0.5], [float("nan"), float("nan")], [0.25, 1.0]],
        occluded=[False, True, True],
    )
    shape = convert.keypoint_to_shape(
        kp, 3, SIZE, 100, SUBLABELS, attributes=[{"spec_id": 9, "value": kp.id}]
    )
    assert shape["type"] == "skeleton" and shape["points"] == []
    assert shape["label_id"] == 100 and shape["frame"] == 3
    assert shape["attributes"] == [{"spec_id": 9, "value": kp.id}]
    els = shape["elements"]
    assert [e["label_id"] for e in els] == SUBLABELS
    assert els[0]["points"] == [100.0, 50.0] and not els[0]["outside"]
    # NaN node -> outside element with finite coordinates (JSON-safe)
    assert els[1]["outside"] and els[1]["points"] == [0.0, 0.0]
    assert els[2]["occluded"] and els[2]["points"] == [50.0, 100.0]
    # fewer points than nodes: the rest are outside
    assert els[3]["outside"]
    json.dumps(shape, allow_nan=False)


def test_keypoint_with_too_many_points_is_refused():
    with pytest.raises(ValueError, match="skeleton has 4 nodes"):
        convert.keypoint_to_shape(_kp([[0, 0]] * 5), 0, SIZE, 1, SUBLABELS)


def _served(shape, shape_id, shuffle_seed):
    """What CVAT returns: ids assigned, elements in arbitrary order."""
    shape = json.loads(json.dumps(shape))
    shape["id"] = shape_id
    random.Random(shuffle_seed).shuffle(shape["elements"])
    return shape


def test_round_trip_matches_by_sublabel_id_not_position():
    kps = [
        _kp([[0.1, 0.2], [0.3, 0.4], [float("nan")] * 2, [0.9, 0.95]],
            occluded=[True, False, False, True]),
        _kp([[0.5, 0.5], [0.6, 0.6], [0.7, 0.7], [0.8, 0.8]]),
    ]
    shapes = [
        _served(convert.keypoint_to_shape(kp, f, SIZE, 100, SUBLABELS), i, i)
        for i, (f, kp) in enumerate(zip([0, 1], kps))
    ]
    assert [e["label_id"] for e in shapes[0]["elements"]] != SUBLABELS
    points, occluded = convert.skeleton_arrays(
        shapes, {100: SUBLABELS}, {0: SIZE, 1: (400, 400)}
    )
    assert points.shape == (2, 4, 2)
    np.testing.assert_allclose(points[0, [0, 1, 3]], [[0.1, 0.2], [0.3, 0.4], [0.9, 0.95]])
    assert np.isnan(points[0, 2]).all()
    assert occluded[0].tolist() == [True, False, False, True]
    # frame 1 has another size: coordinates relative to it
    np.testing.assert_allclose(points[1, 0], [0.25, 0.125])


def test_missing_and_unknown_elements():
    shape = {
        "frame": 0, "label_id": 100, "type": "skeleton",
        "elements": [
            {"label_id": 104, "points": [20, 10], "outside": False, "occluded": False},
            {"label_id": 999, "points": [1, 1], "outside": False, "occluded": False},
            {"label_id": 101, "points": [5, 5], "outside": True, "occluded": True},
        ],
    }
    points, occluded = convert.skeleton_arrays([shape], {100: SUBLABELS}, {0: SIZE})
    assert np.isnan(points[0, :3]).all()
    np.testing.assert_allclose(points[0, 3], [0.1, 0.1])
    assert occluded[0].tolist() == [True, False, False, False]


def test_to_keypoint_keeps_label_attributes_and_flags():
    from bson import ObjectId

    _id = ObjectId()
    kp = convert.to_keypoint(
        "person", np.array([[0.1, 0.2], [np.nan, np.nan]]),
        np.array([True, False]), attributes={"crowd": True}, label_id=_id,
    )
    assert kp.id == str(_id) and kp.label == "person" and kp["crowd"] is True
    assert kp["occluded"] == [True, False]
    assert kp.points[0] == [0.1, 0.2] and all(math.isnan(v) for v in kp.points[1])


def assert_shapes_parse(shapes, orders):
    """Each element lands at its sublabel's node: outside as NaN, else its
    pixel coordinates; occluded flags follow. Returns the elements checked."""
    frames = {s["frame"] for s in shapes}
    points, occluded = convert.skeleton_arrays(shapes, orders, {f: (1000, 1000) for f in frames})
    elements = []
    for shape, row, flags in zip(shapes, points, occluded):
        order = orders[shape["label_id"]]
        for e in shape["elements"]:
            idx = order.index(e["label_id"])
            if e["outside"]:
                assert np.isnan(row[idx]).all()
            else:
                np.testing.assert_allclose(row[idx] * 1000, e["points"][:2])
            assert flags[idx] == bool(e["occluded"])
            elements.append(e)
    return elements


RECORDED = [item for v in VERSIONS for item in served_skeleton_annotations(v)]
RECORDED_SHAPES = [(w, labels, body) for w, labels, body in RECORDED
                   if any(s["type"] == "skeleton" for s in body["shapes"])]


@pytest.mark.parametrize("where,labels,body", RECORDED_SHAPES,
                         ids=[w for w, _, _ in RECORDED_SHAPES])
def test_recorded_cvat_skeleton_shapes_parse(where, labels, body):
    orders = {i: svg.node_order(l) for i, l in labels.items() if l["type"] == "skeleton"}
    shapes = [s for s in body["shapes"] if s["type"] == "skeleton"]
    assert assert_shapes_parse(shapes, orders)


def test_recorded_shapes_cover_both_versions_and_outside_nodes():
    assert {w.split("/")[0] for w, _, _ in RECORDED_SHAPES} == set(VERSIONS)
    elements = [e for _, _, body in RECORDED_SHAPES for s in body["shapes"]
                if s["type"] == "skeleton" for e in s["elements"]]
    assert any(e["outside"] for e in elements) and not all(e["outside"] for e in elements)


def test_cvat_asset_skeleton_shapes_parse():
    labels = cvat_asset("skeleton_labels.json")["skeleton_labels"]
    annos = cvat_asset("skeleton_annotations.json")
    orders = {l["id"]: svg.node_order(l) for l in labels}
    shapes = [
        s for body in annos["job"].values() for s in body.get("shapes", [])
        if s["type"] == "skeleton" and s["label_id"] in orders
    ]
    assert shapes
    assert assert_shapes_parse(shapes, orders)
