"""Annotation QA: inter-annotator OKS, sigma estimation from double
annotations (within 10% of the truth at 500 instances), adoption as the
skeleton's sigmas."""
import fiftyone as fo
import numpy as np

from posekit.qa import Poses
from posekit.qa import agreement as ag
from posekit.qa.compare import adopt_sigmas, compare_fields
from posekit.skeleton_store import load_skeleton
from posekit.templates import get_template

COCO17 = get_template("coco17")


def double_annotations(n, sigmas, seed=0, per_image=4, miss=0.1):
    """Two annotations of ``n`` people whose per-keypoint error has
    E[d^2] = sigma^2 * area (COCO's definition)."""
    rng = np.random.default_rng(seed)
    sigmas = np.asarray(sigmas)
    K = len(sigmas)
    layout = np.asarray(COCO17.layout, float)[:K] / 100 - 0.5
    img = np.arange(n) // per_image
    size = rng.uniform(80, 300, n)
    centre = np.c_[(np.arange(n) % per_image) * 700 + 350, np.full(n, 400)]
    truth = centre[:, None, :] + layout[None] * size[:, None, None]
    area = (size * 0.6 * size) * rng.uniform(0.9, 1.1, n)
    sd = sigmas[None, :, None] * np.sqrt(area)[:, None, None] / np.sqrt(2)

    def one():
        xy = truth + rng.normal(0, 1, truth.shape) * sd
        vis = rng.random((n, K)) > miss
        return Poses(img, np.ones(n, int), xy, vis, area)

    return one(), one()


def test_sigma_estimate_within_ten_percent_at_500_instances():
    true = np.asarray(COCO17.sigmas)
    a, b = double_annotations(500, true, seed=1, miss=0.0)
    est, n = ag.estimate_sigmas(a, b, bootstrap_sigmas=true)
    rel = np.abs(est - true) / true
    for lb, t, e, r, m in zip(COCO17.labels, true, est, rel, n):
        print(f"{lb:>15} true {t:.4f} estimated {e:.4f} ({100 * r:.1f}%, n={m})")
    assert (n == 500).all()
    assert rel.max() < 0.10
    # the uniform bootstrap pairs the same instances
    est2, _ = ag.estimate_sigmas(a, b)
    np.testing.assert_allclose(est2, est)


def test_inter_annotator_oks_is_high_for_careful_and_low_for_sloppy_annotators():
    true = np.asarray(COCO17.sigmas)
    a, b = double_annotations(200, true, seed=2)
    careful = ag.compare(a, b, true)
    a2, b2 = double_annotations(200, true * 3, seed=2)
    sloppy = ag.compare(a2, b2, true)
    assert len(careful.oks) == 200 and (careful.a_rows == careful.b_rows).all()
    assert careful.oks.mean() > 0.75 > sloppy.oks.mean()
    per = careful.per_keypoint(COCO17.labels)
    assert [r["keypoint"] for r in per] == COCO17.labels
    # each annotator misses 10%: about 81% of the points are marked by both
    assert all(140 < r["n"] < 185 for r in per)


def _to_dataset(dataset, a, b, fields=("annotator_a", "annotator_b")):
    W = H = 3000
    samples = []
    for i in np.unique(a.img):
        s = fo.Sample(filepath=f"/tmp/posekit-agree/{i}.jpg",
                      metadata=fo.ImageMetadata(width=W, height=H))
        for field, p in zip(fields, (a, b)):
            rows = np.nonzero(p.img == i)[0]
            s[field] = fo.Keypoints(keypoints=[fo.Keypoint(
                label="person", area=float(p.area[r]),
                points=[(x / W, y / H) if v else (float("nan"),) * 2
                        for (x, y), v in zip(p.xy[r], p.vis[r])]) for r in rows])
        samples.append(s)
    dataset.add_samples(samples)
    dataset.add_dynamic_sample_fields()


def test_compare_fields_estimates_writes_oks_and_adopts(dataset):
    true = np.asarray(COCO17.sigmas)
    a, b = double_annotations(500, true, seed=3)
    _to_dataset(dataset, a, b)
    sk = COCO17.to_model()
    sk.sigmas = None
    from posekit.skeleton_store import save_skeleton
    save_skeleton(dataset, sk)
    out = compare_fields(dataset, "annotator_a", "annotator_b", oks_key="agree")
    assert out["pairs"] == 500 and out["only_first"] == 0
    est = np.array(out["estimated_sigmas"])
    assert (np.abs(est - true) / true).max() < 0.10
    oks = dataset.values("annotator_a.keypoints.agree", unwind=True)
    assert len(oks) == 500 and abs(np.mean(oks) - out["mean_oks"]) < 1e-12
    partner = dataset.first()
    kp = partner.annotator_b.keypoints[0]
    assert kp.agree_id in {k.id for k in partner.annotator_a.keypoints}
    adopt_sigmas(dataset, "annotator_a", out["estimated_sigmas"])
    dataset.reload()
    assert load_skeleton(dataset).sigmas == out["estimated_sigmas"]


def test_compare_operator_reports_and_adopts(dataset):
    from annotation_flow import form, run

    true = np.asarray(COCO17.sigmas)
    a, b = double_annotations(100, true, seed=4)
    _to_dataset(dataset, a, b)
    from posekit.skeleton_store import save_skeleton
    save_skeleton(dataset, COCO17.to_model())
    props = form("compare_annotations", dataset, params={
        "field_a": "annotator_a", "field_b": "annotator_a"})["type"]["properties"]
    assert props["field_b"]["invalid"] is True
    result = run("compare_annotations", dataset, {
        "field_a": "annotator_a", "field_b": "annotator_b", "adopt": True})
    assert result.error is None, result.error
    assert "100 paired instances" in result.result["report"]
    assert "estimated sigma" in result.result["report"]
    dataset.reload()
    assert load_skeleton(dataset).sigmas == result.result["estimated_sigmas"]
