"""Drawing keypoints and skeleton edges over an image, independent of the App.

:func:`compute_scene` turns keypoint instances (relative ``[x, y]`` points,
NaN where a node is missing, optional confidences and per-node ``occluded``
flags) plus a skeleton (labels, named edge groups of index pairs, left/right
flip pairs) into a :class:`Scene`: segments and nodes in image pixels, node
styles, counts and the instances whose point count disagrees with the
skeleton. :func:`render_svg` draws a scene as a self-contained SVG (the
downscaled JPEG embedded, labels as escaped text, a legend), and
:func:`svg_data_uri` makes it an ``<img>`` source. :func:`layout_scene` builds
the skeleton-only scene from a default layout.
"""
import base64
import colorsys
import io
import re
import urllib.parse
from dataclasses import dataclass, field as dc_field
from xml.sax.saxutils import escape

import numpy as np
from PIL import Image, ImageOps

MAX_SIDE = 1024
"""Longest side, in pixels, of the image sent to the browser."""
PAYLOAD_BUDGET = 200_000
"""Largest rendering (SVG data URI with the image inside), in bytes."""
IMAGE_BUDGET = 140_000
"""Default largest JPEG, in bytes (quality, then size, drop to fit)."""
_QUALITIES = (80, 65, 50, 35)

PALETTE = [
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4",
    "#f032e6", "#bfef45", "#fabed4", "#469990", "#dcbeff", "#9a6324",
]
SIDE_COLORS = {"left": "#1e90ff", "right": "#ff8c00", "center": "#ffffff"}
MISMATCH_COLOR = "#ff0000"
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
    ]
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


def image_size(path):
    """The ``(width, height)`` of the image at ``path`` as browsers show it
    (EXIF rotation applied), read from its header only."""
    with Image.open(path) as im:
        return _oriented_size(im)


def _oriented_size(im):
    w, h = im.size
    if im.getexif().get(0x0112) in (5, 6, 7, 8):  # rotated by 90 degrees
        return (h, w)
    return (w, h)


def display_jpeg(path, max_side=MAX_SIDE, budget=IMAGE_BUDGET):
    """The image at ``path`` as ``(jpeg_bytes, (w, h))``: longest side at most
    ``max_side``, at most ``budget`` bytes (lower quality first, then a
    smaller size, until it fits).

    JPEGs are decoded at a reduced DCT scale (Pillow's draft mode), so a large
    photo is never decoded at full resolution. EXIF orientation is applied, as
    browsers do.
    """
    with Image.open(path) as im:
        if im.format == "JPEG":
            k = 1
            while k < 8 and max(im.size) / k > max_side:
                k *= 2
            im.draft("RGB", (-(-im.size[0] // k), -(-im.size[1] // k)))
        im = ImageOps.exif_transpose(im)
        if im.mode not in ("RGB", "L"):
            im = im.convert("RGB")
        side = max_side
        while True:
            if max(im.size) > side:
                im = im.copy()
                im.thumbnail((side, side), Image.Resampling.BILINEAR)
            for q in _QUALITIES:
                buf = io.BytesIO()
                im.save(buf, format="JPEG", quality=q)
                if buf.tell() <= budget or side < 64:
                    return buf.getvalue(), im.size
            side = int(max(im.size) * 0.75)


def _f(v):
    return f"{v:.1f}".rstrip("0").rstrip(".")


def render_svg(
    scene, image_jpeg=None, display_size=None, show_labels=False,
    title=None, background="#202020",
):
    """The scene as SVG text: the image (embedded JPEG) under the edges and
    nodes, node labels as escaped ``<text>`` when ``show_labels``, a legend.

    Drawing happens in display pixels (``display_size``, default the scene's
    size); visible nodes are filled, occluded nodes hollow and dashed,
    low-confidence nodes faded; node fill tells left / right / center;
    mismatched instances get a red dashed box.
    """
    w, h = display_size or (scene.width, scene.height)
    s = np.array([w / scene.width, h / scene.height] * 2)
    unit = (w * h) ** 0.5 / 400.0
    r, sw = 3.5 * unit, 2.0 * unit
    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' "
        f"viewBox='0 0 {w} {h}' font-family='sans-serif'>",
        f"<rect width='{w}' height='{h}' fill='{background}'/>",
    ]
    if image_jpeg is not None:
        b64 = base64.b64encode(image_jpeg).decode("ascii")
        out.append(
            f"<image width='{w}' height='{h}' preserveAspectRatio='none' "
            f"href='data:image/jpeg;base64,{b64}'/>"
        )

    seg = scene.segments * s
    for g, color in enumerate(scene.group_colors):
        rows = seg[scene.segment_group == g]
        if len(rows):
            d = "".join(
                f"M{_f(a)} {_f(b)}L{_f(c)} {_f(e)}" for a, b, c, e in rows.tolist()
            )
            out.append(
                f"<path d='{d}' stroke='{color}' stroke-width='{_f(sw)}' "
                "stroke-linecap='round' fill='none'/>"
            )

    nodes = scene.nodes * s[:2]
    for (x, y), state, side, faded in zip(
        nodes.tolist(), scene.node_state, scene.node_side, scene.node_faded
    ):
        color = SIDE_COLORS[side]
        op = " opacity='0.3'" if faded else ""
        if state == OCCLUDED:
            out.append(
                f"<circle cx='{_f(x)}' cy='{_f(y)}' r='{_f(r)}' fill='none' "
                f"stroke='{color}' stroke-width='{_f(sw * 0.8)}' "
                f"stroke-dasharray='{_f(r * 0.8)}'{op}/>"
            )
        else:
            out.append(
                f"<circle cx='{_f(x)}' cy='{_f(y)}' r='{_f(r)}' fill='{color}' "
                f"stroke='#000' stroke-width='{_f(sw * 0.4)}'{op}/>"
            )

    for m in scene.mismatched:
        sel = nodes[scene.node_instance == m["instance"]]
        if len(sel):
            (x0, y0), (x1, y1) = sel.min(axis=0) - 2 * r, sel.max(axis=0) + 2 * r
            out.append(
                f"<rect x='{_f(x0)}' y='{_f(y0)}' width='{_f(x1 - x0)}' "
                f"height='{_f(y1 - y0)}' fill='none' stroke='{MISMATCH_COLOR}' "
                f"stroke-width='{_f(sw)}' stroke-dasharray='{_f(4 * unit)}'/>"
            )

    if show_labels and len(nodes):
        fs = 9 * unit
        out.append(
            f"<g font-size='{_f(fs)}' fill='#fff' stroke='#000' "
            f"stroke-width='{_f(fs / 5)}' paint-order='stroke'>"
        )
        for (x, y), k in zip(nodes.tolist(), scene.node_index.tolist()):
            text = scene.labels[k] if k < len(scene.labels) else str(k)
            out.append(
                f"<text x='{_f(x + r * 1.3)}' y='{_f(y - r * 1.3)}'>"
                f"{escape(str(text))}</text>"
            )
        out.append("</g>")

    out.append(_legend(scene, w, unit, title))
    out.append("</svg>")
    return "".join(out)


def _legend(scene, w, unit, title):
    fs = 9 * unit
    line = fs * 1.35
    rows = [(None, escape(str(title)))] if title else []
    rows += [(c, escape(str(n))) for n, c in zip(scene.group_names, scene.group_colors)]
    rows += [
        ("node:" + SIDE_COLORS["left"], "left"),
        ("node:" + SIDE_COLORS["right"], "right"),
        ("node:" + SIDE_COLORS["center"], "center"),
        ("occluded", "occluded"),
    ]
    if scene.mismatched:
        rows.append(("mismatch", "count mismatch"))
    width = fs * (2.5 + 0.6 * max(len(t) for _, t in rows))
    height = line * len(rows) + fs * 0.6
    x0 = w - width - fs * 0.5
    out = [
        f"<g font-size='{_f(fs)}' fill='#fff'>",
        f"<rect x='{_f(x0)}' y='{_f(fs * 0.5)}' width='{_f(width)}' "
        f"height='{_f(height)}' rx='{_f(fs / 3)}' fill='#000' opacity='0.6'/>",
    ]
    for k, (kind, text) in enumerate(rows):
        y = fs * 0.5 + line * (k + 1)
        sx = x0 + fs * 0.5
        if kind is None:
            pass
        elif kind.startswith("node:"):
            out.append(
                f"<circle cx='{_f(sx + fs * 0.5)}' cy='{_f(y - fs * 0.35)}' "
                f"r='{_f(fs * 0.35)}' fill='{kind[5:]}' stroke='#000'/>"
            )
        elif kind == "occluded":
            out.append(
                f"<circle cx='{_f(sx + fs * 0.5)}' cy='{_f(y - fs * 0.35)}' "
                f"r='{_f(fs * 0.35)}' fill='none' stroke='#fff' "
                f"stroke-dasharray='{_f(fs * 0.25)}'/>"
            )
        elif kind == "mismatch":
            out.append(
                f"<rect x='{_f(sx)}' y='{_f(y - fs * 0.75)}' width='{_f(fs)}' "
                f"height='{_f(fs * 0.8)}' fill='none' stroke='{MISMATCH_COLOR}' "
                "stroke-dasharray='2'/>"
            )
        else:
            out.append(
                f"<path d='M{_f(sx)} {_f(y - fs * 0.35)}h{_f(fs)}' "
                f"stroke='{kind}' stroke-width='{_f(fs * 0.3)}'/>"
            )
        out.append(f"<text x='{_f(sx + fs * 1.5)}' y='{_f(y)}'>{text}</text>")
    out.append("</g>")
    return "".join(out)


def render_preview(
    path, instances, labels, edge_groups, flip_pairs=None, show_labels=False,
    conf_threshold=0.0, max_side=MAX_SIDE, payload_budget=PAYLOAD_BUDGET,
):
    """The drawing of one image: ``(data_uri, scene, display_size)``.

    The overlay is drawn first; the JPEG gets whatever is left of
    ``payload_budget`` once base64-encoded, so the whole data URI fits.
    Raises ``OSError`` when the image cannot be read.
    """
    w, h = image_size(path)
    scene = compute_scene(
        w, h, instances, labels, edge_groups, flip_pairs, conf_threshold
    )
    k = min(1.0, max_side / max(w, h))
    guess = (max(1, round(w * k)), max(1, round(h * k)))
    overlay = len(svg_data_uri(render_svg(scene, b"", guess, show_labels)))
    budget = max((payload_budget - overlay - 64) * 3 // 4, 4_000)
    jpeg, display = display_jpeg(path, max_side, budget)
    svg = render_svg(scene, jpeg, display, show_labels)
    return svg_data_uri(svg), scene, display


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def svg_data_uri(svg):
    """An ``<img>`` source for ``svg``: percent-encoded text, not base64, so
    the embedded JPEG's base64 is not inflated a second time."""
    text = (
        svg.replace("%", "%25").replace("#", "%23").replace("<", "%3C")
        .replace(">", "%3E").replace('"', "%22")
    )
    if not text.isascii():  # unicode labels, as UTF-8 percent-escapes
        text = _NON_ASCII.sub(lambda m: urllib.parse.quote(m.group(0)), text)
    return "data:image/svg+xml;charset=utf-8," + text
