"""Pose models for pre-annotation, behind one small protocol.

A model has ``labels`` (its node names, in output order), ``single_person``
(True when it finds at most one person per image, as MediaPipe's legacy pose
does), a default instance ``label``, and ``predict(image)``: an RGB ``uint8``
``(H, W, 3)`` array in, a list of :class:`Prediction` out (pixel coordinates
of that array). ``close()`` frees it.

Built in: MediaPipe 0.10.21's pose (33 nodes) and hands (21 nodes), whose
weights ship inside the wheel (no network), and :class:`FiftyOneModel`, an
adapter for any ``fiftyone.core.models.Model`` that outputs ``fo.Keypoints``.
Other code can add models by name with :func:`register_model`.
"""
import numpy as np


class Prediction:
    """One instance: ``points`` ``(N, 2)`` pixels (NaN = none), per-node
    ``confidence`` ``(N,)`` (NaN = unknown), an instance ``score`` and
    optional ``label`` / ``attributes``."""

    def __init__(self, points, confidence=None, score=None, label=None, attributes=None):
        self.points = np.asarray(points, dtype=float).reshape(-1, 2)
        n = len(self.points)
        self.confidence = (
            np.full(n, np.nan) if confidence is None
            else np.asarray(confidence, dtype=float).reshape(n)
        )
        if score is None:
            known = self.confidence[~np.isnan(self.confidence)]
            score = float(known.mean()) if len(known) else 1.0
        self.score = float(score)
        self.label = label
        self.attributes = dict(attributes or {})


def _template_labels(template_id):
    from posekit.templates import get_template

    return get_template(template_id).labels


def _require_mediapipe():
    try:
        import mediapipe as mp
    except ImportError as e:
        raise RuntimeError(
            "MediaPipe is not installed: install posekit's pose extra "
            "(pip install -r requirements-pose.txt, or scripts/setup.sh --pose)"
        ) from e
    if not hasattr(mp, "solutions"):
        raise RuntimeError(
            "This MediaPipe (%s) has no legacy 'solutions' API; posekit needs "
            "mediapipe==0.10.21" % getattr(mp, "__version__", "?")
        )
    return mp


def mediapipe_available():
    """True if MediaPipe's legacy pose API can be imported."""
    try:
        _require_mediapipe()
        return True
    except RuntimeError:
        return False


class MediaPipePose:
    """MediaPipe's pose landmarker (legacy API, single person, 33 nodes).
    Per-node confidence is MediaPipe's landmark ``visibility``."""

    single_person = True
    label = "person"

    def __init__(self, model_complexity=1, min_detection_confidence=0.5):
        self.labels = _template_labels("mediapipe33")
        self.options = dict(
            static_image_mode=True,
            model_complexity=model_complexity,
            min_detection_confidence=min_detection_confidence,
        )
        self.solution = None

    def predict(self, image):
        if self.solution is None:
            self.solution = _require_mediapipe().solutions.pose.Pose(**self.options)
        h, w = image.shape[:2]
        result = self.solution.process(np.ascontiguousarray(image))
        if result.pose_landmarks is None:
            return []
        lms = result.pose_landmarks.landmark
        pts = np.array([(lm.x * w, lm.y * h) for lm in lms])
        conf = np.array([lm.visibility for lm in lms])
        return [Prediction(pts, conf, label=self.label)]

    def close(self):
        if self.solution is not None:
            self.solution.close()
            self.solution = None


class MediaPipeHands:
    """MediaPipe's hand landmarker (legacy API, up to ``max_num_hands`` hands,
    21 nodes in hand21 order). MediaPipe gives no per-node confidence: every
    node gets the hand's score. Handedness is reported for an unmirrored photo
    (MediaPipe assumes a selfie image; posekit swaps it back)."""

    single_person = False
    label = "hand"

    def __init__(self, max_num_hands=2, model_complexity=1, min_detection_confidence=0.5):
        self.labels = _template_labels("hand21")
        self.options = dict(
            static_image_mode=True,
            max_num_hands=max_num_hands,
            model_complexity=model_complexity,
            min_detection_confidence=min_detection_confidence,
        )
        self.solution = None

    def predict(self, image):
        if self.solution is None:
            self.solution = _require_mediapipe().solutions.hands.Hands(**self.options)
        h, w = image.shape[:2]
        result = self.solution.process(np.ascontiguousarray(image))
        out = []
        for lms, handed in zip(result.multi_hand_landmarks or (), result.multi_handedness or ()):
            cls = handed.classification[0]
            pts = np.array([(lm.x * w, lm.y * h) for lm in lms.landmark])
            side = {"Left": "right", "Right": "left"}.get(cls.label, cls.label)
            out.append(Prediction(pts, np.full(len(pts), cls.score), score=cls.score,
                                  label=self.label, attributes={"handedness": side}))
        return out

    def close(self):
        if self.solution is not None:
            self.solution.close()
            self.solution = None


class FiftyOneModel:
    """Any ``fiftyone.core.models.Model`` whose ``predict(image)`` returns
    ``fo.Keypoints`` (relative coordinates), e.g. a zoo keypoint model.

    Args:
        model: the FiftyOne model
        labels: the model's node names in output order (a list or a template
            id); default: ``model.skeleton.labels`` if it has one, else COCO-17
        single_person (False): whether to keep only its best instance per crop
    """

    label = "person"

    def __init__(self, model, labels=None, single_person=False):
        if isinstance(labels, str):
            labels = _template_labels(labels)
        if labels is None:
            skeleton = getattr(model, "skeleton", None)
            labels = list(skeleton.labels) if getattr(skeleton, "labels", None) else None
        self.labels = list(labels or _template_labels("coco17"))
        self.single_person = single_person
        self.model = model
        self.entered = False

    def predict(self, image):
        if not self.entered and hasattr(self.model, "__enter__"):
            self.model.__enter__()
            self.entered = True
        h, w = image.shape[:2]
        label = self.model.predict(image)
        keypoints = getattr(label, "keypoints", None)
        if keypoints is None:
            keypoints = [label] if label is not None else []
        out = []
        for kp in keypoints:
            pts = np.asarray(kp.points or [], dtype=float).reshape(-1, 2)
            if len(pts) != len(self.labels):
                raise ValueError(
                    "The model returned %d keypoints per instance but declares "
                    "%d labels (%s...)" % (len(pts), len(self.labels), self.labels[0])
                )
            pts = pts * [w, h]
            conf = kp.confidence if kp.confidence is not None else None
            out.append(Prediction(pts, conf, label=kp.label or self.label))
        return out

    def close(self):
        if self.entered:
            self.model.__exit__(None, None, None)
            self.entered = False


_REGISTRY = {
    "mediapipe_pose": (MediaPipePose, "MediaPipe pose (33 nodes, single person, offline)"),
    "mediapipe_hands": (MediaPipeHands, "MediaPipe hands (21 nodes, offline)"),
}


def register_model(name, factory, description=None):
    """Makes ``factory()`` (returning a model) available by ``name`` to
    :func:`load_model` and the ``pre_annotate`` operator."""
    _REGISTRY[name] = (factory, description or name)


def unregister_model(name):
    """Removes a model added with :func:`register_model`."""
    if name in ("mediapipe_pose", "mediapipe_hands"):
        raise ValueError("The built-in models cannot be removed")
    _REGISTRY.pop(name, None)


def model_names():
    """``{name: description}`` of the models :func:`load_model` knows."""
    return {name: desc for name, (_, desc) in _REGISTRY.items()}


def load_model(model, labels=None):
    """A model for :func:`posekit.preannotate.pre_annotate`: a registered name,
    a FiftyOne ``Model`` (wrapped in :class:`FiftyOneModel`), or anything
    with ``labels`` and ``predict`` (returned as is)."""
    if isinstance(model, str):
        if model not in _REGISTRY:
            raise ValueError(
                "Unknown model %r; known: %s" % (model, ", ".join(_REGISTRY))
            )
        return _REGISTRY[model][0]()
    try:
        from fiftyone.core.models import Model
    except ImportError:  # pragma: no cover - FiftyOne is a dependency
        Model = ()
    if isinstance(model, Model):
        return FiftyOneModel(model, labels=labels)
    if hasattr(model, "predict") and hasattr(model, "labels"):
        return model
    raise TypeError("Not a pose model: %r" % (model,))
