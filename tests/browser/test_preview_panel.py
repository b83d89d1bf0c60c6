"""Scenario 6: the skeleton preview panel follows samples and fields."""
import math

import pytest

from browser import helpers

pytestmark = pytest.mark.browser

PANEL = "skeleton_preview"


def expected_summary(sample, field):
    """The counts a user should read for ``sample[field]``, from the database."""
    kps = sample[field].keypoints
    visible = occluded = missing = 0
    for kp in kps:
        flags = kp["occluded"] or [False] * len(kp.points)
        for (x, y), occ in zip(kp.points, flags):
            if math.isnan(x) or math.isnan(y):
                missing += 1
            elif occ:
                occluded += 1
            else:
                visible += 1
    return (
        f"Instances: {len(kps)} · visible: {visible} · "
        f"occluded: {occluded} · missing: {missing}"
    )


def expected_segments(sample, field, skeleton):
    """How many skeleton edges have both ends present in ``sample[field]``
    (``skeleton.edges`` are FiftyOne polylines of node indices)."""
    pairs = {frozenset(p) for line in skeleton.edges for p in zip(line, line[1:])}
    n = 0
    for kp in sample[field].keypoints:
        present = [not (math.isnan(x) or math.isnan(y)) for x, y in kp.points]
        n += sum(all(present[i] for i in pair) for pair in pairs)
    return n


def test_preview_panel_change_sample_and_field(app):
    page, ds = app.page, app.dataset
    samples = list(ds)  # the grid's order
    image = page.get_by_alt_text("skeleton preview")

    loaded = app.open_panel(PANEL)
    assert loaded.error is None, loaded
    scene = loaded.panel_patch("data")["scene"]
    state = loaded.panel_patch("state")
    assert scene["sample_id"] == samples[0].id
    field = state["field"]
    assert field in ("ground_truth", "predictions")
    assert sorted(state["fields"]) == ["ground_truth", "predictions"]
    image.wait_for(state="visible")
    assert page.get_by_text(f"1 / {len(ds)}", exact=True).is_visible()
    summary = expected_summary(samples[0], field)
    page.get_by_text(summary).wait_for()
    # the skeleton drawn is the dataset's: one segment per present edge
    skeleton = ds.default_skeleton
    assert len(scene["segments"]) == expected_segments(samples[0], field, skeleton) > 0
    first_src = image.get_attribute("src")
    assert first_src and first_src.startswith("data:image/svg+xml"), (
        "the panel lost its picture after opening: " + page.inner_text("body")[-300:]
    )
    helpers.save_screenshot(page, "preview-panel")

    # change sample: Next
    step = app.panel_event(
        lambda: page.get_by_role("button", name="Next").click(), PANEL, "next_sample"
    )
    assert step.error is None, step
    assert step.panel_patch("data")["scene"]["sample_id"] == samples[1].id
    page.get_by_text(f"2 / {len(ds)}", exact=True).wait_for()
    page.get_by_text(expected_summary(samples[1], field)).wait_for()
    assert image.get_attribute("src") != first_src

    # change field from the dropdown
    other = "predictions" if field == "ground_truth" else "ground_truth"
    page.get_by_role("combobox").filter(has_text=field).first.click()
    changed = app.panel_event(
        lambda: page.get_by_role("option", name=other, exact=True).click(),
        PANEL,
        "on_change_field",
    )
    assert changed.error is None, changed
    scene = changed.panel_patch("data")["scene"]
    assert scene["field"] == other
    assert scene["sample_id"] == samples[1].id
    assert len(scene["segments"]) == expected_segments(samples[1], other, skeleton)
    page.get_by_text(expected_summary(samples[1], other)).wait_for()


def test_preview_panel_in_the_modal_follows_the_sample(app):
    page, ds = app.page, app.dataset
    samples = list(ds)
    modal = app.open_sample(0)

    loaded = app.panel_event(
        lambda: modal.get_by_test_id(f"panel-tab-{PANEL}").click(), PANEL, "on_load"
    )
    assert loaded.error is None, loaded
    assert loaded.request["current_sample"] == samples[0].id
    scene = loaded.panel_patch("data")["scene"]
    field = loaded.panel_patch("state")["field"]
    assert scene["sample_id"] == samples[0].id
    page.get_by_text(expected_summary(samples[0], field)).wait_for()

    # change sample with the modal's own arrow: the panel follows
    followed = app.panel_event(
        lambda: page.get_by_test_id("nav-right-button").click(),
        PANEL,
        "on_change_current_sample",
    )
    assert followed.error is None, followed
    assert followed.request["current_sample"] == samples[1].id
    scene = followed.panel_patch("data")["scene"]
    assert scene["sample_id"] == samples[1].id and scene["field"] == field
    skeleton = ds.default_skeleton
    assert len(scene["segments"]) == expected_segments(samples[1], field, skeleton)
    page.get_by_text(expected_summary(samples[1], field)).wait_for()
    app.close_modal()


def test_preview_panel_compares_with_a_pose_evaluation(app):
    """Issue 16: "Compare with" in the panel draws the evaluation's ground
    truth with a line per matched predicted node coloured by its error class,
    and shows the evaluation's report below the picture."""
    from collections import Counter

    import posekit.qa as qa

    page, ds = app.page, app.dataset
    helpers.in_thread(qa.evaluate, ds, "predictions", "ground_truth", eval_key="cmp")
    first = helpers.in_thread(ds.first)
    loaded = app.open_panel(PANEL)
    assert loaded.error is None, loaded
    assert loaded.panel_patch("state")["compare_runs"] == ["cmp"]
    page.get_by_alt_text("skeleton preview").wait_for(state="visible")
    plain = page.get_by_alt_text("skeleton preview").get_attribute("src")

    page.get_by_role("combobox").filter(has_text="No comparison").first.click()
    chosen = app.panel_event(
        lambda: page.get_by_role("option", name="cmp", exact=True).click(),
        PANEL, "on_change_compare", value="cmp")
    assert chosen.error is None, chosen
    data = chosen.panel_patch("data")
    cmp = data["scene"]["comparison"]
    assert cmp["eval_key"] == "cmp" and data["scene"]["sample_id"] == first.id
    # the field dropdown names what is drawn: the run's predictions
    assert chosen.panel_patch("state")["field"] == "predictions"
    page.get_by_role("combobox").filter(has_text="predictions").first.wait_for()
    # one line per scored keypoint of each true positive, by stored class
    stored = Counter(c for kp in first.predictions.keypoints if kp["cmp"] == "tp"
                     for c in kp["cmp_classes"] if c != "unscored")
    assert cmp["classes"] == dict(stored) and len(cmp["lines"]) == sum(stored.values()) > 0
    assert cmp["fp"] == sum(kp["cmp"] == "fp" for kp in first.predictions.keypoints)
    assert cmp["fn"] == sum(kp["cmp"] == "fn" for kp in first.ground_truth.keypoints)
    # what the user sees: the overlay, the per-sample counts, the run's report
    image = page.get_by_alt_text("skeleton preview")
    compared = expect_src_change(page, image, plain)
    page.get_by_text("Compared with cmp:").wait_for()
    page.get_by_text("Evaluation cmp: predictions vs ground_truth").wait_for()
    page.get_by_text("COCO keypoint metrics (pycocotools-exact)").wait_for()
    page.get_by_alt_text("AP gain per fixed error class").wait_for(state="attached")
    helpers.save_screenshot(page, "preview-panel-compare")

    # back to no comparison: the predictions alone, no report
    page.get_by_role("combobox").filter(has_text="cmp").first.click()
    back = app.panel_event(
        lambda: page.get_by_role("option", name="No comparison", exact=True).click(),
        PANEL, "on_change_compare", value="-")
    assert back.error is None, back
    scene = back.panel_patch("data")["scene"]
    assert "comparison" not in scene and scene["field"] == "predictions"
    page.get_by_text("Evaluation cmp: predictions vs ground_truth").wait_for(state="detached")
    expect_src_change(page, image, compared)


def expect_src_change(page, image, old, timeout_ms=30000):
    """Waits until the panel's picture is no longer ``old``; returns it."""
    deadline = timeout_ms
    while deadline > 0:
        src = image.get_attribute("src")
        if src != old:
            return src
        page.wait_for_timeout(100)
        deadline -= 100
    raise AssertionError("the panel's picture did not change")
