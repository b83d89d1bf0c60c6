"""Requesting annotation of samples with existing keypoints: posekit's
skeleton upload vs FiftyOne's stock ``cvat`` backend uploading the same
instances as ``points``.

Target (issue 8): time ratio <= 1.0 (medians).

    .venv/bin/python bench/bench_request.py [1000] [--runs 3]
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _env import isolated_fiftyone  # noqa: E402
from _cvat_bench import EmulatorProcess, make_dataset, summarize  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("size", type=int, nargs="?", default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with isolated_fiftyone() as env, EmulatorProcess() as server:
        from posekit.cvat import runs as pkruns

        creds = server.credentials
        ds = make_dataset("bench-request", args.size, os.path.join(env["tmp"], "media"))

        def baseline(key):
            ds.annotate(key, backend="cvat", label_field="kps", label_type="keypoints",
                        classes=["person"], **creds)

        def posekit(key):
            pkruns.request_annotation(ds, key, "kps", credentials=creds)

        base, mine = [], []
        for i in range(args.runs):
            for fn, out, key in ((baseline, base, "b%d" % i), (posekit, mine, "p%d" % i)):
                t = time.perf_counter()
                fn(key)
                out.append(time.perf_counter() - t)
                results = ds.load_annotation_results(key, **creds)
                results.cleanup()  # keep the emulator's memory flat
                ds.delete_annotation_run(key)
        summarize("request %d samples" % args.size, base, mine)


if __name__ == "__main__":
    main()
