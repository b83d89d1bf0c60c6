"""The skeleton model: ordered labels plus named edge groups, independent of the App.

A :class:`Skeleton` holds keypoint ``labels`` (their order is the order of
``Keypoint.points``) and ``edge_groups``, each a name and a list of edges given
as pairs of label names. It converts to and from :class:`fo.KeypointSkeleton`,
whose ``edges`` are polylines of indices: a group whose edges are not a single
path becomes several polylines.

Group names cannot live in ``fo.KeypointSkeleton``, so
:func:`posekit.skeleton_store.save_skeleton`
records them in ``dataset.info["posekit"]["skeletons"][key]`` (``key`` is the
field name, or ``"default"`` for ``default_skeleton``) as::

    {"groups": [{"name": "left arm", "polylines": 1}, ...],
     "edges": [[0, 1, 2], ...],  # the polylines the groups were saved with
     "flip_pairs": [["left_eye", "right_eye"], ...] or None,
     "sigmas": [...] or None}

The polylines of a skeleton are listed group after group, so the counts map
them back to groups. When that record is missing or no longer matches the
stored edges (someone edited the skeleton by hand, even keeping the number
of polylines), each polyline becomes a
group named ``"group 1"``, ``"group 2"``...
"""
import unicodedata
from dataclasses import dataclass, field as dc_field


@dataclass
class EdgeGroup:
    """A named set of edges, each a ``(label, label)`` pair."""

    name: str
    edges: list = dc_field(default_factory=list)


@dataclass
class Skeleton:
    """Ordered keypoint labels and named edge groups (plus optional extras)."""

    labels: list
    edge_groups: list = dc_field(default_factory=list)
    flip_pairs: list = None
    sigmas: list = None
    layout: list = None

    @property
    def edges(self):
        """All edges of all groups, as ``(label, label)`` pairs."""
        return [tuple(e) for g in self.edge_groups for e in g.edges]

    def index_edges(self):
        """All edges as ``(i, j)`` index pairs (unknown labels are skipped)."""
        index = {label: i for i, label in enumerate(self.labels)}
        return [
            (index[a], index[b])
            for a, b in self.edges
            if a in index and b in index
        ]

    def polylines_by_group(self):
        """Per group, the index polylines that draw its edges."""
        index = {label: i for i, label in enumerate(self.labels)}
        out = []
        for g in self.edge_groups:
            pairs = [(index[a], index[b]) for a, b in g.edges]
            out.append(edges_to_polylines(pairs))
        return out

    def to_fo(self):
        """This skeleton as a :class:`fo.KeypointSkeleton`."""
        import fiftyone as fo

        polylines = [p for ps in self.polylines_by_group() for p in ps]
        return fo.KeypointSkeleton(labels=list(self.labels), edges=polylines)

    def meta(self):
        """The record that keeps group names (see the module docstring)."""
        by_group = self.polylines_by_group()
        return {
            "groups": [
                {"name": g.name, "polylines": len(ps)}
                for g, ps in zip(self.edge_groups, by_group)
            ],
            # the polylines the names belong to: a hand edit of the stored
            # skeleton that keeps their count must not keep the names
            "edges": [list(p) for ps in by_group for p in ps],
            "flip_pairs": [list(p) for p in self.flip_pairs]
            if self.flip_pairs
            else None,
            "sigmas": list(self.sigmas) if self.sigmas else None,
        }

    def to_dict(self):
        """Plain JSON-able form: ``labels`` and ``edge_groups`` by label name."""
        return {
            "labels": list(self.labels),
            "edge_groups": [
                {"name": g.name, "edges": [list(e) for e in g.edges]}
                for g in self.edge_groups
            ],
            "flip_pairs": [list(p) for p in self.flip_pairs]
            if self.flip_pairs
            else None,
            "sigmas": list(self.sigmas) if self.sigmas else None,
        }

    @classmethod
    def from_dict(cls, d):
        """Inverse of :meth:`to_dict`; edges may also be ``{"from", "to"}``."""
        groups = []
        for i, g in enumerate(d.get("edge_groups") or []):
            edges = [_edge_pair(e) for e in (g.get("edges") or [])]
            groups.append(EdgeGroup(g.get("name") or f"group {i + 1}", edges))
        return cls(
            labels=list(d.get("labels") or []),
            edge_groups=groups,
            flip_pairs=d.get("flip_pairs"),
            sigmas=d.get("sigmas"),
            layout=d.get("layout"),
        )

    @classmethod
    def from_fo(cls, fo_skeleton, meta=None):
        """Builds a skeleton from a :class:`fo.KeypointSkeleton`.

        ``meta`` is the record written by :func:`posekit.skeleton_store.save_skeleton`; group names
        come from it when it still matches the polylines, else are derived.
        """
        n = max([i for p in fo_skeleton.edges for i in p], default=-1) + 1
        labels = list(fo_skeleton.labels or [])
        labels += [str(i) for i in range(len(labels), n)]
        polylines = [list(p) for p in fo_skeleton.edges]
        groups_meta = (meta or {}).get("groups") or []
        counts = [int(g.get("polylines", 0)) for g in groups_meta]
        stored = (meta or {}).get("edges")
        if (
            not groups_meta
            or sum(counts) != len(polylines)
            or (stored is not None and [list(p) for p in stored] != polylines)
        ):
            groups_meta = [{"name": f"group {i + 1}"} for i in range(len(polylines))]
            counts = [1] * len(polylines)
        groups, pos = [], 0
        for g, c in zip(groups_meta, counts):
            edges = []
            for p in polylines[pos : pos + c]:
                edges += [(labels[a], labels[b]) for a, b in zip(p, p[1:])]
            groups.append(EdgeGroup(g["name"], edges))
            pos += c
        meta = meta or {}
        return cls(
            labels=labels,
            edge_groups=groups,
            flip_pairs=meta.get("flip_pairs"),
            sigmas=meta.get("sigmas"),
        )


def _edge_pair(e):
    if isinstance(e, dict):
        return (e.get("from"), e.get("to"))
    a, b = e
    return (a, b)


def edges_to_polylines(pairs):
    """Index edges as polylines, losslessly: consecutive edges that chain
    (``(a, b)`` then ``(b, c)``) share one polyline ``[a, b, c]``.

    :func:`polylines_to_edges` gives back the same pairs in the same order
    and direction.
    """
    polylines = []
    for a, b in pairs:
        if polylines and polylines[-1][-1] == a:
            polylines[-1].append(b)
        else:
            polylines.append([a, b])
    return polylines


def polylines_to_edges(polylines):
    """The index edges ``(a, b)`` drawn by a list of polylines."""
    return [(a, b) for p in polylines for a, b in zip(p, p[1:])]


# --- validation --------------------------------------------------------------


@dataclass
class Problem:
    """One validation error.

    ``input`` names the offending input: ``"labels"``, ``"edge_groups"``,
    ``"field"`` or ``"on_mismatch"``; ``index`` is the label index or
    ``(group, edge)`` index where that applies; ``code`` is stable for tests.
    """

    input: str
    code: str
    message: str
    index: object = None


#: CVAT keeps label names to 64 characters
CVAT_NAME_MAX = 64


def cvat_name_problem(name):
    """Why CVAT cannot carry ``name`` as a skeleton node name, or None.

    CVAT's server trims names (Django REST's ``CharField``), refuses NUL and
    names over 64 characters, and puts a node in its skeleton by rewriting
    the literal ``data-label-name="NAME"`` of the label's SVG: a name holding
    ``"`` cannot be written there so that only its own node matches. ``&``,
    ``<`` and ``>`` are fine (sent literally, rewritten away by the server).
    """
    if name != name.strip():
        return f"{name!r} starts or ends with whitespace, which CVAT trims"
    if '"' in name:
        return (
            f"{name!r} contains a double quote (\"), which CVAT skeletons "
            "cannot carry: use ' instead"
        )
    if "\x00" in name:
        return f"{name!r} contains a NUL character, which CVAT refuses"
    if len(name) > CVAT_NAME_MAX:
        return f"{name[:20]!r}... is longer than CVAT's {CVAT_NAME_MAX} characters"
    return None


def _norm(label):
    return "".join(unicodedata.normalize("NFKC", label).casefold().split())


def validate(skeleton, field_kind=None, stored_counts=None, on_mismatch="refuse"):
    """Checks a skeleton before it is saved; returns a list of :class:`Problem`.

    Args:
        skeleton: a :class:`Skeleton`
        field_kind: for a field target, ``None`` when the field is new or
            holds keypoints, else a description of what the field holds
        stored_counts: the set of point counts of keypoints already stored in
            the target field(s)
        on_mismatch: ``"refuse"`` (a count differing from ``stored_counts`` is
            an error) or ``"keep"`` (save anyway, stored keypoints untouched)
    """
    problems = []
    if field_kind is not None:
        problems.append(
            Problem(
                "field",
                "not_keypoints_field",
                f"This field holds {field_kind}, not Keypoints: pick a "
                "Keypoints field or a new field name",
            )
        )
    labels = skeleton.labels
    if not labels:
        problems.append(Problem("labels", "no_labels", "Add at least one label"))
    seen, seen_norm = {}, {}
    for i, label in enumerate(labels):
        if not isinstance(label, str) or not label.strip():
            problems.append(
                Problem("labels", "empty_label", f"Label {i + 1} is empty", i)
            )
            continue
        if label in seen:
            problems.append(
                Problem(
                    "labels",
                    "duplicate_label",
                    f"Label {i + 1} {label!r} duplicates label {seen[label] + 1}",
                    i,
                )
            )
            continue
        bad = cvat_name_problem(label)
        if bad:
            problems.append(
                Problem("labels", "cvat_name", f"Label {i + 1} {bad}", i)
            )
        key = _norm(label)
        if key in seen_norm:
            j = seen_norm[key]
            problems.append(
                Problem(
                    "labels",
                    "similar_labels",
                    f"Label {i + 1} {label!r} differs from label {j + 1} "
                    f"{labels[j]!r} only by case or whitespace",
                    i,
                )
            )
        seen[label] = i
        seen_norm.setdefault(key, i)

    known = set(labels)
    used = {x for e in skeleton.edges for x in e}
    unused = [x for x in labels if x and x not in used]
    hint = f" (renamed to {unused[0]!r}?)" if len(unused) == 1 else ""
    seen_edges = {}
    group_names = {}
    for gi, group in enumerate(skeleton.edge_groups):
        gname = group.name or f"group {gi + 1}"
        if gname in group_names:
            problems.append(
                Problem(
                    "edge_groups",
                    "duplicate_group",
                    f"Edge group {gi + 1} {gname!r} has the same name as "
                    f"group {group_names[gname] + 1}",
                    (gi, None),
                )
            )
        group_names.setdefault(gname, gi)
        for ei, (a, b) in enumerate(group.edges):
            where = f"Edge {ei + 1} of group {gname!r}"
            if not a or not b:
                problems.append(
                    Problem(
                        "edge_groups",
                        "incomplete_edge",
                        f"{where} needs two labels: choose both ends",
                        (gi, ei),
                    )
                )
                continue
            unknown = [x for x in (a, b) if x not in known]
            if unknown:
                names = " and ".join(repr(x) for x in unknown)
                problems.append(
                    Problem(
                        "edge_groups",
                        "unknown_label",
                        f"{where} names unknown label {names}{hint}",
                        (gi, ei),
                    )
                )
                continue
            if a == b:
                problems.append(
                    Problem(
                        "edge_groups",
                        "self_loop",
                        f"{where} joins {a!r} to itself (self-loop)",
                        (gi, ei),
                    )
                )
                continue
            key = frozenset((a, b))
            if key in seen_edges:
                g2, e2 = seen_edges[key]
                problems.append(
                    Problem(
                        "edge_groups",
                        "duplicate_edge",
                        f"{where} ({a} - {b}) duplicates edge {e2 + 1} of "
                        f"group {skeleton.edge_groups[g2].name!r}",
                        (gi, ei),
                    )
                )
                continue
            seen_edges[key] = (gi, ei)

    if stored_counts:
        other = sorted(c for c in stored_counts if c != len(labels))
        if other and on_mismatch != "keep":
            problems.append(
                Problem(
                    "labels",
                    "count_mismatch",
                    f"The skeleton has {len(labels)} nodes but keypoints "
                    f"already stored have {', '.join(map(str, other))} points: "
                    "fix the labels, or choose to keep the stored keypoints as "
                    "they are",
                )
            )
    return problems
