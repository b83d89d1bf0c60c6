"""Task data: ordering uploaded images, reading their size from the file
header (PIL opens lazily, nothing is decoded), segments -> jobs, and the
``data/meta``, frame and chunk answers."""
import io
import os
import random
import re
import zipfile

from PIL import Image

from . import video
from .state import now

DEFAULT_CHUNK_SIZE = 72


class MediaError(Exception):
    """Data processing failed (the request ends as 'failed')."""


def _natural_key(name):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def order_files(files, params):
    """Files (name, bytes) in the frame order ``sorting_method`` asks for."""
    method = params.get("sorting_method", "lexicographical")
    if method == "predefined":
        order = params.get("upload_file_order") or []
        if order:
            position = {name: i for i, name in enumerate(order)}
            if set(position) != {n for n, _ in files}:
                raise MediaError("upload_file_order does not match the uploaded files")
            return sorted(files, key=lambda f: position[f[0]])
        return list(files)
    if method == "natural":
        return sorted(files, key=lambda f: _natural_key(f[0]))
    if method == "random":
        files = list(files)
        random.Random(len(files)).shuffle(files)
        return files
    return sorted(files, key=lambda f: f[0])


def read_frames(files):
    """Frame dicts (name, width, height, bytes, mime) from the image headers."""
    frames = []
    for name, data in files:
        try:
            with Image.open(io.BytesIO(data)) as im:
                width, height = im.size
                fmt = (im.format or "jpeg").lower()
        except Exception:
            raise MediaError(f"Unsupported media file: '{name}'") from None
        frames.append({"name": name, "width": width, "height": height,
                       "data": data, "mime": Image.MIME.get(fmt.upper(), "image/" + fmt)})
    return frames


def attach_data(state, task, files, params):
    """Process an upload into frames and jobs (raises MediaError)."""
    if not files:
        raise MediaError("No media data found")
    stamp = now()
    task.update(chunks_updated_date=stamp, updated_date=stamp)
    if any(video.is_video_name(name) for name, _ in files):
        try:
            video.attach_video(state, task, files, params,
                               lambda start, stop: _new_job(state, task, start, stop, stamp))
        except video.VideoError as e:
            raise MediaError(str(e)) from None
        return
    frames = read_frames(order_files(files, params))
    size = len(frames)
    seg = task["segment_size"] or size
    stamp = now()
    task.update(
        data=task["id"], size=size, mode="annotation", overlap=0,
        segment_size=seg, image_quality=int(params.get("image_quality", 70)),
        chunk_size=int(params.get("chunk_size") or DEFAULT_CHUNK_SIZE),
        frame_filter=str(params.get("frame_filter", "")),
        chunks_updated_date=stamp, updated_date=stamp,
    )
    state.frames[task["id"]] = frames
    for start in range(0, size, seg):
        _new_job(state, task, start, min(start + seg, size) - 1, stamp)
    if task.get("consensus_replicas"):
        state.add_replica_jobs(task, task["consensus_replicas"])


def _new_job(state, task, start, stop, stamp):
    jid = state.next_id("job")
    state.jobs[jid] = {
        "id": jid, "task_id": task["id"], "start_frame": start,
        "stop_frame": stop, "assignee_id": None,
        "assignee_updated_date": None, "stage": "annotation",
        "state": "new", "created_date": stamp, "updated_date": stamp,
    }
    task["job_ids"].append(jid)


def data_meta(task, frames, start=None, stop=None):
    """The body of GET /api/tasks/{id}/data/meta (or a job's, with a range)."""
    start = 0 if start is None else start
    stop = len(frames) - 1 if stop is None else stop
    if video.is_video_task(task):
        return video.data_meta(task, frames, start, stop)
    return {
        "chunk_size": task["chunk_size"],
        "chunks_updated_date": task["chunks_updated_date"],
        "deleted_frames": [],
        "frame_filter": task["frame_filter"],
        "frames": [
            {"has_related_context": False, "height": f["height"],
             "name": f["name"], "related_files": 0, "width": f["width"]}
            for f in frames[start:stop + 1]
        ],
        "image_quality": task["image_quality"],
        "included_frames": None,
        "size": stop - start + 1 if frames else 0,
        "start_frame": start,
        "stop_frame": stop,
    }


def chunk_zip(frames, number, chunk_size):
    """A zip of the chunk's original images, named by frame index."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for i in range(number * chunk_size, min((number + 1) * chunk_size, len(frames))):
            ext = os.path.splitext(frames[i]["name"])[1] or ".jpg"
            zf.writestr("%06d%s" % (i, ext), frames[i]["data"])
    return buf.getvalue()
