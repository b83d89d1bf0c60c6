"""Video skeleton tracks through CVAT (the emulator, which serves tracks per
job as real CVAT does): request a video's frame keypoints as skeleton
tracks, load them back, across jobs with and without overlap."""
import math

import cv2
import numpy as np
import pytest

import fiftyone as fo

from annotation_flow import set_credentials
from posekit.cvat import runs, video

NODES = ["a", "b", "c", "d", "e"]
W, H, N_FRAMES = 320, 240, 30


def make_video(path, n=N_FRAMES):
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (W, H))
    for i in range(n):
        img = np.zeros((H, W, 3), np.uint8)
        cv2.circle(img, (10 + 8 * i, 120), 6, (0, 255, 0), -1)
        out.write(img)
    out.release()
    return str(path)


def person(t, k, frame):
    """Track k's pose on a frame: (relative points with NaN, occluded)."""
    pts = [[(40 + 100 * k + 2 * frame + 10 * j) / W, (40 + 3 * frame + 20 * j) / H]
           for j in range(len(NODES))]
    occ = [False] * len(NODES)
    if k == 0 and 5 <= frame < 15:
        pts[1] = [math.nan, math.nan]  # b hidden for a while
    if k == 1 and frame >= 18:
        occ[2] = True
    return pts, occ


@pytest.fixture
def video_dataset(tmp_path):
    ds = fo.Dataset()
    ds.default_skeleton = fo.KeypointSkeleton(labels=NODES, edges=[[0, 1], [1, 2], [2, 3], [3, 4]])
    sample = fo.Sample(filepath=make_video(tmp_path / "walk.mp4"))
    for f in range(1, N_FRAMES + 1):
        kps = []
        for k, frames in enumerate([range(1, 26), range(9, 31)]):
            if f in frames:
                pts, occ = person(None, k, f)
                kps.append(fo.Keypoint(label="person", points=pts, index=k + 1, occluded=occ))
        if kps:
            sample.frames[f]["kps"] = fo.Keypoints(keypoints=kps)
    ds.add_sample(sample)
    yield ds
    ds.delete()


def frame_tracks(ds, field="kps"):
    """``{index: {frame_number: (points, occluded)}}`` of a video's frames."""
    out = {}
    sample = ds.first()
    for fn, frame in sample.frames.items():
        for kp in (frame[field].keypoints if frame[field] else []):
            out.setdefault(kp.index, {})[fn] = (np.asarray(kp.points, float), list(kp.occluded))
    return out


def assert_same_tracks(got, want):
    assert sorted(got) == sorted(want)
    for index in want:
        assert sorted(got[index]) == sorted(want[index]), index
        for fn, (pts, occ) in want[index].items():
            gpts, gocc = got[index][fn]
            np.testing.assert_allclose(gpts, pts, atol=1e-9, err_msg=str((index, fn)))
            assert gocc == occ, (index, fn)


def request(ds, cvat_server, key, **kwargs):
    creds = {"url": cvat_server.url, "username": cvat_server.username,
             "password": cvat_server.password}
    return runs.request_annotation(ds.view(), key, "frames.kps", credentials=creds, **kwargs)


def test_video_tracks_up_and_back(video_dataset, cvat_server, monkeypatch):
    ds = video_dataset
    set_credentials(monkeypatch, cvat_server)
    before = frame_tracks(ds)
    results = request(ds, cvat_server, "vid", segment_size=10)
    (task_id,) = results.task_ids
    s = cvat_server.session()
    task = s.get("/api/tasks/%d" % task_id).json()
    assert (task["overlap"], task["segment_size"], task["size"], task["mode"]) == (0, 10, 30, "interpolation")
    jobs = s.get("/api/jobs", params={"task_id": task_id}).json()["results"]
    assert sorted((j["start_frame"], j["stop_frame"]) for j in jobs) == [(0, 9), (10, 19), (20, 29)]
    # CVAT holds skeleton tracks (one piece per job), not shapes
    pieces = [s.get("/api/jobs/%d/annotations" % j["id"]).json() for j in jobs]
    assert [len(p["tracks"]) for p in pieces] == [2, 2, 1 + 1]
    assert all(not p["shapes"] for p in pieces)
    assert {len(t["elements"]) for p in pieces for t in p["tracks"]} == {5}

    ds.clear_frame_field("kps")  # so everything below comes from CVAT
    runs.load_annotation(ds, "vid", credentials={"url": cvat_server.url})
    ds.reload()
    after = frame_tracks(ds)
    assert len(after) == 2
    assert_same_tracks(after, before)

    # a second load changes nothing
    ids = ds.values("frames.kps.keypoints.id")
    runs.load_annotation(ds, "vid")
    assert ds.values("frames.kps.keypoints.id") == ids

    # round trip: what was loaded goes up again and comes back the same
    request(ds, cvat_server, "vid2", segment_size=7)
    runs.load_annotation(ds, "vid2")
    assert_same_tracks(frame_tracks(ds), before)
    assert ds.values("frames.kps.keypoints.id") == ids


def test_annotator_edits_a_track_in_one_job(video_dataset, cvat_server, monkeypatch):
    ds = video_dataset
    set_credentials(monkeypatch, cvat_server)
    results = request(ds, cvat_server, "vid", segment_size=10)
    s = cvat_server.session()
    jobs = sorted(s.get("/api/jobs", params={"task_id": results.task_ids[0]}).json()["results"],
                  key=lambda j: j["start_frame"])
    # in job 10-19 the annotator hides node e of track 2 from frame 12 on
    # (one outside keyframe) and moves node a of track 1 at frame 15
    body = s.get("/api/jobs/%d/annotations" % jobs[1]["id"]).json()
    t1, t2 = sorted(body["tracks"], key=lambda t: t["frame"])
    e = t2["elements"][4]
    e["shapes"] = [sh for sh in e["shapes"] if sh["frame"] < 12] + [
        dict(e["shapes"][0], frame=12, outside=True)]
    a = t1["elements"][0]
    for sh in a["shapes"]:
        if sh["frame"] == 14:  # frame_number 15
            sh["points"] = [11.0, 22.0]
    for t in body["tracks"]:
        t.pop("id")
        for sh in t["shapes"]:
            sh.pop("id")
        for el in t["elements"]:
            el.pop("id")
            for sh in el["shapes"]:
                sh.pop("id", None)
    assert s.put("/api/jobs/%d/annotations" % jobs[1]["id"], json=body).ok
    runs.load_annotation(ds, "vid")
    got = frame_tracks(ds)
    assert len(got) == 2
    np.testing.assert_allclose(got[1][15][0][0], [11.0 / W, 22.0 / H])
    assert all(np.isnan(got[2][fn][0][4]).all() for fn in range(13, 21))
    assert not np.isnan(got[2][21][0][4]).any()  # the next job still has e
    assert not np.isnan(got[2][12][0][4]).any()


@pytest.mark.parametrize("overlap,n_jobs", [(0, 3), (5, 5)])
def test_task_with_overlap_loads_two_tracks(video_dataset, cvat_server, monkeypatch, overlap, n_jobs):
    # a task made with CVAT's default overlap (5 for video): the jobs share
    # frames and each holds its own piece of every track
    ds = video_dataset
    set_credentials(monkeypatch, cvat_server)
    monkeypatch.setattr(video, "TASK_OVERLAP", overlap if overlap else 0)
    if overlap:
        monkeypatch.setattr(video, "TASK_OVERLAP", None)  # CVAT's default
    before = frame_tracks(ds)
    results = request(ds, cvat_server, "vid", segment_size=10)
    s = cvat_server.session()
    task = s.get("/api/tasks/%d" % results.task_ids[0]).json()
    assert task["overlap"] == overlap
    task_get = s.get("/api/tasks/%d/annotations" % results.task_ids[0]).json()
    assert len(task_get["tracks"]) > 2  # CVAT's own task GET: pieces
    ds.clear_frame_field("kps")  # so everything below comes from CVAT
    runs.load_annotation(ds, "vid")
    got = frame_tracks(ds)
    assert len(got) == 2
    assert_same_tracks(got, before)
    assert len(s.get("/api/jobs", params={"task_id": results.task_ids[0]}).json()["results"]) == n_jobs


def test_skeleton_shapes_on_video_frames(video_dataset, cvat_server, monkeypatch):
    # a keypoint without a track index goes up as a skeleton shape on its
    # frame and comes back there, with no index
    ds = video_dataset
    set_credentials(monkeypatch, cvat_server)
    sample = ds.first()
    lone = fo.Keypoint(label="person", points=[[0.5, 0.5], [0.6, 0.5], [math.nan, math.nan],
                                               [0.7, 0.6], [0.8, 0.7]],
                       occluded=[False, True, False, False, False])
    sample.frames[3]["kps"].keypoints.append(lone)
    sample.save()
    results = request(ds, cvat_server, "vid", segment_size=10)
    s = cvat_server.session()
    body = s.get("/api/tasks/%d/annotations" % results.task_ids[0]).json()
    assert [sh["frame"] for sh in body["shapes"]] == [2]
    ds.clear_frame_field("kps")
    runs.load_annotation(ds, "vid")
    frame = ds.first().frames[3]
    (got,) = [k for k in frame["kps"].keypoints if k.index is None]
    assert got.id == lone.id
    np.testing.assert_allclose(got.points, lone.points)
    assert got["occluded"] == [False, True, False, False, False]
    assert len(frame_tracks(ds)) == 2 + 1  # the None "track" holds the lone one


def test_fiftyone_load_annotations_reads_the_tracks_too(video_dataset, cvat_server, monkeypatch):
    # dataset.load_annotations (FiftyOne's own merge) gets the same tracks
    ds = video_dataset
    set_credentials(monkeypatch, cvat_server)
    before = frame_tracks(ds)
    request(ds, cvat_server, "vid", segment_size=10)
    ds.clear_frame_field("kps")
    ds.load_annotations("vid", url=cvat_server.url, username=cvat_server.username,
                        password=cvat_server.password)
    assert_same_tracks(frame_tracks(ds), before)


def test_video_needs_a_frame_field(video_dataset, cvat_server, monkeypatch):
    ds = video_dataset
    set_credentials(monkeypatch, cvat_server)
    creds = {"url": cvat_server.url, "username": cvat_server.username,
             "password": cvat_server.password}
    with pytest.raises(ValueError, match="frame-level field"):
        runs.request_annotation(ds.view(), "vid", "kps2", credentials=creds)
    assert ds.list_annotation_runs() == []
    assert ("POST", "/api/tasks") not in cvat_server.calls
