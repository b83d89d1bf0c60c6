"""Scenarios 1 and 2: the "Define skeleton" form, opened with the backtick."""
import pytest
from playwright.sync_api import expect

from browser import helpers
from posekit.skeleton_store import load_skeleton
from posekit.templates import get_template

pytestmark = pytest.mark.browser

TEMPLATE = "ap10k17"
OLD, NEW = "left_front_paw", "left_forepaw"


def _dataset_query(response):
    """The App's GraphQL query that (re)loads the dataset, skeletons included."""
    return (
        response.request.method == "POST"
        and response.url.endswith("/graphql")
        and "defaultSkeleton" in (response.request.post_data or "")
    )


def test_define_skeleton_from_template_with_edits(app):
    page, ds = app.page, app.dataset
    template = get_template(TEMPLATE)
    labels = list(template.to_model().labels)
    assert OLD in labels and NEW not in labels

    app.choose_operator("Define skeleton")
    app.after_resolve(lambda: app.prompt.get_by_text("A template", exact=True).click())
    template_box = app.prompt.get_by_role("combobox").filter(has_text="COCO-17").first
    app.choose(template_box, template.name, value=TEMPLATE)
    app.prompt.get_by_text(f"{len(labels)} nodes").first.wait_for()
    app.prompt.get_by_alt_text("Skeleton preview").wait_for(state="visible")
    app.scroll_prompt_to_top()
    helpers.save_screenshot(page, "define-skeleton-form", app.prompt)

    # edit a label: the edge that used it shows the new name, untouched
    params = app.edit_text(OLD, NEW)
    [draft_key] = [k for k in params if k.startswith("draft_")]
    assert NEW in params[draft_key]["labels"]
    [to_box] = app.dropdowns_holding(OLD)  # the value the App holds...
    expect(to_box).to_have_text(NEW)  # ...shown under its new name
    expect(app.prompt.get_by_text("unknown label")).to_have_count(0)
    helpers.save_screenshot(page, "define-skeleton-edge-edited", app.prompt)

    with page.expect_response(_dataset_query) as refetch:
        execution = app.execute("define_skeleton")
    assert execution.error is None, execution
    app.prompt.get_by_text("Skeleton saved").wait_for()
    assert "Nodes:" in app.prompt.inner_text()
    app.close_prompt()
    sent = execution.params[draft_key]
    assert sent["labels"][labels.index(OLD)] == NEW
    # the edges went untouched (the App sends the editor's defaults or the
    # old names): the server renames them

    # the database holds the edited template
    ds.reload()
    saved = load_skeleton(ds)
    expected = [NEW if x == OLD else x for x in labels]
    assert saved.labels == expected
    assert ds.default_skeleton.labels == expected
    groups = {g.name: list(g.edges) for g in saved.edge_groups}
    assert ("left_elbow", NEW) in groups["left front leg"]
    assert sum(map(len, groups.values())) == len(template.to_model().edges)

    # the App reloaded the dataset and now draws the new skeleton's edges
    app_skeleton = refetch.value.json()["data"]["dataset"]["defaultSkeleton"]
    assert app_skeleton["labels"] == expected
    assert len(app_skeleton["edges"]) == len(ds.default_skeleton.edges)
    modal = app.open_sample(0)
    modal.get_by_test_id("looker").first.wait_for(state="visible")
    helpers.save_screenshot(page, "define-skeleton-result")


def test_invalid_label_shows_message_and_is_refused(app):
    page, ds = app.page, app.dataset
    before = ds.default_skeleton.to_dict()
    labels = list(ds.default_skeleton.labels)
    first, second = labels[0], labels[1]

    app.choose_operator("Define skeleton")
    app.prompt.get_by_text(f"{len(labels)} nodes").first.wait_for()
    # type the first label's name into the second label: a duplicate
    params = app.edit_text(second, first)
    [draft_key] = [k for k in params if k.startswith("draft_")]
    assert params[draft_key]["labels"][:2] == [first, first]

    message = f"Label 2 '{first}' duplicates label 1"
    app.prompt.get_by_text(message).first.wait_for(state="visible")
    app.prompt.get_by_text("Not saved:").first.wait_for(state="visible")
    helpers.save_screenshot(page, "define-skeleton-invalid", app.prompt)

    # execution is refused: the button is disabled, and the server refuses
    # the same request sent directly
    execute = app.prompt_button("Execute")
    expect(execute).to_be_disabled()  # waits for the App to settle
    body = {k: v for k, v in app.last_resolve_body.items() if k != "target"}
    status, answer = app.execute_directly(body)
    refusal = answer.get("error") or answer.get("stack") or ""
    assert status != 200 or answer.get("error"), answer
    assert "duplicates label 1" in refusal
    ds.reload()
    assert ds.default_skeleton.to_dict() == before
