"""Merging downloaded video skeletons into ``frames.<field>`` with one bulk
write, with the outcome of FiftyOne's ``load_annotations`` for frame fields:
annotated labels update the existing ones (by id), uploaded labels missing
from CVAT are deleted, new ones are added, other labels are kept; each loaded
track takes the ``index`` of the dataset track it shares a label with (new
tracks get new indexes), and a loaded observation on a frame where its track
already has one takes that label's id. Re-loading changes nothing."""
from posekit import fo_compat

from .plan import _single_field
from .progress import report as _report

_MERGED = ("label", "index", "points")


def _track_indexes(existing, annos):
    """``{annotation index: dataset index}`` for one video."""
    by_id, top = {}, 0
    for docs in existing.values():
        for d in docs:
            if d.get("index") is not None:
                by_id[str(d["_id"])] = d["index"]
                top = max(top, d["index"])
    mapping = {}
    for frame_annos in annos.values():
        for label_id, doc in frame_annos.items():
            index = doc.get("index")
            if index is None or label_id not in by_id:
                continue
            mapping[index] = min(mapping.get(index, by_id[label_id]), by_id[label_id])
    for frame_annos in annos.values():
        for doc in frame_annos.values():
            index = doc.get("index")
            if index is not None and index not in mapping:
                top += 1
                mapping[index] = top
    return mapping


def merge_video_annotations(dataset, results, annotations):
    """Merges ``{"frames.<f>": {"keypoints": {sample_id: {frame_id: {label_id:
    doc}}}}}`` (database dicts) into the run's frame field. Returns the
    number of frames written."""
    import fiftyone as fo

    label_field, info = _single_field(results.config)
    path = label_field[len("frames."):]
    annos = annotations.get(label_field, {}).get("keypoints", {})
    attr_names = [n for n, a in (info.get("attributes") or {}).items() if not a.get("read_only")]
    allow_additions = info.get("allow_additions", True)
    allow_deletions = info.get("allow_deletions", True)
    id_map = results.id_map.get(label_field, {})
    if not dataset.has_frame_field(path):
        dataset.add_frame_field(path, fo.EmbeddedDocumentField, embedded_doc_type=fo.Keypoints)

    sample_ids = sorted({fd["sample_id"] for t in results.task_ids
                         for fd in results.frame_id_map.get(t, {}).values()})
    clips = results.id_map.get("_clips") or {}  # clip id -> its video's id
    to_sample = {s: clips.get(s, s) for s in sample_ids}
    view = dataset.select(sorted(set(to_sample.values())))
    ids, frame_ids, values = fo_compat.raw_values(view, ["id", "frames.id", "frames." + path])
    current = {str(s): dict(zip(map(str, f), v)) for s, f, v in zip(ids, frame_ids, values)}

    new_values, added = {}, {}
    for sid in sample_ids:
        frames = current.get(str(to_sample[sid]), {})
        sample_annos = annos.get(sid, {})
        uploaded = id_map.get(sid) or {}
        existing = {fid: list((v or {}).get("keypoints") or []) for fid, v in frames.items()
                    if fid in sample_annos or fid in uploaded}
        mapping = _track_indexes({f: (v or {}).get("keypoints") or [] for f, v in frames.items()},
                                 sample_annos)
        for fid in set(sample_annos) | set(uploaded):
            if fid not in frames:
                continue
            frame_annos = {}
            for label_id, doc in (sample_annos.get(fid) or {}).items():
                if doc.get("index") is not None:
                    doc["index"] = mapping[doc["index"]]
                frame_annos[label_id] = doc
            docs = existing.get(fid, [])
            at_index = {d.get("index"): str(d["_id"]) for d in docs if d.get("index") is not None}
            for label_id in list(frame_annos):
                doc = frame_annos[label_id]
                same = at_index.get(doc.get("index"))
                if label_id not in {str(d["_id"]) for d in docs} and same is not None \
                        and same not in frame_annos:
                    doc["_id"] = next(d["_id"] for d in docs if str(d["_id"]) == same)
                    frame_annos[same] = frame_annos.pop(label_id)
            ups = uploaded.get(fid) or []
            ups = {ups} if isinstance(ups, str) else set(ups)
            kept, seen = [], set()
            for d in docs:
                lid = str(d["_id"])
                anno = frame_annos.get(lid)
                if anno is not None:
                    for name in _MERGED + tuple(attr_names):
                        if info.get("allow_%s_edits" % {"points": "spatial"}.get(name, name), True):
                            d[name] = anno.get(name)
                    kept.append(d)
                    seen.add(lid)
                elif lid in ups and allow_deletions:
                    continue
                else:
                    kept.append(d)
            if allow_additions:
                for lid, anno in frame_annos.items():
                    if lid not in seen:
                        kept.append(anno)
                        added.setdefault(sid, {}).setdefault(fid, []).append(lid)
            value = dict(frames.get(fid) or {"_cls": "Keypoints"})
            value["keypoints"] = kept
            new_values[fid] = value
    if new_values:
        _report(0.95, "Writing %d frame(s)" % len(new_values))
        dataset.set_values(label_field, new_values, key_field="frames.id", validate=False)
    id_map = results.id_map.setdefault(label_field, {})
    for sid, frames in added.items():  # FiftyOne's video id map: sample -> frame -> ids
        for fid, label_ids in frames.items():
            have = id_map.setdefault(sid, {}).get(fid) or []
            ids = ([have] if isinstance(have, str) else list(have)) + label_ids
            id_map[sid][fid] = ids[0] if len(ids) == 1 else ids
    return len(new_values)


def load_video_run(dataset, anno_key, results):
    """Downloads and merges a video skeleton run (operator path): everything is
    downloaded before the dataset is written, in one bulk write."""
    from .video import download_video_skeletons

    api = results.connect_to_api()
    annotations = download_video_skeletons(api, results, raw=True)
    merge_video_annotations(dataset, results, annotations)
    results.backend.save_run_results(dataset, anno_key, results)
    _report(1.0, "Loaded run '%s'" % anno_key)
