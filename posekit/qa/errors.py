"""Keypoint error mining after Ronchi & Perona, "Benchmarking and Error
Diagnosis in Multi-Instance Pose Estimation" (ICCV 2017).

Each prediction is paired with a ground truth by COCO's greedy matching at a
low OKS (``match_oks``, 0.1); each of the pair's keypoints visible in the
ground truth gets, from its keypoint similarity ``ks = exp(-d^2 / (2 s^2))``
(``s^2 = area * (2 sigma)^2``, as in OKS):

- ``good``: ks >= 0.85 to its own ground-truth point;
- ``jitter``: 0.5 <= ks < 0.85;
- ``inversion``: ks < 0.5, but >= 0.5 to the left/right partner's point of
  the same person (the skeleton's flip pairs);
- ``swap``: ks < 0.5, but >= 0.5 to the same (or partner) point of another
  person in the image;
- ``miss``: otherwise.

:func:`fixed_ap` gives the AP each class would have if its errors were fixed
(the points moved to their ground-truth place); :func:`pck` is PCK@alpha.
"""
import numpy as np

from posekit.qa.matching import match
from posekit.qa.oks import EPS

CLASSES = ["good", "jitter", "inversion", "swap", "miss"]
GOOD, JITTER, INVERSION, SWAP, MISS = range(5)
ERRORS = CLASSES[1:]
KEYPOINT_SUFFIX = "_classes"
"""``<eval_key>_classes``: per true-positive prediction label, its keypoints'
class names (:data:`UNSCORED` where the ground truth has no visible point)."""
UNSCORED = "unscored"


def flip_index(labels, flip_pairs):
    """Per keypoint, the index of its left/right partner (itself if none)."""
    idx = {lb: i for i, lb in enumerate(labels)}
    out = np.arange(len(labels))
    for a, b in flip_pairs or []:
        if a in idx and b in idx:
            out[idx[a]], out[idx[b]] = idx[b], idx[a]
    return out


def _ks(p, q, area, var):
    d2 = ((p - q) ** 2).sum(axis=-1)
    with np.errstate(invalid="ignore"):
        ks = np.exp(-d2 / var / (area + EPS) / 2)
    return np.where(np.isfinite(ks), ks, 0.0)


def pairs_for_analysis(gt, dt, sigmas, match_oks=0.1):
    """``(dt_rows, gt_rows)`` of the predictions matched (OKS >= match_oks,
    regular ground truth, all areas)."""
    m = match(gt, dt, sigmas, iou_thrs=[match_oks], area_rng=[[0, 1e10]])
    g = m.dt_gt[0, 0]
    ok = (g >= 0) & ~m.dt_ignore[0, 0]
    return m.dt_rows[ok], g[ok]


def classify(gt, dt, sigmas, flip, match_oks=0.1, pairs=None):
    """Per-keypoint classes of the analysed pairs.

    Returns ``(dt_rows, gt_rows, classes)``; ``classes`` is int (P, K), -1
    where the ground truth has no visible point.
    """
    sigmas = np.asarray(sigmas, dtype=float)
    var = (2 * sigmas) ** 2
    d_rows, g_rows = pairs if pairs is not None else pairs_for_analysis(
        gt, dt, sigmas, match_oks)
    P, K = len(d_rows), gt.num_keypoints
    cls = np.full((P, K), -1, dtype=np.int64)
    if P == 0:
        return d_rows, g_rows, cls
    pd = dt.xy[d_rows]
    pg = gt.xy[g_rows]
    area = gt.area[g_rows][:, None]
    own = _ks(pd, pg, area, var)
    inv = _ks(pd, pg[:, flip], area, var)
    inv = np.where(gt.vis[g_rows][:, flip] & (flip != np.arange(K)), inv, 0.0)
    other = _best_other(gt, g_rows, pd, var, flip)
    vis = gt.vis[g_rows]
    cls[:] = MISS
    cls[other >= 0.5] = SWAP
    cls[inv >= 0.5] = INVERSION
    cls[own >= 0.5] = JITTER
    cls[own >= 0.85] = GOOD
    cls[~vis] = -1
    return d_rows, g_rows, cls


def _best_other(gt, g_rows, pd, var, flip):
    """Per pair and keypoint, the best ks to the same or partner point of
    another regular ground truth of the same image and category."""
    P, K = pd.shape[:2]
    regular = ~gt.iscrowd & (gt.num_visible > 0)
    key = gt.img * (1 << 20) + gt.cat
    order = np.lexsort((np.arange(len(gt)), key))
    order = order[regular[order]]
    keys, start, count = np.unique(key[order], return_index=True, return_counts=True)
    best = np.zeros((P, K))
    pos = np.searchsorted(keys, key[g_rows])
    gmax = int(count.max()) if len(count) else 0
    for j in range(gmax):
        has = (pos < len(keys)) & (j < count[np.minimum(pos, len(keys) - 1)])
        if not has.any():
            continue
        cand = order[np.minimum(start[np.minimum(pos, len(keys) - 1)] + j,
                                len(order) - 1)]
        use = has & (cand != g_rows)
        if not use.any():
            continue
        c = cand[use]
        q = gt.xy[c]
        a = gt.area[c][:, None]
        same = np.where(gt.vis[c], _ks(pd[use], q, a, var), 0.0)
        part = np.where(gt.vis[c][:, flip], _ks(pd[use], q[:, flip], a, var), 0.0)
        best[use] = np.maximum(best[use], np.maximum(same, part))
    return best


def counts(cls, labels):
    """``{"per_class": {class: n}, "per_keypoint": [{keypoint, class: n}]}``."""
    per_class = {c: int((cls == i).sum()) for i, c in enumerate(CLASSES)}
    per_kp = []
    for k, lb in enumerate(labels):
        row = {"keypoint": lb}
        row.update({c: int((cls[:, k] == i).sum()) for i, c in enumerate(CLASSES)})
        per_kp.append(row)
    return {"per_class": per_class, "per_keypoint": per_kp}


def fixed_ap(gt, dt, sigmas, d_rows, g_rows, cls, evaluate):
    """AP (and AP gain) with each error class fixed: ``{class: AP}``."""
    out = {}
    for i, name in enumerate(CLASSES):
        if i == GOOD:
            continue
        where = cls == i
        if not where.any():
            continue
        xy = dt.xy.copy()
        rr, kk = np.nonzero(where)
        xy[d_rows[rr], kk] = gt.xy[g_rows[rr], kk]
        fixed = dt.take(np.arange(len(dt)))
        fixed.xy = xy
        out[name] = evaluate(gt, fixed, sigmas).stats["AP"]
    return out


def pck(gt, dt, d_rows, g_rows, alphas=(0.05, 0.1, 0.2), torso=None):
    """PCK@alpha over the analysed pairs' visible keypoints.

    The normaliser is the ground truth's box (its longer side) or, with
    ``torso=(i, j)``, the distance between those two ground-truth points
    (pairs whose torso is not visible are left out). Returns
    ``{"normaliser", "alpha": {a: overall}, "per_keypoint": [[...per alpha]]}``.
    """
    pg, pd = gt.xy[g_rows], dt.xy[d_rows]
    vis = gt.vis[g_rows]
    if torso is not None:
        i, j = torso
        norm = np.linalg.norm(pg[:, i] - pg[:, j], axis=-1)
        ok = vis[:, i] & vis[:, j] & (norm > 0)
        name = "torso"
    else:
        norm = gt.bbox[g_rows][:, 2:].max(axis=1)
        ok = norm > 0
        name = "bbox"
    vis = vis & ok[:, None]
    with np.errstate(invalid="ignore"):
        dist = np.linalg.norm(pd - pg, axis=-1) / np.where(ok, norm, 1)[:, None]
    dist = np.where(np.isfinite(dist), dist, np.inf)
    overall, per_kp = {}, []
    for a in alphas:
        hit = (dist <= a) & vis
        overall[str(a)] = float(hit.sum() / max(vis.sum(), 1))
        per_kp.append((hit.sum(0) / np.maximum(vis.sum(0), 1)).tolist())
    return {"normaliser": name, "alpha": overall,
            "per_keypoint": np.array(per_kp).T.tolist()}


def torso_pair(labels):
    """``(left_shoulder, right_hip)`` indices if the skeleton has them."""
    idx = {lb.lower(): i for i, lb in enumerate(labels)}
    for a, b in (("left_shoulder", "right_hip"), ("right_shoulder", "left_hip")):
        if a in idx and b in idx:
            return idx[a], idx[b]
    return None
