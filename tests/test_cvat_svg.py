"""Skeleton SVGs as CVAT expects them, and parsing what CVAT serves back."""
import pytest

from posekit.cvat import svg
from real_cvat import VERSIONS, cvat_asset, served_skeleton_labels


def test_build_svg_has_nodes_in_order_and_edges():
    text = svg.build_svg(
        ["nose", "left_eye", "right_eye"],
        [[1, 0, 2]],
        [[50, 10], [40, 5], [60, 5]],
    )
    parsed = svg.parse_svg(text)
    assert parsed.label_names == {1: "nose", 2: "left_eye", 3: "right_eye"}
    assert sorted(tuple(sorted(e)) for e in parsed.edges) == [(1, 2), (1, 3)]
    assert parsed.positions[2] == (40.0, 5.0)
    # lines before circles, explicit end tags, no root element
    assert text.index("<line") < text.index("<circle")
    assert "</circle>" in text and "<svg" not in text
    assert 'data-type="element node"' in text
    assert 'data-element-id="3" data-node-id="3"' in text


def _cvat_rewrite(text, sublabels):
    """What CVAT's server does to a new skeleton's SVG (serializers.py,
    create_labels): a literal replace of each stored sublabel name."""
    for sub in sublabels:
        text = text.replace('data-label-name="%s"' % sub["name"],
                            'data-label-id="%d"' % sub["id"])
    return text


def test_build_svg_writes_names_as_cvat_rewrites_them_and_dedupes_edges():
    names = ["head", "hip & knee", "a<b>c", "it's", "foot"]
    text = svg.build_svg(names, [[0, 1], [1, 0], [1, 2]],
                         [[i, i] for i in range(len(names))])
    sublabels = [{"id": 100 + i, "name": n} for i, n in enumerate(names)]
    served = _cvat_rewrite(text, sublabels)
    assert "data-label-name" not in served  # every node got its sublabel id
    parsed = svg.parse_svg(served)
    assert parsed.label_ids == {i + 1: 100 + i for i in range(len(names))}
    assert len(parsed.edges) == 2
    label = {"name": "person", "sublabels": sublabels[::-1], "svg": served}
    assert svg.node_order(label) == [100, 101, 102, 103, 104]
    # unrewritten, the names still read back exactly
    assert svg.parse_svg(text).label_names[3] == "a<b>c"


def test_build_svg_refuses_a_double_quote():
    with pytest.raises(ValueError, match="double quote"):
        svg.build_svg(['a"b', "c"], [], [[1, 2], [3, 4]])


def test_node_order_matches_names_escaped_by_cvat_ui():
    # CVAT's UI serializes the SVG from the DOM ("&amp;"); the server's
    # literal rewrite then misses it and the name stays in the served SVG
    label = {"name": "p", "sublabels": [{"id": 4, "name": "x"}, {"id": 3, "name": "hip & knee"}],
             "svg": '<circle data-type="element node" data-node-id="1" '
                    'data-label-name="hip &amp; knee"></circle>'
                    '<circle data-type="element node" data-node-id="2" data-label-id="4"></circle>'}
    assert svg.node_order(label) == [3, 4]


def test_node_order_unmatched_nodes_are_an_error_not_a_reorder():
    sublabels = [{"id": 3, "name": "head"}, {"id": 4, "name": "hip & knee"}, {"id": 5, "name": "foot"}]
    unmatched = {"name": "person", "sublabels": sublabels, "svg": (
        '<circle data-type="element node" data-node-id="1" data-label-id="3"></circle>'
        '<circle data-type="element node" data-node-id="2" data-label-name="hip &amp;amp; knee"></circle>'
        '<circle data-type="element node" data-node-id="3" data-label-id="5"></circle>')}
    with pytest.raises(svg.NodeOrderError, match="hip & knee") as e:
        svg.node_order(unmatched)
    assert "node 2" in str(e.value) and "'person'" in str(e.value)
    missing = dict(unmatched, svg='<circle data-type="element node" data-node-id="1" '
                   'data-label-id="3"></circle>')
    with pytest.raises(svg.NodeOrderError, match="have no node"):
        svg.node_order(missing)
    twice = dict(unmatched, sublabels=sublabels[:2], svg=(
        '<circle data-type="element node" data-node-id="1" data-label-id="3"></circle>'
        '<circle data-type="element node" data-node-id="2" data-label-id="3"></circle>'))
    with pytest.raises(svg.NodeOrderError):
        svg.node_order(twice)


def test_build_svg_needs_one_position_per_node():
    with pytest.raises(ValueError, match="one position per node"):
        svg.build_svg(["a", "b"], [], [[0, 0]])


def test_parse_served_svg_any_attribute_order_and_whitespace():
    served = (
        '<line data-node-to="2" x1="1" data-type="edge" data-node-from="3">'
        "</line>\n  "
        "<circle cy='2' data-label-id='12' data-node-id='2' cx='1' "
        "data-type='element node'></circle>"
        '<circle data-type="element node" data-node-id="1" data-label-id="11">'
        "</circle>"
    )
    parsed = svg.parse_svg(served)
    assert parsed.edges == [(3, 2)]
    assert parsed.label_ids == {2: 12, 1: 11}
    assert parsed.node_ids == [1, 2]


def test_node_order_follows_svg_not_sublabel_listing():
    label = {
        "sublabels": [{"id": 7, "name": "b"}, {"id": 5, "name": "a"}],
        "svg": '<circle data-type="element node" data-node-id="2" data-label-id="7"></circle>'
        '<circle data-type="element node" data-node-id="1" data-label-id="5"></circle>',
    }
    assert svg.node_order(label) == [5, 7]


def test_node_order_by_name_when_svg_is_unrewritten():
    label = {
        "sublabels": [{"id": 3, "name": "y"}, {"id": 4, "name": "x"}],
        "svg": svg.build_svg(["x", "y"], [[0, 1]], [[0, 0], [1, 1]]),
    }
    assert svg.node_order(label) == [4, 3]


def assert_skeleton_label_parses(label):
    """Every sublabel is a node in order, every edge joins two known nodes."""
    order = svg.node_order(label)
    assert sorted(order) == sorted(s["id"] for s in label["sublabels"])
    parsed = svg.parse_svg(label["svg"])
    assert parsed.edges
    for a, b in parsed.edges:
        assert a in parsed.label_ids and b in parsed.label_ids


RECORDED_LABELS = [item for v in VERSIONS for item in served_skeleton_labels(v)]


def test_recordings_hold_skeleton_labels_of_both_versions():
    assert {where.split("/")[0] for where, _ in RECORDED_LABELS} == set(VERSIONS)


@pytest.mark.parametrize("where,label", RECORDED_LABELS, ids=[w for w, _ in RECORDED_LABELS])
def test_recorded_cvat_skeleton_labels_parse(where, label):
    assert_skeleton_label_parses(label)
    # the served svg names nodes by label id (CVAT rewrote every name): our
    # order follows it
    parsed = svg.parse_svg(label["svg"])
    assert not any(parsed.label_names.values())
    assert svg.node_order(label) == [parsed.label_ids[n] for n in parsed.node_ids]


def test_cvat_asset_skeleton_labels_parse():
    labels = cvat_asset("skeleton_labels.json")["skeleton_labels"]
    skeletons = [l for l in labels if isinstance(l, dict) and l.get("type") == "skeleton"]
    assert skeletons
    for label in skeletons:
        assert_skeleton_label_parses(label)
