"""Skeletons and keypoints stored in a dataset: the keypoints fields, what
they hold, and :class:`posekit.skeleton.Skeleton` saved as FiftyOne's
``skeletons`` / ``default_skeleton`` with posekit's record of group names in
``dataset.info["posekit"]["skeletons"][key]`` (see :mod:`posekit.skeleton`).
"""
import re

from posekit.skeleton import Skeleton
from posekit.templates import find_template

DEFAULT_KEY = "default"
INFO_KEY = "posekit"


_FIELD_NAME = re.compile(r"^[^\W\d_]\w*$")


def field_name_error(name):
    """Why ``name`` cannot name a new keypoints field, or None if it can.

    One rule for every operator that may create a field: a letter, then
    letters, digits or underscores (a Python identifier, so
    ``sample.<name>`` works, and not private like FiftyOne's ``_id``).
    """
    if isinstance(name, str) and _FIELD_NAME.match(name):
        return None
    return (
        "%r is not a usable field name: use letters, digits and underscores, "
        "starting with a letter" % (name,)
    )


def keypoint_fields(dataset, lists_only=False):
    """Names of the dataset's top-level ``Keypoints`` (and, unless
    ``lists_only``, ``Keypoint``) fields, sorted."""
    import fiftyone as fo

    names = []
    for cls in (fo.Keypoints,) if lists_only else (fo.Keypoints, fo.Keypoint):
        names += list(dataset.get_field_schema(embedded_doc_type=cls))
    return sorted(set(names))


def field_kind(dataset, field):
    """``None`` when ``field`` is new or a keypoints field, else what it holds."""
    import fiftyone as fo

    f = dataset.get_field(field)
    if f is None:
        return None
    doc_type = getattr(f, "document_type", None)
    if doc_type in (fo.Keypoints, fo.Keypoint):
        return None
    if doc_type is not None:
        return doc_type.__name__
    return type(f).__name__


def stored_point_counts(dataset, field, limit=None):
    """The set of ``len(points)`` over keypoints stored in ``field`` (in the
    first ``limit`` samples only, if given: a quick check for forms)."""
    import fiftyone as fo
    from fiftyone import ViewField as F

    f = dataset.get_field(field)
    if f is None:
        return set()
    size = F("points").is_array().if_else(F("points").length(), None)
    if f.document_type is fo.Keypoints:
        expr = F(field + ".keypoints").map(size)
    else:
        expr = F(field).apply(size)
    view = dataset.limit(int(limit)) if limit else dataset
    return {c for c in view.distinct(expr) if c is not None}


def counts_for_target(dataset, field=None, limit=None):
    """Stored point counts that a skeleton for ``field`` (or default) governs.

    The default skeleton governs every keypoints field with no own skeleton.
    ``limit`` caps the samples scanned per field (see
    :func:`stored_point_counts`).
    """
    if field:
        return stored_point_counts(dataset, field, limit)
    counts = set()
    for name in keypoint_fields(dataset):
        if name not in dataset.skeletons:
            counts |= stored_point_counts(dataset, name, limit)
    return counts


def governing_skeleton(dataset, field=None):
    """The ``fo.KeypointSkeleton`` that applies to ``field``: the field's
    own, else the dataset's default; None if neither. posekit's one rule for
    which skeleton a field has (request, preview, define form)."""
    own = (dataset.skeletons or {}).get(field) if field else None
    return own if own is not None else dataset.default_skeleton


def resolve_skeleton(dataset, field=None):
    """:func:`governing_skeleton` as a :class:`Skeleton` (group names
    restored), or None."""
    if field and field in (dataset.skeletons or {}):
        return load_skeleton(dataset, field)
    return load_skeleton(dataset)


def load_skeleton(dataset, field=None):
    """The dataset's skeleton for ``field`` (or the default) as a
    :class:`Skeleton`, with group names restored; ``None`` if unset."""
    fo_sk = dataset.skeletons.get(field) if field else dataset.default_skeleton
    if fo_sk is None:
        return None
    meta = (dataset.info.get(INFO_KEY) or {}).get("skeletons", {})
    record = meta.get(field or DEFAULT_KEY)
    skeleton = Skeleton.from_fo(fo_sk, record)
    if record is None:
        # set outside posekit: a template's skeleton keeps its group names
        template = find_template(skeleton.labels)
        if template is not None:
            model = template.to_model()
            if _edge_set(model.edges) == _edge_set(skeleton.edges):
                return model
    return skeleton


def _edge_set(edges):
    return {frozenset(e) for e in edges}


def save_skeleton(dataset, skeleton, field=None):
    """Stores ``skeleton`` as ``dataset.skeletons[field]`` (or the default
    skeleton), records its group names, and saves the dataset."""
    if field:
        skeletons = dict(dataset.skeletons)
        skeletons[field] = skeleton.to_fo()
        dataset.skeletons = skeletons
    else:
        dataset.default_skeleton = skeleton.to_fo()
    info = dict(dataset.info.get(INFO_KEY) or {})
    metas = dict(info.get("skeletons") or {})
    metas[field or DEFAULT_KEY] = skeleton.meta()
    info["skeletons"] = metas
    dataset.info[INFO_KEY] = info
    dataset.save()


def delete_skeleton(dataset, field=None):
    """Removes the skeleton of ``field`` (or the default) and its record.

    Returns whether there was one.
    """
    if field:
        if field not in dataset.skeletons:
            return False
        skeletons = dict(dataset.skeletons)
        del skeletons[field]
        dataset.skeletons = skeletons
    else:
        if dataset.default_skeleton is None:
            return False
        dataset.default_skeleton = None
    info = dict(dataset.info.get(INFO_KEY) or {})
    metas = dict(info.get("skeletons") or {})
    metas.pop(field or DEFAULT_KEY, None)
    info["skeletons"] = metas
    dataset.info[INFO_KEY] = info
    dataset.save()
    return True
