"""CVAT skeleton SVGs: build the ``svg`` of a skeleton label, and read one back.

CVAT draws a skeleton label from a flat run of ``<line>`` (edges) and
``<circle>`` (nodes) tags. Node ids run 1..N in sublabel order. In requests a
node names its sublabel with ``data-label-name``; the server rewrites that to
``data-label-id``. Served SVGs vary in attribute order and whitespace, so
parsing goes by attribute name.

CVAT's rewrite is a literal text replacement of ``data-label-name="NAME"``
(``cvat/apps/engine/serializers.py``, ``create_labels``), so names are sent
unescaped: an XML-escaped ``&amp;`` would never match and the node would
keep no id. Names with ``"`` cannot be sent at all
(:func:`posekit.skeleton.cvat_name_problem` refuses them).
"""
import html
import re
from dataclasses import dataclass, field

_TAG_RE = re.compile(
    r"<(line|circle)\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>", re.IGNORECASE
)
_ATTR_RE = re.compile(r"([\w:-]+)\s*=\s*(\"[^\"]*\"|'[^']*')")


def edge_pairs(edges):
    """Flattens FiftyOne skeleton edges (polylines of node indices) into
    unique undirected ``(i, j)`` index pairs, in first-seen order."""
    pairs = []
    seen = set()
    for polyline in edges or []:
        polyline = list(polyline)
        for a, b in zip(polyline[:-1], polyline[1:]):
            key = (min(a, b), max(a, b))
            if a != b and key not in seen:
                seen.add(key)
                pairs.append((int(a), int(b)))
    return pairs


def _fmt(value):
    return ("%.2f" % float(value)).rstrip("0").rstrip(".")


def build_svg(labels, edges, positions):
    """Returns the ``svg`` string for a CVAT skeleton label.

    Args:
        labels: the node (sublabel) names, in skeleton order
        edges: FiftyOne-style edges, a list of polylines of node indices
        positions: one ``[x, y]`` per node, in a 0..100 box
    """
    if len(positions) != len(labels):
        raise ValueError(
            "Expected one position per node (%d), got %d"
            % (len(labels), len(positions))
        )

    parts = []
    for a, b in edge_pairs(edges):
        (x1, y1), (x2, y2) = positions[a], positions[b]
        parts.append(
            '<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="black" '
            'data-type="edge" data-node-from="%d" stroke-width="0.5" '
            'data-node-to="%d"></line>'
            % (_fmt(x1), _fmt(y1), _fmt(x2), _fmt(y2), a + 1, b + 1)
        )

    for idx, (name, (x, y)) in enumerate(zip(labels, positions), 1):
        name = str(name)
        if '"' in name:
            raise ValueError(
                "Node name %r contains a double quote, which a CVAT skeleton "
                "cannot carry" % name
            )
        parts.append(
            '<circle r="1.5" stroke="black" fill="#b3b3b3" cx="%s" cy="%s" '
            'stroke-width="0.1" data-type="element node" '
            'data-element-id="%d" data-node-id="%d" data-label-name="%s">'
            "</circle>" % (_fmt(x), _fmt(y), idx, idx, name)
        )

    return "".join(parts)


@dataclass
class ParsedSVG:
    """What a skeleton SVG says: nodes by node id, and edges as node-id pairs."""

    #: node id -> sublabel id (``data-label-id``), or None if absent
    label_ids: dict = field(default_factory=dict)
    #: node id -> sublabel name (``data-label-name``), or None if absent
    label_names: dict = field(default_factory=dict)
    #: node id -> (cx, cy)
    positions: dict = field(default_factory=dict)
    #: list of (from node id, to node id)
    edges: list = field(default_factory=list)

    @property
    def node_ids(self):
        """The node ids, sorted."""
        return sorted(set(self.label_ids) | set(self.label_names))


def _attrs(text):
    return {k.lower(): v[1:-1] for k, v in _ATTR_RE.findall(text)}


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def parse_svg(svg):
    """Parses a skeleton label's ``svg`` (as sent or as served)."""
    parsed = ParsedSVG()
    for tag, body in _TAG_RE.findall(svg or ""):
        attrs = _attrs(body)
        dtype = attrs.get("data-type", "")
        if tag.lower() == "line" and dtype == "edge":
            a = _int(attrs.get("data-node-from"))
            b = _int(attrs.get("data-node-to"))
            if a is not None and b is not None:
                parsed.edges.append((a, b))
        elif tag.lower() == "circle" and "node" in dtype.split():
            node_id = _int(attrs.get("data-node-id"))
            if node_id is None:
                continue
            parsed.label_ids[node_id] = _int(attrs.get("data-label-id"))
            parsed.label_names[node_id] = attrs.get("data-label-name")
            try:
                parsed.positions[node_id] = (
                    float(attrs.get("cx")),
                    float(attrs.get("cy")),
                )
            except (TypeError, ValueError):
                pass
    return parsed


class NodeOrderError(ValueError):
    """A served skeleton label whose SVG nodes do not match its sublabels."""


def node_order(label):
    """The sublabel ids of a served CVAT skeleton label, in node order.

    The order comes from the SVG's node ids, each matched by
    ``data-label-id``, else by ``data-label-name`` against the sublabel
    names (as written, or XML-unescaped, as CVAT's UI writes them).

    Raises:
        NodeOrderError: if a node matches no sublabel (or one already
            matched), or a sublabel has no node: the points could not be put
            in their slots, and guessing would silently move them
    """
    sublabels = label.get("sublabels") or []
    by_name = {s["name"]: s["id"] for s in sublabels}
    name_of = {s["id"]: s["name"] for s in sublabels}
    parsed = parse_svg(label.get("svg"))

    order, unmatched = [], []
    for node_id in parsed.node_ids:
        sid = parsed.label_ids.get(node_id)
        name = parsed.label_names.get(node_id)
        if sid is None and name is not None:
            sid = by_name.get(name, by_name.get(html.unescape(name)))
        if sid not in name_of or sid in order:
            unmatched.append("node %d (%s)" % (node_id, (
                "label id %s" % sid if sid is not None
                else "name %r" % name if name is not None else "no label")))
            continue
        order.append(sid)

    missing = [name_of[s["id"]] for s in sublabels if s["id"] not in order]
    if unmatched or missing:
        what = []
        if unmatched:
            what.append("SVG %s match(es) none of its sublabels"
                        % ", ".join(unmatched))
        if missing:
            what.append("sublabel(s) %s have no node in its SVG"
                        % ", ".join(repr(m) for m in missing))
        raise NodeOrderError(
            "CVAT skeleton label %r: %s, so its points cannot be put in "
            "skeleton order; nothing was loaded"
            % (label.get("name"), "; ".join(what))
        )
    return order
