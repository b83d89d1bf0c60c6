"""``posekit.qa.evaluate``: COCO keypoint evaluation of two ``fo.Keypoints``
fields, written back like FiftyOne's ``evaluate_detections``, and recorded as
a FiftyOne evaluation run (``list_evaluations``, ``load_evaluation_results``,
``delete_evaluation``, ``rename_evaluation``).

With an ``eval_key``, each label gets ``<eval_key>`` (``"tp"``, ``"fp"``,
``"fn"``; ``"ignored"`` for what COCO does not count: crowd / no visible point
ground truth and the predictions matched to them, predictions beyond
``maxDets``), ``<eval_key>_id`` (the matched label's id) and
``<eval_key>_oks``, at the OKS threshold ``iou`` over all areas; each sample
gets ``<eval_key>_tp``, ``_fp`` and ``_fn`` counts.
"""
import numpy as np

from posekit import fo_compat
from posekit.qa import dataset as qd
from posekit.qa import errors as qe
from posekit.qa.cocoeval import evaluate_arrays
from posekit.qa.matching import pair_oks
from posekit.qa.report import build_report

def resolve_sigmas(samples, gt_field, sigmas, num_points):
    """The sigmas to use: given ones, a uniform number, or the skeleton's.

    Returns ``(sigmas, source)``; raises ``ValueError`` when there are none.
    """
    from posekit.templates import find_template

    if sigmas is not None and np.isscalar(sigmas):
        return [float(sigmas)] * num_points, "uniform"
    if sigmas is not None:
        return [float(s) for s in sigmas], "given"
    sk = skeleton_for(samples, gt_field)
    if sk is not None and sk.sigmas and len(sk.sigmas) == num_points:
        return [float(s) for s in sk.sigmas], "skeleton"
    if sk is not None:
        t = find_template(sk.labels)
        if t is not None and t.sigmas:
            return [float(s) for s in t.sigmas], f"template {t.id}"
    raise ValueError(
        f"No OKS sigmas for the {num_points}-point skeleton of '{gt_field}': "
        "pass sigmas (one per keypoint) or a uniform value")


def skeleton_for(samples, gt_field):
    """The skeleton of ``gt_field`` (else the default one), or ``None``."""
    from posekit.skeleton_store import load_skeleton

    return load_skeleton(samples, gt_field) or load_skeleton(samples)


def evaluate(samples, pred_field, gt_field="ground_truth", eval_key=None,
             sigmas=None, iou=0.5, crowd_field=None, errors=True,
             progress=None):
    """Evaluates ``pred_field`` against ``gt_field`` with COCO's OKS.

    ``sigmas``: one per keypoint, a number (uniform), or ``None`` for the
    skeleton's/template's. ``progress``: optional ``callable(fraction, label)``.
    Returns :class:`~posekit.qa.results.PoseEvaluationResults`.
    """
    from posekit.qa.results import PoseEvaluationConfig, PoseEvaluationResults

    def tick(f, label):
        if progress is not None:
            progress(f, label)

    for f in (pred_field, gt_field):
        if qd.label_field_kind(samples, f) != "keypoints":
            raise ValueError(f"'{f}' is not a fo.Keypoints field")
    if pred_field == gt_field:
        raise ValueError("the prediction and ground-truth fields are the same")
    if not 0 < float(iou) < 1:
        raise ValueError(f"iou must be between 0 and 1, not {iou}")
    sk = skeleton_for(samples, gt_field)
    tick(0.05, "reading labels")
    ids, w, h = qd.image_sizes(samples)
    classes = {}
    n_pts = len(sk.labels) if sk is not None else None
    gt_t = qd.read_keypoints(samples, gt_field, w, h, classes, True, n_pts)
    n_pts = gt_t.poses.num_keypoints
    dt_t = qd.read_keypoints(samples, pred_field, w, h, classes, False, n_pts)
    sigmas, source = resolve_sigmas(samples, gt_field, sigmas, n_pts)
    if len(sigmas) != n_pts or min(sigmas) <= 0:
        raise ValueError(
            f"{len(sigmas)} sigmas given for {n_pts} keypoints (all must be > 0)")
    gt = gt_t.poses
    crowd_ids = []
    if crowd_field:
        crowd, crowd_ids = qd.read_crowd_regions(samples, crowd_field, w, h,
                                                 classes, n_pts)
        gt = qd.concat(gt, crowd)
    tick(0.3, "matching")
    ev = evaluate_arrays(gt, dt_t.poses, np.asarray(sigmas),
                         cat_ids=sorted(classes.values()))
    names = {v: k for k, v in classes.items()}
    tick(0.6, "analysing")
    report = build_report(ev, sigmas, sk, names, iou, errors=errors)
    report["sigmas_source"] = source
    report["n_samples"] = len(ids)
    config = PoseEvaluationConfig(
        pred_field=pred_field, gt_field=gt_field, sigmas=list(sigmas), iou=iou,
        crowd_field=crowd_field, sigmas_source=source,
    )
    method = config.build()
    if eval_key is not None:
        _register(samples, method, eval_key, errors)
        tick(0.8, "writing results")
        _write(samples, ids, ev, gt_t, dt_t, len(gt_t.poses), eval_key, iou,
               pred_field, gt_field, report)
    results = PoseEvaluationResults(samples, config, eval_key, report,
                                    backend=method)
    if eval_key is not None:
        method.save_run_results(samples, eval_key, results)
    tick(1.0, "done")
    return results


def _register(samples, method, key, errors):
    """Registers the run; a re-run on the same fields keeps the fields
    (every label is rewritten) instead of deleting and redeclaring them."""
    from posekit.qa.views import pose_runs

    same = False
    if key in pose_runs(samples):
        old = samples.get_evaluation_info(key).config
        same = (old.pred_field, old.gt_field) == (method.config.pred_field,
                                                  method.config.gt_field)
    method.register_run(samples, key, cleanup=not same)
    if same and not errors:
        ds = fo_compat.root_dataset(samples)
        for suffix in [f"_{n}" for n in qe.ERRORS] + [qe.KEYPOINT_SUFFIX]:
            path = f"{method.config.pred_field}.keypoints.{key}{suffix}"
            if ds.get_field(path) is not None:
                ds.delete_sample_field(path)


def instance_outcomes(ev, n_gt_kp, iou):
    """Per prediction row and per ground-truth row (first ``n_gt_kp``): the
    outcome string, matched row (-1) and OKS, at threshold ``iou``."""
    m = ev.matches
    t = int(np.argmin(np.abs(ev.iou_thrs - iou)))
    if abs(ev.iou_thrs[t] - iou) > 1e-9:
        raise ValueError(f"iou {iou} is not one of COCO's thresholds")
    n_dt, n_gt = len(ev.dt), len(ev.gt)
    dt_out = np.full(n_dt, "ignored", dtype=object)
    dt_match = np.full(n_dt, -1)
    rows = m.dt_rows
    g = m.dt_gt[0, t]
    ign = m.dt_ignore[0, t]
    dt_out[rows] = np.where(g >= 0, np.where(ign, "ignored", "tp"),
                            np.where(ign, "ignored", "fp"))
    dt_match[rows] = g
    gt_ign = m.gt_ignore[0]
    gt_match = m.gt_dt[0, t]
    gt_out = np.where(gt_ign, "ignored", np.where(gt_match >= 0, "tp", "fn"))
    # OKS of each matched pair (whichever the error mining ran or not)
    dt_oks = np.full(n_dt, np.nan)
    gt_oks = np.full(n_gt, np.nan)
    d = np.nonzero(dt_match >= 0)[0]
    dt_oks[d] = pair_oks(ev.gt, ev.dt, d, dt_match[d], ev.sigmas)
    gg = np.nonzero(gt_match >= 0)[0]
    gt_oks[gg] = pair_oks(ev.gt, ev.dt, gt_match[gg], gg, ev.sigmas)
    return (dt_out, dt_match, dt_oks), (gt_out[:n_gt_kp], gt_match[:n_gt_kp],
                                         gt_oks[:n_gt_kp])


def _write(samples, sample_ids, ev, gt_t, dt_t, n_gt_kp, key, iou,
           pred_field, gt_field, report):
    import fiftyone as fo

    (d_out, d_match, d_oks), (g_out, g_match, g_oks) = instance_outcomes(
        ev, n_gt_kp, iou)
    gt_ids, dt_ids = gt_t.label_ids, dt_t.label_ids

    def fin(x):
        return [None if not np.isfinite(v) else float(v) for v in x]

    pred_cols = {
        key: list(d_out),
        f"{key}_id": [gt_ids[j] if 0 <= j < n_gt_kp else None for j in d_match],
        f"{key}_oks": fin(d_oks),
    }
    gt_cols = {
        key: list(g_out),
        f"{key}_id": [dt_ids[j] if j >= 0 else None for j in g_match],
        f"{key}_oks": fin(g_oks),
    }
    types = {key: fo.StringField, f"{key}_id": fo.StringField,
             f"{key}_oks": fo.FloatField}
    err = report.get("errors")
    if err is not None:
        d_rows, _, cls = err["_rows"]
        for i, name in enumerate(qe.CLASSES[1:], start=1):
            per = np.zeros(len(dt_ids), dtype=np.int64)
            np.add.at(per, d_rows, (cls == i).sum(axis=1))
            pred_cols[f"{key}_{name}"] = per.tolist()
            types[f"{key}_{name}"] = fo.IntField
        # per keypoint, for the panel's comparison overlay: the class names
        # of a true positive analysed against the ground truth it matched
        per_kp = [None] * len(dt_ids)
        g_rows = err["_rows"][1]
        keep = np.nonzero((d_out[d_rows] == "tp") & (d_match[d_rows] == g_rows))[0]
        names = np.array(qe.CLASSES + [qe.UNSCORED], dtype=object)  # -1: unscored
        for d, row in zip(d_rows[keep].tolist(), names[cls[keep]].tolist()):
            per_kp[d] = row
        pred_cols[f"{key}{qe.KEYPOINT_SUFFIX}"] = per_kp
        types[f"{key}{qe.KEYPOINT_SUFFIX}"] = (fo.ListField, fo.StringField)
    n = len(sample_ids)
    counts = {
        f"{key}_tp": np.bincount(dt_t.sample_pos[d_out == "tp"], minlength=n),
        f"{key}_fp": np.bincount(dt_t.sample_pos[d_out == "fp"], minlength=n),
        f"{key}_fn": np.bincount(gt_t.sample_pos[g_out == "fn"], minlength=n),
    }
    counts = {k: v.tolist() for k, v in counts.items()}
    types.update({k: fo.IntField for k in counts})
    qd.write_labels(samples, sample_ids,
                    [(pred_field, dt_t, pred_cols), (gt_field, gt_t, gt_cols)],
                    counts, types)


UNIFORM_SIGMA = 0.06
"""The stated default for a skeleton without sigmas: about the mean of
COCO-17's sigmas (0.061). Per-keypoint sigmas give COCO-comparable numbers."""

_KEY_RE = __import__("re").compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def num_points(samples, gt_field):
    """The number of keypoints of ``gt_field``: its skeleton's, else the
    longest stored instance among the first few samples (0 if none)."""
    sk = skeleton_for(samples, gt_field)
    if sk is not None:
        return len(sk.labels)
    pts = samples.exists(gt_field).limit(20).values(f"{gt_field}.keypoints.points")
    return max((len(p) for per in pts if per for p in per), default=0)


def parse_sigmas(text, k):
    """Sigmas typed in a form ("0.026, 0.025, ..." or a JSON list): ``k``
    positive numbers; ``None`` for an empty text. ``ValueError`` otherwise."""
    if text is None or not str(text).strip():
        return None
    parts = [p for p in str(text).strip().strip("[]").replace(";", ",")
             .replace(" ", ",").split(",") if p]
    try:
        vals = [float(p) for p in parts]
    except ValueError:
        raise ValueError("Sigmas must be numbers separated by commas") from None
    if len(vals) != k:
        raise ValueError(f"{len(vals)} sigmas given for {k} keypoints")
    if not all(v > 0 and np.isfinite(v) for v in vals):
        raise ValueError("Every sigma must be a positive number")
    return vals


def validate_eval_key(samples, key):
    """An evaluation key posekit may (re)write; ``ValueError`` otherwise."""
    from posekit.qa.views import pose_runs

    if not key or not _KEY_RE.match(key) or key in ("pk", "id"):
        raise ValueError("The evaluation key must be an identifier "
                         "(letters, digits and _, not starting with a digit)")
    if key in samples.list_evaluations() and key not in pose_runs(samples):
        raise ValueError(f"'{key}' is another kind of evaluation on this dataset")
    return key
