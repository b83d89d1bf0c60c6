"""Scenario 3: select two samples in the grid, run the tag operator."""
import re

import pytest
from playwright.sync_api import expect

from browser import helpers

pytestmark = pytest.mark.browser

TAG = "annotate"


def test_tag_two_selected_samples(app):
    page, ds = app.page, app.dataset
    ids = ds.values("id")  # the grid's order
    assert not ds.count_sample_tags()

    app.toggle_select(0)
    app.toggle_select(2)
    expect(app.selection_count()).to_have_text("2")

    app.choose_operator("Tag samples for annotation")
    app.prompt.get_by_text(f"Tags 2 sample(s) with '{TAG}'").wait_for()
    app.wait_ready()
    helpers.save_screenshot(page, "tag-form", app.prompt)
    execution = app.execute("tag_for_annotation")
    assert execution.error is None, execution
    assert execution.params["tag"] == TAG

    # the database: exactly the two selected samples carry the tag
    ds.reload()
    tagged = set(ds.match_tags(TAG).values("id"))
    assert tagged == {ids[0], ids[2]}
    assert ds.count_sample_tags() == {TAG: 2}

    # the App: filtering the grid by the new tag shows those two samples
    page.get_by_test_id("sidebar-field-arrow-enabled-tags").or_(
        page.get_by_test_id("sidebar-field-arrow-disabled-tags")
    ).first.click()
    page.get_by_placeholder("+ filter by sample tag").fill(TAG[:4])
    page.locator("[data-cy^=selector-result]", has_text=TAG).first.click()
    expect(page.get_by_test_id("entry-counts")).to_have_text(re.compile(r"^2 (of \d+ )?samples"))
    expect(app.lookers).to_have_count(2)
