"""Video samples in skeleton mode: frame keypoints go up as CVAT skeleton
*tracks* (one per FiftyOne track, ``Keypoint.index``), tracks come back as
per-frame ``fo.Keypoints`` on ``frames.<field>``, interpolated exactly as
CVAT does (:mod:`posekit.cvat.tracks`) and stitched across jobs.

Job split: posekit asks CVAT for ``overlap=0``. CVAT's default overlap for
video (5 frames) makes neighbouring jobs share frames; each job then stores
its own piece of every track, CVAT's task-level GET returns every piece as a
track of its own and duplicates skeletons on the shared frames, and a round
trip multiplies the tracks (recorded on CVAT 2.23.1 and 2.73.0: 2 tracks ->
10 -> 26). With no overlap every frame belongs to exactly one job; posekit
reads each job and joins the pieces back into one track per object (pieces
of tasks made elsewhere, with overlap, are merged where they coincide).
"""
import logging

import numpy as np
from bson import ObjectId

import fiftyone as fo
from fiftyone.core.clips import ClipsView

from posekit import fo_compat

from . import convert, svg, tracks
from .attributes import shape_attributes
from .progress import report as _report

logger = logging.getLogger(__name__)

FRAMES = "frames."
TASK_OVERLAP = 0  # see the module docstring; None would leave CVAT's default


def is_frame_field(label_field):
    return isinstance(label_field, str) and label_field.startswith(FRAMES)


def ensure_video_metadata(samples):
    """Fills missing ``VideoMetadata`` with OpenCV (FiftyOne needs ffprobe,
    which is often not installed), then creates the frames of every video."""
    import cv2

    missing = samples.exists("metadata", False)
    for sample in missing.iter_samples(autosave=True):
        cap = cv2.VideoCapture(sample.filepath)
        try:
            count = 0
            while cap.grab():
                count += 1
            width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
            height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
            rate = cap.get(cv2.CAP_PROP_FPS) or None
        finally:
            cap.release()
        if not count:
            raise ValueError("Cannot read the video %s" % sample.filepath)
        sample.metadata = fo.VideoMetadata(
            frame_width=width, frame_height=height, total_frame_count=count,
            frame_rate=rate, duration=count / rate if rate else None,
        )
    samples.ensure_frames()


# -- upload ------------------------------------------------------------------


def _node_coords(points):
    """Coordinates CVAT can store for every observation of every node: NaN
    (outside) nodes take the node's previous visible place, else its next."""
    filled = points.copy()
    n_obs, n_nodes, _ = points.shape
    for j in range(n_nodes):
        col = filled[:, j]
        ok = ~np.isnan(col[:, 0])
        if not ok.any():
            col[:] = 0.0
            continue
        idx = np.where(ok, np.arange(n_obs), -1)
        np.maximum.accumulate(idx, out=idx)
        first = int(np.argmax(ok))
        idx[idx < 0] = first
        col[:] = col[idx]
    return filled


def track_json(observations, frame_size, label_id, sublabel_ids, num_frames,
               attributes_of, occluded_attr=convert.DEFAULT_OCCLUDED_ATTR):
    """One CVAT skeleton track from one FiftyOne track.

    Args:
        observations: ``[(cvat frame, keypoint dict)]`` sorted by frame
        frame_size: ``(width, height)``
        label_id, sublabel_ids: the CVAT skeleton label and its nodes' ids
        num_frames: the task's frame count (the track is closed with an
            outside shape after its last frame, and on every gap)
        attributes_of: keypoint dict -> the parent shape's attributes
    """
    n = len(sublabel_ids)
    frames = [f for f, _ in observations]
    pts = np.stack([convert.node_array(d["points"], n) for _, d in observations])
    pts = pts * np.asarray(frame_size, dtype=float)
    outside = np.isnan(pts[:, :, 0])
    coords = _node_coords(pts).tolist()
    occluded = [convert.occlusion_flags(d, n, occluded_attr) for _, d in observations]

    parent, ends = [], []
    present = set(frames)
    for k, (f, doc) in enumerate(observations):
        parent.append(_shape("skeleton", f, [], False, False, attributes_of(doc)))
        if f + 1 not in present and f + 1 < num_frames:
            parent.append(_shape("skeleton", f + 1, [], True, False, []))
            ends.append(f + 1)
    elements = []
    for j, sid in enumerate(sublabel_ids):
        shapes = [
            _shape("points", f, coords[k][j], bool(outside[k, j]),
                   bool(occluded[k][j]) and not outside[k, j], [])
            for k, f in enumerate(frames)
        ]
        elements.append({"label_id": sid, "frame": frames[0], "group": 0,
                         "source": "manual", "attributes": [], "shapes": shapes})
    return {"label_id": label_id, "frame": frames[0], "group": 0, "source": "manual",
            "attributes": [], "shapes": parent, "elements": elements}


def _shape(kind, frame, points, outside, occluded, attributes):
    return {"type": kind, "frame": int(frame), "points": list(points),
            "outside": outside, "occluded": occluded, "z_order": 0,
            "rotation": 0.0, "attributes": attributes}


def sample_annotations(frame_docs, frame_size, num_frames, labels, attributes_of,
                       occluded_attr):
    """CVAT tracks (keypoints with an ``index``) and skeleton shapes (without)
    for one video, from its frames' ``(frame_number, Keypoints dict)``.

    Returns ``(tracks, shapes, {frame_number: [label ids]})``.
    """
    by_track, shapes, ids = {}, [], {}
    for frame_number, value in frame_docs:
        for doc in (value or {}).get("keypoints") or []:
            if doc.get("label") not in labels:
                continue
            ids.setdefault(frame_number, []).append(str(doc["_id"]))
            frame = frame_number - 1
            label_id, sublabel_ids, _ = labels[doc["label"]]
            if doc.get("index") is None:
                shapes.append(convert.keypoint_to_shape(
                    doc, frame, frame_size, label_id, sublabel_ids,
                    attributes=attributes_of(doc), occluded_attr=occluded_attr))
            else:
                by_track.setdefault((doc["label"], doc["index"]), []).append((frame, doc))
    out = []
    for (label, _), obs in sorted(by_track.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        obs.sort(key=lambda o: o[0])
        label_id, sublabel_ids, _ = labels[label]
        out.append(track_json(obs, frame_size, label_id, sublabel_ids, num_frames,
                              attributes_of, occluded_attr))
    return out, shapes, ids


# -- download ----------------------------------------------------------------


def _stable_id(task_id, track_id, frame):
    key = (int(track_id or 0) * 100003 + int(frame)) % 2**64
    return str(ObjectId("%08x%016x" % (int(task_id) % 2**32, key)))


def task_keypoints(task_id, job_bodies, context, frame_map, node_attr, seen_ids):
    """One video task's skeletons as ``{frame_id: {label_id: keypoint dict}}``
    and its sample id, from ``[(job, job annotations body)]``.

    Tracks are interpolated per job over the job's frames, stitched across
    jobs, and numbered 1, 2, ... by first frame (FiftyOne maps the numbers
    back onto the tracks the dataset already has when it merges).
    """
    size, skeletons, orders, specs = context
    out = {}
    pieces, shapes = [], []
    for job, body in job_bodies:
        start, stop = job["start_frame"], job["stop_frame"]
        pieces.append((start, stop, tracks.job_tracks(body, orders, start, stop)))
        shapes.extend(s for s in body.get("shapes") or []
                      if s.get("type") == "skeleton" and s.get("label_id") in skeletons
                      and start <= s.get("frame", -1) <= stop)

    def add(frame, label_id, doc):
        fd = frame_map.get(frame)
        if fd is None:
            return
        out.setdefault(fd["frame_id"], {})[label_id] = doc

    for index, track in enumerate(tracks.stitch(pieces), 1):
        label = skeletons[track.label_id]
        spec = specs[track.label_id]
        n = len(orders[track.label_id])
        rel = track.relative_points(size)
        attrs = {}
        for k, frame in enumerate(track.frames.tolist()):
            key = track.keyframes.get(frame)
            label_id = None
            if key is not None:
                label_id, attrs = shape_attributes(key, spec)
            if not (label_id and ObjectId.is_valid(label_id)) or label_id in seen_ids:
                label_id = _stable_id(task_id, track.track_ids[0], frame)
            seen_ids.add(label_id)
            doc = convert.keypoint_doc(label, rel[k, :n], track.occluded[k, :n],
                                       occluded_attr=node_attr, attributes=dict(attrs),
                                       label_id=ObjectId(label_id))
            doc["index"] = index
            add(frame, label_id, doc)

    if shapes:
        sizes = {s["frame"]: size for s in shapes}
        points, occluded = convert.skeleton_arrays(shapes, orders, sizes)
        for i, shape in enumerate(shapes):
            label_id, attrs = shape_attributes(shape, specs[shape["label_id"]])
            if not (label_id and ObjectId.is_valid(label_id)) or label_id in seen_ids:
                label_id = _stable_id(task_id, -1 - int(shape.get("id") or i), shape["frame"])
            seen_ids.add(label_id)
            n = len(orders[shape["label_id"]])
            add(shape["frame"], label_id, convert.keypoint_doc(
                skeletons[shape["label_id"]], points[i, :n], occluded[i, :n],
                occluded_attr=node_attr, attributes=attrs, label_id=ObjectId(label_id)))
    sample_ids = {fd["sample_id"] for fd in frame_map.values()}
    return (sample_ids.pop() if sample_ids else None), out


def video_context(api, task_id, classes):
    """``(frame size, skeleton names, node orders, attribute specs)`` and the
    task's jobs (with their frame ranges)."""
    meta = api.get(api.task_data_meta_url(task_id)).json()
    frame = meta["frames"][0]
    skeletons, orders, specs = {}, {}, {}
    for label in api.task_labels(task_id):
        if label.get("type") != "skeleton" or label["name"] not in classes:
            continue
        skeletons[label["id"]] = label["name"]
        orders[label["id"]] = svg.node_order(label)
        specs[label["id"]] = {
            a["id"]: (a["name"], a.get("input_type")) for a in label.get("attributes") or []
        }
    # consensus replicas repeat their parent's frames: parent jobs only
    jobs = sorted((j for j in api.paginated_results(api.jobs_url(task_id))
                   if j.get("parent_job_id") is None),
                  key=lambda j: (j["start_frame"], j["id"]))
    return (frame["width"], frame["height"]), skeletons, orders, specs, jobs


def download_video_annotations(api, results, label_field, classes, node_attr, contexts):
    """``{sample_id: {frame_id: {label_id: keypoint dict}}}`` of every video
    task of a run; progress is reported per job."""
    pairs = [(t, j) for t, ctx in contexts.items() for j in ctx[4]]
    bodies = api.iter_json_many(api.job_annotation_url(j["id"]) for _, j in pairs)
    per_task, annos, seen = {}, {}, set()
    for n, ((task_id, job), body) in enumerate(zip(pairs, bodies), 1):
        per_task.setdefault(task_id, []).append((job, body))
        _report(0.1 + 0.8 * n / max(1, len(pairs)), "Downloaded %d/%d job(s)" % (n, len(pairs)))
        if len(per_task[task_id]) == len(contexts[task_id][4]):
            sample_id, frames = task_keypoints(
                task_id, per_task.pop(task_id), contexts[task_id][:4],
                results.frame_id_map[task_id], node_attr, seen)
            if sample_id is not None and frames:
                annos.setdefault(sample_id, {}).update(frames)
    return annos


def upload_video_samples(api, samples, anno_key, backend, plan):
    """Creates one CVAT task per video (or clip) with ``overlap=0`` and sends
    the frames' keypoints as skeleton tracks."""
    from .backend import PosekitCVATAnnotationResults
    from .upload import _project_id, _shape_attributes, _skeleton_label_json, _skeleton_labels

    config = backend.config
    label_field = plan["label_field"]
    path = label_field[len(FRAMES):]
    node_attr = config.node_occluded_attr
    ensure_video_metadata(samples)

    project_id, created_project = _project_id(api, config, plan)
    task_ids, job_ids, frame_id_map, id_map = [], {}, {}, {label_field: {}}
    base_name = config.task_name or "FiftyOne_%s" % fo_compat.root_dataset(samples).name.replace(" ", "_")
    is_clips = isinstance(samples, ClipsView)
    fields = ["id", "filepath", "metadata.frame_width", "metadata.frame_height",
              "metadata.total_frame_count", "frames.id", "frames.frame_number", "frames." + path]
    if is_clips:
        fields.append("support")
    rows = list(zip(*fo_compat.raw_values(samples, fields)))
    steps = max(1, len(rows)) * 3
    for b, row in enumerate(rows):
        sid, filepath, width, height, total, frame_ids, numbers, values = row[:8]
        first, last = (row[8] if is_clips else (1, total))
        task_json = {"name": base_name + ("_%d" % (b + 1) if len(rows) > 1 else ""),
                     "image_quality": config.image_quality}
        if TASK_OVERLAP is not None:
            task_json["overlap"] = TASK_OVERLAP
        if project_id is not None:
            task_json["project_id"] = project_id
        else:
            task_json["labels"] = [_skeleton_label_json(c, plan) for c in plan["classes"]]
        if config.segment_size:
            task_json["segment_size"] = config.segment_size
        task_id = api.post_task(task_json)
        task_ids.append(task_id)
        labels = _skeleton_labels(api.task_labels(task_id), plan)
        _report((3 * b + 1) / steps, "Created CVAT task %d" % task_id)

        job_ids[task_id] = api.upload_data(
            task_id, [filepath], image_quality=config.image_quality,
            use_cache=config.use_cache, chunk_size=config.chunk_size,
            job_assignees=config.job_assignees,
            frame_start=first - 1 if is_clips else None,
            frame_stop=last - 1 if is_clips else None,
        )
        frames = [(fn - first + 1, fid, v) for fid, fn, v in zip(frame_ids, numbers, values)
                  if first <= fn <= last]
        frame_id_map[task_id] = {fn - 1: {"sample_id": str(sid), "frame_id": str(fid)}
                                 for fn, fid, _ in frames}
        _report((3 * b + 2) / steps, "Uploaded the video of task %d" % task_id)

        def attributes_of(doc, labels=labels):
            return _shape_attributes(doc, labels[doc["label"]][2])

        tracks_json, shapes, ids = sample_annotations(
            [(fn, v) for fn, _, v in frames], (width, height), last - first + 1,
            labels, attributes_of, node_attr)
        by_number = {fn: str(fid) for fn, fid, _ in frames}
        if ids:
            id_map[label_field][str(sid)] = {by_number[fn]: v for fn, v in ids.items()}
        if tracks_json or shapes:
            resp = api.put(api.task_annotation_url(task_id), json={
                "version": 0, "shapes": shapes, "tags": [], "tracks": tracks_json}).json()
            if len(resp.get("shapes", [])) != len(shapes) or (
                    tracks_json and not resp.get("tracks")):
                from .api import CVATError

                raise CVATError("CVAT did not store the skeleton tracks of task %d" % task_id)
        _report((3 * b + 3) / steps, "Uploaded %d track(s) to task %d" % (len(tracks_json), task_id))

    results = PosekitCVATAnnotationResults(
        samples, config, anno_key, id_map, {}, [project_id] if created_project else [],
        task_ids, job_ids, frame_id_map, {label_field: list(task_ids)}, backend=backend,
    )
    results.save_config()
    return results


def download_video_skeletons(api, results, raw=False):
    """Downloads a video skeleton run: ``{"frames.<f>": {"keypoints":
    {sample_id: {frame_id: {label_id: fo.Keypoint}}}}}`` (database dicts if
    ``raw``). Nothing is written to the dataset here."""
    from .plan import _class_names, _single_field

    label_field, info = _single_field(results.config)
    classes = _class_names(info.get("classes"), label_field)
    from concurrent.futures import ThreadPoolExecutor

    from .download import set_aside_gone_tasks

    set_aside_gone_tasks(api, results)  # their samples are left as they are
    try:
        workers = max(1, min(api.max_workers, len(results.task_ids)))
        with ThreadPoolExecutor(workers) as pool:  # a few requests per task, concurrently
            contexts = dict(zip(results.task_ids, pool.map(
                lambda t: video_context(api, t, classes), results.task_ids)))
        _report(0.1, "Read %d CVAT task(s)" % len(contexts))
        annos = download_video_annotations(api, results, label_field, classes,
                                           results.config.node_occluded_attr, contexts)
    except Exception:
        results.restore_tasks(force=True)  # a failed load changes nothing
        raise
    _report(0.9, "Parsed %d frame(s) with skeletons" % sum(len(v) for v in annos.values()))
    if not raw:
        annos = {
            sid: {fid: {lid: fo.Keypoint.from_dict(d) for lid, d in docs.items()}
                  for fid, docs in frames.items()}
            for sid, frames in annos.items()
        }
    return {label_field: {"keypoints": annos}}
