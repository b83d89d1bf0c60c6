"""COCO's object keypoint similarity (OKS), vectorised, on flat instance tables.

The ground truth and the predictions are :class:`Poses` tables: one row per
instance, with the index of its image (``img``) and category (``cat``), its
points in pixels (``xy``, shape ``(N, K, 2)``) and, for the ground truth,
visibility, area, box and ``iscrowd``; for predictions, a score.

:func:`oks_blocks` returns, per (image, category) unit, the OKS matrix between
the unit's predictions (sorted by score, highest first, stable, at most
``max_dets``) and its ground truth (in table order), exactly as pycocotools'
``COCOeval.computeOks`` computes it: ``k = 2 sigma``, ``e = d^2 / k^2 / (area +
eps) / 2``, mean of ``exp(-e)`` over the ground truth's visible (v > 0) points,
and, for a ground truth without visible points, the distance of each predicted
point to the box doubled around the ground truth's box, over all points.

A predicted point that is NaN (not predicted) counts as infinitely far: it
adds 0 to the mean.
"""
from dataclasses import dataclass

import numpy as np

EPS = np.spacing(1)


@dataclass
class Poses:
    """A flat table of pose instances (ground truth or predictions).

    ``img``, ``cat``: int arrays (N,); ``xy``: float (N, K, 2) pixels, NaN where
    a point is missing; ``vis``: bool (N, K) (defaults to "finite");
    ``area``: float (N,) (defaults to the box area); ``bbox``: float (N, 4)
    ``[x, y, w, h]`` pixels (defaults to the extent of the points: visible ones
    for ground truth, all finite ones for predictions, as pycocotools'
    ``loadRes`` does); ``iscrowd``: bool (N,); ``score``: float (N,).
    """

    img: np.ndarray
    cat: np.ndarray
    xy: np.ndarray
    vis: np.ndarray = None
    area: np.ndarray = None
    bbox: np.ndarray = None
    iscrowd: np.ndarray = None
    score: np.ndarray = None

    def __post_init__(self):
        self.img = np.asarray(self.img, dtype=np.int64).reshape(-1)
        self.cat = np.asarray(self.cat, dtype=np.int64).reshape(-1)
        n = len(self.img)
        self.xy = np.asarray(self.xy, dtype=float)
        if self.xy.ndim != 3:
            self.xy = self.xy.reshape(n, -1, 2)
        finite = np.isfinite(self.xy).all(axis=-1)
        if self.vis is None:
            self.vis = finite
        self.vis = np.asarray(self.vis, dtype=bool).reshape(finite.shape) & finite
        if self.bbox is None:
            self.bbox = extent_boxes(self.xy, self.vis)
        self.bbox = np.asarray(self.bbox, dtype=float).reshape(n, 4)
        if self.area is None:
            self.area = self.bbox[:, 2] * self.bbox[:, 3]
        self.area = np.asarray(self.area, dtype=float).reshape(n)
        if self.iscrowd is None:
            self.iscrowd = np.zeros(n, dtype=bool)
        self.iscrowd = np.asarray(self.iscrowd, dtype=bool).reshape(n)
        if self.score is None:
            self.score = np.ones(n)
        self.score = np.asarray(self.score, dtype=float).reshape(n)

    def __len__(self):
        return len(self.img)

    @property
    def num_keypoints(self):
        """The number of keypoints: the K of ``xy``."""
        return self.xy.shape[1]

    @property
    def num_visible(self):
        """Per instance, how many points are visible (COCO's num_keypoints)."""
        return self.vis.sum(axis=1)

    def take(self, index):
        """The rows ``index`` as a new table."""
        return Poses(
            self.img[index], self.cat[index], self.xy[index], self.vis[index],
            self.area[index], self.bbox[index], self.iscrowd[index],
            self.score[index],
        )


def extent_boxes(xy, mask):
    """``[x, y, w, h]`` of the points where ``mask`` holds (zeros if none)."""
    x, y = xy[..., 0], xy[..., 1]
    any_ = mask.any(axis=1)
    with np.errstate(invalid="ignore"):
        x0 = np.where(mask, x, np.inf).min(axis=1)
        x1 = np.where(mask, x, -np.inf).max(axis=1)
        y0 = np.where(mask, y, np.inf).min(axis=1)
        y1 = np.where(mask, y, -np.inf).max(axis=1)
    out = np.stack([x0, y0, x1 - x0, y1 - y0], axis=1)
    out[~any_] = 0.0
    return out


def oks_matrix(dt_xy, gt_xy, gt_vis, gt_area, gt_bbox, sigmas):
    """OKS between each prediction and each ground truth, ``(D, G)``.

    ``dt_xy`` (..., D, K, 2), ``gt_xy`` (..., G, K, 2), ``gt_vis`` (..., G, K),
    ``gt_area`` (..., G), ``gt_bbox`` (..., G, 4); leading axes broadcast.
    """
    sigmas = np.asarray(sigmas, dtype=float)
    var = (sigmas * 2) ** 2
    k = sigmas.shape[-1]
    xd = dt_xy[..., :, None, :, 0]
    yd = dt_xy[..., :, None, :, 1]
    xg = gt_xy[..., None, :, :, 0]
    yg = gt_xy[..., None, :, :, 1]
    vg = gt_vis[..., None, :, :]
    k1 = vg.sum(axis=-1)
    boxed = (k1 == 0)[..., None]
    # pycocotools' e = (dx**2 + dy**2) / vars / (area + eps) / 2, the same
    # operations in the same order (the same bits), in place: two
    # temporaries of the full (..., D, G, K) size instead of about ten
    with np.errstate(invalid="ignore", over="ignore"):
        dx = np.subtract(xd, xg)
        dy = np.subtract(yd, yg)
        if boxed.any():  # ground truth with no visible point: distance to
            # its box doubled on each side, as pycocotools does
            bb = gt_bbox[..., None, :, None, :]
            x0 = bb[..., 0] - bb[..., 2]
            x1 = bb[..., 0] + bb[..., 2] * 2
            y0 = bb[..., 1] - bb[..., 3]
            y1 = bb[..., 1] + bb[..., 3] * 2
            bx = np.maximum(0.0, x0 - xd) + np.maximum(0.0, xd - x1)
            by = np.maximum(0.0, y0 - yd) + np.maximum(0.0, yd - y1)
            np.copyto(dx, np.broadcast_to(bx, dx.shape), where=boxed)
            np.copyto(dy, np.broadcast_to(by, dy.shape), where=boxed)
            del bx, by
        use = vg | boxed
        np.multiply(dx, dx, out=dx)
        np.multiply(dy, dy, out=dy)
        e = np.add(dx, dy, out=dx)
        del dy
        np.divide(e, var, out=e)
        np.divide(e, gt_area[..., None, :, None] + EPS, out=e)
        np.divide(e, 2, out=e)
        term = np.exp(np.negative(e, out=e), out=e)
    # a missing predicted point (NaN) scores 0; only visible ground-truth
    # points count (all of them for a box-only ground truth)
    np.copyto(term, 0.0, where=~use | np.isnan(term))
    total = term.sum(axis=-1)
    return total / np.where(k1 > 0, k1, k)


def sort_predictions(dt, max_dets):
    """Per (image, category), predictions sorted by score (highest first,
    stable) and cut to ``max_dets``: ``(order, rank)`` where ``order`` indexes
    the kept rows of ``dt`` grouped by image then category, and ``rank`` is
    each kept row's place in its unit."""
    n = len(dt)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = np.lexsort((np.arange(n), -dt.score, dt.cat, dt.img))
    img, cat = dt.img[order], dt.cat[order]
    start = np.r_[True, (img[1:] != img[:-1]) | (cat[1:] != cat[:-1])]
    first = np.maximum.accumulate(np.where(start, np.arange(n), 0))
    rank = np.arange(n) - first
    keep = rank < max_dets
    return order[keep], rank[keep]
