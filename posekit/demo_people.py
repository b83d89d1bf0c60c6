"""More demo photos of people, pre-annotated by the offline pose model.

Made from the photos the demo already ships (scikit-image, matplotlib): a
group photo of the three people side by side, with a ``people`` detections
field (one box per person) so pre-annotation runs top-down, one instance
per person; a mirrored astronaut; a closer crop of the cameraman. Their
``ground_truth`` is the demo's hand-placed keypoints, moved along. When the
pose extra (MediaPipe) is installed, they get a ``pre_annotations`` field.
"""
import os

import numpy as np
from PIL import Image

FIELD = "pre_annotations"
GROUP_HEIGHT = 400


def _people(media_dir):
    """(image, hand-placed COCO-17 points in pixels) of the demo's people."""
    from posekit import demo

    out = []
    for spec in demo.SAMPLES:
        if len(spec.people) == 1:
            with Image.open(os.path.join(demo.write_media(media_dir), spec.filename)) as im:
                out.append((im.convert("RGB"), np.asarray(spec.people[0].points, dtype=float)))
    return out


def _box(points, width, height, pad=0.15):
    """A relative box around the labelled points, grown by ``pad``."""
    lo, hi = np.nanmin(points, axis=0), np.nanmax(points, axis=0)
    size = hi - lo
    lo = np.maximum(lo - pad * size, 0)
    hi = np.minimum(hi + pad * size, [width, height])
    return [lo[0] / width, lo[1] / height, (hi - lo)[0] / width, (hi - lo)[1] / height]


def _mirrored(points, width):
    """COCO-17 points of a horizontally flipped photo: x mirrored, and left
    and right nodes swapped."""
    from posekit.templates import get_template

    tpl = get_template("coco17")
    out = points.copy()
    out[:, 0] = width - out[:, 0]
    for a, b in tpl.flip_pairs:
        i, j = tpl.labels.index(a), tpl.labels.index(b)
        out[[i, j]] = out[[j, i]]
    return out


def write_photos(media_dir):
    """Writes the photos; returns ``[(path, person boxes or None, [COCO-17
    points in pixels per person])]``."""
    people = _people(media_dir)
    photos = []

    scaled, offsets, x = [], [], 0
    for im, pts in people:
        s = GROUP_HEIGHT / im.height
        scaled.append((im.resize((round(im.width * s), GROUP_HEIGHT)), pts * s))
        offsets.append(x)
        x += scaled[-1][0].width
    group = Image.new("RGB", (x, GROUP_HEIGHT))
    boxes, truth = [], []
    for (im, pts), dx in zip(scaled, offsets):
        group.paste(im, (dx, 0))
        boxes.append(_box(pts + [dx, 0], x, GROUP_HEIGHT))
        truth.append(pts + [dx, 0])
    photos.append(("group.jpg", group, boxes, truth))

    astronaut, pts = people[0]
    photos.append(("astronaut_mirrored.jpg", astronaut.transpose(Image.FLIP_LEFT_RIGHT), None,
                   [_mirrored(pts, astronaut.width)]))
    camera, pts = people[1]
    lo, hi = np.nanmin(pts, axis=0), np.nanmax(pts, axis=0)  # the person, cropped close
    box = (max(0, int(lo[0]) - 40), max(0, int(lo[1]) - 80),
           min(camera.width, int(hi[0]) + 60), camera.height)
    photos.append(("cameraman_close.jpg", camera.crop(box), None, [pts - box[:2]]))
    out = []
    for filename, im, boxes, truth in photos:
        path = os.path.join(media_dir, filename)
        if not os.path.exists(path):
            im.save(path, quality=92)
        out.append((path, im.size, boxes, truth))
    return out


def add_people_photos(dataset, media_dir=None):
    """Adds the photos to the demo dataset (the hand-placed keypoints moved
    along as ``ground_truth``) and, if
    MediaPipe is installed, pre-annotates them into ``pre_annotations``
    (top-down over ``people`` on the group photo). Returns the new samples'
    view."""
    import fiftyone as fo

    from posekit.preannotate import mediapipe_available, pre_annotate

    if media_dir is None:
        media_dir = os.path.dirname(dataset.first().filepath)
    samples = []
    for path, (w, h), boxes, truth in write_photos(media_dir):
        sample = fo.Sample(filepath=path)
        sample["ground_truth"] = fo.Keypoints(keypoints=[
            fo.Keypoint(label="person", points=(pts / [w, h]).tolist()) for pts in truth])
        if boxes:
            sample["people"] = fo.Detections(detections=[
                fo.Detection(label="person", bounding_box=b) for b in boxes])
        samples.append(sample)
    view = dataset.select(dataset.add_samples(samples, progress=False))
    view.compute_metadata(progress=False)
    if mediapipe_available():
        try:
            pre_annotate(view.exists("people"), FIELD, detections_field="people")
            pre_annotate(view.exists("people", False), FIELD)
        except Exception as e:  # optional: the demo serves without it
            print("posekit demo: pre-annotation skipped (%s: %s)" % (type(e).__name__, e))
    return view
