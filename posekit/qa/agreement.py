"""Annotation QA without predictions: two annotations of the same images
(two annotators, or annotation vs. a model's pre-annotation) compared with
OKS, and per-keypoint sigmas estimated from double annotations.

Sigma estimation follows COCO's definition of the per-keypoint constant
(cocodataset.org/#keypoints-eval): sigma_i^2 = E[d_i^2 / s^2], with d_i the
distance between an annotation of keypoint i and its true place and s^2 the
object's area. Two independent annotations a, b of the same point give
E[|a - b|^2] = 2 sigma_i^2 s^2, so sigma_i = sqrt(mean(|a - b|^2 / s^2) / 2)
over the instance pairs where both marked the point (s^2: the mean of the
two instances' areas).
"""
from dataclasses import dataclass

import numpy as np

from posekit.qa.matching import match
from posekit.qa.oks import EPS, Poses


@dataclass
class Agreement:
    """Matched instance pairs of two annotations and how they agree.

    ``a_rows``/``b_rows``: the pairs; ``oks`` (P,): inter-annotator OKS;
    ``ks`` (P, K): per-keypoint similarity (NaN where either misses the
    point); ``only_a``/``only_b``: rows without a partner; ``sigmas``: the
    sigmas used for OKS and matching.
    """

    a_rows: np.ndarray
    b_rows: np.ndarray
    oks: np.ndarray
    ks: np.ndarray
    only_a: np.ndarray
    only_b: np.ndarray
    sigmas: np.ndarray

    def per_keypoint(self, labels):
        """Per keypoint: pairs where both marked it, mean similarity, and how
        often only one of the two marked it."""
        rows = []
        for k, lb in enumerate(labels):
            col = self.ks[:, k]
            both = np.isfinite(col)
            rows.append({"keypoint": lb, "n": int(both.sum()),
                         "mean_ks": float(col[both].mean()) if both.any() else None})
        return rows


def compare(a, b, sigmas, match_oks=0.1):
    """Pairs the instances of ``a`` and ``b`` (COCO's greedy matching of
    ``b`` onto ``a`` at OKS >= ``match_oks``) and measures agreement."""
    sigmas = np.asarray(sigmas, dtype=float)
    ranked = Poses(b.img, b.cat, b.xy, b.vis, b.area, b.bbox, b.iscrowd,
                   np.ones(len(b)))
    m = match(a, ranked, sigmas, iou_thrs=[match_oks], area_rng=[[0, 1e10]],
              max_dets=[max(1, len(b))], keep_pairs=True)
    g = m.dt_gt[0, 0]
    ok = g >= 0
    b_rows, a_rows = m.dt_rows[ok], g[ok]
    oks = np.array([_pair_oks(m.pair_oks, a, bb, aa) for bb, aa in zip(b_rows, a_rows)])
    both = a.vis[a_rows] & b.vis[b_rows]
    d2 = ((a.xy[a_rows] - b.xy[b_rows]) ** 2).sum(-1)
    area = a.area[a_rows][:, None]
    with np.errstate(invalid="ignore"):
        ks = np.exp(-d2 / (2 * sigmas) ** 2 / (area + EPS) / 2)
    ks = np.where(both, ks, np.nan)
    only_a = np.setdiff1d(np.nonzero(a.num_visible > 0)[0], a_rows)
    only_b = np.setdiff1d(np.nonzero(b.num_visible > 0)[0], b_rows)
    return Agreement(a_rows, b_rows, oks.reshape(-1), ks, only_a, only_b, sigmas)


def _pair_oks(pairs, a, b_row, a_row):
    key = int(a.img[a_row]) * (1 << 20) + int(a.cat[a_row])
    d_rows, g_rows, oks = pairs[key]
    i = int(np.nonzero(d_rows == b_row)[0][0])
    j = int(np.nonzero(g_rows == a_row)[0][0])
    return oks[i, j]


def estimate_sigmas(a, b, agreement=None, bootstrap_sigmas=None, min_pairs=10,
                    trim=None):
    """Per-keypoint sigmas from double annotations (see the module doc).

    Pairs come from ``agreement`` or from :func:`compare` with
    ``bootstrap_sigmas`` (default a uniform 0.1: only used to pair the
    instances). ``trim``: drop the largest fraction of normalised distances
    per keypoint (gross mistakes), e.g. 0.01. Returns ``(sigmas, n)``:
    ``sigmas`` is NaN where fewer than ``min_pairs`` pairs marked the point.
    """
    K = a.num_keypoints
    if agreement is None:
        boot = bootstrap_sigmas if bootstrap_sigmas is not None else [0.1] * K
        agreement = compare(a, b, boot)
    ar, br = agreement.a_rows, agreement.b_rows
    both = a.vis[ar] & b.vis[br]
    d2 = ((a.xy[ar] - b.xy[br]) ** 2).sum(-1)
    s2 = (a.area[ar] + b.area[br])[:, None] / 2
    u = d2 / np.maximum(s2, EPS)
    sig = np.full(K, np.nan)
    n = both.sum(0)
    for k in range(K):
        vals = np.sort(u[both[:, k], k])
        if trim:
            vals = vals[:max(1, int(round(len(vals) * (1 - trim))))]
        if len(vals) >= min_pairs:
            sig[k] = np.sqrt(vals.mean() / 2)
    return sig, n


def report(agreement, labels, estimated=None, n=None, current=None):
    """Plain-data summary: OKS quantiles, per-keypoint agreement and, when
    estimated, the sigmas next to the current ones."""
    oks = agreement.oks
    rows = agreement.per_keypoint(labels)
    if estimated is not None:
        for r, s, c, m in zip(rows, estimated, current if current is not None
                              else [None] * len(rows), n):
            r["estimated_sigma"] = None if not np.isfinite(s) else float(s)
            r["current_sigma"] = None if c is None else float(c)
            r["n_estimate"] = int(m)
    return {
        "pairs": int(len(oks)),
        "only_first": int(len(agreement.only_a)),
        "only_second": int(len(agreement.only_b)),
        "mean_oks": float(oks.mean()) if len(oks) else None,
        "oks_quantiles": {str(q): float(np.quantile(oks, q)) for q in
                          (0.05, 0.25, 0.5, 0.75)} if len(oks) else {},
        "per_keypoint": rows,
    }
