"""Loading a CVAT run: posekit's skeleton load vs FiftyOne's stock ``cvat``
backend loading the same instances sent as ``points``.

Targets (issue 8): time ratio <= 1.0 (aim 0.5); peak memory ratio <= 1.2; and
with two sizes, posekit's time grows at most linearly (10k / 1k <= 11).

    .venv/bin/python bench/bench_load.py 1000 [--scale 10000] [--runs 5] [--segment-size 100]

``--scale N`` also times posekit alone on N images (no baseline: the stock
load of 10k images takes minutes per run) and prints the N / size time ratio.
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _env import isolated_fiftyone  # noqa: E402
from _cvat_bench import EmulatorProcess, make_dataset, peak_mib, summarize, timed  # noqa: E402



def bench(size, runs, segment_size, env, server, baseline_too=True):
    import fiftyone as fo
    from posekit.cvat import runs as pkruns

    creds = server.credentials
    ds = make_dataset("bench-load-%d" % size, size, os.path.join(env["tmp"], "media"))
    t = time.perf_counter()
    if baseline_too:
        ds.clone_sample_field("kps", "kps_stock")
        ds.annotate("stock", backend="cvat", label_field="kps_stock",
                    label_type="keypoints", classes=["person"],
                    segment_size=segment_size, **creds)
    pkruns.request_annotation(ds, "posekit", "kps", credentials=creds,
                              segment_size=segment_size)
    print("size %d: both runs requested in %.1fs" % (size, time.perf_counter() - t))

    def baseline():
        ds._annotation_cache.clear()
        ds.load_annotations("stock", unexpected="keep", **creds)

    def posekit():
        pkruns.load_annotation(ds, "posekit", credentials=creds)

    if not baseline_too:
        posekit()
        mine = [timed(posekit) for _ in range(runs)]
        print("posekit load %d images: median %.3fs (runs: %d)"
              % (size, statistics.median(mine), runs))
        ds.delete()
        return statistics.median(mine), None, None

    baseline(), posekit()  # warm up (first load also settles ids)
    base, mine = [], []
    for _ in range(runs):
        base.append(timed(baseline))
        mine.append(timed(posekit))
    n_kps = sum(len(k.keypoints) for k in ds.values("kps") if k)
    n_stock = sum(len(k.keypoints) for k in ds.values("kps_stock") if k)
    assert n_kps == n_stock == size * 4, (n_kps, n_stock)
    ratio = summarize("load %d images (time)" % size, base, mine)
    mem = summarize("load %d images (peak MiB)" % size, [peak_mib(baseline)], [peak_mib(posekit)], "M")
    ds.delete()
    return statistics.median(mine), ratio, mem


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("size", type=int, nargs="?", default=1000)
    parser.add_argument("--scale", type=int, default=None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--segment-size", type=int, default=100)
    args = parser.parse_args()
    with isolated_fiftyone() as env, EmulatorProcess() as server:
        small = bench(args.size, args.runs, args.segment_size, env, server)[0]
        if args.scale:
            big = bench(args.scale, args.runs, args.segment_size, env, server,
                        baseline_too=False)[0]
            print("posekit time %d / %d images: %.2f (linear would be %.1f)"
                  % (args.scale, args.size, big / small, args.scale / args.size))


if __name__ == "__main__":
    main()
