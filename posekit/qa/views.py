"""Views of a pose evaluation's suspects: the worst OKS first, or the samples
whose predictions show an error class (swap, inversion, jitter, miss), false
positives or missed people. Built from the ``eval_key`` fields that
``posekit.qa.evaluate`` writes, so they also work in the App's sidebar."""
from fiftyone import ViewField as F

from posekit.qa import errors as qe

MODES = ("worst",) + tuple(qe.ERRORS) + ("fp", "fn")
MODE_LABELS = {
    "worst": "Worst OKS first (matched predictions)",
    "jitter": "Predictions with jitter",
    "inversion": "Predictions with left/right inversions",
    "swap": "Predictions with swaps (a point of another person)",
    "miss": "Predictions with missed points",
    "fp": "False positives",
    "fn": "Missed people (false negatives)",
}


def pose_runs(samples):
    """The keys of the posekit pose evaluations on ``samples``' dataset."""
    from posekit.qa.results import METHOD

    out = []
    for key in samples.list_evaluations():
        info = samples.get_evaluation_info(key)
        if getattr(info.config, "method", None) == METHOD:
            out.append(key)
    return out


def run_fields(samples, eval_key):
    """``(pred_field, gt_field)`` of a posekit evaluation; ``ValueError`` if
    ``eval_key`` is not one."""
    if eval_key not in pose_runs(samples):
        raise ValueError(f"'{eval_key}' is not a posekit pose evaluation of this dataset")
    c = samples.get_evaluation_info(eval_key).config
    return c.pred_field, c.gt_field


def error_view(samples, eval_key, mode="worst"):
    """The samples to look at for ``mode`` (see :data:`MODES`), labels
    filtered to the suspects, worst first."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    pred, gt = run_fields(samples, eval_key)
    outcome = F(eval_key)
    if mode == "worst":
        view = samples.filter_labels(pred, outcome == "tp")
        worst = F(f"{pred}.keypoints").map(F(f"{eval_key}_oks")).min()
        return view.sort_by(worst)
    if mode == "fp":
        return samples.filter_labels(pred, outcome == "fp")
    if mode == "fn":
        return samples.filter_labels(gt, outcome == "fn")
    count = F(f"{eval_key}_{mode}")
    view = samples.filter_labels(pred, count > 0)
    total = F(f"{pred}.keypoints").map(F(f"{eval_key}_{mode}")).sum()
    return view.sort_by(total, reverse=True)
