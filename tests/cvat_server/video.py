"""Video tasks in the emulator: a video upload, its frame meta and chunks,
jobs with ``segment_size`` and ``overlap``, and skeleton tracks stored and
served the way the recordings of real CVAT show
(``tests/recordings/README-tracks.md``):

- a task-level PUT slices every track per job (the keyframes inside the job,
  an interpolated shape on the job's first frame, an element shape on its
  last frame when a later keyframe exists, leading outside shapes dropped);
- every write normalises skeleton tracks as CVAT does at save time (element
  frames forced to the parent's, outside copies of an element's first shape,
  the parent moved back to an earlier element);
- a job GET serves the job's pieces; the task GET merges the jobs in start
  order as CVAT's ``TrackManager.merge`` does, whose similarity is 0 for
  skeletons, so each piece stays a track of its own, closed with an outside
  copy of its last shape at ``next job start + overlap``.

Where 2.23.1 and 2.73.0 differ, the profile decides (``profiles.py``: empty
element sub-tracks kept or dropped, a one-job task's overlap). 2.23.1 merges
jobs in database order, which the recordings show varying; this merges by
start, as 2.73.0 does.
"""
import atexit
import copy
import io
import os
import shutil
import tempfile
import zipfile

import cv2
import numpy as np

from . import annotations as ann

VIDEO_EXTENSIONS = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"}
DEFAULT_CHUNK_SIZE = 36  # what both recorded servers chose for a 320x240 video
DEFAULT_OVERLAP = 5
_TMP = tempfile.mkdtemp(prefix="cvat-emulator-video-")
atexit.register(shutil.rmtree, _TMP, True)


class VideoError(Exception):
    """The upload is not a readable video."""


def is_video_name(name):
    return os.path.splitext(name)[1].lower() in VIDEO_EXTENSIONS


def is_video_task(task):
    return task.get("video") is not None


class VideoFrames:
    """The frames of an uploaded video, decoded on demand (JPEG)."""

    def __init__(self, name, data):
        self.name = name
        self.path = os.path.join(_TMP, "%d_%s" % (id(self), os.path.basename(name)))
        with open(self.path, "wb") as f:
            f.write(data)
        cap = cv2.VideoCapture(self.path)
        try:
            count = 0
            while cap.grab():
                count += 1
            self.width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
            self.height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
            self.fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
        finally:
            cap.release()
        if not count or not self.width:
            raise VideoError(f"Unsupported media file: '{name}'")
        self.offset, self.count = 0, count
        self._cache = {}

    def restrict(self, start, stop):
        """Only frames ``start..stop`` of the file (the data's ``start_frame``
        and ``stop_frame``), renumbered from 0 as CVAT numbers task frames."""
        stop = min(stop, self.offset + self.count - 1)
        if not 0 <= start <= stop:
            raise VideoError("Invalid frame range %d-%d" % (start, stop))
        self.offset, self.count = start, stop - start + 1

    def __len__(self):
        return self.count

    def image(self, number):
        """Frame ``number`` as a BGR array."""
        cap = cv2.VideoCapture(self.path)
        try:
            cap.set(cv2.CAP_PROP_POS_FRAMES, self.offset + number)
            ok, img = cap.read()
        finally:
            cap.release()
        if not ok:
            raise VideoError("Frame %d cannot be decoded" % number)
        return img

    def __getitem__(self, number):
        if isinstance(number, slice):
            return [self[i] for i in range(*number.indices(self.count))]
        if not 0 <= number < self.count:
            raise IndexError(number)
        if number not in self._cache:
            ok, buf = cv2.imencode(".jpg", self.image(number))
            self._cache[number] = buf.tobytes()
        return {"name": self.name, "width": self.width, "height": self.height,
                "data": self._cache[number], "mime": "image/jpeg"}

    def chunk(self, number, chunk_size):
        """Chunk ``number`` as an MP4 of its frames (CVAT's "video" chunks)."""
        start = number * chunk_size
        stop = min(start + chunk_size, self.count)
        path = os.path.join(_TMP, "chunk_%d_%d.mp4" % (id(self), number))
        out = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), self.fps,
                              (self.width, self.height))
        cap = cv2.VideoCapture(self.path)
        try:
            cap.set(cv2.CAP_PROP_POS_FRAMES, self.offset + start)
            for _ in range(start, stop):
                ok, img = cap.read()
                if not ok:
                    break
                out.write(img)
        finally:
            cap.release()
            out.release()
        with open(path, "rb") as f:
            data = f.read()
        os.remove(path)
        return data


def segments(size, segment_size, overlap):
    """``[(start, stop)]`` of the jobs CVAT makes for a video of ``size``
    frames (recorded: 30 frames, segment 10, overlap 5 -> 0-9, 5-14, 10-19,
    15-24, 20-29; overlap 0 -> 0-9, 10-19, 20-29)."""
    if not segment_size or segment_size > size:
        return [(0, size - 1)]
    step = segment_size - overlap
    return [(start, min(start + segment_size, size) - 1)
            for start in range(0, max(size - overlap, 1), step)]


def attach_video(state, task, files, params, new_job):
    """Process a one-video upload: frames, task fields and jobs."""
    if len(files) != 1:
        raise VideoError("Only one video file can be uploaded per task")
    name, data = files[0]
    frames = VideoFrames(name, data)
    if "start_frame" in params or "stop_frame" in params:
        try:
            frames.restrict(int(params.get("start_frame", 0)),
                            int(params.get("stop_frame", len(frames) - 1)))
        except ValueError:
            raise VideoError("start_frame and stop_frame must be integers") from None
    size = len(frames)
    seg = task["segment_size"] or size
    overlap = task["overlap"]
    if overlap is None:
        overlap = DEFAULT_OVERLAP
    overlap = min(overlap, seg // 2)
    if seg >= size and not state.profile.single_job_overlap:
        overlap = 0
    task.update(
        data=task["id"], size=size, mode="interpolation", overlap=overlap,
        segment_size=seg, image_quality=int(params.get("image_quality", 70)),
        chunk_size=int(params.get("chunk_size") or DEFAULT_CHUNK_SIZE),
        frame_filter=str(params.get("frame_filter", "")), video=name,
        chunk_type="video",
    )
    state.frames[task["id"]] = frames
    for start, stop in segments(size, seg if seg < size else 0, overlap):
        new_job(start, stop)


def data_meta(task, frames, start, stop):
    """A video's ``data/meta``: one ``frames`` entry, the video."""
    return {
        "chunk_size": task["chunk_size"],
        "chunks_updated_date": task["chunks_updated_date"],
        "deleted_frames": [],
        "frame_filter": task["frame_filter"],
        "frames": [{"has_related_context": False, "height": frames.height,
                    "name": frames.name, "related_files": 0, "width": frames.width}],
        "image_quality": task["image_quality"],
        "included_frames": None,
        "size": stop - start + 1,
        "start_frame": start,
        "stop_frame": stop,
    }


def chunk_zip(frames, number, chunk_size):
    """Original-quality chunk as a zip of JPEG frames."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for i in range(number * chunk_size, min((number + 1) * chunk_size, len(frames))):
            zf.writestr("%06d.jpg" % i, frames[i]["data"])
    return buf.getvalue()
