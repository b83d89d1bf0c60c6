"""How much annotators corrected a pre-annotation, per skeleton node.

Compare the pre-annotated field (kept aside, e.g. with
``dataset.clone_sample_field("pre", "keypoints")`` before sending
``keypoints`` to CVAT) with the field loaded back from CVAT. Instances are
matched by label id, which the CVAT round trip keeps. Per node: how many were
moved and how far (pixels), how many the annotator added (missing in the
pre-annotation) or removed (set outside); per instance: added and deleted,
and the COCO OKS of each kept instance against its correction (with the QA
module's OKS and the skeleton's sigmas, when there are sigmas).
"""
import numpy as np

# a node moved by less than this many pixels counts as accepted as is
MOVED_PX = 1.0


def _instances(value):
    return {str(kp.id): kp for kp in (value.keypoints if value is not None else [])}


def correction_effort(samples, pre_field, corrected_field, labels=None, moved_px=MOVED_PX):
    """Per-node correction statistics between two keypoints fields.

    Args:
        samples: a dataset or view
        pre_field: the model's field (as sent to CVAT)
        corrected_field: the field loaded back from CVAT
        labels (None): the node names (default: the corrected field's
            skeleton, else the dataset's default)
        moved_px (1.0): displacements below this count as unchanged

    Returns:
        ``{"nodes": [{"node", "kept", "moved", "mean_px", "median_px",
        "max_px", "added", "removed"}], "instances": {"matched", "added",
        "deleted"}, "mean_px": mean displacement of all kept nodes,
        "mean_oks": mean OKS of the matched instances (None without sigmas)}``
    """
    if labels is None:
        sk = (samples.skeletons or {}).get(corrected_field) or samples.default_skeleton
        if sk is None:
            raise ValueError("No skeleton for '%s': pass labels" % corrected_field)
        labels = list(sk.labels)
    n = len(labels)
    sigmas = _sigmas(samples, corrected_field, n)
    scores = []
    if samples.exists("metadata", False).count():
        samples.compute_metadata()
    widths, heights, pres, posts = samples.values(
        ["metadata.width", "metadata.height", pre_field, corrected_field])
    disp = [[] for _ in range(n)]
    added = np.zeros(n, int)
    removed = np.zeros(n, int)
    counts = {"matched": 0, "added": 0, "deleted": 0}
    for w, h, pre, post in zip(widths, heights, pres, posts):
        a, b = _instances(pre), _instances(post)
        counts["added"] += len(set(b) - set(a))
        counts["deleted"] += len(set(a) - set(b))
        for key in set(a) & set(b):
            counts["matched"] += 1
            p = _points(a[key], n) * [w, h]
            q = _points(b[key], n) * [w, h]
            had, has = ~np.isnan(p[:, 0]), ~np.isnan(q[:, 0])
            added += ~had & has
            removed += had & ~has
            both = had & has
            if sigmas is not None and has.any():
                scores.append(_oks(p, q, has, sigmas))
            d = np.linalg.norm(q - p, axis=1)
            for i in np.nonzero(both)[0]:
                disp[i].append(float(d[i]))
    nodes = []
    for i, name in enumerate(labels):
        d = np.asarray(disp[i])
        nodes.append({
            "node": name,
            "kept": int(len(d)),
            "moved": int((d >= moved_px).sum()),
            "mean_px": float(d.mean()) if len(d) else None,
            "median_px": float(np.median(d)) if len(d) else None,
            "max_px": float(d.max()) if len(d) else None,
            "added": int(added[i]),
            "removed": int(removed[i]),
        })
    every = np.concatenate([np.asarray(x) for x in disp]) if any(disp) else np.zeros(0)
    return {"nodes": nodes, "instances": counts,
            "mean_px": float(every.mean()) if len(every) else None,
            "mean_oks": float(np.mean(scores)) if scores else None}


def _sigmas(samples, field, n):
    from posekit.qa.evaluation import resolve_sigmas

    try:
        return resolve_sigmas(samples, field, None, n)[0]
    except ValueError:
        return None


def _oks(pred, truth, visible, sigmas):
    """COCO OKS of one prediction against one ground truth (pixels), area =
    the box of the ground truth's points."""
    from posekit.qa.oks import extent_boxes, oks_matrix

    box = extent_boxes(truth[None], visible[None])
    area = box[:, 2] * box[:, 3]
    return float(oks_matrix(pred[None], np.nan_to_num(truth)[None], visible[None],
                            area, box, sigmas)[0, 0])


def _points(kp, n):
    pts = np.full((n, 2), np.nan)
    got = np.asarray(kp.points or [], dtype=float).reshape(-1, 2)[:n]
    pts[: len(got)] = got
    pts[np.isnan(pts).any(axis=1)] = np.nan
    return pts
