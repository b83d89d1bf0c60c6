"""Loading a skeleton-mode run: posekit's one load path.

:func:`load_run` downloads the run (:mod:`posekit.cvat.download`: concurrent
job downloads, posekit's skeleton parsing) and :func:`merge_annotations`
writes it with FiftyOne's ``load_annotations`` semantics, in one bulk
``set_values`` per field:

- labels are matched by label id: an annotated label updates the existing one
  (``label``, ``index``, ``points`` and the schema's writeable attributes,
  per-node ``occluded`` included; ``allow_label_edits`` / ``allow_index_edits``
  / ``allow_spatial_edits`` respected), and a label already in the sample is
  never added a second time, whatever the run's id map says;
- labels the run uploaded (its id map) that are gone from CVAT are deleted
  (unless ``allow_deletions=False``); labels never sent are kept;
- new CVAT labels are added (unless ``allow_additions=False``) and recorded in
  the run's id map, so a second load adds nothing;
- ``dest_field`` loads into another field, as FiftyOne does (that field's own
  id map entry, so nothing of the run's field is deleted there);
- rectangles, polygons and polylines drawn in CVAT are FiftyOne's
  "unexpected" labels: ``unexpected="keep"`` stores them in fields named by
  their type (``detections``, ``polylines``), ``"ignore"`` drops them.

Extending it (video tracks, CVAT scores): the download returns
``{field: {label_type: {sample_id: {label_id: doc}}}}`` with database dicts
(``doc["_cls"]`` one of ``Keypoint``, ``Detection``, ``Polyline``); a parser
that fills more of that (e.g. ``confidence`` from CVAT scores) needs nothing
here. Per-frame labels (tracks) would add a frame level under the sample and
a frames branch in :func:`merge_annotations`.
"""
import fiftyone as fo

from .download import download_skeleton_annotations
from .plan import _single_field
from .progress import report as _report

UNEXPECTED = ("keep", "ignore")
_LIST_TYPES = {
    "keypoints": (fo.Keypoints, "keypoints"),
    "detections": (fo.Detections, "detections"),
    "polylines": (fo.Polylines, "polylines"),
}
# the label fields FiftyOne's merge copies (fiftyone.utils.annotations)
_COPIED = {"label": "allow_label_edits", "index": "allow_index_edits"}
_SPATIAL = {"Keypoint": ["points"], "Detection": ["bounding_box", "mask"],
            "Polyline": ["points", "closed", "filled"]}
_BUILTIN = {"label", "index", "tags", "attributes", "confidence", "mask_path",
            *(n for names in _SPATIAL.values() for n in names)}


def load_run(dataset, anno_key, results, dest_field=None, unexpected="keep"):
    """Downloads a skeleton-mode run and merges it into ``dataset``.

    Everything is downloaded before the dataset is written, so a failing
    server leaves it as it was. The results (id map) are saved on
    ``dataset``, which also caches them there: pass the dataset object later
    calls use (in the App, the shared ``ctx.dataset``).
    """
    if unexpected not in UNEXPECTED:
        raise ValueError("unexpected must be one of %s" % list(UNEXPECTED))
    api = results.connect_to_api()
    annotations = download_skeleton_annotations(api, results, raw=True)
    merge_annotations(dataset, results, annotations, dest_field=dest_field,
                      unexpected=unexpected)
    results.backend.save_run_results(dataset, anno_key, results)
    _report(1.0, "Loaded run '%s'" % anno_key)


def merge_annotations(dataset, results, annotations, dest_field=None, unexpected="keep"):
    """Merges downloaded annotations (database dicts, see
    :func:`posekit.cvat.download.download_skeleton_annotations`) into
    ``dataset``; updates ``results.id_map`` (not saved here)."""
    label_field, info = _single_field(results.config)
    field = _dest(label_field, dest_field)
    by_type = annotations.get(label_field, {})
    _merge_field(dataset, results, field, "keypoints", by_type.get("keypoints", {}),
                 info, _writeable_attributes(info))
    for anno_type, annos in by_type.items():
        if anno_type == "keypoints" or not annos:
            continue
        if unexpected == "keep" and info.get("allow_additions", True):
            _merge_field(dataset, results, anno_type, anno_type, annos, {}, None)


def _dest(label_field, dest_field):
    if isinstance(dest_field, dict):
        return dest_field.get(label_field, label_field)
    return dest_field or label_field


def _writeable_attributes(info):
    """``{class or None: [attribute names]}``: the schema's attributes
    FiftyOne's merge copies (global ones, then per-class ones)."""
    names = {None: [n for n, a in (info.get("attributes") or {}).items()
                    if not a.get("read_only")]}
    for c in info.get("classes") or []:
        if isinstance(c, dict):
            attrs = [n for n, a in (c.get("attributes") or {}).items() if not a.get("read_only")]
            for name in c.get("classes") or []:
                names.setdefault(name, []).extend(attrs)
    return names


def _to_list(value):
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _merge_into(doc, anno, info, attr_names):
    for name, flag in _COPIED.items():
        if info.get(flag, True):
            doc[name] = anno.get(name)
    if info.get("allow_spatial_edits", True):
        for name in _SPATIAL.get(anno.get("_cls"), []):
            doc[name] = anno.get(name)
    if attr_names is None:  # no schema: every custom attribute, as FiftyOne does
        names = [k for k in anno if not k.startswith("_") and k not in _BUILTIN]
    else:
        names = attr_names.get(None, []) + attr_names.get(doc.get("label"), [])
    for name in names:
        doc[name] = anno.get(name)
    if anno.get("confidence") is not None:  # CVAT 2.7x scores (posekit_cvat)
        doc["confidence"] = anno["confidence"]


def _merge_field(dataset, results, field, anno_type, annos, info, attr_names):
    list_cls, list_key = _LIST_TYPES[anno_type]
    allow_additions = info.get("allow_additions", True)
    allow_deletions = info.get("allow_deletions", True)
    id_map = results.id_map.get(field, {})
    uploaded = {sid: set(_to_list(ids)) for sid, ids in id_map.items()}
    sample_ids = sorted((set(uploaded) if allow_deletions else set()) | set(annos))
    if not sample_ids:
        return 0
    if not dataset.has_sample_field(field):
        dataset.add_sample_field(field, fo.EmbeddedDocumentField, embedded_doc_type=list_cls)

    from posekit import fo_compat

    ids, current = fo_compat.raw_values(dataset.select(sample_ids), ["_id", field])
    new_values, added = {}, {}
    for oid, value in zip(ids, current):
        sample_id = str(oid)
        sample_annos = annos.get(sample_id, {})
        sent = uploaded.get(sample_id, set())
        if value is None and not (sample_annos and allow_additions):
            continue
        kept, present = [], set()
        for doc in (value or {}).get(list_key) or []:
            label_id = str(doc["_id"])
            anno = sample_annos.get(label_id)
            if anno is not None:
                _merge_into(doc, anno, info, attr_names)
            elif label_id in sent and allow_deletions:
                continue
            kept.append(doc)
            present.add(label_id)
        if allow_additions:
            for label_id, anno in sample_annos.items():
                # new to the run (FiftyOne's rule) and not in the sample
                if label_id not in present and (value is None or label_id not in sent):
                    kept.append(anno)
                    added.setdefault(sample_id, []).append(label_id)
        value = dict(value or {"_cls": list_cls.__name__})
        value[list_key] = kept
        new_values[sample_id] = value

    if new_values:
        dataset.set_values(field, new_values, key_field="id", validate=False)
    _update_id_map(results, field, added)
    return len(new_values)


def _update_id_map(results, field, added):
    """Records new label ids in ``results.id_map`` as FiftyOne does (a single
    id as a string, several as a list)."""
    id_map = results.id_map.setdefault(field, {})
    for sample_id, label_ids in added.items():
        ids = _to_list(id_map.get(sample_id)) + label_ids
        id_map[sample_id] = ids[0] if len(ids) == 1 else ids
