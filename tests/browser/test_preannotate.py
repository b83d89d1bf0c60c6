"""pre_annotate clicked in the App: a bad threshold disables Execute with the
reason next to the input; then the operator runs and writes the field."""
import pytest
from playwright.sync_api import expect

from browser import helpers

pytestmark = pytest.mark.browser

LABEL = "Pre-annotate keypoints with a pose model"


def test_pre_annotate_from_the_app(app):
    page, ds = app.page, app.dataset
    app.choose_operator(LABEL)
    app.prompt.get_by_text("4 sample(s) will be pre-annotated").wait_for()
    app.prompt.get_by_text("17 of 17 skeleton nodes come from the model").wait_for()
    app.wait_ready()

    app.fill_labelled("Confidence threshold", "1.5")
    app.prompt.get_by_text("The threshold must be between 0 and 1").first.wait_for()
    expect(app.prompt_button("Execute")).to_be_disabled()
    assert "pre_annotations" not in helpers.in_thread(lambda: (ds.reload(), ds.get_field_schema())[1])

    app.fill_labelled("Confidence threshold", "0.3")
    app.wait_ready()
    helpers.save_screenshot(page, "pre-annotate-form", app.prompt)
    execution = app.execute("pre_annotate")
    assert execution.error is None, execution
    assert execution.params["label_field"] == "pre_annotations"

    def written():
        ds.reload()
        return [len(k.keypoints) if k else None for k in ds.sort_by("filepath").values("pre_annotations")]

    # astronaut, cameraman, chelsea (the cat: nobody), grace hopper
    assert helpers.in_thread(written) == [1, 1, 0, 1]
