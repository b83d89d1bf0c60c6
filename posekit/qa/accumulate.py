"""COCO's accumulate and summarize, from :class:`posekit.qa.matching.Matches`.

``precision`` (T, R, K, A, M) and ``recall`` (T, K, A, M) are computed as in
pycocotools' ``COCOeval.accumulate`` (score-sorted across images with a stable
sort, the precision envelope, 101 recall thresholds, -1 where a category has
no regular ground truth), and :func:`summarize` gives the ten numbers of
``COCOeval.summarize`` for keypoints.
"""
import numpy as np

from posekit.qa.matching import AREA_LBL, IOU_THRS, MAX_DETS, REC_THRS

EPS = np.spacing(1)

STAT_NAMES = ["AP", "AP50", "AP75", "AP_medium", "AP_large",
              "AR", "AR50", "AR75", "AR_medium", "AR_large"]


def accumulate(gt, dt, m, cat_ids, iou_thrs=IOU_THRS, rec_thrs=REC_THRS,
               max_dets=MAX_DETS):
    """``{"precision", "recall", "scores"}`` as pycocotools' ``eval`` dict."""
    T, R = len(iou_thrs), len(rec_thrs)
    K, A, M = len(cat_ids), m.gt_ignore.shape[0], len(max_dets)
    precision = -np.ones((T, R, K, A, M))
    recall = -np.ones((T, K, A, M))
    scores = -np.ones((T, R, K, A, M))
    dt_cat = dt.cat[m.dt_rows]
    dt_score = dt.score[m.dt_rows]
    for k, cat in enumerate(cat_ids):
        in_cat = dt_cat == cat
        gt_in_cat = gt.cat == cat
        for mi, max_det in enumerate(max_dets):
            sel = np.nonzero(in_cat & (m.dt_rank < max_det))[0]
            s = dt_score[sel]
            inds = np.argsort(-s, kind="mergesort")
            s_sorted = s[inds]
            for a in range(A):
                npig = int(np.count_nonzero(gt_in_cat & ~m.gt_ignore[a]))
                if npig == 0:
                    continue
                order = sel[inds]
                nd = len(order)
                if nd == 0:
                    recall[:, k, a, mi] = 0
                    precision[:, :, k, a, mi] = 0
                    scores[:, :, k, a, mi] = 0
                    continue
                ignored = m.dt_ignore[a][:, order]
                for t in range(T):  # a threshold at a time: (D,) temporaries
                    matched = m.dt_gt[a, t, order] >= 0
                    tp = np.cumsum(matched & ~ignored[t]).astype(float)
                    fp = np.cumsum(~matched & ~ignored[t]).astype(float)
                    rc = tp / npig
                    pr = tp / (fp + tp + EPS)
                    recall[t, k, a, mi] = rc[-1]
                    pr = np.maximum.accumulate(pr[::-1])[::-1]
                    pi = np.searchsorted(rc, rec_thrs, side="left")
                    inside = pi < nd
                    pc = np.minimum(pi, nd - 1)
                    precision[t, :, k, a, mi] = np.where(inside, pr[pc], 0)
                    scores[t, :, k, a, mi] = np.where(inside, s_sorted[pc], 0)
    return {"precision": precision, "recall": recall, "scores": scores}


def _summarize(ev, ap, iou_thr=None, area="all", max_det=20,
               iou_thrs=IOU_THRS, area_lbl=AREA_LBL, max_dets=MAX_DETS):
    aind = [i for i, lbl in enumerate(area_lbl) if lbl == area]
    mind = [i for i, md in enumerate(max_dets) if md == max_det]
    if ap:
        s = ev["precision"]
        if iou_thr is not None:
            s = s[np.where(iou_thr == np.asarray(iou_thrs))[0]]
        s = s[:, :, :, aind, mind]
    else:
        s = ev["recall"]
        if iou_thr is not None:
            s = s[np.where(iou_thr == np.asarray(iou_thrs))[0]]
        s = s[:, :, aind, mind]
    if len(s[s > -1]) == 0:
        return -1.0
    return float(np.mean(s[s > -1]))


def summarize(ev, iou_thrs=IOU_THRS, area_lbl=AREA_LBL, max_dets=MAX_DETS):
    """The ten keypoint numbers of ``COCOeval.summarize``, by name."""
    md = max_dets[-1]
    kw = dict(iou_thrs=iou_thrs, area_lbl=area_lbl, max_dets=max_dets, max_det=md)
    vals = [
        _summarize(ev, 1, **kw),
        _summarize(ev, 1, iou_thr=0.5, **kw),
        _summarize(ev, 1, iou_thr=0.75, **kw),
        _summarize(ev, 1, area="medium", **kw),
        _summarize(ev, 1, area="large", **kw),
        _summarize(ev, 0, **kw),
        _summarize(ev, 0, iou_thr=0.5, **kw),
        _summarize(ev, 0, iou_thr=0.75, **kw),
        _summarize(ev, 0, area="medium", **kw),
        _summarize(ev, 0, area="large", **kw),
    ]
    return dict(zip(STAT_NAMES, vals))
