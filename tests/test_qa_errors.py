"""Error mining (Ronchi & Perona's jitter / inversion / swap / miss) finds
planted errors with precision and recall >= 0.95 per class; AP-if-fixed and
PCK behave as defined."""
import numpy as np
import pytest

from posekit.qa import Poses, evaluate_arrays
from posekit.qa import errors as qe
from posekit.qa.cocoeval import reevaluate
from posekit.qa.matching import AREA_LBL, AREA_RNG
from posekit.templates import get_template

COCO17 = get_template("coco17")
SIG = np.asarray(COCO17.sigmas)
FLIP = qe.flip_index(COCO17.labels, COCO17.flip_pairs)


def _people(rng, n_images=150, per_image=3, size=220.0):
    """People far apart (a row per image), all points visible."""
    layout = np.asarray(COCO17.layout, float) / 100.0 - 0.5
    img, xy = [], []
    for i in range(n_images):
        for p in range(per_image):
            c = np.array([300.0 + 600.0 * p, 300.0])
            s = size * rng.uniform(0.8, 1.2)
            img.append(i)
            xy.append(c + layout * s + rng.normal(0, 1.0, layout.shape))
    xy = np.array(xy)
    gt = Poses(np.array(img), np.ones(len(img), int), xy)
    return gt


def _ks_dist(area, k, ks):
    """The distance at which keypoint similarity equals ``ks``."""
    return np.sqrt(-2 * area * (2 * k) ** 2 * np.log(ks))


def plant(gt, rng, rate=0.12):
    """Predictions = ground truth + tiny noise, with planted errors; returns
    (dt, planted classes (N, K))."""
    N, K = len(gt), gt.num_keypoints
    xy = gt.xy.copy()
    truth = np.full((N, K), qe.GOOD)
    var_s = np.sqrt(gt.area)[:, None] * 2 * SIG[None, :]
    xy += rng.normal(0, 1, xy.shape) * 0.05 * var_s[..., None]
    same_img = {i: np.nonzero(gt.img == i)[0] for i in np.unique(gt.img)}

    def ks_to(p, q, n, k):
        return np.exp(-((p - q) ** 2).sum() / (2 * gt.area[n] * (2 * SIG[k]) ** 2))

    def near_other(p, n, k):
        others = [o for o in same_img[gt.img[n]] if o != n]
        best = max(max(ks_to(p, gt.xy[o, k], o, k), ks_to(p, gt.xy[o, FLIP[k]], o, k))
                   for o in others) if others else 0
        return max(best, ks_to(p, gt.xy[n, FLIP[k]], n, k) if FLIP[k] != k else 0)

    for n in range(N):
        chosen = rng.choice(K, size=3, replace=False)  # at most 3 errors a person
        for k in chosen:
            if rng.random() > 3 * rate:
                continue
            kind = rng.choice([qe.JITTER, qe.INVERSION, qe.SWAP, qe.MISS])
            own = gt.xy[n, k]
            if kind == qe.JITTER:
                d = _ks_dist(gt.area[n], SIG[k], rng.uniform(0.55, 0.8))
                a = rng.uniform(0, 2 * np.pi)
                p = own + d * np.array([np.cos(a), np.sin(a)])
            elif kind == qe.INVERSION:
                if FLIP[k] == k:
                    continue
                p = gt.xy[n, FLIP[k]] + rng.normal(0, 0.1, 2)
                if ks_to(p, own, n, k) > 0.3:
                    continue  # partner too close to tell apart
            elif kind == qe.SWAP:
                others = [o for o in same_img[gt.img[n]] if o != n]
                p = gt.xy[rng.choice(others), k] + rng.normal(0, 0.1, 2)
            else:
                d = _ks_dist(gt.area[n], SIG[k], rng.uniform(0.02, 0.3))
                a = rng.uniform(0, 2 * np.pi)
                p = own + d * np.array([np.cos(a), np.sin(a)])
                if near_other(p, n, k) > 0.3:
                    continue
            xy[n, k] = p
            truth[n, k] = kind
    dt = Poses(gt.img.copy(), gt.cat.copy(), xy, score=rng.random(N))
    return dt, truth


def test_planted_errors_are_found_per_class():
    rng = np.random.default_rng(0)
    gt = _people(rng)
    dt, truth = plant(gt, rng)
    d_rows, g_rows, cls = qe.classify(gt, dt, SIG, FLIP)
    assert len(d_rows) == len(dt)
    assert (d_rows == g_rows).all()  # each prediction paired with its person
    planted = truth[d_rows]
    n = len(qe.CLASSES)
    conf = np.zeros((n, n), dtype=int)
    np.add.at(conf, (planted.ravel(), cls.ravel()), 1)
    print("\nplanted \\ found " + " ".join(f"{c:>9}" for c in qe.CLASSES))
    for i, c in enumerate(qe.CLASSES):
        print(f"{c:>15} " + " ".join(f"{v:>9}" for v in conf[i]))
    for i, c in enumerate(qe.CLASSES):
        precision = conf[i, i] / conf[:, i].sum()
        recall = conf[i, i] / conf[i].sum()
        print(f"{c}: precision {precision:.3f} recall {recall:.3f} (n={conf[i].sum()})")
        assert conf[i].sum() >= 100, c
        assert precision >= 0.95 and recall >= 0.95, c


def test_fixing_an_error_class_raises_ap_and_fixing_all_reaches_the_top():
    rng = np.random.default_rng(1)
    gt = _people(rng, n_images=60)
    dt, truth = plant(gt, rng, rate=0.3)
    base = evaluate_arrays(gt, dt, SIG).stats["AP"]
    d_rows, g_rows, cls = qe.classify(gt, dt, SIG, FLIP)
    fixed = qe.fixed_ap(gt, dt, d_rows, g_rows, cls,
                        lambda rows, xy: evaluate_arrays(gt, _moved(dt, rows, xy), SIG))
    print(base, fixed)
    assert set(fixed) == set(qe.ERRORS)
    assert all(v >= base for v in fixed.values())
    assert fixed["miss"] > base and fixed["jitter"] > base
    everything = dt.take(np.arange(len(dt)))
    bad = cls > qe.GOOD
    rr, kk = np.nonzero(bad)
    everything.xy[d_rows[rr], kk] = gt.xy[g_rows[rr], kk]
    assert evaluate_arrays(gt, everything, SIG).stats["AP"] > max(fixed.values())


def test_pck_by_box_and_by_torso():
    K = 17
    gt_xy = np.zeros((1, K, 2))
    gt_xy[0, :, 0] = np.arange(K) * 10.0   # box 160 x 20 (y spread below)
    gt_xy[0, :, 1] = np.where(np.arange(K) % 2, 20.0, 0.0)
    gt = Poses([0], [1], gt_xy)
    dt_xy = gt_xy.copy()
    dt_xy[0, :5, 0] += 10.0     # 10 px off: 0.0625 of the box's 160 px side
    dt = Poses([0], [1], dt_xy)
    rows = np.array([0])
    by_box = qe.pck(gt, dt, rows, rows, alphas=(0.05, 0.1))
    assert by_box["normaliser"] == "bbox"
    assert by_box["alpha"] == {"0.05": 12 / 17, "0.1": 1.0}
    torso = qe.torso_pair(COCO17.labels)
    assert torso == (5, 12)
    norm = np.linalg.norm(gt_xy[0, 5] - gt_xy[0, 12])  # left shoulder - right hip
    by_torso = qe.pck(gt, dt, rows, rows, alphas=(10.0 / norm - 1e-9, 10.0 / norm + 1e-9),
                      torso=torso)
    assert by_torso["normaliser"] == "torso"
    vals = list(by_torso["alpha"].values())
    assert vals == [12 / 17, 1.0]


def test_ap_of_the_all_area_range_alone_equals_the_full_evaluations():
    # the fixed-class APs are computed with the "all" area range only
    rng = np.random.default_rng(2)
    gt = _people(rng, n_images=40)
    dt, _ = plant(gt, rng, rate=0.3)
    full = evaluate_arrays(gt, dt, SIG).stats
    alone = evaluate_arrays(gt, dt, SIG, area_rng=AREA_RNG[:1],
                            area_lbl=AREA_LBL[:1]).stats
    assert alone["AP"] == full["AP"] and alone["AR"] == full["AR"]
    assert alone["AP_large"] == -1 and full["AP_large"] != -1


def _moved(dt, rows, xy):
    out = dt.take(np.arange(len(dt)))
    out.xy[rows] = xy
    return out


@pytest.mark.parametrize("where", ["few images", "most images"])
def test_reevaluating_the_changed_images_only_equals_a_full_evaluation(where):
    # what the "AP if fixed" numbers use: only the images whose predictions
    # a fix moved are matched again (all, when they are most): everything
    # must equal a fresh evaluation, and the input is left as it was
    rng = np.random.default_rng(3)
    gt = _people(rng, n_images=80)
    gt.iscrowd[::23] = True  # crowd regions too: they can be matched again
    dt, _ = plant(gt, rng, rate=0.3)
    before = dt.xy.copy()
    ev = evaluate_arrays(gt, dt, SIG)
    share = 0.05 if where == "few images" else 0.8
    images = np.nonzero(rng.random(gt.img.max() + 1) < share)[0]
    rows = np.nonzero(np.isin(dt.img, images) & (rng.random(len(dt)) < 0.5))[0]
    assert 0 < len(rows) < len(dt)
    xy = dt.xy[rows] + rng.normal(0, 3, dt.xy[rows].shape)
    xy[::3] = gt.xy[np.minimum(rows[::3], len(gt) - 1)]
    again = reevaluate(ev, rows, xy)
    fresh = evaluate_arrays(gt, _moved(dt, rows, xy), SIG, area_rng=AREA_RNG[:1],
                            area_lbl=AREA_LBL[:1])
    assert again.stats == fresh.stats
    assert np.array_equal(again.eval["precision"], fresh.eval["precision"])
    for name in ("dt_rows", "dt_gt", "dt_ignore", "gt_dt", "dt_best", "dt_oks"):
        assert np.array_equal(getattr(again.matches, name),
                              getattr(fresh.matches, name)), name
    assert again.stats["AP"] != ev.stats["AP"]  # the moves did change the AP
    assert np.array_equal(dt.xy, before, equal_nan=True)


def test_fixed_ap_by_reevaluation_equals_fixed_ap_by_full_evaluations():
    rng = np.random.default_rng(4)
    gt = _people(rng, n_images=60)
    dt, _ = plant(gt, rng, rate=0.1)
    ev = evaluate_arrays(gt, dt, SIG)
    d_rows, g_rows, cls = qe.classify(gt, dt, SIG, FLIP)
    quick = qe.fixed_ap(gt, dt, d_rows, g_rows, cls,
                        lambda rows, xy: reevaluate(ev, rows, xy))
    full = qe.fixed_ap(gt, dt, d_rows, g_rows, cls,
                       lambda rows, xy: evaluate_arrays(gt, _moved(dt, rows, xy), SIG))
    print(quick)
    assert quick == full and set(quick) == set(qe.ERRORS)
