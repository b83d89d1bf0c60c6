"""evaluate_poses vs pycocotools' COCOeval and FiftyOne's evaluate_detections.

posekit's time is the whole ``evaluate_poses`` operator through FiftyOne
(``execute_operator``): reading both fields from the database, COCO's
evaluation, writing ``eval_key`` fields on every label and sample, and saving
the evaluation run. The baseline is pycocotools' ``evaluate()`` +
``accumulate()`` alone, on COCO objects built beforehand (not timed): a
generous baseline. FiftyOne's ``evaluate_detections(method="coco",
compute_mAP=True)`` on the same Keypoints fields is timed the same way.
Memory: tracemalloc peak of each call (separate, untimed runs).

Targets (issue 16): time <= 1.0x pycocotools (aim 0.3x), memory <= 1.5x.

    .venv/bin/python bench/bench_eval.py [5000] [--people 5] [--runs 3]
"""
import argparse
import contextlib
import copy
import gc
import io
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))
from _env import isolated_fiftyone  # noqa: E402
from _cvat_bench import peak_mib, summarize  # noqa: E402

URI = "@posekit/skeletons/evaluate_poses"



def main():  # noqa: C901
    parser = argparse.ArgumentParser()
    parser.add_argument("images", type=int, nargs="?", default=5000)
    parser.add_argument("--people", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fiftyone-images", type=int, default=500,
                        help="images for the evaluate_detections comparison "
                        "(it takes ~0.1 s an image)")
    args = parser.parse_args()
    with isolated_fiftyone():
        import numpy as np
        import fiftyone as fo
        import fiftyone.operators as foo
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval

        from posekit.templates import get_template
        from qa_synth import make_dataset, to_fiftyone

        t17 = get_template("coco17")
        gt_dict, results, _, _ = make_dataset(
            args.images, t17.sigmas, t17.layout, seed=0, n_people=args.people,
            crowd_rate=0.0, empty_rate=0.0)
        ds = fo.Dataset("bench-eval")
        gt2, res2 = to_fiftyone(ds, gt_dict, results, t17.to_model())
        n_gt, n_dt = len(gt2["annotations"]), len(res2)
        print(f"{args.images} images, {n_gt} ground-truth and {n_dt} predicted "
              f"people x 17 keypoints")
        with contextlib.redirect_stdout(io.StringIO()):
            coco_gt = COCO()
            coco_gt.dataset = gt2
            coco_gt.createIndex()
            coco_dt = coco_gt.loadRes(copy.deepcopy(res2))

        stats = {}

        def pycocotools():
            with contextlib.redirect_stdout(io.StringIO()):
                ev = COCOeval(coco_gt, coco_dt, iouType="keypoints")
                ev.params.kpt_oks_sigmas = np.asarray(t17.sigmas)
                ev.evaluate()
                ev.accumulate()
                ev.summarize()
            stats["pycocotools"] = ev.stats

        def posekit(errors, view=None):
            def run():
                r = foo.execute_operator(URI, dataset=ds, view=view, params={
                    "gt_field": "ground_truth", "pred_field": "predictions",
                    "eval_key": "qa", "errors": errors})
                stats["posekit"] = np.array(list(r.result["stats"].values()))
            return run

        def fresh():  # each timed run is a first evaluation (fields declared)
            if "qa" in ds.list_evaluations():
                ds.delete_evaluation("qa")

        sub = ds.limit(args.fiftyone_images)

        def fiftyone_eval():
            sub.evaluate_detections("predictions", "ground_truth", eval_key="fo",
                                    method="coco", compute_mAP=True)

        base, fast, full, fo_t, sub_t = [], [], [], [], []
        for i in range(args.runs):
            for fn, out in ((pycocotools, base), (posekit(False), fast),
                            (posekit(True), full)):
                fresh()
                gc.collect()
                t = time.perf_counter()
                fn()
                out.append(time.perf_counter() - t)
        assert np.abs(stats["posekit"] - stats["pycocotools"]).max() < 1e-9
        print("AP equal to pycocotools' to 1e-9:", stats["posekit"][0])
        for fn, out in ((fiftyone_eval, fo_t), (posekit(False, sub), sub_t)):
            fresh()
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
        summarize("time, no error mining", base, fast)
        summarize("time, with error mining", base, full)
        summarize(f"vs evaluate_detections@{args.fiftyone_images}", fo_t, sub_t)
        fresh()
        m_base = peak_mib(pycocotools)
        m_fast = peak_mib(posekit(False))
        fresh()
        m_full = peak_mib(posekit(True))
        summarize("memory peak, no mining", [m_base], [m_fast], unit="MB")
        summarize("memory peak, with mining", [m_base], [m_full], unit="MB")


if __name__ == "__main__":
    main()
