"""CVAT skeleton SVGs: build the ``svg`` of a skeleton label, and read one back.

CVAT draws a skeleton label from a flat run of ``<line>`` (edges) and
``<circle>`` (nodes) tags. Node ids run 1..N in sublabel order. In requests a
node names its sublabel with ``data-label-name``; the server rewrites that to
``data-label-id``. Served SVGs vary in attribute order and whitespace, so
parsing goes by attribute name.
"""
import re
from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

_TAG_RE = re.compile(r"<(line|circle)\b([^>]*)>", re.IGNORECASE)
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
        parts.append(
            '<circle r="1.5" stroke="black" fill="#b3b3b3" cx="%s" cy="%s" '
            'stroke-width="0.1" data-type="element node" '
            'data-element-id="%d" data-node-id="%d" data-label-name=%s>'
            "</circle>" % (_fmt(x), _fmt(y), idx, idx, quoteattr(str(name)))
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


def node_order(label):
    """The sublabel ids of a served CVAT skeleton label, in node order.

    The order comes from the SVG's node ids (matched by ``data-label-id``, or
    by ``data-label-name`` against the sublabel names); sublabels the SVG does
    not mention are appended in the order the server listed them.
    """
    sublabels = label.get("sublabels") or []
    by_name = {s["name"]: s["id"] for s in sublabels}
    known = {s["id"] for s in sublabels}
    parsed = parse_svg(label.get("svg"))

    order = []
    for node_id in parsed.node_ids:
        sid = parsed.label_ids.get(node_id)
        if sid is None:
            sid = by_name.get(parsed.label_names.get(node_id))
        if sid in known and sid not in order:
            order.append(sid)

    order.extend(s["id"] for s in sublabels if s["id"] not in order)
    return order
