"""Skeleton-mode download: CVAT jobs fetched concurrently and parsed into
keypoints in skeleton order (by sublabel id), as database dicts. Nothing here
writes to the dataset: :mod:`posekit.cvat.load` merges.

FiftyOne's own CVAT parsing (``fiftyone.utils.cvat.CVATShape``) also maps a
skeleton's elements to the label's sublabels, one Python object per shape and
element. posekit parses a job's skeletons with numpy in one go
(:func:`posekit.cvat.convert.skeleton_arrays`) and adds: node order from the
label's SVG (not the sublabel listing order), the label id carried in the
``label_id`` attribute, stable ids for new shapes (so every load of the same
CVAT state gives the same ids), per-node ``occluded`` flags, and outside
elements as NaN nodes.
"""
import logging

import numpy as np
from bson import ObjectId

import fiftyone as fo

from . import convert, svg
from .attributes import shape_attributes
from .plan import _class_names, _single_field
from .progress import report as _report

logger = logging.getLogger(__name__)


def _stable_id(task_id, shape_id):
    return str(ObjectId("%08x%016x" % (int(task_id) % 2**32, int(shape_id) % 2**64)))


def _task_context(api, task_id, classes):
    meta = api.get(api.task_data_meta_url(task_id)).json()
    start = meta.get("start_frame", 0) or 0
    sizes = {
        start + i: (f["width"], f["height"]) for i, f in enumerate(meta["frames"])
    }
    skeletons, orders, specs, names = {}, {}, {}, {}
    for label in api.task_labels(task_id):
        names[label["id"]] = label["name"]
        if label.get("type") != "skeleton" or label["name"] not in classes:
            continue
        skeletons[label["id"]] = label["name"]
        orders[label["id"]] = svg.node_order(label)
        specs[label["id"]] = {
            a["id"]: (a["name"], a.get("input_type")) for a in label.get("attributes") or []
        }
    return sizes, skeletons, orders, specs, names


def _parse_job(body, task_id, context, frame_map, node_attr, occluded_name, seen_ids, annos):
    """Parses one job's skeleton shapes into ``annos[sample_id][label_id]``."""
    sizes, skeletons, orders, specs, _ = context
    shapes = [
        s for s in body.get("shapes", [])
        if s.get("type") == "skeleton" and s.get("label_id") in skeletons
        and s.get("frame") in frame_map
    ]
    if any(t.get("elements") for t in body.get("tracks", [])):
        logger.warning("Ignoring skeleton tracks in task %d (images only)", task_id)
    points, occluded = convert.skeleton_arrays(shapes, orders, sizes)
    scores = convert.skeleton_scores(shapes, orders)
    for i, shape in enumerate(shapes):
        label_id, attrs = shape_attributes(shape, specs[shape["label_id"]])
        if not (label_id and ObjectId.is_valid(label_id)) or label_id in seen_ids:
            label_id = _stable_id(task_id, shape.get("id") or i)
        seen_ids.add(label_id)
        if occluded_name:
            attrs[occluded_name] = bool(shape.get("occluded"))
        n = len(orders[shape["label_id"]])
        doc = convert.keypoint_doc(
            skeletons[shape["label_id"]], points[i, :n], occluded[i, :n],
            occluded_attr=node_attr, attributes=attrs, label_id=ObjectId(label_id),
        )
        if scores is not None:
            conf = scores[i, :n]
            known = conf[~np.isnan(conf)]
            # CVAT scores every element (1.0 by default): only real
            # confidences become ``confidence``
            if known.size and (known != 1.0).any():
                doc["confidence"] = conf.tolist()
        sample_id = frame_map[shape["frame"]]["sample_id"]
        annos.setdefault(sample_id, {})[label_id] = doc


def forget_tasks(results, task_ids):
    """Drops tasks deleted in CVAT from the run (their jobs, frames and the
    id map of their samples), as FiftyOne's CVAT results do."""
    task_ids = set(task_ids)
    for task_id in task_ids:
        results.job_ids.pop(task_id, None)
        frames = results.frame_id_map.pop(task_id, {})
        sample_ids = {fd["sample_id"] for fd in frames.values()}
        for id_map in results.id_map.values():
            for sample_id in sample_ids:
                id_map.pop(sample_id, None)
    results.task_ids = [t for t in results.task_ids if t not in task_ids]


# the label type FiftyOne gives each other CVAT shape type (for a keypoints
# field), as ``fiftyone.utils.cvat`` does: these are the "unexpected" labels
_OTHER_SHAPES = {"rectangle": "detections", "polygon": "polylines", "polyline": "polylines"}


def _other_label(shape, name, size):
    w, h = size
    pts = [float(v) for v in shape.get("points") or []]
    xy = [(x / w, y / h) for x, y in zip(pts[0::2], pts[1::2])]
    if shape["type"] == "rectangle":
        if len(xy) < 2:
            return None
        (x1, y1), (x2, y2) = xy[:2]
        return fo.Detection(label=name, bounding_box=[
            min(x1, x2), min(y1, y2), abs(x2 - x1), abs(y2 - y1)])
    closed = shape["type"] == "polygon"
    return fo.Polyline(label=name, points=[xy], closed=closed, filled=closed)


def _parse_other_shapes(body, task_id, context, frame_map, seen_ids, other):
    """Parses one job's rectangles, polygons and polylines (labels drawn in
    CVAT that the run did not ask for) into ``other[type][sample_id][id]``."""
    sizes, names = context[0], context[4]
    for shape in body.get("shapes", []):
        anno_type = _OTHER_SHAPES.get(shape.get("type"))
        if anno_type is None or shape.get("frame") not in frame_map:
            continue
        size = sizes.get(shape["frame"])
        if not size:
            continue
        label = _other_label(shape, names.get(shape.get("label_id")), size)
        if label is None:
            continue
        label_id = _stable_id(task_id, shape.get("id") or len(seen_ids))
        while label_id in seen_ids:
            label_id = str(ObjectId())
        seen_ids.add(label_id)
        doc = label.to_dict()
        doc["_id"] = ObjectId(label_id)
        sample_id = frame_map[shape["frame"]]["sample_id"]
        other.setdefault(anno_type, {}).setdefault(sample_id, {})[label_id] = doc


def set_aside_gone_tasks(api, results):
    """Takes the run's tasks that no longer exist in CVAT out of ``results``
    for this load (so their samples' labels are neither read nor deleted);
    :meth:`PosekitCVATBackend.save_run_results` puts them back unless
    ``results.forget_gone_tasks``. Returns the gone task ids."""
    gone = [t for t in results.task_ids if not api.task_exists(t)]
    if gone:
        logger.warning(
            "CVAT task(s) %s of this run no longer exist; their samples are "
            "left as they are", ", ".join(map(str, gone)))
        results.set_aside_tasks(gone)
    return gone


def download_skeleton_annotations(api, results, raw=False):
    """Downloads a skeleton run: ``{field: {"keypoints": {sample_id: {id: kp}}}}``
    with ``fo.Keypoint`` values (or their database dicts if ``raw``), plus
    ``"detections"`` / ``"polylines"`` for rectangles, polygons and polylines
    drawn in CVAT (FiftyOne's "unexpected" labels), if any.

    Jobs are fetched concurrently, a few at a time, and each job's shapes are
    parsed (with numpy) as soon as it arrives, so raw JSON never piles up.
    Nothing is written to the dataset here.
    """
    config = results.config
    label_field, info = _single_field(config)
    classes = _class_names(info.get("classes"), label_field)
    node_attr = config.node_occluded_attr
    attr_schema = info.get("attributes") or {}
    occluded_name = next(
        (n for n, a in attr_schema.items() if a.get("type") == "occluded" and n != node_attr),
        None,
    )

    set_aside_gone_tasks(api, results)
    try:
        return _download(api, results, raw, label_field, classes, node_attr, occluded_name)
    except Exception:
        results.restore_tasks(force=True)  # a failed load changes nothing
        raise


def _download(api, results, raw, label_field, classes, node_attr, occluded_name):
    contexts = {}
    for task_id in results.task_ids:
        job_ids, replicas = api.annotation_job_ids(task_id)
        if replicas:
            logger.warning(
                "CVAT task %d has %d consensus replica job(s): loading its %d "
                "annotation job(s) only, so nothing is merged twice",
                task_id, replicas, len(job_ids))
            _report(0.1, "Task %d: %d consensus replica job(s) skipped, loading "
                    "from the parent jobs" % (task_id, replicas))
        contexts[task_id] = (_task_context(api, task_id, classes), job_ids)
    _report(0.1, "Read %d CVAT task(s)" % len(contexts))

    annos, other, seen_ids = {}, {}, set()
    pairs = [(t, j) for t, (_, jobs) in contexts.items() for j in jobs]
    bodies = api.iter_json_many(api.job_annotation_url(j) for _, j in pairs)
    for n, ((task_id, _), body) in enumerate(zip(pairs, bodies), 1):
        _parse_job(body, task_id, contexts[task_id][0], results.frame_id_map[task_id],
                   node_attr, occluded_name, seen_ids, annos)
        _parse_other_shapes(body, task_id, contexts[task_id][0],
                            results.frame_id_map[task_id], seen_ids, other)
        del body
        if n % max(1, api.max_workers) == 0 or n == len(pairs):
            _report(0.1 + 0.8 * n / len(pairs), "Downloaded %d/%d job(s)" % (n, len(pairs)))

    _report(0.9, "Parsed %d skeleton(s)" % sum(len(v) for v in annos.values()))
    out = dict(other, keypoints=annos)
    if not raw:
        out = {t: _as_labels(a) for t, a in out.items()}
    return {label_field: out}


_LABEL_CLASSES = {"Keypoint": fo.Keypoint, "Detection": fo.Detection, "Polyline": fo.Polyline}


def _as_labels(annos):
    return {
        sid: {lid: _LABEL_CLASSES[doc["_cls"]].from_dict(doc) for lid, doc in docs.items()}
        for sid, docs in annos.items()
    }
