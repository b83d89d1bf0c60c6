"""Checks before a skeleton upload creates anything in CVAT: the run's one
keypoints field, its skeleton (given, the field's, or the dataset default),
the CVAT limits on names, stored keypoints and media; and the upload plan."""
import os

import numpy as np

import fiftyone as fo
import fiftyone.core.media as fom
from fiftyone.core.clips import ClipsView
from fiftyone.core.patches import PatchesView
from fiftyone.core.video import FramesView

from posekit.skeleton import cvat_name_problem
from posekit.skeleton_store import governing_skeleton

from . import svg
from .attributes import to_cvat_attributes

_GENERATED_VIEWS = (ClipsView, FramesView, PatchesView)


def _single_field(config):
    schema = config.label_schema or {}
    if len(schema) != 1:
        raise ValueError(
            "Skeleton mode annotates exactly one keypoints field; got %d"
            % len(schema)
        )
    return next(iter(schema.items()))


def _class_names(classes, label_field):
    names = []
    for c in classes or []:
        for n in [c] if isinstance(c, str) else c.get("classes", []):
            if n not in names:
                names.append(n)
    return names or [label_field]


def resolve_skeleton(samples, label_field, skeleton=None):
    """``{"labels", "edges"}`` from ``skeleton`` (dict or KeypointSkeleton),
    else the skeleton that applies to the field
    (:func:`posekit.skeleton_store.governing_skeleton`)."""
    if skeleton is None:
        skeleton = governing_skeleton(samples, label_field)
    if skeleton is None:
        raise ValueError(
            "No skeleton for field '%s': define one for the field or a "
            "default skeleton first" % label_field
        )
    if not isinstance(skeleton, dict):
        skeleton = {"labels": skeleton.labels, "edges": skeleton.edges}
    return {
        "labels": list(skeleton.get("labels") or []),
        "edges": [list(map(int, e)) for e in skeleton.get("edges") or []],
    }


def validate_skeleton(skeleton):
    """Raises ValueError unless the skeleton can become a CVAT skeleton label
    (node names by :func:`posekit.skeleton.cvat_name_problem`, the rule the
    define form's :func:`posekit.skeleton.validate` applies too)."""
    labels = skeleton["labels"]
    if not labels:
        raise ValueError(
            "The skeleton has no node names; CVAT skeletons need one name "
            "per keypoint"
        )
    for name in labels:
        if not isinstance(name, str) or not name.strip():
            raise ValueError("Skeleton node names must be non-empty strings")
        bad = cvat_name_problem(name)
        if bad:
            raise ValueError(
                "Skeleton node %s; rename it (Define skeleton) before "
                "requesting annotation" % bad
            )
    dups = sorted({n for n in labels if labels.count(n) > 1})
    if dups:
        raise ValueError("Duplicate skeleton node names: %s" % ", ".join(dups))
    for edge in skeleton["edges"]:
        for idx in edge:
            if not 0 <= idx < len(labels):
                raise ValueError(
                    "Skeleton edge %s refers to node %d, but the skeleton has "
                    "%d nodes" % (edge, idx, len(labels))
                )


def _layout(labels, edges):
    from posekit.layout import default_layout

    return default_layout(labels, edges)


def plan_skeleton_upload(samples, config):
    """Validates a skeleton upload before anything is created in CVAT.

    Returns a dict with the field, classes, skeleton, svg, CVAT attribute
    specs and whether the field exists.
    """
    label_field, info = _single_field(config)
    video = samples.media_type == fom.VIDEO
    if video and not label_field.startswith("frames."):
        raise ValueError(
            "On videos, skeleton mode annotates a frame field: use "
            "'frames.%s'" % label_field
        )
    if samples.media_type not in (fom.IMAGE, fom.VIDEO):
        raise ValueError("Skeleton mode supports image and video datasets only")
    if isinstance(samples, (FramesView, PatchesView)) or (
            isinstance(samples, ClipsView) and not video):
        raise ValueError("Skeleton mode needs a plain view of samples (or of clips)")

    skeleton = resolve_skeleton(samples, label_field, config.skeleton)
    validate_skeleton(skeleton)
    num_nodes = len(skeleton["labels"])
    classes = _class_names(info.get("classes"), label_field)
    for name in classes:
        if len(name) > 64:
            raise ValueError("Class name '%s' exceeds CVAT's 64 characters" % name)

    attributes = dict(info.get("attributes") or {})
    node_attr = config.node_occluded_attr
    attributes.pop(node_attr, None)
    if "label_id" in attributes:
        raise ValueError("The attribute name 'label_id' is reserved")
    api_attrs, occluded_name, group_name = to_cvat_attributes(attributes)
    api_attrs["label_id"] = {
        "name": "label_id", "input_type": "text", "mutable": True, "values": []
    }

    existing = bool(info.get("existing_field")) and samples.has_field(label_field)
    if existing:
        field = samples.get_field(label_field)
        if getattr(field, "document_type", None) is not fo.Keypoints:
            raise ValueError(
                "Field '%s' does not hold fo.Keypoints" % label_field
            )
        per_sample = samples.values("%s.keypoints.points" % label_field)
        if video:  # one list per frame
            per_sample = [kps for frames in per_sample for kps in frames or ()]
        too_long = [
            len(pts) for kps in per_sample if kps for pts in kps
            if pts is not None and len(pts) > num_nodes
        ]
        if too_long:
            raise ValueError(
                "Field '%s' has keypoints with %d points but the skeleton has "
                "%d nodes" % (label_field, max(too_long), num_nodes)
            )

    paths = samples.values(config.media_field)
    missing = [p for p in paths if not p or not os.path.isfile(p)]
    if missing:
        raise ValueError(
            "%d media file(s) not found, e.g. %s" % (len(missing), missing[0])
        )

    svg_text = svg.build_svg(
        skeleton["labels"], skeleton["edges"],
        _layout(skeleton["labels"], skeleton["edges"]),
    )
    if node_attr:
        # so FiftyOne's merge copies the per-node flags onto existing labels
        info.setdefault("attributes", {})[node_attr] = {"type": "occluded"}

    config.skeleton = skeleton
    return {
        "label_field": label_field,
        "classes": classes,
        "skeleton": skeleton,
        "svg": svg_text,
        "attributes": list(api_attrs.values()),
        "occluded_name": occluded_name,
        "group_name": group_name,
        "existing": existing,
        "video": video,
    }


def _check_points_upload(samples, config):
    for label_field, info in (config.label_schema or {}).items():
        if not (info.get("existing_field") and samples.has_field(label_field)):
            continue
        if info.get("type") not in ("keypoint", "keypoints"):
            continue
        path = label_field + (
            ".keypoints.points" if info["type"] == "keypoints" else ".points"
        )
        for pts in samples.values(path, unwind=True):
            if pts is not None and np.isnan(np.asarray(pts, dtype=float)).any():
                raise ValueError(
                    "Field '%s' has keypoints with missing (NaN) nodes, which "
                    "CVAT points cannot carry; use mode='skeleton'"
                    % label_field
                )

