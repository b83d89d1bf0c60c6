"""The preview panel on a video sample: it shows a frame's keypoints over
that frame, steps through the frames, follows the frame of a label selected
in the modal, and writes each tracked instance's index."""
import urllib.parse

import numpy as np

from posekit.cvat import video
from test_panel import App
from test_video_annotation import H, N_FRAMES, W, person, video_dataset  # noqa: F401


def _svg(app):
    prefix = "data:image/svg+xml;charset=utf-8,"
    return urllib.parse.unquote(app.data["image"][len(prefix):])


def _tracks(app):
    return sorted(t["index"] for t in app.scene["tracks"])


def test_panel_steps_through_video_frames(video_dataset):
    ds = video_dataset
    video.ensure_video_metadata(ds)
    sid = ds.first().id
    app = App(ds)
    app.call("on_load", current_sample=sid)
    assert app.state["field"] == "frames.kps"
    assert (app.state["frame"], app.state["frame_count"]) == (1, N_FRAMES)
    assert _tracks(app) == [1]  # track 2 starts on frame 9
    assert "data-track='1'" in _svg(app) and ">#1<" in _svg(app)
    first_image = app.data["image"]

    app.call("previous_frame", current_sample=sid)  # nothing before frame 1
    assert app.state["frame"] == 1
    for _ in range(9):
        app.call("next_frame", current_sample=sid)
    assert app.state["frame"] == 10
    assert _tracks(app) == [1, 2]
    assert app.data["image"] != first_image  # the picture is frame 10's
    # track 1's node b is hidden on frames 5..14: 4 + 5 nodes drawn, at the
    # frame's positions
    nodes = app.scene["nodes"]
    assert len(nodes) == 9
    for k in (0, 1):
        pts, _ = person(None, k, 10)
        want = [[round(x * W, 1), round(y * H, 1)] for x, y in pts if x == x]
        got = [n["xy"] for n in nodes if n["instance"] == k]
        np.testing.assert_allclose(got, want, atol=0.06)
    assert "frame 10 / 30" in str(app.output)
    app.extra = {"selected_labels": []}
    app.call("on_change_selected_labels", current_sample=sid)
    assert app.state["frame"] == 10  # nothing selected: unchanged


def test_panel_follows_a_selected_label_frame(video_dataset):
    ds = video_dataset
    video.ensure_video_metadata(ds)
    sid = ds.first().id
    kp_id = ds.first().frames[27]["kps"].keypoints[0].id
    app = App(ds)
    app.call("on_load", current_sample=sid)
    app.extra = {"selected_labels": [{"label_id": kp_id, "sample_id": sid,
                                      "field": "frames.kps", "frame_number": 27}]}
    app.call("on_change_selected_labels", current_sample=sid)
    assert app.state["frame"] == 27
    assert _tracks(app) == [2]  # track 1 ended on frame 25
    app.call("next_frame", current_sample=sid)
    app.call("next_frame", current_sample=sid)
    app.call("next_frame", current_sample=sid)
    assert app.state["frame"] == N_FRAMES  # clamped at the last frame
