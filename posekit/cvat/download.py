"""Skeleton-mode download and merge: CVAT jobs fetched concurrently, parsed
into keypoints in skeleton order (by sublabel id), merged into the run's field
in one bulk write."""
import logging

from bson import ObjectId

import fiftyone as fo
import fiftyone.utils.cvat as fouc

from . import convert, svg
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
    skeletons, orders, specs = {}, {}, {}
    for label in api._get_task_labels(task_id):
        if label.get("type") != "skeleton" or label["name"] not in classes:
            continue
        skeletons[label["id"]] = label["name"]
        orders[label["id"]] = svg.node_order(label)
        specs[label["id"]] = {
            a["id"]: (a["name"], a.get("input_type")) for a in label.get("attributes") or []
        }
    return sizes, skeletons, orders, specs


def _parse_job(body, task_id, context, frame_map, node_attr, occluded_name, seen_ids, annos):
    """Parses one job's skeleton shapes into ``annos[sample_id][label_id]``."""
    sizes, skeletons, orders, specs = context
    shapes = [
        s for s in body.get("shapes", [])
        if s.get("type") == "skeleton" and s.get("label_id") in skeletons
        and s.get("frame") in frame_map
    ]
    if any(t.get("elements") for t in body.get("tracks", [])):
        logger.warning("Ignoring skeleton tracks in task %d (images only)", task_id)
    points, occluded = convert.skeleton_arrays(shapes, orders, sizes)
    for i, shape in enumerate(shapes):
        label_spec = specs[shape["label_id"]]
        attrs, label_id = {}, None
        for a in shape.get("attributes") or []:
            name, itype = label_spec.get(a.get("spec_id"), (None, None))
            if name == "label_id":
                label_id = a.get("value")
            elif name is not None:
                value = fouc._parse_value(a.get("value"), attr_type=itype)
                if itype == "checkbox" and isinstance(value, str):
                    value = value.lower() == "true"
                attrs[name] = value
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
        sample_id = frame_map[shape["frame"]]["sample_id"]
        annos.setdefault(sample_id, {})[label_id] = doc


def download_skeleton_annotations(api, results, raw=False):
    """Downloads a skeleton run: ``{field: {"keypoints": {sample_id: {id: kp}}}}``
    with ``fo.Keypoint`` values (or their database dicts if ``raw``).

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

    deleted, contexts = [], {}
    for task_id in results.task_ids:
        if not api.task_exists(task_id):
            logger.warning("Skipping CVAT task %d, which no longer exists", task_id)
            deleted.append(task_id)
            continue
        contexts[task_id] = (_task_context(api, task_id, classes), api._get_job_ids(task_id))
    _report(0.1, "Read %d CVAT task(s)" % len(contexts))

    annos, seen_ids = {}, set()
    pairs = [(t, j) for t, (_, jobs) in contexts.items() for j in jobs]
    bodies = api.iter_json_many(api.job_annotation_url(j) for _, j in pairs)
    for n, ((task_id, _), body) in enumerate(zip(pairs, bodies), 1):
        _parse_job(body, task_id, contexts[task_id][0], results.frame_id_map[task_id],
                   node_attr, occluded_name, seen_ids, annos)
        del body
        if n % max(1, api._max_workers) == 0 or n == len(pairs):
            _report(0.1 + 0.8 * n / len(pairs), "Downloaded %d/%d job(s)" % (n, len(pairs)))

    if deleted:
        results._forget_tasks(deleted)
    _report(0.9, "Parsed %d skeleton(s)" % sum(len(v) for v in annos.values()))
    if not raw:
        annos = {
            sid: {lid: fo.Keypoint.from_dict(doc) for lid, doc in docs.items()}
            for sid, docs in annos.items()
        }
    return {label_field: {"keypoints": annos}}


def _merge_into(doc, anno, attr_names, info):
    """Copies an annotated keypoint onto an existing one (database dicts), as
    FiftyOne's ``load_annotations`` does: label, index, points and the
    schema's attributes."""
    if info.get("allow_label_edits", True):
        doc["label"] = anno.get("label")
    if info.get("allow_index_edits", True):
        doc["index"] = anno.get("index")
    if info.get("allow_spatial_edits", True):
        doc["points"] = anno["points"]
    for name in attr_names:
        doc[name] = anno.get(name)


def merge_skeleton_annotations(dataset, results, annotations):
    """Merges downloaded skeletons (database dicts, see
    :func:`download_skeleton_annotations`) into the run's field with one bulk
    ``set_values``.

    Same outcome as ``dataset.load_annotations``: annotated labels update the
    existing ones (by id), uploaded labels missing from CVAT are deleted,
    new ones are added, other labels are kept; re-loading adds nothing.
    """
    import fiftyone as fo

    label_field, info = _single_field(results.config)
    annos = annotations.get(label_field, {}).get("keypoints", {})
    attr_names = [n for n, a in (info.get("attributes") or {}).items() if not a.get("read_only")]
    allow_additions = info.get("allow_additions", True)
    allow_deletions = info.get("allow_deletions", True)
    id_map = results.id_map.get(label_field, {})

    sample_ids = sorted({
        fd["sample_id"] for task_id in results.task_ids
        for fd in results.frame_id_map.get(task_id, {}).values()
    })
    if not dataset.has_sample_field(label_field):
        dataset.add_sample_field(label_field, fo.EmbeddedDocumentField,
                                 embedded_doc_type=fo.Keypoints)
    ids, current = dataset.select(sample_ids).values(["_id", label_field], _raw=True)

    new_values, added = {}, {}
    for oid, value in zip(ids, current):
        sample_id = str(oid)
        sample_annos = annos.get(sample_id, {})
        uploaded = id_map.get(sample_id) or []
        uploaded = {uploaded} if isinstance(uploaded, str) else set(uploaded)
        if value is None and not sample_annos:
            continue
        kept, seen = [], set()
        for doc in (value or {}).get("keypoints") or []:
            label_id = str(doc["_id"])
            anno = sample_annos.get(label_id)
            if anno is not None:
                _merge_into(doc, anno, attr_names, info)
                kept.append(doc)
                seen.add(label_id)
            elif label_id in uploaded and allow_deletions:
                continue
            else:
                kept.append(doc)
        if allow_additions:
            for label_id, anno in sample_annos.items():
                if label_id not in seen:
                    kept.append(anno)
                    added.setdefault(sample_id, []).append(label_id)
        value = dict(value or {"_cls": "Keypoints"})
        value["keypoints"] = kept
        new_values[sample_id] = value

    if new_values:
        dataset.set_values(label_field, new_values, key_field="id", validate=False)
    results._update_id_map(label_field, added)
    return len(new_values)


def load_skeleton_run(dataset, anno_key, results):
    """Downloads and merges a skeleton-mode run (operator path): all data is
    downloaded before the dataset is written, in one bulk write."""
    api = results.connect_to_api()
    annotations = download_skeleton_annotations(api, results, raw=True)
    merge_skeleton_annotations(dataset, results, annotations)
    results.backend.save_run_results(dataset, anno_key, results)
    _report(1.0, "Loaded run '%s'" % anno_key)
