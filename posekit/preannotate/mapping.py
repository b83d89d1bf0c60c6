"""Keypoint name mapping between skeletons (a model's nodes -> a target's).

Nodes are matched by *meaning*, not by spelling: every label is first turned
into a canonical name (``RShoulder`` -> ``right_shoulder``, MPII's ``pelvis``
-> ``hip``, MediaPipe's ``left_foot_index`` -> ``left_big_toe``), and target
nodes take the source node with the same canonical name. Two body nodes that
many skeletons lack are derived as midpoints when the source has none:
``neck`` (between the shoulders, as OpenPose defines it) and ``hip`` (between
the hips). Built-in templates only map within their family (human body, hand,
quadruped): a hand model never fills a body skeleton.

A user mapping ``{source_node: target_node}`` (FiftyOne's ``{old: new}``
convention, as in ``map_labels``) takes precedence over names.
"""
import re

import numpy as np

# canonical names of the templates' labels that are not already canonical
_ALIASES = {
    # OpenPose BODY_25
    "nose": "nose", "neck": "neck", "midhip": "hip",
    "rshoulder": "right_shoulder", "relbow": "right_elbow", "rwrist": "right_wrist",
    "lshoulder": "left_shoulder", "lelbow": "left_elbow", "lwrist": "left_wrist",
    "rhip": "right_hip", "rknee": "right_knee", "rankle": "right_ankle",
    "lhip": "left_hip", "lknee": "left_knee", "lankle": "left_ankle",
    "reye": "right_eye", "leye": "left_eye", "rear": "right_ear", "lear": "left_ear",
    "lbigtoe": "left_big_toe", "lsmalltoe": "left_small_toe", "lheel": "left_heel",
    "rbigtoe": "right_big_toe", "rsmalltoe": "right_small_toe", "rheel": "right_heel",
    # MPII
    "pelvis": "hip", "thorax": "neck", "head_top": "head",
    # MediaPipe pose: the foot's tip is the big toe
    "left_foot_index": "left_big_toe", "right_foot_index": "right_big_toe",
}

# canonical node -> the two canonical nodes whose midpoint stands in for it
DERIVED = {
    "neck": ("left_shoulder", "right_shoulder"),
    "hip": ("left_hip", "right_hip"),
}

FAMILIES = {
    "coco17": "body", "halpe26": "body", "openpose25": "body",
    "mediapipe33": "body", "mpii16": "body", "crowdpose14": "body",
    "hand21": "hand", "ap10k17": "quadruped",
}


def canonical(label):
    """The canonical name of a node label (lower-case snake case, aliases
    resolved)."""
    key = re.sub(r"[\s\-]+", "_", str(label).strip()).lower()
    return _ALIASES.get(key, key)


def family(labels):
    """The template family of a label list, or None for a custom skeleton."""
    from posekit.templates import find_template

    tpl = find_template(labels)
    return FAMILIES.get(tpl.id) if tpl else None


class Mapping:
    """How to fill each target node from source nodes.

    ``sources[i]`` is a tuple of source indices for target node ``i``: one
    index (a direct match), two (a derived midpoint), or none (unmapped: NaN).
    """

    def __init__(self, source_labels, target_labels, sources):
        self.source_labels = list(source_labels)
        self.target_labels = list(target_labels)
        self.sources = [tuple(s) for s in sources]

    @property
    def num_mapped(self):
        return sum(1 for s in self.sources if s)

    def as_dict(self):
        """``{target_node: source_node or [a, b] or None}``, for display."""
        out = {}
        for name, src in zip(self.target_labels, self.sources):
            names = [self.source_labels[j] for j in src]
            out[name] = names[0] if len(names) == 1 else (names or None)
        return out

    def apply(self, points, confidence):
        """Maps a ``(S, 2)`` array of source points and ``(S,)`` confidences
        to ``(T, 2)`` / ``(T,)`` arrays in target order; NaN where unmapped.
        A derived node takes the mean point and the lower confidence."""
        points = np.asarray(points, dtype=float).reshape(-1, 2)
        confidence = np.asarray(confidence, dtype=float).reshape(-1)
        out_p = np.full((len(self.target_labels), 2), np.nan)
        out_c = np.full(len(self.target_labels), np.nan)
        for i, src in enumerate(self.sources):
            if len(src) == 1:
                out_p[i] = points[src[0]]
                out_c[i] = confidence[src[0]]
            elif len(src) == 2:
                out_p[i] = points[list(src)].mean(axis=0)
                out_c[i] = np.min(confidence[list(src)])
        return out_p, out_c

    def __repr__(self):
        return "Mapping(%d of %d target nodes)" % (self.num_mapped, len(self.target_labels))


def build_mapping(source_labels, target_labels, user_mapping=None):
    """The :class:`Mapping` from ``source_labels`` to ``target_labels``.

    Args:
        source_labels: the model's node names, in its output order
        target_labels: the target skeleton's node names
        user_mapping (None): ``{source_node: target_node}``; these pairs win
            over name matching; a source node mapped to ``None`` is dropped

    Raises:
        ValueError: if the user mapping names unknown nodes, or if two built-in
            templates of different families are asked to map, or if nothing maps
    """
    source_labels, target_labels = list(source_labels), list(target_labels)
    user_mapping = dict(user_mapping or {})
    unknown_src = [s for s in user_mapping if s not in source_labels]
    unknown_dst = [t for t in user_mapping.values() if t is not None and t not in target_labels]
    if unknown_src or unknown_dst:
        parts = []
        if unknown_src:
            parts.append("model nodes %s not in %s" % (unknown_src, source_labels))
        if unknown_dst:
            parts.append("skeleton nodes %s not in %s" % (unknown_dst, target_labels))
        raise ValueError("Bad keypoint mapping: " + "; ".join(parts))

    sources = [() for _ in target_labels]
    fam_s, fam_t = family(source_labels), family(target_labels)
    if not user_mapping and fam_s and fam_t and fam_s != fam_t:
        raise ValueError(
            "No mapping from a %s skeleton to a %s skeleton; give a user mapping"
            % (fam_s, fam_t)
        )
    explicit_targets = {t for t in user_mapping.values() if t is not None}
    dropped = {s for s, t in user_mapping.items() if t is None}
    for i, t in enumerate(target_labels):
        for s, dst in user_mapping.items():
            if dst == t:
                sources[i] = (source_labels.index(s),)

    by_name = {}
    for j, s in enumerate(source_labels):
        if s not in dropped and s not in user_mapping:
            by_name.setdefault(canonical(s), j)
    for i, t in enumerate(target_labels):
        if t in explicit_targets:
            continue
        name = canonical(t)
        if name in by_name:
            sources[i] = (by_name[name],)
        elif name in DERIVED and all(n in by_name for n in DERIVED[name]):
            sources[i] = tuple(by_name[n] for n in DERIVED[name])

    mapping = Mapping(source_labels, target_labels, sources)
    if not mapping.num_mapped:
        raise ValueError(
            "No node of the model (%s) maps onto the skeleton (%s); give a "
            "user mapping" % (", ".join(source_labels[:5]), ", ".join(target_labels[:5]))
        )
    return mapping


def template_pairs():
    """Every ordered pair of template ids that has a built-in mapping."""
    from posekit.templates import template_ids

    ids = template_ids()
    return [(a, b) for a in ids for b in ids if FAMILIES.get(a) == FAMILIES.get(b)]
