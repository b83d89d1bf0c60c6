"""posekit.qa.evaluate on FiftyOne fields: the same numbers as pycocotools,
per-label results written like evaluate_detections, an evaluation run that
FiftyOne lists, loads, renames and deletes."""
import fiftyone as fo
import numpy as np
import pytest

import posekit.qa as qa
from posekit.templates import get_template
from qa_synth import make_dataset, pycocotools_eval, to_fiftyone

COCO17 = get_template("coco17")


@pytest.fixture
def synth(dataset):
    gt_dict, results, _, _ = make_dataset(120, COCO17.sigmas, COCO17.layout,
                                          seed=5, crowd_rate=0.4)
    gt2, res2 = to_fiftyone(dataset, gt_dict, results, COCO17.to_model())
    return dataset, gt2, res2


def test_numbers_equal_pycocotools_on_the_dataset(synth):
    ds, gt2, res2 = synth
    stats, _ = pycocotools_eval(gt2, res2, COCO17.sigmas)
    res = qa.evaluate(ds, "predictions", "ground_truth", crowd_field="crowd")
    got = np.array(list(res.metrics().values()))
    print(res.metrics())
    np.testing.assert_allclose(got, stats, rtol=0, atol=1e-9)
    assert res.report()["sigmas_source"] == "skeleton"


@pytest.mark.parametrize("errors", [True, False], ids=["mined", "not-mined"])
def test_labels_get_eval_fields_and_samples_get_counts(synth, errors):
    # without error mining too, each matched label gets its OKS (it was None)
    ds, gt2, res2 = synth
    res = qa.evaluate(ds, "predictions", "ground_truth", eval_key="ev",
                      crowd_field="crowd", errors=errors)
    r = res.report()
    pred_out = ds.values("predictions.keypoints.ev", unwind=True)
    gt_out = ds.values("ground_truth.keypoints.ev", unwind=True)
    assert pred_out.count("tp") == r["counts"]["tp"] == gt_out.count("tp")
    assert pred_out.count("fp") == r["counts"]["fp"] == sum(ds.values("ev_fp"))
    assert gt_out.count("fn") == r["counts"]["fn"] == sum(ds.values("ev_fn"))
    assert sum(ds.values("ev_tp")) == r["counts"]["tp"]
    assert set(pred_out) <= {"tp", "fp", "ignored"} and "ignored" in gt_out
    # a tp prediction points at its ground truth, which points back
    for s in ds.select_fields(["predictions", "ground_truth"]):
        gt_by_id = {k.id: k for k in s.ground_truth.keypoints}
        for k in s.predictions.keypoints:
            if k.ev == "tp":
                g = gt_by_id[k.ev_id]
                assert g.ev == "tp" and g.ev_id == k.id
                assert k.ev_oks >= 0.5 and abs(g.ev_oks - k.ev_oks) < 1e-12
            elif k.ev == "fp":
                assert k.ev_id is None and k.ev_oks is None
    # the App can filter on them: worst true positives first
    view = ds.filter_labels("predictions", fo.ViewField("ev") == "tp")
    assert view.count("predictions.keypoints") == r["counts"]["tp"]


def test_evaluation_run_is_listed_loaded_renamed_and_deleted(synth):
    ds, _, _ = synth
    res = qa.evaluate(ds, "predictions", "ground_truth", eval_key="ev",
                      crowd_field="crowd")
    assert ds.list_evaluations() == ["ev"]
    info = ds.get_evaluation_info("ev")
    assert info.config.method == "posekit-coco-oks"
    assert info.config.pred_field == "predictions"
    ds.reload()
    loaded = ds.load_evaluation_results("ev")
    assert loaded.metrics() == res.metrics()
    assert loaded.per_keypoint() == res.per_keypoint()
    assert loaded.errors()["per_class"] == res.errors()["per_class"]
    ds.rename_evaluation("ev", "ev2")
    assert ds.list_evaluations() == ["ev2"]
    assert ds.has_field("predictions.keypoints.ev2_oks")
    assert not ds.has_field("predictions.keypoints.ev_oks")
    ds.delete_evaluation("ev2")
    assert ds.list_evaluations() == []
    for f in ("ev2_tp", "predictions.keypoints.ev2", "ground_truth.keypoints.ev2_id",
              "predictions.keypoints.ev2_swap"):
        assert not ds.has_field(f), f


def test_report_print_and_markdown(synth, capsys):
    ds, _, _ = synth
    res = qa.evaluate(ds, "predictions", "ground_truth", crowd_field="crowd")
    res.print_report()
    text = capsys.readouterr().out
    assert "| AP | AP50 |" in text and "left_wrist" in text and "inversion" in text
    md = res.markdown()
    assert md.count("data:image/svg+xml;base64,") == 3
    kp = res.per_keypoint()
    assert [r["keypoint"] for r in kp] == COCO17.labels
    assert all(r["n"] > 0 and 0 < r["mean_ks"] <= 1 for r in kp)


def test_bad_input_is_refused_with_a_clear_message(synth):
    ds, _, _ = synth
    with pytest.raises(ValueError, match="not a fo.Keypoints field"):
        qa.evaluate(ds, "crowd", "ground_truth")
    with pytest.raises(ValueError, match="3 sigmas given for 17 keypoints"):
        qa.evaluate(ds, "predictions", "ground_truth", sigmas=[0.1] * 3)
    assert ds.list_evaluations() == []


def test_reader_keeps_each_labels_own_visible_and_confidence_lists(dataset, tmp_path):
    # labels mix full, missing and wrong-length per-point lists: each label
    # keeps its own values, the others get the stated defaults
    import cv2

    from posekit.qa import dataset as qd

    path = str(tmp_path / "a.png")
    cv2.imwrite(path, np.zeros((50, 100, 3), np.uint8))
    nan = float("nan")
    gt = fo.Keypoints(keypoints=[
        fo.Keypoint(label="person", points=[(0.1, 0.2), (0.3, 0.4), (nan, nan)],
                    visible=[1, 0, 1]),
        fo.Keypoint(label="person", points=[(0.5, 0.5), (0.6, 0.6), (0.7, 0.7)]),
        fo.Keypoint(label="person", points=[(0.2, 0.2), (0.2, 0.3), (0.2, 0.4)],
                    visible=[0, 1]),
    ])
    pred = fo.Keypoints(keypoints=[
        fo.Keypoint(label="person", points=[(0.1, 0.2), (0.3, 0.4), (0.5, 0.6)],
                    confidence=[0.2, nan, 0.4]),
        fo.Keypoint(label="person", points=[(0.5, 0.5), (0.6, 0.6), (0.7, 0.7)]),
    ])
    dataset.add_samples([fo.Sample(filepath=path), fo.Sample(filepath=path, gt=gt, pred=pred)],
                        dynamic=True)  # declares visible and confidence
    ids, w, h = qd.image_sizes(dataset)
    classes = {}
    g = qd.read_keypoints(dataset, "gt", w, h, classes, True)
    d = qd.read_keypoints(dataset, "pred", w, h, classes, False, 3)
    assert g.counts == [0, 3] and d.counts == [0, 2]
    np.testing.assert_allclose(g.poses.xy[0, :2], [[10, 10], [30, 20]])
    assert g.poses.vis.tolist() == [[True, False, False], [True] * 3, [True] * 3]
    np.testing.assert_allclose(d.poses.score, [0.3, 1.0])  # mean of the known; none: 1
    assert g.label_ids == [str(k.id) for k in gt.keypoints]
