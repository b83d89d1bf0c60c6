"""Two ``fo.Keypoints`` fields of the same samples compared (inter-annotator
OKS per instance and keypoint), sigmas estimated from them, and adopted as
the skeleton's sigmas."""
import numpy as np

from posekit.qa import agreement as qa_agree
from posekit.qa import dataset as qd
from posekit.qa.evaluation import UNIFORM_SIGMA, resolve_sigmas, skeleton_for


def compare_fields(samples, field_a, field_b, sigmas=None, estimate=True,
                   oks_key=None, trim=None):
    """Compares two annotations of ``samples``.

    ``sigmas``: for OKS (default: the skeleton's, else uniform). With
    ``oks_key``, each paired label of both fields gets ``<oks_key>`` (the
    inter-annotator OKS) and ``<oks_key>_id`` (its partner). Returns the
    report dict (see :func:`posekit.qa.agreement.report`), with
    ``"estimated_sigmas"`` when ``estimate``.
    """
    for f in (field_a, field_b):
        if qd.label_field_kind(samples, f) != "keypoints":
            raise ValueError(f"'{f}' is not a fo.Keypoints field")
    if field_a == field_b:
        raise ValueError("compare two different fields")
    sk = skeleton_for(samples, field_a)
    sample_ids, w, h = qd.image_sizes(samples)
    classes = {}
    k = len(sk.labels) if sk is not None else None
    ta = qd.read_keypoints(samples, field_a, w, h, classes, True, k)
    k = ta.poses.num_keypoints
    tb = qd.read_keypoints(samples, field_b, w, h, classes, True, k)
    try:
        current, source = resolve_sigmas(samples, field_a, sigmas, k)
    except ValueError:
        current, source = [UNIFORM_SIGMA] * k, "uniform"
    ag = qa_agree.compare(ta.poses, tb.poses, current)
    labels = list(sk.labels) if sk is not None else [f"point {i + 1}" for i in range(k)]
    est = n = None
    if estimate:
        est, n = qa_agree.estimate_sigmas(ta.poses, tb.poses, ag, trim=trim)
    out = qa_agree.report(ag, labels, est, n, current)
    out["sigmas_source"] = source
    out["fields"] = [field_a, field_b]
    if estimate:
        out["estimated_sigmas"] = [None if not np.isfinite(s) else float(s) for s in est]
    if oks_key:
        _write(samples, sample_ids, ta, tb, ag, oks_key, field_a, field_b)
    return out


def _write(samples, sample_ids, ta, tb, ag, key, field_a, field_b):
    import fiftyone as fo

    columns = []
    for field, table, rows, partner, partner_t in (
            (field_a, ta, ag.a_rows, ag.b_rows, tb),
            (field_b, tb, ag.b_rows, ag.a_rows, ta)):
        oks = [None] * len(table.label_ids)
        pid = [None] * len(table.label_ids)
        for r, p, v in zip(rows, partner, ag.oks):
            oks[r] = float(v)
            pid[r] = partner_t.label_ids[p]
        columns.append((field, table, {key: oks, f"{key}_id": pid}))
    qd.write_labels(samples, sample_ids, columns, {},
                    {key: fo.FloatField, f"{key}_id": fo.StringField})


def adopt_sigmas(dataset, field, sigmas):
    """Stores ``sigmas`` as the skeleton's (of ``field``, else the default
    skeleton's) and saves; returns the skeleton."""
    from posekit.skeleton_store import load_skeleton, save_skeleton

    own = load_skeleton(dataset, field)
    sk = own or load_skeleton(dataset)
    if sk is None:
        raise ValueError(f"'{field}' has no skeleton to hold sigmas")
    vals = [float(s) for s in sigmas]
    if len(vals) != len(sk.labels) or not all(np.isfinite(v) and v > 0 for v in vals):
        raise ValueError(f"need {len(sk.labels)} positive sigmas, got {sigmas}")
    sk.sigmas = vals
    save_skeleton(dataset, sk, field if own is not None else None)
    return sk
