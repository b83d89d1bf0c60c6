"""Offline pose pre-annotation: run a pose model over a view, map its nodes
onto the target skeleton, and write ``fo.Keypoints`` to correct in CVAT.

See :func:`pre_annotate`; models in :mod:`.models`, name mapping in
:mod:`.mapping`.
"""
from posekit.preannotate.mapping import build_mapping, template_pairs
from posekit.preannotate.models import (
    FiftyOneModel,
    MediaPipeHands,
    MediaPipePose,
    Prediction,
    load_model,
    mediapipe_available,
    model_names,
    register_model,
    unregister_model,
)
from posekit.preannotate.run import (
    RUN_ATTR,
    new_run_key,
    pre_annotate,
    slice_bounds,
    slice_view,
)

__all__ = [
    "FiftyOneModel", "MediaPipeHands", "MediaPipePose", "Prediction", "RUN_ATTR",
    "build_mapping", "load_model", "mediapipe_available", "model_names",
    "new_run_key", "pre_annotate", "register_model", "slice_bounds", "slice_view",
    "template_pairs", "unregister_model",
]
