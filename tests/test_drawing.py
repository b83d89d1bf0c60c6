"""posekit.drawing on its own: segments, node styles, counts, mismatches,
SVG text escaping, image downscaling and the payload budget."""
import io
import re
import urllib.parse

import numpy as np
import pytest
from PIL import Image

from posekit import drawing
from posekit import scene
from posekit.scene import Instance, compute_scene

NAN = float("nan")
LABELS = ["head", "left_shoulder", "right_shoulder", "left_hip", "right_hip"]
GROUPS = [("torso", [(1, 2), (3, 4), (1, 3), (2, 4)]), ("neck", [(0, 1), (0, 2)])]


def _scene(instances, **kw):
    return compute_scene(200, 100, instances, LABELS, GROUPS, **kw)


def test_segments_join_existing_nodes_only_in_image_pixels():
    pts = [[0.5, 0.1], [0.4, 0.3], [NAN, NAN], [0.4, 0.7], [0.6, 0.7]]
    sc = _scene([Instance(points=pts)])
    got = sorted(map(tuple, sc.segments.tolist()))
    # edges touching node 2 (NaN) skipped: 1-2, 2-4, 0-2
    assert got == sorted([
        (80.0, 30.0, 80.0, 70.0),   # 1-3
        (80.0, 70.0, 120.0, 70.0),  # 3-4
        (100.0, 10.0, 80.0, 30.0),  # 0-1
    ])
    assert sorted(sc.segment_group.tolist()) == [0, 0, 1]
    assert sc.counts["missing"] == 1 and sc.counts["visible"] == 4
    assert 2 not in sc.node_index.tolist()


def test_partially_nan_point_counts_as_missing():
    pts = [[0.5, NAN], [0.4, 0.3], [0.6, 0.3], [0.4, 0.7], [0.6, 0.7]]
    sc = _scene([Instance(points=pts)])
    assert sc.counts["missing"] == 1
    assert len(sc.segments) == 4  # the torso only


def test_groups_get_distinct_colours_even_beyond_the_palette():
    colors = [scene.group_color(i) for i in range(40)]
    assert len(set(colors)) == 40
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in colors)


def test_sides_from_flip_pairs_then_from_names():
    labels = ["nose", "eye_a", "eye_b", "L_ear", "Right Ear"]
    assert scene.node_sides(labels, [["eye_a", "eye_b"]]) == [
        "center", "left", "right", "center", "center"
    ]
    assert scene.node_sides(labels) == ["center", "center", "center", "left", "right"]
    # a pair given right-first keeps the names' meaning
    assert scene.node_sides(["right_x", "left_x"], [["right_x", "left_x"]]) == [
        "right", "left"
    ]


def test_occluded_and_faded_nodes():
    pts = [[0.1, 0.1]] * 5
    inst = Instance(
        points=pts,
        occluded=[False, True, False, True, False],
        confidence=[0.9, 0.1, 0.4, NAN, 0.5],
    )
    sc = _scene([inst], conf_threshold=0.5)
    assert sc.node_state == ["visible", "occluded", "visible", "occluded", "visible"]
    assert sc.node_faded.tolist() == [False, True, True, False, False]
    assert sc.counts == {
        "instances": 1, "visible": 3, "occluded": 2, "missing": 0,
        "low_confidence": 2, "segments": 6,
    }
    svg = drawing.render_svg(sc)
    assert svg.count("stroke-dasharray") >= 2
    assert svg.count("opacity='0.3'") == 2


def test_mismatched_instances_are_flagged_and_still_drawn():
    short = Instance(points=[[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]], label="kid")
    long = Instance(points=[[0.5, 0.5]] * 7, label="extra")
    good = Instance(points=[[0.5, 0.5]] * 5)
    sc = _scene([short, long, good])
    assert sc.mismatched == [
        {"instance": 0, "label": "kid", "points": 3, "expected": 5},
        {"instance": 1, "label": "extra", "points": 7, "expected": 5},
    ]
    # the short one keeps its in-range edges (1-2, 0-1, 0-2)
    assert (sc.segment_instance == 0).sum() == 3
    assert (sc.node_instance == 1).sum() == 7
    # missing counts only the instance's own points, not padding
    assert sc.counts["missing"] == 0
    assert scene.MISMATCH_COLOR in drawing.render_svg(sc)


def test_edges_beyond_any_instance_are_ignored():
    sc = compute_scene(10, 10, [Instance(points=[[0.1, 0.1], [0.2, 0.2]])],
                       ["a", "b"], [("g", [(0, 1), (1, 9)])])
    assert len(sc.segments) == 1


def test_no_instances_and_no_skeleton():
    sc = compute_scene(10, 10, [], [], [])
    assert sc.counts["instances"] == 0 and len(sc.segments) == 0
    drawing.render_svg(sc)  # renders (legend only)


def test_label_text_is_escaped_text_never_markup():
    labels = ["<script>alert(1)</script>", "a & b", "x'y\"z"]
    sc = compute_scene(
        100, 100, [Instance(points=[[0.1, 0.1], [0.5, 0.5], [0.9, 0.9]])], labels,
        [("<g1>", [(0, 1)]), ("g2", [(1, 2)])],
    )
    svg = drawing.render_svg(sc, show_labels=True, title="<t>")
    assert "<script>" not in svg and "<g1>" not in svg and "<t>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert "a &amp; b" in svg and "&lt;g1&gt;" in svg
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert "x'y\"z" in texts
    # still well-formed XML
    import xml.etree.ElementTree as ET

    ET.fromstring(svg)


def test_data_uri_round_trips_unicode():
    sc = compute_scene(50, 50, [Instance(points=[[0.5, 0.5]])], ["épaule 肩 #1"], [])
    svg = drawing.render_svg(sc, show_labels=True)
    uri = drawing.svg_data_uri(svg)
    assert uri.isascii() and "#" not in uri
    assert urllib.parse.unquote(uri.split(",", 1)[1]) == svg


def _jpeg(path, size, detail=True):
    rng = np.random.default_rng(1)
    small = rng.integers(0, 255, (size[1] // 16, size[0] // 16, 3), dtype=np.uint8)
    im = Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)
    im.save(path, quality=90)
    return path


def test_display_jpeg_is_bounded_and_keeps_aspect(tmp_path):
    path = _jpeg(str(tmp_path / "big.jpg"), (4000, 3000))
    jpeg, (w, h) = drawing.display_jpeg(path)
    assert max(w, h) <= drawing.MAX_SIDE and abs(w / h - 4 / 3) < 0.01
    assert len(jpeg) <= drawing.IMAGE_BUDGET
    assert Image.open(io.BytesIO(jpeg)).size == (w, h)
    # a tight budget lowers quality, then size
    jpeg, (w2, _) = drawing.display_jpeg(path, budget=15_000)
    assert len(jpeg) <= 15_000 and w2 < w


def test_exif_rotation_swaps_the_image_size(tmp_path):
    im = Image.new("RGB", (400, 200), (10, 200, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW
    path = str(tmp_path / "rot.jpg")
    im.save(path, exif=exif)
    assert drawing.image_size(path) == (200, 400)
    _, size = drawing.display_jpeg(path)
    assert size == (200, 400)


def test_render_preview_fits_the_payload_budget(tmp_path):
    path = _jpeg(str(tmp_path / "big.jpg"), (4000, 3000))
    rng = np.random.default_rng(2)
    from posekit.templates import get_template

    t = get_template("coco17")
    index = {n: i for i, n in enumerate(t.labels)}
    groups = [(g["name"], [(index[a], index[b]) for a, b in g["edges"]])
              for g in t.edge_groups]
    instances = [Instance(points=rng.uniform(0, 1, (17, 2)).tolist(),
                          confidence=rng.uniform(0, 1, 17).tolist()) for _ in range(10)]
    uri, scene, display = drawing.render_preview(
        path, instances, t.labels, groups, t.flip_pairs, show_labels=True,
        conf_threshold=0.3,
    )
    assert len(uri) <= drawing.PAYLOAD_BUDGET
    assert (scene.width, scene.height) == (4000, 3000)
    assert max(display) <= drawing.MAX_SIDE
    assert len(scene.segments) == 10 * sum(len(e) for _, e in groups)


def test_layout_scene_draws_every_edge():
    layout = [[50, 0], [0, 50], [100, 50], [25, 100], [75, 100]]
    sc = scene.layout_scene(layout, LABELS, GROUPS)
    assert len(sc.segments) == 6 and sc.counts["visible"] == 5
    xs = sc.nodes[:, 0]
    assert xs.min() > 0 and xs.max() < sc.width


def test_unreadable_image_raises_oserror(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    with pytest.raises(OSError):
        drawing.render_preview(str(bad), [], [], [])
