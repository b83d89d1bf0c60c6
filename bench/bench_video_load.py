"""Loading video skeleton tracks from CVAT: posekit (skeleton tracks, one
sub-track per node, interpolated and stitched per job) vs FiftyOne's stock
``cvat`` backend loading the same tracks as plain ``points`` tracks (it
cannot load skeleton tracks).

Targets (issue 15): time ratio <= 1.0, peak memory ratio <= 1.2, and 10x the
videos costs posekit <= 11x the time.

    .venv/bin/python bench/bench_video_load.py 50 [--frames 300] [--scale 10] [--runs 3]
    .venv/bin/python bench/bench_video_load.py 5 --scale 10 --posekit-only   # growth only

Each video (64x48, mp4) has 2 people x 17 keypoints on every frame, as
``frames.kps`` with track indexes 1 and 2.
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _env import isolated_fiftyone  # noqa: E402
from _cvat_bench import NODES, EmulatorProcess, peak_mib, summarize, timed  # noqa: E402

PEOPLE = 2


def make_videos(name, count, frames, media_dir, seed=0):
    import cv2
    import numpy as np

    import fiftyone as fo
    from posekit.cvat.video import ensure_video_metadata
    from posekit.templates import get_template

    from bson import ObjectId

    os.makedirs(media_dir, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        path = os.path.join(media_dir, "vid%05d_%d.mp4" % (i, frames))
        if not os.path.exists(path):
            out = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), 25, (64, 48))
            for f in range(frames):
                out.write(np.full((48, 64, 3), (7 * i + f) % 255, np.uint8))
            out.release()
        paths.append(path)
    ds = fo.Dataset(name, overwrite=True)
    ds.add_samples([fo.Sample(filepath=p) for p in paths], progress=False)
    ds.default_skeleton = get_template("coco17").to_skeleton()
    ds.save()
    ensure_video_metadata(ds)  # also creates the frames
    ds.add_frame_field("kps", fo.EmbeddedDocumentField, embedded_doc_type=fo.Keypoints)
    values = {}
    for frame_ids in ds.values("frames.id"):
        start = rng.uniform(0.2, 0.8, (PEOPLE, NODES, 2))
        walk = np.cumsum(rng.normal(0, 0.002, (frames, PEOPLE, NODES, 2)), axis=0)
        pts = np.clip(start[None] + walk, 0.01, 0.99).round(4).tolist()
        for f, fid in enumerate(frame_ids):
            values[fid] = {"_cls": "Keypoints", "keypoints": [
                {"_id": ObjectId(), "_cls": "Keypoint", "attributes": {}, "tags": [],
                 "label": "person", "points": pts[f][k], "confidence": None, "index": k + 1}
                for k in range(PEOPLE)]}
    ds.set_values("frames.kps", values, key_field="frames.id", validate=False)
    return ds



def bench(count, frames, runs, env, server, baseline_too=True):
    from posekit.cvat import runs as pkruns

    creds = server.credentials
    ds = make_videos("bench-video-%d" % count, count, frames, os.path.join(env["tmp"], "media"))
    t = time.perf_counter()
    if baseline_too:
        ds.clone_frame_field("kps", "kps_stock")
        ds.annotate("stock", backend="cvat", label_field="frames.kps_stock",
                    label_type="keypoints", classes=["person"], **creds)
    pkruns.request_annotation(ds, "posekit", "frames.kps", credentials=creds)
    print("%d videos x %d frames: runs requested in %.1fs" % (count, frames, time.perf_counter() - t))

    def baseline():
        ds._annotation_cache.clear()
        ds.load_annotations("stock", unexpected="keep", **creds)

    def posekit():
        pkruns.load_annotation(ds, "posekit", credentials=creds)

    posekit()
    if baseline_too:
        baseline()  # warm up; the first loads also settle ids
    want = count * frames * PEOPLE
    got = sum(len(k.keypoints) for f in ds.values("frames.kps") for k in f if k)
    assert got == want, (got, want)
    if not baseline_too:
        mine = [timed(posekit) for _ in range(runs)]
        print("posekit load %d videos: median %.3fs (runs: %d)" % (count, statistics.median(mine), runs))
        ds.delete()
        return statistics.median(mine), None, None
    stock = sum(len(k.keypoints) for f in ds.values("frames.kps_stock") for k in f if k)
    assert stock == want, (stock, want)
    base, mine = [], []
    for _ in range(runs):
        base.append(timed(baseline))
        mine.append(timed(posekit))
    ratio = summarize("load %d videos (time)" % count, base, mine)
    mem = summarize("load %d videos (peak MiB)" % count, [peak_mib(baseline)], [peak_mib(posekit)], "M")
    ds.delete()
    return statistics.median(mine), ratio, mem


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("videos", type=int, nargs="?", default=50)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--scale", type=int, default=None, help="also time N x the videos (posekit)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--posekit-only", action="store_true", help="skip the baseline")
    args = parser.parse_args()
    with isolated_fiftyone() as env, EmulatorProcess() as server:
        small = bench(args.videos, args.frames, args.runs, env, server,
                      baseline_too=not args.posekit_only)[0]
        if args.scale:
            big = bench(args.videos * args.scale, args.frames, max(1, args.runs // 2), env,
                        server, baseline_too=False)[0]
            print("posekit time %dx videos: %.2fx (linear would be %d)" % (args.scale, big / small, args.scale))


if __name__ == "__main__":
    main()
