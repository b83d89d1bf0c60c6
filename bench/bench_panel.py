"""Skeleton preview panel: per-sample update on a 4000×3000 JPEG with
10 people × 17 keypoints.

Target (issue 8): median update <= 1.5× the baseline, payload <= 200 KB.
Baseline: what the browser would otherwise need done to show that photo at
panel size, i.e. decode and downscale it with Pillow alone
(``Image.open(path).thumbnail((1024, 1024))``, which already uses Pillow's
JPEG draft mode). posekit's update is the panel's ``next_sample`` handler
run as the App runs it (an ``ExecutionContext``, the panel state carried
over): fetch the one sample, draw, encode, render the panel, all included.
FiftyOne's own per-request dataset load (``ctx.dataset``) happens before the
handler and is timed separately. Each run steps to a different sample (a
different file), alternating baseline and panel. For scale it also prints
the cheapest possible decode at panel size (1/4-scale DCT, no resize, no
encode), which posekit's own decode uses.

    .venv/bin/python bench/bench_panel.py [--samples 8] [--runs 30]
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _env import isolated_fiftyone  # noqa: E402

WIDTH, HEIGHT = 4000, 3000
PEOPLE, KEYPOINTS = 10, 17


def photo_4000x3000(path, seed):
    """A detailed 4000×3000 JPEG: packaged photos tiled and upscaled, with
    sensor-like noise, saved at quality 90 (about 2-3 MB)."""
    import numpy as np
    import skimage.data as skd
    from PIL import Image

    rng = np.random.default_rng(seed)
    tiles = [skd.astronaut(), skd.coffee(), skd.chelsea(), skd.rocket(),
             np.stack([skd.camera()] * 3, -1), skd.immunohistochemistry()]
    order = rng.permutation(len(tiles))
    canvas = Image.new("RGB", (WIDTH, HEIGHT))
    tw, th = WIDTH // 3, HEIGHT // 2
    for k, i in enumerate(order):
        tile = Image.fromarray(tiles[i]).resize((tw, th), Image.Resampling.BICUBIC)
        canvas.paste(tile, ((k % 3) * tw, (k // 3) * th))
    arr = np.asarray(canvas, dtype=np.int16)
    arr = arr + rng.normal(0, 6, arr.shape).astype(np.int16)
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(path, quality=90)
    return path


def people(rng):
    import fiftyone as fo
    import numpy as np

    kps = []
    for p in range(PEOPLE):
        center = rng.uniform(0.1, 0.9, 2)
        pts = center + rng.normal(0, 0.06, (KEYPOINTS, 2))
        pts[rng.random(KEYPOINTS) < 0.1] = np.nan
        kps.append(fo.Keypoint(
            label="person", points=pts.tolist(),
            confidence=rng.uniform(0.2, 1.0, KEYPOINTS).tolist(),
            occluded=(rng.random(KEYPOINTS) < 0.15).tolist(),
        ))
    return fo.Keypoints(keypoints=kps)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=8, help="distinct images")
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()

    with isolated_fiftyone() as env:
        import numpy as np
        import fiftyone as fo
        from fiftyone.operators.executor import ExecutionContext, Executor
        from fiftyone.operators.registry import OperatorRegistry
        from PIL import Image

        from posekit.templates import get_template

        rng = np.random.default_rng(8)
        media = os.path.join(env["tmp"], "media")
        os.makedirs(media)
        paths = [photo_4000x3000(os.path.join(media, f"p{i}.jpg"), i)
                 for i in range(args.samples)]
        ds = fo.Dataset("bench-panel")
        ds.add_samples([fo.Sample(filepath=p, gt=people(rng)) for p in paths])
        ds.default_skeleton = get_template("coco17").to_skeleton()
        ds.save()
        panel = OperatorRegistry().get_operator("@posekit/skeletons/skeleton_preview")

        state = {}

        def request(method):
            return {
                "dataset_name": ds.name,
                "params": {"panel_id": "bench", "__method__": method,
                           "panel_state": dict(state)},
            }

        def run_panel(method, index=None):
            if index is not None:
                state["index"] = index
            t0 = time.perf_counter()
            ctx = ExecutionContext(request_params=request(method), executor=Executor())
            ctx.dataset  # FiftyOne loads the dataset for every request
            t1 = time.perf_counter()
            panel.execute(ctx)
            t2 = time.perf_counter()
            data = {}
            for r in ctx.executor._requests:
                if r.operator_uri == "patch_panel_state":
                    state.update(r.params["state"])
                elif r.operator_uri == "patch_panel_data":
                    data.update(r.params["data"])
            return t1 - t0, t2 - t1, data

        def baseline(path):
            t0 = time.perf_counter()
            with Image.open(path) as im:
                im.thumbnail((1024, 1024))
            return time.perf_counter() - t0

        def decode_floor(path):
            """The cheapest decode at panel size: 1/4-scale DCT, nothing else."""
            t0 = time.perf_counter()
            with Image.open(path) as im:
                im.draft("RGB", (WIDTH // 4, HEIGHT // 4))
                im.load()
            return time.perf_counter() - t0

        run_panel("on_load")
        for p in paths:  # warm the page cache for every file, both sides
            baseline(p)

        base, floor, update, load, payload, segs = [], [], [], [], [], []
        n = len(paths)
        for run in range(args.runs):
            # the handler steps from index i to i + 1: the file it will draw
            i = run % (n - 1)
            base.append(baseline(paths[i + 1]))
            floor.append(decode_floor(paths[i + 1]))
            t_load, t_update, data = run_panel("next_sample", index=i)
            assert data["scene"]["sample_id"] == state["sample_id"]
            load.append(t_load)
            update.append(t_update)
            payload.append(len(data["image"].encode("utf-8")))
            segs.append(len(data["scene"]["segments"]))

        med = statistics.median
        ms = lambda v: f"{1000 * med(v):8.1f} ms"  # noqa: E731
        ratio = med(update) / med(base)
        print(f"panel update, {WIDTH}x{HEIGHT} JPEG "
              f"({os.path.getsize(paths[0]) / 1e6:.1f} MB), {PEOPLE} people x "
              f"{KEYPOINTS} keypoints, {args.runs} runs over {n} images")
        print(f"  baseline  Pillow open + thumbnail(1024)   {ms(base)}")
        print(f"  posekit   next_sample handler (all in)    {ms(update)}")
        print(f"  ratio     posekit / baseline              {ratio:8.2f}   (target <= 1.5)")
        print(f"  for scale: Pillow 1/4-scale decode alone  {ms(floor)}"
              f"   (posekit / this: {med(update) / med(floor):.2f})")
        print(f"  payload   image data URI (max / median)   "
              f"{max(payload) / 1000:6.1f} KB / {med(payload) / 1000:.1f} KB"
              f"   (target <= 200 KB)")
        print(f"  segments drawn per update (median)        {med(segs):8.0f}")
        print(f"  [FiftyOne's per-request dataset load, not in the ratio: {ms(load)}]")


if __name__ == "__main__":
    main()
