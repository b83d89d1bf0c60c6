"""A video sample's skeleton tracks load from CVAT in the App, and the
preview panel steps through the video's frames, one track index per person."""
import pytest

from browser import helpers
from posekit.cvat import runs
from test_video_annotation import N_FRAMES, frame_tracks, video_dataset  # noqa: F401

pytestmark = pytest.mark.browser

PANEL = "skeleton_preview"


def test_video_tracks_load_and_panel_steps_frames(page, cvat_app_server, cvat_server, video_dataset):
    ds = video_dataset
    before = frame_tracks(ds)
    creds = {"url": cvat_server.url, "username": cvat_server.username,
             "password": cvat_server.password}
    runs.request_annotation(ds.view(), "video_run", "frames.kps", credentials=creds,
                            segment_size=10)
    ds.clear_frame_field("kps")  # what the App loads below comes from CVAT

    helpers.open_dataset(page, cvat_app_server, ds.name)
    app = helpers.App(page, cvat_app_server, ds)
    app.choose_operator("Load skeleton annotations from CVAT")
    app.prompt.get_by_text("CVAT server:").first.wait_for()
    loaded = app.execute("load_skeleton_annotation")
    assert loaded.error is None, loaded
    assert loaded.params["anno_key"] == "video_run"
    app.close_prompt()  # the load's summary
    ds.reload()
    after = frame_tracks(ds)
    assert sorted(after) == [1, 2]
    assert {i: sorted(f) for i, f in after.items()} == {i: sorted(f) for i, f in before.items()}

    opened = app.open_panel(PANEL)
    assert opened.error is None, opened
    state = opened.panel_patch("state")
    assert state["field"] == "frames.kps" and state["frame"] == 1
    assert state["frame_count"] == N_FRAMES
    scene = opened.panel_patch("data")["scene"]
    assert [t["index"] for t in scene["tracks"]] == [1]
    page.get_by_text(f"frame 1 / {N_FRAMES}", exact=True).wait_for()
    image = page.get_by_alt_text("skeleton preview")
    image.wait_for(state="visible")
    first_src = image.get_attribute("src")

    for n in range(2, 10):
        step = app.panel_event(
            lambda: page.get_by_role("button", name="Next frame").click(), PANEL, "next_frame")
        assert step.error is None, step
        page.get_by_text(f"frame {n} / {N_FRAMES}", exact=True).wait_for()
    scene = step.panel_patch("data")["scene"]
    assert sorted(t["index"] for t in scene["tracks"]) == [1, 2]  # track 2 from frame 9
    assert image.get_attribute("src") != first_src
    helpers.save_screenshot(page, "preview-panel-video")

    back = app.panel_event(
        lambda: page.get_by_role("button", name="Previous frame").click(), PANEL, "previous_frame")
    assert back.error is None, back
    page.get_by_text(f"frame 8 / {N_FRAMES}", exact=True).wait_for()
    assert [t["index"] for t in back.panel_patch("data")["scene"]["tracks"]] == [1]
