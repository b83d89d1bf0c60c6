"""Tagging a large view from the operator vs ``view.tag_samples(...)``.

Target (issue 8): ratio <= 1.05 (medians). posekit's time is the full
operator execution through FiftyOne (``execute_operator``).

    .venv/bin/python bench/bench_tag.py [100000] [--runs 5]
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _env import isolated_fiftyone  # noqa: E402
from _cvat_bench import summarize  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("size", type=int, nargs="?", default=100000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with isolated_fiftyone():
        import fiftyone as fo
        import fiftyone.operators as foo

        ds = fo.Dataset("bench-tag")
        ds.add_samples(
            [fo.Sample(filepath="/data/img%07d.jpg" % i) for i in range(args.size)],
            progress=False,
        )
        view = ds.view()
        uri = "@posekit/skeletons/tag_for_annotation"
        foo.execute_operator(uri, view=view, params={"tag": "warmup"})
        ds.untag_samples("warmup")

        def baseline():
            view.tag_samples("annotate")

        def posekit():
            foo.execute_operator(uri, view=view, params={"tag": "annotate"})

        base, mine = [], []
        for _ in range(args.runs):
            for fn, out in ((baseline, base), (posekit, mine)):
                t = time.perf_counter()
                fn()
                out.append(time.perf_counter() - t)
                assert ds.match_tags("annotate").count() == args.size
                ds.untag_samples("annotate")
        summarize("tag %d samples" % args.size, base, mine)


if __name__ == "__main__":
    main()
