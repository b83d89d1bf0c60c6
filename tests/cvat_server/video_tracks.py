"""Skeleton tracks of video tasks, stored per job as CVAT does (see
``video.py`` for the observed rules this follows)."""
import copy
import json

from . import annotations as ann
from .state import now



def _plain(obj):
    """A deep, mutable copy of a stored record."""
    return json.loads(ann._text(obj))


def _frame(shape):
    return shape["frame"]


def _state_at(shapes, frame, new_id):
    """The interpolated shape of a (sorted) shape list on ``frame``, or None
    before its first shape; flags come from the left shape."""
    left = right = None
    for s in shapes:
        if s["frame"] <= frame:
            left = s
        else:
            right = s
            break
    if left is None:
        return None
    out = copy.deepcopy(left)
    out.update(frame=frame, id=new_id())
    if left["frame"] != frame and right is not None and left["points"] and right["points"]:
        offset = (frame - left["frame"]) / (right["frame"] - left["frame"])
        out["points"] = [p0 + (p1 - p0) * offset
                         for p0, p1 in zip(left["points"], right["points"])]
    return out


def _slice_shapes(shapes, start, stop, has_points, new_id):
    shapes = sorted(shapes, key=_frame)
    inside = [s for s in shapes if start <= s["frame"] <= stop]
    if len(inside) < len(shapes):
        if not inside or inside[0]["frame"] != start:
            first = _state_at(shapes, start, new_id)
            if first is not None:
                inside.insert(0, first)
        later = [s for s in shapes if s["frame"] > stop]
        if has_points and later and not later[0]["outside"] and (
                not inside or inside[-1]["frame"] != stop):
            # recorded: only toward a visible keyframe past the job's stop
            last = _state_at(shapes, stop, new_id)
            if last is not None and not last["outside"]:
                inside.append(last)
    while inside and inside[0]["outside"]:
        inside.pop(0)
    return inside


def slice_track(track, start, stop, new_id):
    """The piece of a (plain) skeleton track that a job ``[start, stop]``
    stores, or None if the track has no state there."""
    # a skeleton parent has no points (so no shape at the job's stop)
    has_points = any(s.get("type") != "skeleton" for s in track["shapes"])
    parent = _slice_shapes(track["shapes"], start, stop, has_points, new_id)
    if not parent:
        return None
    out = dict(track, shapes=parent, frame=parent[0]["frame"])
    if "elements" in track:
        out["elements"] = []
        for e in track["elements"]:
            shapes = _slice_shapes(e["shapes"], start, stop, True, new_id)
            out["elements"].append(
                dict(e, shapes=shapes, frame=shapes[0]["frame"] if shapes else e["frame"]))
    return out


def normalize_track(track, new_id, keep_empty=True):
    """What CVAT stores for a skeleton track it is given (plain dict);
    ``keep_empty``: keep elements with no shapes (2.23.1) or drop them."""
    if not track.get("elements"):
        return dict(track, shapes=sorted(track["shapes"], key=_frame))
    parent = sorted(track["shapes"], key=_frame)
    frame = track["frame"]
    if parent:
        frame = min(frame, parent[0]["frame"])
    elements = track.get("elements") or []
    starts = [min([e["frame"]] + [s["frame"] for s in e["shapes"]]) for e in elements]
    if starts:
        frame = min([frame] + starts)
    if parent and parent[0]["frame"] > frame:
        parent[0] = dict(parent[0], frame=frame)
    out = []
    for e in elements:
        shapes = sorted(e["shapes"], key=_frame)
        if shapes and shapes[0]["frame"] > frame:
            shapes.insert(0, dict(copy.deepcopy(shapes[0]), frame=frame, outside=True, id=new_id()))
        if shapes or keep_empty:
            out.append(dict(e, frame=frame, shapes=shapes))
    return dict(track, frame=frame, shapes=parent, elements=out)


def _store(track):
    if "elements" in track:
        track = dict(track, elements=[
            ann._sorted(dict(e, shapes=[ann._sorted(s) for s in e["shapes"]]))
            for e in track["elements"]])
    track["shapes"] = [ann._sorted(s) for s in track["shapes"]]
    return ann._store(ann._sorted(track))


def _in_payload_order(track, item):
    """Elements back in the order the client sent them (CVAT keeps it)."""
    order = [e.get("label_id") for e in (item.get("elements") or []) if isinstance(e, dict)]
    rank = {lid: i for i, lid in reversed(list(enumerate(order)))}
    return sorted(track.get("elements") or [], key=lambda e: rank.get(e["label_id"], len(order)))


class VideoTracks:
    """The track side of a video task's annotations."""

    def __init__(self, state, task, store):
        self.state, self.task, self.store = state, task, store
        self.jobs = sorted((j for j in state.task_jobs(task) if j.get("parent_job_id") is None),
                           key=lambda j: (j["start_frame"], j["id"]))
        self.keep_empty = state.profile.video_keeps_empty_elements

    def new_shape_id(self):
        return self.state.next_id("tracked_shape")

    def _new_ids(self, track):
        track["id"] = self.state.next_id("track")
        for s in track["shapes"]:
            s["id"] = self.new_shape_id()
        for e in track.get("elements") or []:
            e["id"] = self.state.next_id("track")
            for s in e["shapes"]:
                s["id"] = self.new_shape_id()
        return track

    def _add(self, track, job_id):
        rec = _store(track)
        self.store.tracks.append(rec)
        self.store.track_jobs[rec["id"]] = job_id
        return rec

    def of_job(self, job):
        return [t for t in self.store.tracks if self.store.track_jobs.get(t["id"]) == job["id"]]

    def clear(self, job=None):
        keep = [] if job is None else [
            t for t in self.store.tracks if self.store.track_jobs.get(t["id"]) != job["id"]]
        self.store.tracks = keep
        self.store.track_jobs = {t["id"]: self.store.track_jobs.get(t["id"]) for t in keep}

    def write(self, tracks, payload, job=None):
        """Store normalised tracks: sliced per job for a task-level write,
        as sent for a job-level one. Returns the stored records."""
        items = [t for t in (payload.get("tracks") or []) if isinstance(t, dict)]
        out = []
        for track, item in zip(tracks, items):
            plain = _plain(track)
            if "elements" in plain:
                plain["elements"] = _in_payload_order(plain, item)
            if job is not None or len(self.jobs) == 1:
                target = job or self.jobs[0]
                out.append(self._add(normalize_track(plain, self.new_shape_id, self.keep_empty),
                                     target["id"]))
                continue
            for j in self.jobs:
                piece = slice_track(plain, j["start_frame"], j["stop_frame"], self.new_shape_id)
                if piece is not None:
                    piece = self._new_ids(normalize_track(piece, self.new_shape_id, self.keep_empty))
                    out.append(self._add(piece, j["id"]))
        return out

    def merged(self):
        """The task GET's tracks: CVAT's merge of the jobs' pieces."""
        overlap = self.task["overlap"] or 0
        objects = []
        for job in self.jobs:
            start = job["start_frame"]
            pieces = [_plain(t) for t in self.of_job(job)]
            threshold = start + overlap
            new = [p for p in pieces if p["frame"] >= threshold]
            inter = [p for p in pieces if p["frame"] < threshold]
            old = [o for o in objects if o["shapes"] and (
                o["shapes"][-1]["frame"] >= start or not o["shapes"][-1]["outside"])]
            objects.extend(new)
            if old and inter:
                # the similarity pass interpolates both (marking the parent's
                # shapes as keyframes) and scores skeletons 0: nothing matches
                for o in old:
                    for p in inter:
                        if o["label_id"] == p["label_id"]:
                            for s in o["shapes"] + p["shapes"]:
                                s["keyframe"] = True
            for o in old:
                _close(o, threshold)
            objects.extend(inter)
        return objects


def _close(obj, end_frame):
    last = obj["shapes"][-1]
    if not last["outside"]:
        obj["shapes"].append(dict(copy.deepcopy(last), frame=end_frame, outside=True))
        for e in obj.get("elements") or []:
            if e["shapes"]:
                _close(e, end_frame)



_BAD_ACTION = ["Please specify a correct 'action' for the request"]
_IDS = {"put": "keep", "create": "keep", "update": "keep", "delete": "echo"}


def handle(api, req, task, store, job):
    """A video task's ``/annotations`` request (task-level if ``job`` is
    None), as ``jobs.JobRoutes`` answers image tasks but with tracks kept per
    job: a task-level write is sliced per job, a task GET merges the pieces."""
    from . import annotation_ops as ops
    from .httputil import HttpError
    from .routes import Response, gc_paused

    state, profile = api.state, api.profile
    tracks = VideoTracks(state, task, store)
    start, stop = (0, max(task["size"] - 1, 0)) if job is None else (
        job["start_frame"], job["stop_frame"])

    def answer(tags, shapes, items):
        text = ann.encode(tags, shapes, items, intervals=profile.intervals)
        return Response(200, ann.as_served(text) if profile.scores else text)

    if req.method == "GET":
        tags, shapes, _ = store.in_range(start, stop)
        return answer(tags, shapes, tracks.merged() if job is None else tracks.of_job(job))
    if task["data"] is None and req.method != "DELETE":
        raise HttpError(400, {"detail": "The task has no data; annotations cannot be saved"})
    if req.method == "DELETE":
        kept = list(store.tracks)
        store.clear_range(start, stop)
        store.tracks = kept
        tracks.clear(job)
        return Response(204)
    payload = req.json()
    action = req.query.get("action") if req.method == "PATCH" else "put"
    if action not in _IDS:
        raise HttpError(400, list(_BAD_ACTION))
    strict = profile.strict_ids
    if strict and action in ("put", "create"):
        ops.check_ids(payload, present=False)
    if strict and action == "delete":
        ops.check_ids(payload, present=True)
    labels = state.task_labels(task)
    partial = action in ("update", "delete")
    with gc_paused():
        tags, shapes, _ = ann.normalize(
            state, ann.Context(labels, start, stop, scores=profile.scores, strict=strict),
            dict(payload, tracks=[]) if isinstance(payload, dict) else payload,
            ids=_IDS[action], partial=partial)
        # track keyframes may lie past the job, even past the video (recorded)
        _, _, new_tracks = ann.normalize(
            state, ann.Context(labels, 0, 2**31 - 1, scores=profile.scores, strict=strict),
            {"tracks": payload.get("tracks")}, ids=_IDS[action], partial=partial)
        if action == "put":
            kept = list(store.tracks)
            store.clear_range(start, stop)
            store.tracks = kept
            tracks.clear(job)
        elif action == "delete":
            ops.remove(store, tags, shapes, new_tracks)
            return answer(tags, shapes, new_tracks)
        elif action == "update":
            ops.remove(store, tags, shapes, new_tracks)
        ops.add(store, tags, shapes, [])
        stored = tracks.write(new_tracks, payload, job)
    task["updated_date"] = now()
    if job is None and len(tracks.jobs) > 1 and action == "put":
        # the task-level PUT answers with the sliced result
        return answer(tags, shapes, tracks.merged())
    return answer(tags, shapes, stored)
