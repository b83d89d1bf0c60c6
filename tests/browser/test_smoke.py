"""The App opens on the demo dataset with posekit loaded."""
import os

import pytest
import yaml

from browser import helpers

pytestmark = pytest.mark.browser

REPO_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _manifest_names():
    """Operators and panels that ``fiftyone.yml`` declares."""
    with open(os.path.join(REPO_DIR, "fiftyone.yml")) as f:
        manifest = yaml.safe_load(f)
    return manifest["operators"] + manifest.get("panels", [])


def test_grid_and_operator_browser_list_posekit(page, app_server, demo_dataset):
    with page.expect_response(
        lambda r: r.url.endswith("/operators") and r.request.method == "POST"
    ) as listing:
        helpers.open_dataset(page, app_server, demo_dataset.name)
    body = listing.value.json()
    posekit_errors = [e for e in body["errors"] if "posekit" in str(e).lower()]
    assert not posekit_errors, posekit_errors
    ours = {
        op["uri"].split("/")[-1]: op["config"]
        for op in body["operators"]
        if op["plugin_name"] == helpers.PLUGIN
    }
    assert sorted(ours) == sorted(_manifest_names()), "everything declared registers"

    # the grid shows every demo sample
    app = helpers.App(page, app_server, demo_dataset)
    assert app.lookers.count() == len(demo_dataset)
    assert page.get_by_test_id("entry-counts").inner_text().startswith(
        f"{len(demo_dataset)} sample"
    )

    # backtick opens the operator browser; each listed operator is findable
    browser = app.open_operator_browser()
    search = browser.get_by_test_id("operators-browser-search")
    listed = {name: cfg for name, cfg in ours.items() if not cfg.get("unlisted")}
    assert "define_skeleton" in listed
    for name, cfg in listed.items():
        search.fill(cfg["label"])
        row = browser.get_by_text(name, exact=True)
        row.first.wait_for(state="visible")
        assert browser.get_by_text(cfg["label"], exact=True).first.is_visible()
