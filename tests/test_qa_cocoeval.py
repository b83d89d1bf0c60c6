"""posekit.qa's COCO keypoint evaluation equals pycocotools' COCOeval
(iouType="keypoints") on generated datasets: every summary number, the whole
precision/recall arrays, and each prediction's match."""
import numpy as np
import pytest

from posekit.qa import Poses, evaluate_arrays
from posekit.qa.oks import oks_matrix
from posekit.templates import get_template
from qa_synth import make_dataset, pycocotools_eval

COCO17 = get_template("coco17")
CROWDPOSE = get_template("crowdpose14")
CUSTOM_SIGMAS = [0.05, 0.08, 0.12, 0.03, 0.1]

DATASETS = {
    "coco17": dict(sigmas=COCO17.sigmas, layout=COCO17.layout, seed=1),
    "coco17-two-categories": dict(sigmas=COCO17.sigmas, layout=COCO17.layout,
                                  seed=2, n_cats=2),
    "crowdpose14-crowded": dict(sigmas=CROWDPOSE.sigmas, layout=CROWDPOSE.layout,
                                seed=3, crowd_rate=0.5, dup_rate=0.3),
    "custom-5-sparse": dict(sigmas=CUSTOM_SIGMAS, seed=4, miss_rate=0.6,
                            empty_rate=0.2, fp_rate=2.0),
}


def _evaluate_both(name, n_images=300):
    kw = dict(DATASETS[name])
    sigmas = kw.pop("sigmas")
    gt_dict, results, gt, dt = make_dataset(n_images, sigmas, **kw)
    stats, ev = pycocotools_eval(gt_dict, results, sigmas)
    return gt_dict, results, gt, dt, sigmas, stats, ev


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_number_equals_pycocotools(name):
    _, results, gt, dt, sigmas, stats, ev = _evaluate_both(name)
    mine = evaluate_arrays(gt, dt, sigmas)
    print(name, len(gt), "gt", len(dt), "dt", dict(
        (k, round(v, 4)) for k, v in mine.stats.items()))
    assert len(gt) > 1000 and len(dt) > 1000
    assert 0.05 < stats[0] < 0.95  # a meaningful, non-degenerate AP
    np.testing.assert_allclose(mine.stats_array(), stats, rtol=0, atol=1e-9)
    for key in ("precision", "recall", "scores"):
        np.testing.assert_allclose(mine.eval[key], ev[key], rtol=0, atol=1e-9)


def test_each_prediction_is_matched_to_the_same_ground_truth():
    gt_dict, results, gt, dt, sigmas, _, _ = _evaluate_both("crowdpose14-crowded")
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = gt_dict
        coco.createIndex()
        ce = COCOeval(coco, coco.loadRes(results), iouType="keypoints")
        ce.params.kpt_oks_sigmas = np.asarray(sigmas)
        ce.evaluate()
    mine = evaluate_arrays(gt, dt, sigmas)
    m = mine.matches
    # results get ids 1..N in list order, gt ids are row + 1
    row_of_dt = {int(r) + 1: j for j, r in enumerate(m.dt_rows)}
    checked = 0
    n_img = len(gt_dict["images"])
    for a in range(3):
        for e in ce.evalImgs[a * n_img:(a + 1) * n_img]:
            if e is None:
                continue
            for d, dt_id in enumerate(e["dtIds"]):
                j = row_of_dt[dt_id]
                ours = m.dt_gt[a, :, j] + 1  # 0 where unmatched
                np.testing.assert_array_equal(ours, e["dtMatches"][:, d])
                np.testing.assert_array_equal(m.dt_ignore[a, :, j],
                                              e["dtIgnore"][:, d])
                checked += 1
    assert checked > 3000


def test_oks_is_cocos_formula_with_k_twice_sigma():
    # 5 px error on every point of a person of area 640x480, COCO's sigmas
    sig = np.asarray(COCO17.sigmas)
    gt = np.zeros((1, 17, 2))
    dt = gt + [3.0, 4.0]
    oks = oks_matrix(dt, gt, np.ones((1, 17), bool),
                     np.array([640 * 480.0]), np.zeros((1, 4)), sig)
    expected = np.mean(np.exp(-25 / (2 * sig) ** 2 / (640 * 480) / 2))
    assert oks.shape == (1, 1)
    assert abs(oks[0, 0] - expected) < 1e-12
    assert abs(oks[0, 0] - 0.99510256) < 1e-8


def test_a_missing_predicted_point_counts_as_far_away():
    sig = np.full(4, 0.1)
    gt = np.array([[[10, 10], [20, 10], [20, 20], [10, 20]]], dtype=float)
    dt = gt.copy()
    dt[0, 1] = np.nan
    oks = oks_matrix(dt, gt, np.ones((1, 4), bool),
                     np.array([100.0]), np.zeros((1, 4)), sig)
    assert abs(oks[0, 0] - 0.75) < 1e-12


def test_no_predictions_and_no_ground_truth_give_cocos_minus_one_or_zero():
    K = 5
    gt_dict, results, gt, dt = make_dataset(40, CUSTOM_SIGMAS, seed=9)
    empty_dt = Poses(np.zeros(0), np.zeros(0), np.zeros((0, K, 2)))
    mine = evaluate_arrays(gt, empty_dt, CUSTOM_SIGMAS)
    assert mine.stats["AP"] == 0.0 and mine.stats["AR"] == 0.0
    empty_gt = Poses(np.zeros(0), np.zeros(0), np.zeros((0, K, 2)),
                     np.zeros((0, K), bool), np.zeros(0), np.zeros((0, 4)))
    mine = evaluate_arrays(empty_gt, dt, CUSTOM_SIGMAS)
    assert mine.stats["AP"] == -1.0  # pycocotools: no category with ground truth


def test_wrong_number_of_sigmas_is_refused():
    _, _, gt, dt = make_dataset(5, CUSTOM_SIGMAS, seed=1)
    with pytest.raises(ValueError, match="4 sigmas for 5 keypoints"):
        evaluate_arrays(gt, dt, CUSTOM_SIGMAS[:4])
