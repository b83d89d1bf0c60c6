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

    Returns ``(dt_rows, gt_rows, classes)``; ``classes`` is int8 (P, K), -1
    where the ground truth has no visible point.
    """
    sigmas = np.asarray(sigmas, dtype=float)
    var = (2 * sigmas) ** 2
    d_rows, g_rows = pairs if pairs is not None else pairs_for_analysis(
        gt, dt, sigmas, match_oks)
    P, K = len(d_rows), gt.num_keypoints
    cls = np.full((P, K), -1, dtype=np.int8)
    units = _units(gt)
    for a in range(0, P, _CHUNK):  # pairs a chunk at a time: bounded temporaries
        b = min(P, a + _CHUNK)
        cls[a:b] = _classify_rows(gt, dt, d_rows[a:b], g_rows[a:b], var, flip, units)
    return d_rows, g_rows, cls


_CHUNK = 1024


def _classify_rows(gt, dt, d_rows, g_rows, var, flip, units):
    K = gt.num_keypoints
    pd = dt.xy[d_rows]
    pg = gt.xy[g_rows]
    area = gt.area[g_rows][:, None]
    vis = gt.vis[g_rows]
    own = _ks(pd, pg, area, var)
    inv = _ks(pd, pg[:, flip], area, var)
    inv = np.where(vis[:, flip] & (flip != np.arange(K)), inv, 0.0)
    other = _best_other(gt, g_rows, pd, var, flip, units)
    cls = np.full(own.shape, MISS, dtype=np.int8)
    cls[other >= 0.5] = SWAP
    cls[inv >= 0.5] = INVERSION
    cls[own >= 0.5] = JITTER
    cls[own >= 0.85] = GOOD
    cls[~vis] = -1
    return cls


def _units(gt):
    """Regular ground truth (visible points, not crowd) grouped by (image,
    category): ``(key per row, order, unit keys, unit starts, unit sizes)``."""
    regular = ~gt.iscrowd & (gt.num_visible > 0)
    key = gt.img * (1 << 20) + gt.cat
    order = np.lexsort((np.arange(len(gt)), key))
    order = order[regular[order]]
    keys, start, count = np.unique(key[order], return_index=True, return_counts=True)
    return key, order, keys, start, count


def _best_other(gt, g_rows, pd, var, flip, units):
    """Per pair and keypoint, the best ks to the same or partner point of
    another regular ground truth of the same image and category."""
    P, K = pd.shape[:2]
    key, order, keys, start, count = units
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


def fixed_ap(gt, dt, d_rows, g_rows, cls, evaluate):
    """AP with each error class fixed (its points moved to their ground-truth
    place): ``{class: AP}``. ``evaluate(rows, xy)`` evaluates the predictions
    with the points of ``rows`` replaced by ``xy`` (``.stats``)."""
    out = {}
    for i, name in enumerate(CLASSES):
        if i == GOOD:
            continue
        rr, kk = np.nonzero(cls == i)
        if not len(rr):
            continue
        rows = np.unique(d_rows[rr])
        xy = dt.xy[rows]
        xy[np.searchsorted(rows, d_rows[rr]), kk] = gt.xy[g_rows[rr], kk]
        out[name] = evaluate(rows, xy).stats["AP"]
    return out


def pck(gt, dt, d_rows, g_rows, alphas=(0.05, 0.1, 0.2), torso=None):
    """PCK@alpha over the analysed pairs' visible keypoints.

    The normaliser is the ground truth's box (its longer side) or, with
    ``torso=(i, j)``, the distance between those two ground-truth points
    (pairs whose torso is not visible are left out). Returns
    ``{"normaliser", "alpha": {a: overall}, "per_keypoint": [[...per alpha]]}``.
    """
    vis = gt.vis[g_rows]
    if torso is not None:
        i, j = torso
        norm = np.linalg.norm(gt.xy[g_rows, i] - gt.xy[g_rows, j], axis=-1)
        ok = vis[:, i] & vis[:, j] & (norm > 0)
        name = "torso"
    else:
        norm = gt.bbox[g_rows][:, 2:].max(axis=1)
        ok = norm > 0
        name = "bbox"
    vis = vis & ok[:, None]
    dist = np.empty(vis.shape)
    for a in range(0, len(g_rows), _CHUNK):  # bounded temporaries
        b = a + _CHUNK
        pg, pd = gt.xy[g_rows[a:b]], dt.xy[d_rows[a:b]]
        with np.errstate(invalid="ignore"):
            dist[a:b] = (np.linalg.norm(pd - pg, axis=-1)
                         / np.where(ok[a:b], norm[a:b], 1)[:, None])
    dist[~np.isfinite(dist)] = np.inf
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
