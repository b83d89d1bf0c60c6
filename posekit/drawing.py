"""Rendering keypoints and skeleton edges over an image, independent of the App.

:func:`render_svg` draws a :class:`posekit.scene.Scene` as a self-contained
SVG (the downscaled JPEG embedded, labels as escaped text, a legend),
:func:`render_preview` does it for an image file within a payload budget, and
:func:`svg_data_uri` makes the SVG an ``<img>`` source.
"""
import base64
import io
import re
import urllib.parse
from xml.sax.saxutils import escape

import numpy as np
from PIL import Image, ImageOps

from posekit.scene import (
    ERROR_COLORS, GT_COLOR, MISMATCH_COLOR, OCCLUDED, SIDE_COLORS,
    UNCLASSIFIED_COLOR, compute_scene,
)

MAX_SIDE = 1024
"""Longest side, in pixels, of the image sent to the browser."""
PAYLOAD_BUDGET = 200_000
"""Largest rendering (SVG data URI with the image inside), in bytes."""
IMAGE_BUDGET = 140_000
"""Default largest JPEG, in bytes (quality, then size, drop to fit)."""
_QUALITIES = (80, 65, 50, 35)


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
    s = "%.1f" % v  # one decimal, no trailing ".0" (hot: thousands per drawing)
    return s[:-2] if s.endswith(".0") else s


def render_svg(
    scene, image_jpeg=None, display_size=None, show_labels=False,
    title=None, background="#202020", comparison=None,
):
    """The scene as SVG text: the image (embedded JPEG) under the edges and
    nodes, node labels as escaped ``<text>`` when ``show_labels``, a legend.

    Drawing happens in display pixels (``display_size``, default the scene's
    size); visible nodes are filled, occluded nodes hollow and dashed,
    low-confidence nodes faded; node fill tells left / right / center;
    mismatched instances get a red dashed box. A ``comparison``
    (:class:`posekit.scene.Comparison`) adds the ground-truth nodes (white
    squares), a thin line per matched predicted node to its ground-truth
    node coloured by error class, and dashed boxes on false positives and
    missed ground truth.
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

    if comparison is not None:
        out.append(_comparison_under(comparison, s, r, sw))
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

    if comparison is not None:
        out.append(_comparison_boxes(comparison, s, r, sw, unit))
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

    for t in scene.tracks:  # a video's track index, above the instance
        x, y = np.asarray(t["xy"]) * s[:2]
        fs = 11 * unit
        out.append(
            f"<text x='{_f(x)}' y='{_f(max(y - 2 * r, fs))}' font-size='{_f(fs)}' "
            f"font-weight='bold' fill='#ffeb3b' stroke='#000' "
            f"stroke-width='{_f(fs / 5)}' paint-order='stroke' "
            f"data-track='{int(t['index'])}'>#{int(t['index'])}</text>"
        )

    out.append(_legend(scene, w, unit, title, comparison))
    out.append("</svg>")
    return "".join(out)


def _comparison_under(cmp, s, r, sw):
    """Ground-truth nodes, then the error lines (under the predicted nodes)."""
    out = []
    q = r * 0.8
    d = "".join(f"M{_f(x - q)} {_f(y - q)}h{_f(2 * q)}v{_f(2 * q)}h{_f(-2 * q)}z"
                for x, y in (cmp.gt_nodes * s[:2]).tolist())
    if d:
        out.append(f"<path d='{d}' fill='none' stroke='{GT_COLOR}' "
                   f"stroke-width='{_f(sw * 0.6)}' data-kind='gt'/>")
    lines = (cmp.lines * s).tolist()
    for name, color in list(ERROR_COLORS.items()) + [(None, UNCLASSIFIED_COLOR)]:
        d = "".join(f"M{_f(a)} {_f(b)}L{_f(c)} {_f(e)}"
                    for (a, b, c, e), k in zip(lines, cmp.line_class) if k == name)
        if d:
            out.append(f"<path d='{d}' stroke='{color}' stroke-width='{_f(sw * 0.6)}' "
                       f"fill='none' data-class='{name or 'unclassified'}'/>")
    return "".join(out)


def _comparison_boxes(cmp, s, r, sw, unit):
    out = []
    for kind, boxes, color in (("fp", cmp.fp, MISMATCH_COLOR), ("fn", cmp.fn, GT_COLOR)):
        for x0, y0, x1, y1 in boxes:
            (x0, y0), (x1, y1) = np.array([x0, y0]) * s[:2] - 2 * r, np.array([x1, y1]) * s[:2] + 2 * r
            out.append(
                f"<rect x='{_f(x0)}' y='{_f(y0)}' width='{_f(x1 - x0)}' "
                f"height='{_f(y1 - y0)}' fill='none' stroke='{color}' "
                f"stroke-width='{_f(sw)}' stroke-dasharray='{_f(2 * unit)}' "
                f"data-outcome='{kind}'/>"
            )
    return "".join(out)


def _comparison_rows(cmp):
    rows = [("gt", "ground truth")]
    rows += [(ERROR_COLORS[c], c) for c in cmp.classes]
    if None in cmp.line_class:
        rows.append((UNCLASSIFIED_COLOR, "unclassified"))
    if cmp.fp:
        rows.append(("box:" + MISMATCH_COLOR, "false positive"))
    if cmp.fn:
        rows.append(("box:" + GT_COLOR, "missed (fn)"))
    return rows


def _legend(scene, w, unit, title, comparison=None):
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
    if comparison is not None:
        rows += _comparison_rows(comparison)
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
        elif kind == "gt":
            out.append(
                f"<rect x='{_f(sx + fs * 0.2)}' y='{_f(y - fs * 0.65)}' "
                f"width='{_f(fs * 0.6)}' height='{_f(fs * 0.6)}' fill='none' "
                f"stroke='{GT_COLOR}'/>"
            )
        elif kind.startswith("box:"):
            out.append(
                f"<rect x='{_f(sx)}' y='{_f(y - fs * 0.75)}' width='{_f(fs)}' "
                f"height='{_f(fs * 0.8)}' fill='none' stroke='{kind[4:]}' "
                "stroke-dasharray='2'/>"
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
    comparison=None,
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
    overlay = len(svg_data_uri(
        render_svg(scene, b"", guess, show_labels, comparison=comparison)))
    budget = max((payload_budget - overlay - 64) * 3 // 4, 4_000)
    jpeg, display = display_jpeg(path, max_side, budget)
    svg = render_svg(scene, jpeg, display, show_labels, comparison=comparison)
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
