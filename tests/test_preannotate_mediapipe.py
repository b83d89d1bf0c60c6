"""The embedded MediaPipe model on the demo photos, against the demo's
hand-placed COCO-17 keypoints: COCO OKS >= 0.45 per person, >= 0.6 on
average; the cat gets no person. Needs the pose extra (requirements-pose.txt),
which CI installs."""
import numpy as np

from posekit.preannotate import MediaPipeHands, pre_annotate
from posekit.preannotate.run import read_image
from posekit.templates import get_template
from preannotate_models import coco_oks


def test_coco_oks_matches_the_formula():
    gt = [[0, 0], [10, 0], [np.nan, np.nan]]
    sig = [0.5, 0.5, 0.5]
    assert coco_oks(gt, gt, 100, sig) == 1.0
    # one node 10 px off on area 100, sigma 0.5: exp(-100 / 1 / 100 / 2)
    assert np.isclose(coco_oks(gt, [[0, 10], [10, 0], [5, 5]], 100, sig), (np.exp(-0.5) + 1) / 2)
    assert coco_oks(gt, [[np.nan, np.nan], [10, 0], [0, 0]], 100, sig) == 0.5


def test_demo_people_reach_coco_oks_and_the_cat_gets_nobody(demo_dataset):
    ds = demo_dataset
    out = pre_annotate(ds, "pre")  # default: MediaPipe pose, COCO-17 (the default skeleton)
    assert out["samples"] == 4
    sigmas = get_template("coco17").sigmas
    scores = {}
    for s in ds.sort_by("filepath"):
        name = s.filepath.rsplit("/", 1)[-1]
        w, h = s.metadata.width, s.metadata.height
        if s.ground_truth is None:
            assert name == "chelsea.jpg"
            assert s.pre is not None and s.pre.keypoints == []
            continue
        (gt,) = s.ground_truth.keypoints
        (pred,) = s.pre.keypoints
        assert len(pred.points) == 17 and len(pred.confidence) == 17
        g = np.asarray(gt.points, float) * [w, h]
        p = np.asarray(pred.points, float) * [w, h]
        lo, hi = np.nanmin(g, axis=0), np.nanmax(g, axis=0)
        area = float(np.prod(hi - lo))
        scores[name] = coco_oks(g, p, area, sigmas)
    print("COCO OKS per image:", {k: round(v, 3) for k, v in scores.items()},
          "mean %.3f" % np.mean(list(scores.values())))
    assert set(scores) == {"astronaut.jpg", "cameraman.jpg", "grace_hopper.jpg"}
    assert min(scores.values()) >= 0.45
    assert np.mean(list(scores.values())) >= 0.6


def test_hands_model_loads_from_the_wheel_and_finds_no_hand_on_the_cat(demo_media_dir):
    model = MediaPipeHands()
    try:
        preds = model.predict(read_image(demo_media_dir + "/chelsea.jpg"))
    finally:
        model.close()
    assert model.labels == get_template("hand21").labels
    assert preds == []
