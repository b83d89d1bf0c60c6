"""``fo.Keypoint`` <-> CVAT skeleton shapes, with numpy.

FiftyOne keypoints are relative ``[x, y]`` pairs in skeleton order, ``[nan,
nan]`` for a missing node. A CVAT skeleton shape has one ``points`` element per
node (sublabel) in absolute pixels; a missing node is an ``outside`` element.
Per-node occlusion travels as each element's ``occluded`` flag and lives on the
``fo.Keypoint`` as a list of bools (attribute ``occluded`` by default).
"""
import logging

import numpy as np

logger = logging.getLogger(__name__)

DEFAULT_OCCLUDED_ATTR = "occluded"


def node_array(points, num_nodes):
    """A keypoint's points as a ``(num_nodes, 2)`` float array, NaN-padded."""
    arr = np.full((num_nodes, 2), np.nan)
    if points:
        pts = np.asarray(points, dtype=float).reshape(-1, 2)
        if len(pts) > num_nodes:
            raise ValueError(
                "Keypoint has %d points but the skeleton has %d nodes"
                % (len(pts), num_nodes)
            )
        arr[: len(pts)] = pts
    # a node with only one coordinate missing is missing
    arr[np.isnan(arr).any(axis=1)] = np.nan
    return arr


def attribute(keypoint, name, default=None):
    """An attribute of an ``fo.Keypoint`` or of its database dict."""
    if isinstance(keypoint, dict):
        return keypoint.get(name, default)
    return keypoint.get_attribute_value(name, default)


def occlusion_flags(keypoint, num_nodes, occluded_attr=DEFAULT_OCCLUDED_ATTR):
    """A keypoint's per-node occlusion flags, as a list of ``num_nodes`` bools."""
    flags = [False] * num_nodes
    if occluded_attr:
        value = attribute(keypoint, occluded_attr)
        if isinstance(value, (list, tuple)):
            for i, v in enumerate(value[:num_nodes]):
                flags[i] = bool(v)
    return flags


def node_scores(keypoint, num_nodes):
    """A keypoint's per-node confidences as CVAT element scores: clamped to
    [0, 1], None for a missing (or NaN) confidence. Servers without scores
    (2.23.1) ignore the field."""
    conf = attribute(keypoint, "confidence")
    out = [None] * num_nodes
    if isinstance(conf, (list, tuple)):
        for i, c in enumerate(conf[:num_nodes]):
            if isinstance(c, (int, float)) and not isinstance(c, bool) and c == c:
                out[i] = min(1.0, max(0.0, float(c)))
    return out


def skeleton_scores(shapes, node_orders):
    """``(S, N)`` element scores of many skeleton shapes (NaN where a node has
    none), or None when the server serves no scores (2.23.1)."""
    if not any("score" in e for shape in shapes for e in shape.get("elements") or ()):
        return None
    num_nodes = max((len(o) for o in node_orders.values()), default=0)
    scores = np.full((len(shapes), num_nodes), np.nan)
    index = {sid: i for order in node_orders.values() for i, sid in enumerate(order)}
    for s, shape in enumerate(shapes):
        for e in shape.get("elements") or ():
            i = index.get(e.get("label_id"))
            if i is not None and isinstance(e.get("score"), (int, float)):
                scores[s, i] = e["score"]
    return scores


def keypoint_to_shape(
    keypoint,
    frame,
    frame_size,
    label_id,
    sublabel_ids,
    attributes=None,
    occluded_attr=DEFAULT_OCCLUDED_ATTR,
    source="manual",
):
    """Converts an ``fo.Keypoint`` to a CVAT skeleton shape dict.

    Args:
        keypoint: the ``fo.Keypoint`` (relative coordinates) or its database
            dict
        frame: the CVAT frame number
        frame_size: ``(width, height)`` in pixels
        label_id: the CVAT skeleton label id
        sublabel_ids: the CVAT sublabel ids, in skeleton order
        attributes (None): the shape's ``[{"spec_id", "value"}]`` list
        occluded_attr ("occluded"): the keypoint attribute holding per-node
            occlusion flags, or None
        source ("manual"): CVAT's shape source; ``"auto"`` for a model's
            pre-annotation
    """
    num_nodes = len(sublabel_ids)
    abs_pts = node_array(keypoint["points"], num_nodes) * np.asarray(
        frame_size, dtype=float
    )
    outside = np.isnan(abs_pts).any(axis=1)
    abs_pts[outside] = 0.0
    occluded = occlusion_flags(keypoint, num_nodes, occluded_attr)
    scores = node_scores(keypoint, num_nodes)
    coords = abs_pts.tolist()
    outside = outside.tolist()

    elements = [
        {
            "type": "points",
            "frame": frame,
            "label_id": sid,
            "points": coords[i],
            "outside": outside[i],
            "occluded": occluded[i] and not outside[i],
            "attributes": [],
            "group": 0,
            "z_order": 0,
            "source": source,
        }
        for i, sid in enumerate(sublabel_ids)
    ]
    for element, score in zip(elements, scores):
        if score is not None:
            element["score"] = score
    return {
        "type": "skeleton",
        "frame": frame,
        "label_id": label_id,
        "points": [],
        "occluded": False,
        "outside": False,
        "z_order": 0,
        "rotation": 0.0,
        "group": 0,
        "source": source,
        "attributes": list(attributes or []),
        "elements": elements,
    }


def skeleton_arrays(shapes, node_orders, frame_sizes):
    """Node coordinates and flags of many skeleton shapes at once.

    Elements are matched to nodes by their sublabel id (``label_id``), never by
    position: CVAT returns them in arbitrary order.

    Args:
        shapes: CVAT skeleton shape dicts
        node_orders: ``{skeleton label id: [sublabel ids in node order]}``
        frame_sizes: ``{frame: (width, height)}``

    Returns:
        ``(points, occluded)``: a ``(S, N, 2)`` float array of relative
        coordinates (NaN for outside or absent nodes) and a ``(S, N)`` bool
        array, where N is the largest skeleton's node count
    """
    num_shapes = len(shapes)
    num_nodes = max((len(o) for o in node_orders.values()), default=0)
    points = np.full((num_shapes, num_nodes, 2), np.nan)
    occluded = np.zeros((num_shapes, num_nodes), dtype=bool)
    if not num_shapes or not num_nodes:
        return points, occluded

    node_index = {}
    for order in node_orders.values():
        for idx, sid in enumerate(order):
            node_index[sid] = idx

    rows = [
        (s, node_index.get(e["label_id"], -1), e.get("points") or (np.nan, np.nan),
         bool(e.get("outside")), bool(e.get("occluded")))
        for s, shape in enumerate(shapes)
        for e in shape.get("elements") or ()
    ]
    if not rows:
        return points, occluded

    sidx, nidx, xy, outside, occl = zip(*rows)
    sidx = np.asarray(sidx, dtype=np.int64)
    nidx = np.asarray(nidx, dtype=np.int64)
    xy = np.asarray([p[:2] for p in xy], dtype=float)
    outside = np.asarray(outside, dtype=bool)
    occl = np.asarray(occl, dtype=bool)

    unknown = nidx < 0
    if unknown.any():
        logger.warning(
            "Ignoring %d skeleton element(s) whose sublabel is not in the "
            "skeleton", int(unknown.sum()),
        )
    keep = ~unknown
    sidx, nidx, xy, outside, occl = (
        sidx[keep], nidx[keep], xy[keep], outside[keep], occl[keep]
    )

    sizes = np.asarray(
        [frame_sizes.get(shape["frame"], (np.nan, np.nan)) for shape in shapes],
        dtype=float,
    )
    rel = xy / sizes[sidx]
    rel[outside] = np.nan
    points[sidx, nidx] = rel
    occluded[sidx, nidx] = occl
    return points, occluded


def to_keypoint(label, points, occluded=None, occluded_attr=DEFAULT_OCCLUDED_ATTR,
                attributes=None, label_id=None):
    """Builds an ``fo.Keypoint`` from one row of :func:`skeleton_arrays`."""
    import fiftyone as fo

    kwargs = {"label": label, "points": points.tolist()}
    if label_id is not None:
        kwargs["_id"] = label_id
    kp = fo.Keypoint(**kwargs)
    for name, value in (attributes or {}).items():
        kp[name] = value
    if occluded_attr and occluded is not None:
        kp[occluded_attr] = occluded.tolist()
    return kp


def keypoint_doc(label, points, occluded=None, occluded_attr=DEFAULT_OCCLUDED_ATTR,
                 attributes=None, label_id=None):
    """Like :func:`to_keypoint`, but the ``fo.Keypoint``'s database form (a
    plain dict), which is much cheaper to build and write in bulk."""
    from bson import ObjectId

    doc = {
        "_id": label_id if label_id is not None else ObjectId(),
        "_cls": "Keypoint",
        "attributes": {},
        "tags": [],
        "label": label,
        "points": points.tolist(),
        "confidence": None,
    }
    doc.update(attributes or {})
    if occluded_attr and occluded is not None:
        doc[occluded_attr] = occluded.tolist()
    return doc
