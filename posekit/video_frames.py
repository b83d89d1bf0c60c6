"""One frame of a video sample for the preview: the frame's keypoints (a
``frames.<field>`` value, read raw from the database, that frame only) and
the frame's picture (decoded with OpenCV into a small cached JPEG)."""
import hashlib
import os
import tempfile

from posekit import fo_compat
from posekit.preview import SampleRecord

FRAMES = "frames."
_CACHE_DIR = os.path.join(tempfile.gettempdir(), "posekit-video-frames")
_CACHE_MAX = 256


def is_frame_field(field):
    return isinstance(field, str) and field.startswith(FRAMES)


def frame_fields(dataset):
    """``frames.<name>`` for the video dataset's frame keypoints fields."""
    import fiftyone as fo

    names = []
    for cls in (fo.Keypoints, fo.Keypoint):
        names += list(dataset.get_frame_field_schema(embedded_doc_type=cls) or {})
    return sorted(FRAMES + n for n in set(names))


def fetch_frame(collection, field, sample_id=None, index=0, frame_number=1):
    """``(SampleRecord, frame_count)`` of frame ``frame_number`` (clamped to
    the video) of one video sample, by id or position; ``(None, 0)`` if none.
    The record's ``filepath`` is a JPEG of that frame, ``None`` if unreadable."""
    from fiftyone import ViewField as F

    if sample_id is not None:
        view = collection.select(sample_id)
    else:
        view = collection.skip(max(int(index), 0)).limit(1)
    ids, paths, metas = fo_compat.raw_values(view, ["_id", "filepath", "metadata"])
    if not ids:
        return None, 0
    meta = metas[0] or {}
    count = meta.get("total_frame_count") or 0
    if not count:
        numbers = view.values("frames.frame_number")[0] or [1]
        count = max(numbers)
    frame_number = min(max(int(frame_number or 1), 1), count)
    value = None
    if field:
        frames = view.match_frames(F("frame_number") == frame_number, omit_empty=False)
        (values,) = fo_compat.raw_values(frames, field)
        value = values[0] if values else None
    image = frame_image(paths[0], frame_number)
    return SampleRecord(
        id=str(ids[0]), filepath=image or "", value=value,
        width=meta.get("frame_width"), height=meta.get("frame_height"),
    ), count


def frame_image(path, frame_number):
    """A JPEG file of frame ``frame_number`` (1-based) of the video at
    ``path``, cached by path, modification time and frame; None if the
    frame cannot be decoded."""
    import cv2

    try:
        stamp = os.stat(path).st_mtime_ns
    except OSError:
        return None
    key = hashlib.sha1(("%s|%d|%d" % (path, stamp, frame_number)).encode()).hexdigest()
    out = os.path.join(_CACHE_DIR, key + ".jpg")
    if os.path.exists(out):
        return out
    cap = cv2.VideoCapture(path)
    try:
        cap.set(cv2.CAP_PROP_POS_FRAMES, frame_number - 1)
        ok, img = cap.read()
    finally:
        cap.release()
    if not ok:
        return None
    os.makedirs(_CACHE_DIR, exist_ok=True)
    _trim()
    tmp = out + ".%d.tmp.jpg" % os.getpid()
    cv2.imwrite(tmp, img)
    os.replace(tmp, out)
    return out


def _trim():
    try:
        files = sorted(
            (os.path.join(_CACHE_DIR, f) for f in os.listdir(_CACHE_DIR)),
            key=os.path.getmtime,
        )
    except OSError:
        return
    for f in files[: max(0, len(files) - _CACHE_MAX + 1)]:
        try:
            os.remove(f)
        except OSError:
            pass
