"""The pose QA operators through FiftyOne's execution path: the form (field
choices, sigma source, invalid input), immediate and delegated evaluation,
the report, the suspects' view and the tag-and-request step."""
import json

import fiftyone as fo
import numpy as np
import pytest

import posekit.qa as qa
import posekit.qa.views  # noqa: F401
from annotation_flow import form, run
from conftest import uri
from posekit.skeleton import EdgeGroup, Skeleton
from posekit.templates import get_template
from qa_synth import make_dataset, pycocotools_eval, to_fiftyone

COCO17 = get_template("coco17")


@pytest.fixture
def synth(dataset):
    gt_dict, results, _, _ = make_dataset(60, COCO17.sigmas, COCO17.layout, seed=7)
    gt2, res2 = to_fiftyone(dataset, gt_dict, results, COCO17.to_model())
    return dataset, gt2, res2


def _props(prop_json):
    return prop_json["type"]["properties"]


def test_form_offers_fields_and_states_the_sigma_source(synth):
    ds, _, _ = synth
    f = form("evaluate_poses", ds)
    props = _props(f)
    assert props["gt_field"]["default"] == "ground_truth"
    assert props["pred_field"]["default"] == "predictions"
    text = json.dumps(f)
    assert "OKS sigmas: the skeleton's (17 values)" in text
    assert not any(p.get("invalid") for p in props.values())


def test_bad_input_marks_the_form_invalid_and_changes_nothing(synth):
    ds, _, _ = synth
    props = _props(form("evaluate_poses", ds, params={"sigmas": "0.1, 0.2"}))
    assert props["sigmas"]["invalid"] is True
    assert props["sigmas"]["error_message"] == "2 sigmas given for 17 keypoints"
    props = _props(form("evaluate_poses", ds, params={
        "pred_field": "ground_truth", "eval_key": "9bad"}))
    assert props["pred_field"]["invalid"] is True
    assert "identifier" in props["eval_key"]["error_message"]
    result = run("evaluate_poses", ds, {"gt_field": "ground_truth",
                                        "pred_field": "predictions",
                                        "eval_key": "9bad"})
    assert result.error
    assert ds.list_evaluations() == []
    assert not ds.has_field("predictions.keypoints.eval_poses")


def test_custom_skeleton_without_sigmas_gets_a_stated_uniform_default(dataset):
    sk = Skeleton(labels=["a", "b", "c", "d", "e"],
                  edge_groups=[EdgeGroup("g", [("a", "b")])])
    sig = [0.06] * 5
    gt_dict, results, _, _ = make_dataset(30, sig, seed=3)
    gt2, res2 = to_fiftyone(dataset, gt_dict, results, sk)
    text = json.dumps(form("evaluate_poses", dataset))
    assert "a uniform 0.06 is used" in text
    result = run("evaluate_poses", dataset, {
        "gt_field": "ground_truth", "pred_field": "predictions", "eval_key": "u",
        "crowd_field": "crowd"})
    assert result.error is None, result.error
    stats, _ = pycocotools_eval(gt2, res2, sig)
    np.testing.assert_allclose(list(result.result["stats"].values()), stats,
                               rtol=0, atol=1e-9)
    assert "Sigmas: uniform" in result.result["report"]
    # typed sigmas are used as given
    typed = [0.03, 0.05, 0.07, 0.09, 0.11]
    result = run("evaluate_poses", dataset, {
        "gt_field": "ground_truth", "pred_field": "predictions", "eval_key": "t", "crowd_field": "crowd",
        "sigmas": ", ".join(map(str, typed))})
    stats, _ = pycocotools_eval(gt2, res2, typed)
    np.testing.assert_allclose(list(result.result["stats"].values()), stats,
                               rtol=0, atol=1e-9)


def test_immediate_run_reports_and_offers_the_next_steps(synth):
    ds, gt2, res2 = synth
    result = run("evaluate_poses", ds, {
        "gt_field": "ground_truth", "pred_field": "predictions", "eval_key": "ev",
        "crowd_field": "crowd"})
    assert result.error is None, result.error
    stats, _ = pycocotools_eval(gt2, res2, COCO17.sigmas)
    np.testing.assert_allclose(list(result.result["stats"].values()), stats,
                               rtol=0, atol=1e-9)
    assert "| AP | AP50 |" in result.result["report"]
    assert ds.list_evaluations() == ["ev"]
    report = run("pose_evaluation_report", ds, {"eval_key": "ev"})
    assert report.result["stats"] == result.result["stats"]


def test_delegated_run_completes_with_progress(synth):
    from fiftyone.operators.delegated import DelegatedOperationService

    ds, _, _ = synth
    queued = run("evaluate_poses", ds, {
        "gt_field": "ground_truth", "pred_field": "predictions",
        "eval_key": "later"}, delegate=True)
    assert queued.error is None, queued.error
    assert ds.list_evaluations() == []
    svc = DelegatedOperationService()
    svc.execute_queued_operations(operator=uri("evaluate_poses"))
    ops = svc.list_operations(operator=uri("evaluate_poses"), dataset_name=ds.name)
    assert ops and ops[-1].run_state == "completed", ops[-1].run_state
    ds.reload()
    assert ds.list_evaluations() == ["later"]
    assert ops[-1].status is not None and ops[-1].status.progress == 1.0


def test_show_errors_sets_the_view_and_send_tags_and_prompts(synth):
    ds, _, _ = synth
    run("evaluate_poses", ds, {"gt_field": "ground_truth",
                               "pred_field": "predictions", "eval_key": "ev"})
    result = run("show_pose_errors", ds, {"eval_key": "ev", "mode": "worst"})
    assert result.error is None, result.error
    expected = qa.views.error_view(ds, "ev", "worst")
    assert result.result["num_samples"] == len(expected) > 0
    reqs = result.executor.to_json()["requests"]
    set_view = [r for r in reqs if r["operator_uri"].endswith("set_view")]
    assert set_view, reqs
    # worst first: the first sample holds the lowest OKS of any tp
    oks = [min(v) for v in expected.values("predictions.keypoints.ev_oks")]
    assert oks == sorted(oks)
    result = run("send_pose_errors_to_cvat", ds, {
        "eval_key": "ev", "mode": "worst", "tag": "fix-me"})
    assert result.error is None, result.error
    assert ds.match_tags("fix-me").count() == len(expected)
    reqs = result.executor.to_json()["requests"]
    prompt = [r for r in reqs if r["operator_uri"].endswith("prompt_user_for_operation")]
    assert prompt, reqs
    assert prompt[0]["params"]["operator_uri"] == uri("request_skeleton_annotation")
    assert prompt[0]["params"]["params"] == {
        "target": "TAGGED", "tag": "fix-me", "label_field": "ground_truth"}
