"""What to draw for keypoints over an image, independent of the App and of
any rendering.

:func:`compute_scene` turns keypoint instances (relative ``[x, y]`` points,
NaN where a node is missing, optional confidences and per-node ``occluded``
flags) plus a skeleton (labels, named edge groups of index pairs, left/right
flip pairs) into a :class:`Scene`: segments and nodes in image pixels, node
styles, counts and the instances whose point count disagrees with the
skeleton. :func:`layout_scene` builds the skeleton-only scene from a default
layout. :mod:`posekit.drawing` renders scenes.
"""
import colorsys
from dataclasses import dataclass, field as dc_field

import numpy as np

PALETTE = [
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4",
    "#f032e6", "#bfef45", "#fabed4", "#469990", "#dcbeff", "#9a6324",
]
SIDE_COLORS = {"left": "#1e90ff", "right": "#ff8c00", "center": "#ffffff"}
MISMATCH_COLOR = "#ff0000"
ERROR_COLORS = {
    "good": "#00e676", "jitter": "#ffd600", "inversion": "#d500f9",
    "swap": "#00b0ff", "miss": "#ff1744",
}
"""The comparison overlay's line colour per keypoint error class
(:data:`posekit.qa.errors.CLASSES`); ``None`` (unclassified) draws grey."""
UNCLASSIFIED_COLOR = "#9e9e9e"
GT_COLOR = "#ffffff"
"""Ground-truth nodes and missed (fn) ground truth in the comparison."""
VISIBLE, OCCLUDED = "visible", "occluded"


def group_color(i):
    """A distinct colour for edge group ``i`` (palette, then golden-ratio hues)."""
    if i < len(PALETTE):
        return PALETTE[i]
    h = (i * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(h, 0.75, 0.95)
    return "#%02x%02x%02x" % (int(r * 255), int(g * 255), int(b * 255))


def node_sides(labels, flip_pairs=None):
    """``"left"``, ``"right"`` or ``"center"`` per label.

    With flip pairs, the first label of each pair is one side: ``"left"``
    unless its name says right (the other label is the other side). Without
    them, a label containing "left"/"right" (or starting ``l_``/``r_``) says.
    """
    sides = ["center"] * len(labels)
    index = {label: i for i, label in enumerate(labels)}
    if flip_pairs:
        for a, b in flip_pairs:
            if a not in index or b not in index:
                continue
            first = "right" if _named_side(a) == "right" else "left"
            sides[index[a]] = first
            sides[index[b]] = "left" if first == "right" else "right"
        return sides
    return [_named_side(label) or "center" for label in labels]


def _named_side(label):
    s = str(label).lower()
    if "left" in s or s.startswith(("l_", "l-", "l ")):
        return "left"
    if "right" in s or s.startswith(("r_", "r-", "r ")):
        return "right"
    return None


@dataclass
class Instance:
    """One keypoints instance: ``points`` relative ``[x, y]`` (NaN = missing)."""

    points: list
    confidence: list = None
    occluded: list = None
    label: str = None
    index: int = None  # the FiftyOne track (``Keypoint.index``), videos


@dataclass
class Scene:
    """What to draw, in image pixels, and what to report about it.

    ``segments`` is ``(M, 4)`` ``x1, y1, x2, y2``, with ``segment_group`` and
    ``segment_instance``; ``nodes`` is ``(K, 2)`` with ``node_instance``,
    ``node_index``, ``node_state`` (visible/occluded), ``node_side`` and
    ``node_faded``. Missing nodes are counted but not in ``nodes``.
    """

    width: int
    height: int
    labels: list
    group_names: list
    segments: np.ndarray
    segment_group: np.ndarray
    segment_instance: np.ndarray
    nodes: np.ndarray
    node_instance: np.ndarray
    node_index: np.ndarray
    node_state: list
    node_side: list
    node_faded: np.ndarray
    counts: dict
    mismatched: list = dc_field(default_factory=list)
    tracks: list = dc_field(default_factory=list)
    """``[{"instance", "index", "xy"}]``: where each tracked instance's index
    is written (above its top-left node)."""

    @property
    def group_colors(self):
        """One colour per edge group, in group order."""
        return [group_color(i) for i in range(len(self.group_names))]

    def to_json(self, decimals=1):
        """A compact JSON-able description (for panel data and tests)."""
        seg = np.round(self.segments, decimals)
        nodes = np.round(self.nodes, decimals)
        return {
            "width": self.width,
            "height": self.height,
            "groups": [
                {"name": n, "color": c}
                for n, c in zip(self.group_names, self.group_colors)
            ],
            "segments": [
                [*s, int(g), int(i)]
                for s, g, i in zip(
                    seg.tolist(), self.segment_group, self.segment_instance
                )
            ],
            "nodes": [
                {
                    "xy": xy,
                    "instance": int(i),
                    "index": int(k),
                    "state": st,
                    "side": sd,
                    "faded": bool(f),
                }
                for xy, i, k, st, sd, f in zip(
                    nodes.tolist(),
                    self.node_instance,
                    self.node_index,
                    self.node_state,
                    self.node_side,
                    self.node_faded,
                )
            ],
            "counts": dict(self.counts),
            "mismatched": list(self.mismatched),
            "tracks": [dict(t, xy=[round(v, decimals) for v in t["xy"]]) for t in self.tracks],
        }


def _pairs(edge_groups):
    pairs, groups = [], []
    for g, (_, edges) in enumerate(edge_groups):
        for a, b in edges:
            pairs.append((int(a), int(b)))
            groups.append(g)
    return (
        np.asarray(pairs, dtype=np.int64).reshape(-1, 2),
        np.asarray(groups, dtype=np.int64),
    )


def _stack(instances, n_max, attr, fill, dtype):
    out = np.full((len(instances), n_max), fill, dtype=dtype)
    for i, inst in enumerate(instances):
        v = getattr(inst, attr)
        if v is not None and len(v):
            v = np.asarray(v, dtype=dtype)[:n_max]
            out[i, : len(v)] = v
    return out


def compute_scene(
    width, height, instances, labels, edge_groups, flip_pairs=None,
    conf_threshold=0.0,
):
    """Lays out ``instances`` over a ``width`` × ``height`` image.

    ``edge_groups`` is a list of ``(name, [(i, j), ...])`` index edges. An edge
    is drawn for an instance only when both its nodes exist (in range and not
    NaN). Nodes with a confidence below ``conf_threshold`` are ``faded``.
    Instances whose point count differs from ``len(labels)`` are still drawn
    and are listed in ``mismatched``.
    """
    labels = list(labels)
    n_lab = len(labels)
    pairs, pair_group = _pairs(edge_groups)
    lens = np.array([len(inst.points or []) for inst in instances], dtype=int)
    n_max = max(int(lens.max()) if len(lens) else 0, n_lab, 1)
    n_inst = len(instances)

    xy = np.full((n_inst, n_max, 2), np.nan)
    for i, inst in enumerate(instances):
        if lens[i]:
            p = np.asarray(inst.points, dtype=float).reshape(-1, 2)
            xy[i, : len(p)] = p
    xy *= (width, height)
    conf = _stack(instances, n_max, "confidence", np.nan, float)
    occl = _stack(instances, n_max, "occluded", False, bool)

    exists = ~np.isnan(xy).any(axis=2)  # (I, N)
    occl &= exists
    faded = exists & (conf < conf_threshold)  # NaN confidence never fades

    # segments: both ends exist; edges naming nodes beyond n_max never draw
    ok_pair = (pairs < n_max).all(axis=1) if len(pairs) else np.zeros(0, bool)
    pairs, pair_group = pairs[ok_pair], pair_group[ok_pair]
    draw = exists[:, pairs[:, 0]] & exists[:, pairs[:, 1]]  # (I, E)
    inst_idx, edge_idx = np.nonzero(draw)
    a, b = pairs[edge_idx, 0], pairs[edge_idx, 1]
    segments = np.concatenate(
        [xy[inst_idx, a], xy[inst_idx, b]], axis=1
    ).reshape(-1, 4)

    node_inst, node_idx = np.nonzero(exists)
    sides = np.array(node_sides(labels, flip_pairs) + ["center"] * (n_max - n_lab))
    states = np.where(occl[node_inst, node_idx], OCCLUDED, VISIBLE)

    # counts over each instance's own points (padding is not "missing")
    own = np.arange(n_max)[None, :] < lens[:, None]
    n_visible = int((exists & ~occl & own).sum())
    n_occluded = int((occl & own).sum())
    counts = {
        "instances": n_inst,
        "visible": n_visible,
        "occluded": n_occluded,
        "missing": int(own.sum()) - n_visible - n_occluded,
        "low_confidence": int(faded.sum()),
        "segments": int(len(segments)),
    }
    mismatched = [
        {
            "instance": int(i),
            "label": instances[i].label,
            "points": int(lens[i]),
            "expected": n_lab,
        }
        for i in np.nonzero(lens != n_lab)[0]
    ] if n_lab else []  # no skeleton: nothing to disagree with
    tracks = []
    for i, inst in enumerate(instances):
        if inst.index is not None and exists[i].any():
            top_left = np.nanmin(xy[i][exists[i]], axis=0)
            tracks.append({"instance": i, "index": int(inst.index),
                           "xy": top_left.tolist()})
    return Scene(
        width=int(width),
        height=int(height),
        labels=labels,
        group_names=[name for name, _ in edge_groups],
        segments=segments.astype(float),
        segment_group=pair_group[edge_idx],
        segment_instance=inst_idx,
        nodes=xy[node_inst, node_idx],
        node_instance=node_inst,
        node_index=node_idx,
        node_state=states.tolist(),
        node_side=sides[node_idx].tolist(),
        node_faded=faded[node_inst, node_idx],
        counts=counts,
        mismatched=mismatched,
        tracks=tracks,
    )


def layout_scene(layout, labels, edge_groups, flip_pairs=None, size=400, legend=170):
    """The skeleton on its own: ``layout`` (``[x, y]`` per label in a 0..100
    box) drawn in a ``size`` square, with ``legend`` pixels of room on the
    right for the legend; one instance, all nodes visible."""
    pts = np.asarray(layout, dtype=float).reshape(-1, 2)
    margin = 0.08
    rel = margin + (1 - 2 * margin) * pts / 100.0
    rel[:, 0] *= size / (size + legend)
    inst = Instance(points=rel.tolist(), label="skeleton")
    return compute_scene(
        size + legend, size, [inst], labels, edge_groups, flip_pairs
    )


@dataclass
class Comparison:
    """Ground truth vs prediction, in image pixels: ``gt_nodes`` ``(G, 2)``;
    ``lines`` ``(L, 4)`` from each matched predicted node to its ground-truth
    node with ``line_class`` (error class name or ``None``); ``fp`` and ``fn``
    are the boxes ``[x0, y0, x1, y1]`` of unmatched predictions and missed
    ground truth."""

    gt_nodes: np.ndarray
    lines: np.ndarray
    line_class: list
    fp: list
    fn: list

    @property
    def classes(self):
        """The error classes drawn, in :data:`ERROR_COLORS` order."""
        seen = set(self.line_class)
        return [c for c in ERROR_COLORS if c in seen]

    def to_json(self, decimals=1):
        return {
            "gt_nodes": np.round(self.gt_nodes, decimals).tolist(),
            "lines": [[*xy, c] for xy, c in
                      zip(np.round(self.lines, decimals).tolist(), self.line_class)],
            "fp": len(self.fp), "fn": len(self.fn),
            "classes": {c: self.line_class.count(c) for c in self.classes},
        }


def _pixels(points, width, height):
    p = np.asarray(points or [], dtype=float).reshape(-1, 2) * (width, height)
    return p, ~np.isnan(p).any(axis=1)


def _box(p, ok):
    return np.r_[p[ok].min(axis=0), p[ok].max(axis=0)].tolist() if ok.any() else None


def compute_comparison(width, height, gt, pred):
    """``gt``: ``[(points, outcome)]``; ``pred``: ``[(points, outcome,
    matched gt position or None, classes or None)]`` (relative points, NaN =
    missing). A line joins each existing predicted node of a true positive to
    the existing ground-truth node of the same index."""
    gt_px = [_pixels(p, width, height) for p, _ in gt]
    nodes = [p[ok] for p, ok in gt_px]
    lines, line_class, fp, fn = [], [], [], []
    for (p, ok), (_, outcome) in zip(gt_px, gt):
        if outcome == "fn" and _box(p, ok):
            fn.append(_box(p, ok))
    for points, outcome, g, classes in pred:
        p, ok = _pixels(points, width, height)
        if outcome == "fp" and _box(p, ok):
            fp.append(_box(p, ok))
        if outcome != "tp" or g is None:
            continue
        q, qok = gt_px[g]
        for k in np.nonzero(ok[: len(q)] & qok[: len(p)])[0]:
            lines.append([*p[k], *q[k]])
            c = classes[k] if classes and k < len(classes) else None
            line_class.append(c if c in ERROR_COLORS else None)
    return Comparison(
        gt_nodes=np.concatenate(nodes) if nodes else np.zeros((0, 2)),
        lines=np.asarray(lines, dtype=float).reshape(-1, 4),
        line_class=line_class, fp=fp, fn=fn,
    )
