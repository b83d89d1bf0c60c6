"""posekit.cvat.tracks against real CVAT: the job GETs recorded on CVAT 2.23.1
and 2.73.0, interpolated and stitched, equal CVAT's own "CVAT for images 1.1"
exports of the same tasks, frame by frame (positions to 0.01 px, outside,
occluded, instance count)."""
import numpy as np
import pytest

import recorded_tracks as R
from posekit.cvat import tracks as T


def load(rec, state=""):
    """What posekit loads from the job GETs: ``(pieces per job, tracks)``."""
    info = R.task_info(rec)
    orders = {info["label_id"]: info["node_ids"]}
    jobs = [
        (j["start_frame"], j["stop_frame"],
         T.job_tracks(body, orders, j["start_frame"], j["stop_frame"]))
        for j, body in R.job_bodies(rec, state)
    ]
    return jobs, T.stitch(jobs)


def per_frame(tracks):
    out = {}
    for t in tracks:
        for k, f in enumerate(t.frames):
            out.setdefault(int(f), []).append((t.points[k], t.outside[k], t.occluded[k]))
    return out


def export(version, scenario, key, dedupe):
    frames = R.parse_images_export(R.export_path(version, scenario, key))
    return {f: R.distinct(s) for f, s in frames.items()} if dedupe else frames


def job_exports(version, scenario, rec):
    """The union of the per-job image exports, one copy of each skeleton."""
    union = {}
    for key in R.job_export_keys(rec).values():
        for f, skels in R.parse_images_export(R.export_path(version, scenario, key)).items():
            union.setdefault(f, []).extend(skels)
    return {f: R.distinct(s) for f, s in union.items()}


def assert_frames_equal(tracks, oracle, outside_coords=False):
    bad = R.frame_mismatches(per_frame(tracks), oracle, outside_coords)
    assert not bad, "frames differing from CVAT's export: %s" % {
        f: (len(a), len(b)) for f, (a, b) in bad.items()
    }


@pytest.mark.parametrize("version", R.VERSIONS)
@pytest.mark.parametrize("scenario", ["single_job", "variants"])
def test_one_job_equals_cvat_export(version, scenario):
    rec = R.load(version, scenario)
    jobs, tracks = load(rec)
    assert len(tracks) == (2 if scenario == "single_job" else 3)
    oracle = export(version, scenario, "task", dedupe=False)
    # one job: even the coordinates CVAT writes for outside nodes agree
    assert_frames_equal(tracks, oracle, outside_coords=True)
    if scenario == "single_job":
        assert_frames_equal(tracks, export(version, scenario, "job", dedupe=False), True)


@pytest.mark.parametrize("version", R.VERSIONS)
@pytest.mark.parametrize("scenario", ["multi_job", "multi_job_overlap0"])
def test_jobs_stitch_into_two_tracks_equal_to_job_exports(version, scenario):
    rec = R.load(version, scenario)
    jobs, tracks = load(rec)
    assert len(jobs) == (5 if scenario == "multi_job" else 3)
    assert sum(len(p) for _, _, p in jobs) == 2 * len(jobs)
    assert len(tracks) == 2
    assert [(t.first, t.last) for t in tracks] == [(0, 24), (8, 29)]
    assert_frames_equal(tracks, job_exports(version, scenario, rec))
    # and what one CVAT job holding the whole video exports
    assert_frames_equal(tracks, export(version, "single_job", "task", dedupe=False))


@pytest.mark.parametrize("version,scenario", [
    ("2.73.0", "multi_job"), ("2.73.0", "multi_job_overlap0"), ("2.23.1", "multi_job"),
])
def test_task_export_equals_after_dedupe(version, scenario):
    # overlap 5: CVAT's task export shows every skeleton twice on overlapping
    # frames; posekit shows each once. (2.23.1's overlap-0 task export keeps a
    # piece running past its job, a CVAT bug: the job exports are the oracle.)
    rec = R.load(version, scenario)
    _, tracks = load(rec)
    raw = R.parse_images_export(R.export_path(version, scenario, "task"))
    if scenario == "multi_job":
        assert max(len(s) for s in raw.values()) == 4
    assert_frames_equal(tracks, export(version, scenario, "task", dedupe=True))


@pytest.mark.parametrize("version", R.VERSIONS)
@pytest.mark.parametrize("scenario", ["multi_job", "multi_job_overlap0"])
def test_after_cvat_round_trip(version, scenario):
    # the task GET PUT back (ids removed): overlap 5 makes 26 pieces of 2 tracks
    rec = R.load(version, scenario)
    jobs, tracks = load(rec, " after round trip")
    pieces = sum(len(p) for _, _, p in jobs)
    oracle = export(version, scenario, "task_after_roundtrip", dedupe=True)
    if (version, scenario) == ("2.23.1", "multi_job_overlap0"):
        # CVAT 2.23.1 itself turned the runaway 10-19 piece into two more
        # tracks in job 20-29 (6 -> 8), one of which differs from frame 22 on
        assert len(tracks) == 4
        ours = {f: R.distinct(s) for f, s in per_frame(tracks).items()}
        assert not R.frame_mismatches(ours, oracle)
        return
    assert pieces == (26 if scenario == "multi_job" else 6)
    assert len(tracks) == 2
    assert_frames_equal(tracks, oracle)
    _, first = load(rec)
    assert_frames_equal(tracks, per_frame(first))


@pytest.mark.parametrize("version", R.VERSIONS)
def test_job_level_patch_stays_in_its_job(version):
    # PATCH ?action=create on job 5-14 with a track whose keyframe (18) lies
    # past the job's stop: the job shows it, interpolated toward 18, up to
    # its stop; the two tracks already there are unchanged
    rec = R.load(version, "multi_job")
    _, tracks = load(rec, " after job-level PATCH create")
    _, before = load(rec)
    assert len(tracks) == 4
    old = [t for t in tracks if t.first in (0, 8) and len(t) > 10]
    assert_frames_equal(old, per_frame(before))
    new = sorted((t for t in tracks if t not in old), key=lambda t: t.first)
    assert [(t.first, t.last) for t in new] == [(6, 14), (7, 14)]
    np.testing.assert_allclose(new[0].points[[0, 2], :, 0], [[10, 15, 20, 25, 30], [20, 25, 30, 35, 40]])
    k = list(new[1].frames).index(8)
    np.testing.assert_allclose(new[1].points[k, 0], [10 + 40 / 11, 150])


def test_parent_outside_ends_the_skeleton():
    # V1: parent outside at 15, nodes still visible there and node a has a
    # keyframe at 20: the skeleton ends at 14 all the same
    rec = R.load("2.73.0", "variants")
    _, tracks = load(rec)
    v1 = next(t for t in tracks if t.points[0, 0, 1] == 20)
    assert (v1.first, v1.last) == (0, 14)
    # V3: every node outside on 12..15, parent never outside: no skeleton there
    v3 = next(t for t in tracks if t.points[0, 0, 1] == 180)
    assert sorted(set(range(30)) - set(v3.frames.tolist())) == [12, 13, 14, 15]


def test_node_flags_from_the_left_keyframe():
    rec = R.load("2.73.0", "single_job")
    _, (t0, t1) = load(rec)
    b, c = 1, 2
    frames = t0.frames.tolist()
    # b outside at 5, visible again at 15; its coordinates move meanwhile
    assert [f for f in frames if t0.outside[frames.index(f), b]] == list(range(5, 15))
    np.testing.assert_allclose(t0.points[frames.index(10), b], [85 + 25 * 0.5, 45 + 15 * 0.5])
    # c occluded on its keyframe 10, so on 10..19
    assert [f for f in frames if t0.occluded[frames.index(f), c]] == list(range(10, 20))
    # track 1 has no outside parent keyframe: carried to the last frame
    assert (t1.first, t1.last) == (8, 29)


def test_pieces_of_different_labels_are_not_joined():
    rec = R.load("2.73.0", "multi_job_overlap0")
    info = R.task_info(rec)
    jobs = []
    for j, body in R.job_bodies(rec):
        pieces = T.job_tracks(body, {info["label_id"]: info["node_ids"]},
                              j["start_frame"], j["stop_frame"])
        if j["start_frame"] == 10:
            for p in pieces:
                p.label_id = -1
        jobs.append((j["start_frame"], j["stop_frame"], pieces))
    # the 0-9 pieces touch only the relabelled ones: nothing joins
    assert len(T.stitch(jobs)) == 6
    for p in jobs[1][2]:
        p.label_id = info["label_id"]
    assert len(T.stitch(jobs)) == 2


@pytest.mark.parametrize("scenario", ["multi_job", "multi_job_overlap0"])
def test_task_get_pieces_stitch_into_the_same_tracks(scenario):
    # CVAT 2.73.0's task GET: one track per job piece, each closed by an
    # outside shape on the next job's frames (2 people -> 10 or 6 tracks)
    rec = R.load("2.73.0", scenario)
    info = R.task_info(rec)
    (body,) = [c["response"]["json"] for c in rec["calls"] if c["label"] == "GET task annotations"]
    assert len(body["tracks"]) == (10 if scenario == "multi_job" else 6)
    ranges = [(j["start_frame"], j["stop_frame"]) for j in info["jobs"]]
    tracks = T.stitch_task_pieces(body, {info["label_id"]: info["node_ids"]}, ranges)
    assert len(tracks) == 2
    assert_frames_equal(tracks, export("2.73.0", "single_job", "task", dedupe=False))
