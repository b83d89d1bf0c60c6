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
