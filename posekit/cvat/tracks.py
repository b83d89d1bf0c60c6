"""CVAT skeleton tracks, frame by frame, exactly as CVAT interpolates them.

Pure numpy: no FiftyOne, no HTTP. The model was checked against CVAT's own
"CVAT for images 1.1" exports recorded on CVAT 2.23.1 and 2.73.0
(``tests/recordings/README-tracks.md``, "Interpolation"):

- every node is interpolated on its own, from its own element keyframes
  (every stored shape is a keyframe): linear between keyframes, the last
  keyframe repeated to the end; ``outside`` / ``occluded`` come from the left
  keyframe, and the coordinates go on moving while a node is outside;
- the skeleton exists from the track's frame on, while the parent's left
  keyframe is not ``outside`` (the parent's outside keyframe ends it, whatever
  its nodes say), and only on frames where at least one node is visible.

A multi-job task stores one piece of each track per job (and, with overlap,
the pieces cover the same frames twice). :func:`stitch` turns the pieces of
all jobs back into one track per object ("Across job boundaries").
"""
import numpy as np

# pieces are the same object if their visible nodes agree to this (pixels)
SAME_POSITION_TOL = 0.5


class Track:
    """One skeleton track, dense over the frames where the skeleton exists.

    Attributes:
        label_id: the CVAT skeleton label id
        frames: ``(F,)`` int, increasing
        points: ``(F, N, 2)`` float, absolute pixels (outside nodes keep their
            interpolated coordinates; nodes without a sub-track are NaN)
        outside: ``(F, N)`` bool
        occluded: ``(F, N)`` bool
        keyframes: ``{frame: parent shape}`` of the parent's keyframes in range
        track_ids: the CVAT ids of the pieces this track was built from
    """

    __slots__ = ("label_id", "frames", "points", "outside", "occluded",
                 "keyframes", "track_ids")

    def __init__(self, label_id, frames, points, outside, occluded,
                 keyframes=None, track_ids=()):
        self.label_id = label_id
        self.frames = frames
        self.points = points
        self.outside = outside
        self.occluded = occluded
        self.keyframes = dict(keyframes or {})
        self.track_ids = list(track_ids)

    def __len__(self):
        return len(self.frames)

    @property
    def first(self):
        return int(self.frames[0])

    @property
    def last(self):
        return int(self.frames[-1])

    def relative_points(self, frame_size):
        """``(F, N, 2)`` relative coordinates with outside nodes as NaN."""
        rel = self.points / np.asarray(frame_size, dtype=float)
        rel[self.outside] = np.nan
        return rel

    def __repr__(self):
        return "Track(label=%s, frames %s..%s, %d nodes, from %s)" % (
            self.label_id, self.frames[0] if len(self) else None,
            self.frames[-1] if len(self) else None, self.points.shape[1],
            self.track_ids)


def _keyframe_table(shapes):
    """Sorted ``(frames, xy, outside, occluded)`` of a shape list; of two
    shapes on one frame the later one wins."""
    by_frame = {}
    for s in shapes:
        by_frame[int(s["frame"])] = s
    frames = np.array(sorted(by_frame), dtype=np.int64)
    ordered = [by_frame[f] for f in frames]
    xy = np.array(
        [(list(s.get("points") or ()) + [np.nan, np.nan])[:2] for s in ordered],
        dtype=float,
    ).reshape(-1, 2)
    outside = np.array([bool(s.get("outside")) for s in ordered], dtype=bool)
    occluded = np.array([bool(s.get("occluded")) for s in ordered], dtype=bool)
    return frames, xy, outside, occluded


def _interpolate_node(shapes, frames):
    """A node's ``(xy, outside, occluded)`` on ``frames`` from its keyframes."""
    n = len(frames)
    xy = np.full((n, 2), np.nan)
    outside = np.ones(n, dtype=bool)
    occluded = np.zeros(n, dtype=bool)
    if not shapes:
        return xy, outside, occluded
    kf, kxy, kout, kocc = _keyframe_table(shapes)
    left = np.searchsorted(kf, frames, side="right") - 1
    before = left < 0
    li = np.clip(left, 0, len(kf) - 1)
    ri = np.minimum(li + 1, len(kf) - 1)
    span = (kf[ri] - kf[li]).astype(float)
    t = np.where(span > 0, (frames - kf[li]) / np.where(span > 0, span, 1.0), 0.0)
    xy = kxy[li] + (kxy[ri] - kxy[li]) * t[:, None]
    outside = kout[li].copy()
    occluded = kocc[li].copy()
    # before its first keyframe a node is not there (CVAT inserts an outside
    # copy of the first shape at the track frame, so this is rare)
    xy[before] = kxy[0]
    outside[before] = True
    occluded[before] = False
    return xy, outside, occluded


def interpolate(track, node_ids, start=None, stop=None):
    """The per-frame states of one CVAT skeleton track (JSON dict).

    Args:
        track: a skeleton track as CVAT serves it (``frame``, ``shapes``,
            ``elements``)
        node_ids: the skeleton's sublabel ids in node order
        start (None), stop (None): the frame range to cover, e.g. the job's
            ``start_frame`` / ``stop_frame``; by default from the track's frame
            to its last keyframe

    Returns:
        a :class:`Track`, possibly with no frames
    """
    parent = track.get("shapes") or []
    elements = {}
    for e in track.get("elements") or []:
        elements.setdefault(e.get("label_id"), []).extend(e.get("shapes") or [])
    first = int(track.get("frame", 0))
    if parent:
        first = min(first, min(int(s["frame"]) for s in parent))
    if stop is None:
        stop = max(
            [int(s["frame"]) for s in parent]
            + [int(s["frame"]) for shapes in elements.values() for s in shapes]
            + [first]
        )
    lo = first if start is None else max(first, int(start))
    frames = np.arange(lo, int(stop) + 1, dtype=np.int64)

    n = len(node_ids)
    points = np.full((len(frames), n, 2), np.nan)
    outside = np.ones((len(frames), n), dtype=bool)
    occluded = np.zeros((len(frames), n), dtype=bool)
    for i, sid in enumerate(node_ids):
        points[:, i], outside[:, i], occluded[:, i] = _interpolate_node(
            elements.get(sid), frames
        )

    if parent:
        pf, _, pout, _ = _keyframe_table(parent)
        left = np.searchsorted(pf, frames, side="right") - 1
        present = np.where(left >= 0, ~pout[np.clip(left, 0, None)], frames >= first)
    else:
        present = np.ones(len(frames), dtype=bool)
    present &= ~outside.all(axis=1)

    keyframes = {
        int(s["frame"]): s for s in parent
        if lo <= int(s["frame"]) <= int(stop) and not s.get("outside")
    }
    return Track(
        track.get("label_id"), frames[present], points[present],
        outside[present], occluded[present], keyframes,
        [track.get("id")],
    )


def job_tracks(body, node_orders, start=None, stop=None):
    """All skeleton tracks of one job's annotations (``GET /api/jobs/{id}/
    annotations``) as :class:`Track` s over the job's ``[start, stop]``.

    ``node_orders`` maps each skeleton label id to its sublabel ids in node
    order; tracks of other labels are skipped.
    """
    out = []
    for t in body.get("tracks") or []:
        order = node_orders.get(t.get("label_id"))
        if order is None:
            continue
        track = interpolate(t, order, start, stop)
        if len(track):
            out.append(track)
    return out


# -- stitching -----------------------------------------------------------------


def _common(a, b):
    common, ia, ib = np.intersect1d(a.frames, b.frames, return_indices=True)
    return common, ia, ib


def _overlap_cost(a, b):
    """Mean distance of the visible nodes on the frames both cover, or None
    if the two are not the same object there (a node visible in one and
    outside in the other, or further apart than ``SAME_POSITION_TOL``)."""
    common, ia, ib = _common(a, b)
    if not len(common):
        return None
    if not np.array_equal(a.outside[ia], b.outside[ib]):
        return None
    vis = ~a.outside[ia]
    if not vis.any():
        return None
    d = np.linalg.norm(a.points[ia] - b.points[ib], axis=2)[vis]
    if not np.all(d <= SAME_POSITION_TOL):
        return None
    return float(d.mean())


def _continuation_cost(a, b, max_gap):
    """How well ``b`` (starting right after ``a`` ends) continues ``a``:
    distance between ``a`` extrapolated to ``b``'s first frame and ``b``'s
    first pose, over the nodes visible in both; None if they do not touch."""
    gap = b.first - a.last
    if gap < 1 or gap > max_gap:
        return None
    last_xy, last_vis = a.points[-1], ~a.outside[-1]
    if len(a) > 1 and a.frames[-2] == a.last - 1:
        step = a.points[-1] - a.points[-2]
        step = np.where(last_vis[:, None] & ~a.outside[-2][:, None], step, 0.0)
    else:
        step = np.zeros_like(last_xy)
    predicted = last_xy + gap * np.nan_to_num(step)
    vis = last_vis & ~b.outside[0]
    if not vis.any():
        return None
    return float(np.linalg.norm(predicted[vis] - b.points[0][vis], axis=1).mean())


def _merge(a, b):
    """``a`` and ``b`` as one track; where both cover a frame, ``a`` wins."""
    frames = np.union1d(a.frames, b.frames)
    n = a.points.shape[1]
    points = np.full((len(frames), n, 2), np.nan)
    outside = np.ones((len(frames), n), dtype=bool)
    occluded = np.zeros((len(frames), n), dtype=bool)
    for t in (b, a):
        idx = np.searchsorted(frames, t.frames)
        points[idx], outside[idx], occluded[idx] = t.points, t.outside, t.occluded
    keyframes = dict(b.keyframes)
    keyframes.update(a.keyframes)
    return Track(a.label_id, frames, points, outside, occluded, keyframes,
                 a.track_ids + b.track_ids)


def _greedy(pairs):
    """Pairs ``(cost, i, j)`` chosen cheapest first, each i and j once."""
    used_i, used_j, chosen = set(), set(), []
    for cost, i, j in sorted(pairs):
        if i in used_i or j in used_j:
            continue
        used_i.add(i)
        used_j.add(j)
        chosen.append((i, j))
    return chosen


def stitch(jobs, max_gap=1):
    """One track per object from the pieces of all jobs of a task.

    Args:
        jobs: ``[(start_frame, stop_frame, [Track])]``, one entry per job
        max_gap (1): the largest frame gap between a piece ending at a job's
            stop and one starting on the next job's first frame that still
            joins them (1: consecutive frames)

    Pieces are joined where they are the same object: same label, and either
    they cover common frames and agree there (overlapping jobs, duplicates
    such as those a task-level round trip makes), or one ends on a job's last
    frame and the other starts on the next job's first frame and continues it
    (the closest continuation wins). Returns the tracks by first frame.
    """
    jobs = sorted(jobs, key=lambda j: (j[0], j[1]))
    merged = []  # stitched so far
    for start, stop, pieces in jobs:
        pieces = list(pieces)
        # duplicates inside one job (e.g. after a round trip of the task GET)
        pieces = _absorb(pieces, pieces)
        # same object as a track already seen, on common frames
        pairs = [
            (c, i, j)
            for i, t in enumerate(merged) for j, p in enumerate(pieces)
            if t.label_id == p.label_id
            for c in [_overlap_cost(t, p)] if c is not None
        ]
        taken = set()
        for i, j in _greedy(pairs):
            merged[i] = _merge(merged[i], pieces[j])
            taken.add(j)
        rest = [p for j, p in enumerate(pieces) if j not in taken]
        # pieces CVAT cut at this job's first frame
        pairs = [
            (c, i, j)
            for i, t in enumerate(merged) for j, p in enumerate(rest)
            if t.label_id == p.label_id and p.first == start and t.last < start
            for c in [_continuation_cost(t, p, max_gap)] if c is not None
        ]
        taken = set()
        for i, j in _greedy(pairs):
            merged[i] = _merge(merged[i], rest[j])
            taken.add(j)
        merged.extend(p for j, p in enumerate(rest) if j not in taken)
    return sorted(merged, key=lambda t: (t.first, t.track_ids[0] or 0))


def _absorb(pieces, _):
    """Merges pieces of one job that duplicate each other."""
    out = []
    for p in pieces:
        for k, t in enumerate(out):
            if t.label_id == p.label_id and _overlap_cost(t, p) is not None:
                out[k] = _merge(t, p)
                break
        else:
            out.append(p)
    return out


def stitch_task_pieces(body, node_orders, job_ranges):
    """Tracks from a task-level GET (``/api/tasks/{id}/annotations``), where
    CVAT lists each job's piece as a track of its own, closed by an outside
    shape where the next job takes over: each piece goes to the job it starts
    in, then :func:`stitch` joins them."""
    ranges = sorted(job_ranges)
    jobs = {r: [] for r in ranges}
    # a piece runs until its closing outside shape, else to the video's end
    for piece in job_tracks(body, node_orders, stop=ranges[-1][1]):
        starts = [r for r in ranges if r[0] <= piece.first]
        jobs[starts[-1] if starts else ranges[0]].append(piece)
    return stitch([(a, b, pieces) for (a, b), pieces in jobs.items()])
