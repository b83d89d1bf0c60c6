"""Run a pose model over a view and write a keypoints field.

The field is written in the *target skeleton's* node order: each model node
is mapped onto the skeleton by name (:mod:`posekit.preannotate.mapping`);
nodes the model lacks, or finds with a confidence below ``threshold``, are
NaN, as are nodes guessed outside the image; every keypoint carries its
per-node ``confidence``.

With ``detections_field`` the run is top-down: each person box is cropped
(with a margin), the model runs on the crop, and the points are mapped back
to full-image coordinates (one instance per box, linked by ``detection_id``).

Large views split into disjoint slices by sample id (:func:`slice_bounds`,
:func:`slice_view`), one per worker. Each written ``fo.Keypoints`` records its
run key (attribute ``pre_annotation_run``); a rerun with the same key skips
what is already written, so a failed slice can be rerun alone and no sample
is processed twice. Each ``fo.Keypoint`` carries the run key too: the CVAT
request sends those as shapes with ``source: "auto"``.
"""
import uuid

import numpy as np

from posekit.preannotate.mapping import build_mapping
from posekit.preannotate.models import load_model

RUN_ATTR = "pre_annotation_run"
DEFAULT_MARGIN = 0.25
DEFAULT_THRESHOLD = 0.3


def new_run_key():
    """A fresh run key."""
    return uuid.uuid4().hex[:12]


def read_image(path):
    """An image file as an RGB ``uint8`` array (EXIF orientation applied),
    or None if it cannot be read."""
    import cv2

    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        return None
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


# -- target skeleton ----------------------------------------------------------


def _labels_of(skeleton):
    from posekit.templates import get_template

    if skeleton is None:
        return None
    if isinstance(skeleton, str):
        return get_template(skeleton).labels
    if hasattr(skeleton, "labels"):
        return list(skeleton.labels)
    return list(skeleton)


def _fo_skeleton(labels):
    import fiftyone as fo

    from posekit.templates import find_template

    tpl = find_template(labels)
    return tpl.to_skeleton() if tpl else fo.KeypointSkeleton(labels=list(labels), edges=[])


def target_labels(dataset, label_field, skeleton=None, model_labels=None):
    """The node names the field is written in: the field's skeleton, else
    the dataset's default, else ``skeleton``, else the model's own nodes.

    Raises ``ValueError`` if ``skeleton`` contradicts the field's skeleton.
    """
    wanted = _labels_of(skeleton)
    own = (dataset.skeletons or {}).get(label_field)
    if own is not None:
        if wanted is not None and list(own.labels) != wanted:
            raise ValueError(
                "Field '%s' already has a skeleton with other nodes (%s); "
                "pick that skeleton or another field" % (label_field, ", ".join(own.labels[:5]))
            )
        return list(own.labels)
    if wanted is not None:
        return wanted
    if dataset.default_skeleton is not None:
        return list(dataset.default_skeleton.labels)
    return list(model_labels or [])


def prepare(dataset, label_field, labels):
    """Declares ``label_field`` as ``fo.Keypoints`` and gives it ``labels``
    as its skeleton when the dataset has none for it, so workers of a split
    run never write the dataset document. Raises ``ValueError`` if the field
    exists with another type."""
    import fiftyone as fo

    schema = dataset.get_field_schema()
    if label_field in schema:
        field = schema[label_field]
        if getattr(field, "document_type", None) is not fo.Keypoints:
            raise ValueError("Field '%s' exists and is not a Keypoints field" % label_field)
    else:
        dataset.add_sample_field(
            label_field, fo.EmbeddedDocumentField, embedded_doc_type=fo.Keypoints
        )
    own = (dataset.skeletons or {}).get(label_field)
    default = dataset.default_skeleton
    if own is None and (default is None or list(default.labels) != list(labels)):
        dataset.skeletons = dict(dataset.skeletons or {}, **{label_field: _fo_skeleton(labels)})
        dataset.save()


# -- slices ---------------------------------------------------------------------


def slice_bounds(samples, k):
    """Splits ``samples`` into ``k`` disjoint id ranges of (nearly) equal
    size: a list of ``[lo, hi]`` id strings (``lo`` inclusive, ``hi``
    exclusive, ``None`` = open). The ranges partition the id space, so they
    stay disjoint even if the view changes afterwards."""
    k = int(k)
    if k < 1:
        raise ValueError("The number of slices must be at least 1")
    ids = sorted(samples.values("id"))
    k = max(1, min(k, len(ids)))
    cuts = [ids[(len(ids) * i) // k] for i in range(1, k)]
    edges = [None] + cuts + [None]
    return [[edges[i], edges[i + 1]] for i in range(k)]


def slice_view(samples, bounds):
    """The samples of ``samples`` whose id is in ``bounds`` (``[lo, hi]``)."""
    from bson import ObjectId
    from fiftyone import ViewField as F

    lo, hi = bounds
    view = samples
    if lo is not None:
        view = view.match(F("_id") >= ObjectId(lo))
    if hi is not None:
        view = view.match(F("_id") < ObjectId(hi))
    return view


# -- one image ------------------------------------------------------------------


def _crop_box(bbox, margin, width, height):
    """A relative ``[x, y, w, h]`` box grown by ``margin`` (a fraction of its
    size on each side), in integer pixels clipped to the image:
    ``(x0, y0, x1, y1)``."""
    x, y, w, h = bbox
    x0 = int(np.floor(max(0.0, (x - margin * w) * width)))
    y0 = int(np.floor(max(0.0, (y - margin * h) * height)))
    x1 = int(np.ceil(min(float(width), (x + w + margin * w) * width)))
    y1 = int(np.ceil(min(float(height), (y + h + margin * h) * height)))
    return x0, y0, x1, y1


def predict_image(model, image, boxes=None, margin=DEFAULT_MARGIN):
    """The model's instances on one image, in full-image pixel coordinates.

    Args:
        model: a pose model
        image: RGB ``(H, W, 3)`` array
        boxes (None): ``fo.Detection`` objects to run top-down on, or None for
            the whole image
        margin: crop margin for top-down

    Returns:
        a list of ``(prediction, detection or None)``
    """
    height, width = image.shape[:2]
    if boxes is None:
        preds = model.predict(image)
        if model.single_person:
            preds = sorted(preds, key=lambda p: -p.score)[:1]
        return [(p, None) for p in preds]
    out = []
    for det in boxes:
        x0, y0, x1, y1 = _crop_box(det.bounding_box, margin, width, height)
        if x1 - x0 < 4 or y1 - y0 < 4:
            continue
        preds = model.predict(np.ascontiguousarray(image[y0:y1, x0:x1]))
        if not preds:
            continue
        best = max(preds, key=lambda p: p.score)
        best.points = best.points + [x0, y0]
        out.append((best, det))
    return out


def to_keypoint(pred, det, mapping, width, height, threshold, default_label, run_key):
    """An ``fo.Keypoint`` in target order (relative coordinates), or None if
    no node survives the mapping and the threshold."""
    import fiftyone as fo

    points, conf = mapping.apply(pred.points, pred.confidence)
    points = points / [width, height]
    points[conf < threshold] = np.nan  # NaN confidences (unknown) stay
    outside = ((points < 0) | (points > 1)).any(axis=1)
    points[outside] = np.nan  # guessed out of frame: nothing to correct in CVAT
    if np.isnan(points).all():
        return None
    kp = fo.Keypoint(
        label=(det.label if det is not None else None) or pred.label or default_label,
        points=points.tolist(),
        confidence=conf.tolist(),
    )
    for name, value in pred.attributes.items():
        kp[name] = value
    if det is not None:
        kp["detection_id"] = det.id
    kp[RUN_ATTR] = run_key  # sent to CVAT with source "auto"
    return kp


# -- a view ---------------------------------------------------------------------


def pre_annotate(
    samples,
    label_field,
    model="mediapipe_pose",
    skeleton=None,
    mapping=None,
    model_labels=None,
    detections_field=None,
    classes=("person",),
    margin=DEFAULT_MARGIN,
    threshold=DEFAULT_THRESHOLD,
    overwrite=True,
    run_key=None,
    bounds=None,
    batch_size=16,
    progress=None,
):
    """Pre-annotates ``samples`` with a pose model into ``label_field``.

    Args:
        samples: a FiftyOne dataset or view
        label_field: the ``fo.Keypoints`` field to write
        model ("mediapipe_pose"): a registered model name, a pose model, or a
            ``fiftyone.core.models.Model`` that outputs ``fo.Keypoints``
        skeleton (None): the target skeleton (template id, skeleton or label
            list); default the field's, else the dataset's default skeleton,
            else the model's own nodes
        mapping (None): ``{model_node: skeleton_node}`` overriding names
        model_labels (None): a FiftyOne model's node names (list or template
            id); default COCO-17
        detections_field (None): a detections field to run top-down on
        classes (("person",)): detection labels to use (None: all)
        margin (0.25): top-down crop margin, a fraction of the box size
        threshold (0.3): nodes with a lower confidence become NaN (MediaPipe
            gives occluded nodes a low visibility; 0.3 keeps its guesses for
            the annotator to correct)
        overwrite (True): replace existing values; False skips samples that
            have one
        run_key (None): the run's key; pass a previous run's key to resume it
        bounds (None): ``[lo, hi]`` sample id range (a slice, see
            :func:`slice_bounds`)
        batch_size (16): samples per bulk write
        progress (None): ``callback(fraction, label)``

    Returns:
        ``{"run_key", "samples", "instances", "unreadable"}``
    """
    import fiftyone as fo
    from fiftyone import ViewField as F

    if isinstance(samples, fo.Dataset):
        dataset = samples
    else:
        dataset = fo.load_dataset(samples.dataset_name)
    pose = load_model(model, labels=model_labels)
    labels = target_labels(dataset, label_field, skeleton, pose.labels)
    node_map = build_mapping(pose.labels, labels, mapping)
    prepare(dataset, label_field, labels)
    run_key = run_key or new_run_key()

    view = samples if bounds is None else slice_view(samples, bounds)
    view = view.match(F(label_field + "." + RUN_ATTR) != run_key)
    if not overwrite:
        view = view.exists(label_field, False)
    value_fields = ["id", "filepath"]
    if detections_field:
        value_fields.append(detections_field + ".detections")
    columns = view.values(value_fields)
    ids, paths = columns[0], columns[1]
    all_dets = columns[2] if detections_field else [None] * len(ids)
    classes = set(classes) if classes else None

    def annotate(path, dets):
        """The sample's ``fo.Keypoints``, or None if its image is unreadable."""
        image = read_image(path)
        if image is None:
            return None
        boxes = None
        if detections_field:
            boxes = [d for d in dets or () if classes is None or d.label in classes]
        height, width = image.shape[:2]
        kps = [to_keypoint(p, d, node_map, width, height, threshold, pose.label, run_key)
               for p, d in predict_image(pose, image, boxes, margin)]
        return fo.Keypoints(keypoints=[k for k in kps if k is not None], **{RUN_ATTR: run_key})

    total, instances, unreadable = len(ids), 0, 0
    try:
        for start in range(0, total, batch_size):
            batch = {}
            try:
                for i in range(start, min(total, start + batch_size)):
                    value = annotate(paths[i], all_dets[i])
                    if value is None:
                        unreadable += 1
                    else:
                        batch[ids[i]] = value
                        instances += len(value.keypoints)
            finally:  # a failure keeps the samples finished before it
                if batch:
                    dataset.set_values(label_field, batch, key_field="id")
            if progress is not None:
                done = min(total, start + batch_size)
                progress(done / total, "Pre-annotated %d of %d samples" % (done, total))
    finally:
        if pose is not model:  # we made it (a name or a FiftyOne model)
            pose.close()
    return {"run_key": run_key, "samples": total - unreadable, "instances": instances,
            "unreadable": unreadable}
