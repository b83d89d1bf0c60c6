"""Pose QA: COCO-exact keypoint evaluation, error mining, annotation agreement.

The logic here works on plain arrays (:class:`posekit.qa.oks.Poses`) and
knows nothing of the App; :mod:`posekit.qa.dataset` reads and writes FiftyOne
fields.
"""
from posekit.qa.oks import Poses  # noqa: F401
from posekit.qa.cocoeval import evaluate_arrays  # noqa: F401


def evaluate(*args, **kwargs):
    """COCO keypoint evaluation of FiftyOne fields; see
    :func:`posekit.qa.evaluation.evaluate`."""
    from posekit.qa.evaluation import evaluate as _evaluate

    return _evaluate(*args, **kwargs)
