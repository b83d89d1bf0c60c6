"""COCO keypoint evaluation on :class:`~posekit.qa.oks.Poses` tables.

:func:`evaluate_arrays` returns what pycocotools' ``COCOeval(iouType=
"keypoints")`` computes after ``evaluate(); accumulate(); summarize()``:
the ``precision``/``recall`` arrays and the ten summary numbers, plus the
per-instance matches (:class:`~posekit.qa.matching.Matches`).
"""
from dataclasses import dataclass

import numpy as np

from posekit.qa import accumulate as acc
from posekit.qa.matching import (
    AREA_LBL, AREA_RNG, IOU_THRS, MAX_DETS, REC_THRS, match, rematch)


@dataclass
class ArrayEval:
    """The raw result: ``stats`` (name -> value), ``eval`` (precision,
    recall, scores), ``matches``, the inputs and the parameters."""

    stats: dict
    eval: dict
    matches: object
    gt: object
    dt: object
    sigmas: object
    cat_ids: list
    iou_thrs: np.ndarray
    rec_thrs: np.ndarray = None
    area_rng: list = None
    area_lbl: list = None
    max_dets: list = None

    def stats_array(self):
        """The ten numbers in ``COCOeval.stats`` order."""
        return np.array([self.stats[n] for n in acc.STAT_NAMES])


def evaluate_arrays(gt, dt, sigmas, cat_ids=None, iou_thrs=IOU_THRS,
                    rec_thrs=REC_THRS, area_rng=AREA_RNG, area_lbl=AREA_LBL,
                    max_dets=MAX_DETS, keep_pairs=False):
    """COCO keypoint evaluation of predictions ``dt`` against ground truth
    ``gt`` (both :class:`Poses`; image indices give the image order).

    ``sigmas``: per-keypoint sigmas (COCO's, not k = 2 sigma), one array or
    ``{cat: array}``; ``cat_ids`` defaults to all categories present.
    """
    if cat_ids is None:
        cat_ids = sorted(set(gt.cat.tolist()) | set(dt.cat.tolist()))
    for c in cat_ids:
        s = np.asarray(sigmas[int(c)] if isinstance(sigmas, dict) else sigmas)
        if s.shape != (gt.num_keypoints,) and len(gt):
            raise ValueError(
                f"{s.size} sigmas for {gt.num_keypoints} keypoints")
        if len(dt) and dt.num_keypoints != gt.num_keypoints and len(gt):
            raise ValueError(
                f"predictions have {dt.num_keypoints} keypoints, ground "
                f"truth {gt.num_keypoints}")
    max_dets = sorted(max_dets)
    m = match(gt, dt, sigmas, iou_thrs, area_rng, max_dets, keep_pairs)
    ev = acc.accumulate(gt, dt, m, cat_ids, iou_thrs, rec_thrs, max_dets)
    stats = acc.summarize(ev, iou_thrs, area_lbl, max_dets)
    return ArrayEval(stats, ev, m, gt, dt, sigmas, list(cat_ids),
                     np.asarray(iou_thrs), rec_thrs, list(area_rng),
                     list(area_lbl), max_dets)


def reevaluate(ev, rows, xy, areas=1):
    """``evaluate_arrays`` with ``ev``'s inputs and parameters (its first
    ``areas`` area ranges) but the points of prediction ``rows`` replaced by
    ``xy``: only their images are matched again when they are few
    (:func:`~posekit.qa.matching.rematch`)."""
    area_rng, area_lbl = ev.area_rng[:areas], ev.area_lbl[:areas]
    m = rematch(ev.matches, ev.gt, ev.dt, ev.sigmas, rows, xy, ev.iou_thrs,
                area_rng, ev.max_dets)
    e = acc.accumulate(ev.gt, ev.dt, m, ev.cat_ids, ev.iou_thrs, ev.rec_thrs,
                       ev.max_dets)
    stats = acc.summarize(e, ev.iou_thrs, area_lbl, ev.max_dets)
    return ArrayEval(stats, e, m, ev.gt, None, ev.sigmas, ev.cat_ids,
                     ev.iou_thrs, ev.rec_thrs, area_rng, area_lbl, ev.max_dets)
