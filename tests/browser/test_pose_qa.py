"""Issue 16's loop in the App: evaluate the demo's predictions, read the
report, open the worst-OKS view from the report's button, tag those samples
(operator browser) and send them to CVAT (test server) through the request
form it opens prefilled."""
import re

import pytest
from playwright.sync_api import expect

from browser import helpers

pytestmark = pytest.mark.browser

KEY = "browser_eval"
TAG = "pose-fix"


def test_evaluate_report_worst_tag_and_send(cvat_app, cvat_server):
    app, page, ds = cvat_app, cvat_app.page, cvat_app.dataset

    app.choose_operator("Evaluate poses (COCO OKS)")
    app.prompt.get_by_text("OKS sigmas: the template coco17's (17 values)").or_(
        app.prompt.get_by_text("OKS sigmas: the skeleton's (17 values)")).first.wait_for()
    app.fill_labelled("Evaluation key", KEY)
    app.wait_ready()
    execution = app.execute("evaluate_poses")
    assert execution.error is None, execution
    assert execution.params["gt_field"] == "ground_truth"
    assert execution.params["pred_field"] == "predictions"
    # the report in the operator's output
    app.prompt.get_by_text("COCO keypoint metrics (pycocotools-exact)").wait_for()
    helpers.save_screenshot(page, "pose-evaluation-report", app.prompt)
    ds.reload()
    assert ds.list_evaluations() == [KEY]
    n_tp = sum(ds.values(f"{KEY}_tp"))
    assert n_tp > 0

    # one click: the grid shows the samples with matched predictions, worst first
    with page.expect_response(lambda r: helpers.is_execute(r, "show_pose_errors")) as info:
        app.prompt.get_by_role("button", name="Show worst OKS first").click()
    shown_exec = helpers.Execution(info.value)
    assert shown_exec.error is None, shown_exec
    assert any(r["operator_uri"].endswith("set_view") for r in shown_exec.requests), shown_exec
    shown = helpers.in_thread(lambda: len(_worst(ds)))
    assert shown_exec.body["result"]["num_samples"] == shown
    expect(page.get_by_test_id("entry-counts")).to_have_text(
        re.compile(rf"^{shown} (of \d+ )?samples"), timeout=30000)

    # tag them and open the CVAT request, prefilled
    app.close_prompt()
    app.choose_operator("Tag pose errors and request annotation")
    app.prompt.get_by_text(f"{shown} sample(s) will be tagged").wait_for()
    app.wait_ready()
    helpers.save_screenshot(page, "pose-errors-tag-form", app.prompt)
    execution = app.execute("send_pose_errors_to_cvat", expect_close=False)
    assert execution.error is None, execution
    app.prompt.get_by_text(f"{shown} sample(s) will be sent to CVAT").wait_for(timeout=30000)
    params = app.fill_labelled("Annotation key", "fix_worst")
    assert params["target"] == "TAGGED" and params["tag"] == TAG
    assert params["label_field"] == "ground_truth"
    app.wait_ready()
    execution = app.execute("request_skeleton_annotation")
    assert execution.error is None, execution
    ds.reload()
    assert ds.count_sample_tags() == {TAG: shown}
    assert "fix_worst" in ds.list_annotation_runs()
    (task_id,) = ds.load_annotation_results("fix_worst").task_ids
    jobs = cvat_server.session().get("/api/jobs", params={"task_id": task_id}).json()
    assert jobs["count"] >= 1


def _worst(ds):
    from posekit.qa.views import error_view

    return error_view(ds, KEY, "worst")
