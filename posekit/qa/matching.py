"""COCO's greedy matching of predictions to ground truth, all images at once.

Per (image, category) unit, per area range and OKS threshold, pycocotools'
``COCOeval.evaluateImg`` walks the predictions by score and gives each the
available ground truth with the highest OKS at or above the threshold, trying
regular ground truth before ignored ones (crowd, no visible point, or outside
the area range), ties going to the later one; crowd ground truth can be matched
again. Here the walk runs over prediction ranks, each step vectorised over all
units with the same number of ground truths.
"""
from dataclasses import dataclass

import numpy as np

from posekit.qa.oks import oks_matrix, sort_predictions

IOU_THRS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
REC_THRS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
AREA_RNG = [[0 ** 2, 1e5 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]]
AREA_LBL = ["all", "medium", "large"]
MAX_DETS = [20]
_BLOCK = 1 << 16  # elements per (U, D, G, K) OKS temporary: units per block
# come from it, so the temporaries stay ~0.5 MB each at any dataset size


@dataclass
class Matches:
    """What matching found, indexed by rows of the input tables.

    ``dt_rows``: the kept predictions (per unit, score order, at most
    ``max_dets``) in (image, category, rank) order; ``dt_rank``: their rank.
    ``dt_gt`` (A, T, D): matched ground-truth row or -1; ``dt_ignore`` (A, T, D);
    ``dt_oks`` (D,): OKS of each kept prediction with its best ground truth
    and ``dt_best`` (D,) that ground truth's row (-1 if none);
    ``gt_dt`` (A, T, G): matched prediction row or -1; ``gt_ignore`` (A, G).
    """

    dt_rows: np.ndarray
    dt_rank: np.ndarray
    dt_gt: np.ndarray
    dt_ignore: np.ndarray
    dt_oks: np.ndarray
    dt_best: np.ndarray
    gt_dt: np.ndarray
    gt_ignore: np.ndarray
    dt_area_out: np.ndarray
    pair_oks: dict


def _sigmas_for(sigmas, cat):
    if isinstance(sigmas, dict):
        return np.asarray(sigmas[int(cat)], dtype=float)
    return np.asarray(sigmas, dtype=float)


def pair_oks(gt, dt, d_rows, g_rows, sigmas):
    """OKS of each (prediction row, ground-truth row) pair, computed as the
    matching computes it; ``sigmas`` one array or ``{cat: array}``."""
    d_rows, g_rows = np.asarray(d_rows, dtype=np.int64), np.asarray(g_rows, dtype=np.int64)
    out = np.full(len(d_rows), np.nan)
    cats = gt.cat[g_rows]
    for c in np.unique(cats):
        s = np.nonzero(cats == c)[0]
        d, g = d_rows[s], g_rows[s]
        out[s] = oks_matrix(
            dt.xy[d][:, None], gt.xy[g][:, None], gt.vis[g][:, None],
            gt.area[g][:, None], gt.bbox[g][:, None], _sigmas_for(sigmas, c),
        )[:, 0, 0]
    return out


def match(gt, dt, sigmas, iou_thrs=IOU_THRS, area_rng=AREA_RNG,
          max_dets=MAX_DETS, keep_pairs=False):
    """Runs COCO's matching; ``sigmas`` is one array or ``{cat: array}``.

    With ``keep_pairs``, ``Matches.pair_oks`` maps each unit ``(img, cat)`` to
    ``(dt_rows, gt_rows, oks)`` for later analysis.
    """
    iou_thrs = np.asarray(iou_thrs, dtype=float)
    thr = np.minimum(iou_thrs, 1 - 1e-10)
    T, A = len(iou_thrs), len(area_rng)
    lo = np.array([a[0] for a in area_rng], dtype=float)
    hi = np.array([a[1] for a in area_rng], dtype=float)

    gt_base_ig = gt.iscrowd | (gt.num_visible == 0)
    gt_ignore = (gt_base_ig[None, :] | (gt.area[None, :] < lo[:, None])
                 | (gt.area[None, :] > hi[:, None]))

    rows, rank = sort_predictions(dt, max(max_dets))
    D = len(rows)
    dt_area = dt.area[rows]
    dt_area_out = (dt_area[None, :] < lo[:, None]) | (dt_area[None, :] > hi[:, None])
    dt_gt = np.full((A, T, D), -1, dtype=np.int64)
    dt_ign = np.zeros((A, T, D), dtype=bool)
    dt_oks = np.zeros(D)
    dt_best = np.full(D, -1, dtype=np.int64)
    gt_dt = np.full((A, T, len(gt)), -1, dtype=np.int64)
    pairs = {}

    # units: (img, cat) keys shared by gt and kept dt
    key_g = gt.img * (1 << 20) + gt.cat
    key_d = dt.img[rows] * (1 << 20) + dt.cat[rows]
    g_order = np.lexsort((np.arange(len(gt)), key_g))
    g_keys, g_start, g_count = np.unique(key_g[g_order], return_index=True,
                                         return_counts=True)
    d_keys, d_start, d_count = np.unique(key_d, return_index=True,
                                         return_counts=True)
    common, gi, di = np.intersect1d(g_keys, d_keys, return_indices=True)
    for G in np.unique(g_count[gi]):
        sel = np.nonzero(g_count[gi] == G)[0]
        per = G * int(d_count[di[sel]].max()) * max(gt.num_keypoints, 1)
        chunk = max(1, _BLOCK // per)
        for c0 in range(0, len(sel), chunk):
            s = sel[c0:c0 + chunk]
            _match_block(
                gt, dt, rows, sigmas, thr, int(G),
                g_order[g_start[gi[s]][:, None] + np.arange(G)[None, :]],
                d_start[di[s]], d_count[di[s]], common[s],
                gt_ignore, dt_gt, dt_ign, dt_oks, dt_best, gt_dt,
                pairs if keep_pairs else None,
            )
    dt_ign |= (dt_gt < 0) & dt_area_out[:, None, :]
    return Matches(rows, rank, dt_gt, dt_ign, dt_oks, dt_best, gt_dt,
                   gt_ignore, dt_area_out, pairs)


def rematch(m, gt, dt, sigmas, rows, xy, iou_thrs=IOU_THRS,
            area_rng=AREA_RNG[:1], max_dets=MAX_DETS):
    """``match(gt, dt', ...)`` where ``dt'`` is ``dt`` with the points of
    prediction ``rows`` replaced by ``xy`` (``(len(rows), K, 2)``; boxes,
    areas and scores kept). ``m`` matched ``dt`` with the same ground truth,
    sigmas, thresholds and max_dets, and its first area ranges are
    ``area_rng``: only the (image, category) units holding ``rows`` are
    matched again when they are few. ``dt`` is left as it was."""
    A = len(area_rng)
    rows = np.asarray(rows, dtype=np.int64)
    key_g = gt.img * (1 << 20) + gt.cat
    key_d = dt.img * (1 << 20) + dt.cat
    units = np.unique(key_d[rows])
    if 2 * len(units) > len(np.unique(key_d)):
        # most units moved: match all again, on dt moved in place and put back
        old = dt.xy[rows]
        dt.xy[rows] = xy
        try:
            return match(gt, dt, sigmas, iou_thrs, area_rng, max_dets)
        finally:
            dt.xy[rows] = old
    g_sel = np.nonzero(np.isin(key_g, units))[0]
    d_sel = np.nonzero(np.isin(key_d, units))[0]
    sub_dt = dt.take(d_sel)
    sub_dt.xy[np.searchsorted(d_sel, rows)] = xy
    # the kept rows keep their order within a unit, so ranks and ties agree
    sub = match(gt.take(g_sel), sub_dt, sigmas, iou_thrs, area_rng, max_dets)
    del sub_dt

    def back(table_rows, idx):  # sub-table rows to whole-table rows, -1 kept
        return np.where(idx >= 0, table_rows[np.maximum(idx, 0)], -1)

    pos = np.full(len(dt), -1, dtype=np.int64)
    pos[m.dt_rows] = np.arange(len(m.dt_rows))
    p = pos[d_sel[sub.dt_rows]]
    dt_gt, dt_ign = m.dt_gt[:A].copy(), m.dt_ignore[:A].copy()
    dt_gt[:, :, p] = back(g_sel, sub.dt_gt)
    dt_ign[:, :, p] = sub.dt_ignore
    gt_dt = m.gt_dt[:A].copy()
    gt_dt[:, :, g_sel] = back(d_sel, sub.gt_dt)
    dt_oks, dt_best = m.dt_oks.copy(), m.dt_best.copy()
    dt_oks[p] = sub.dt_oks
    dt_best[p] = back(g_sel, sub.dt_best)
    return Matches(m.dt_rows, m.dt_rank, dt_gt, dt_ign, dt_oks, dt_best, gt_dt,
                   m.gt_ignore[:A], m.dt_area_out[:A], {})


def _match_block(gt, dt, rows, sigmas, thr, G, g_idx, d_start, d_count, keys,
                 gt_ignore, dt_gt, dt_ign, dt_oks, dt_best, gt_dt,
                 pairs):
    U = len(d_start)
    Dm = int(d_count.max())
    d_pos = d_start[:, None] + np.arange(Dm)[None, :]
    d_ok = np.arange(Dm)[None, :] < d_count[:, None]
    d_pos = np.where(d_ok, d_pos, d_start[:, None])
    d_idx = rows[d_pos]
    cats = dt.cat[d_idx[:, 0]]
    oks = np.empty((U, Dm, G))
    for c in np.unique(cats):
        m = cats == c
        oks[m] = oks_matrix(
            dt.xy[d_idx[m]], gt.xy[g_idx[m]], gt.vis[g_idx[m]],
            gt.area[g_idx[m]], gt.bbox[g_idx[m]], _sigmas_for(sigmas, c),
        )
    # best OKS per prediction (any ground truth): for reports
    best = oks.argmax(axis=2)
    flat_pos = d_pos[d_ok]
    dt_oks[flat_pos] = np.take_along_axis(oks, best[..., None], 2)[..., 0][d_ok]
    dt_best[flat_pos] = np.take_along_axis(g_idx, best, 1)[d_ok]
    if pairs is not None:
        for u in range(U):
            n = d_count[u]
            pairs[int(keys[u])] = (d_idx[u, :n], g_idx[u], oks[u, :n])

    ig = gt_ignore[:, g_idx].transpose(1, 0, 2)          # (U, A, G)
    crowd = gt.iscrowd[g_idx][:, None, None, :]          # (U, 1, 1, G)
    A, T = ig.shape[1], len(thr)
    taken = np.zeros((U, A, T, G), dtype=bool)
    rev = np.arange(G)[::-1]
    for d in range(Dm):
        live = d_ok[:, d]
        o = oks[:, d, :][:, None, None, :]               # (U, 1, 1, G)
        ok = (o >= thr[None, None, :, None]) & (~taken | crowd)
        ok &= live[:, None, None, None]
        m = np.full((U, A, T), -1, dtype=np.int64)
        for group in (~ig, ig):                          # regular first
            cand = ok & group[:, :, None, :]
            val = np.where(cand, o, -np.inf)[..., rev]
            j = G - 1 - val.argmax(axis=3)
            has = cand.any(axis=3) & (m < 0)
            m = np.where(has, j, m)
        hit = m >= 0
        mm = np.where(hit, m, 0)
        uu, aa, tt = np.nonzero(hit)
        taken[uu, aa, tt, mm[hit]] = True
        gsel = g_idx[uu, mm[hit]]
        pos = d_pos[uu, d]
        dt_gt[aa, tt, pos] = gsel
        dt_ign[aa, tt, pos] = ig[uu, aa, mm[hit]]
        gt_dt[aa, tt, gsel] = rows[pos]
