"""Synthetic pose datasets for the QA tests and bench: COCO dicts (for the
pycocotools oracle) and the same data as :class:`posekit.qa.Poses` tables.

Each image holds 1-10 people (random layouts around a template), some
keypoints missing, some people without visible points, crowd regions
(``iscrowd`` boxes without keypoints), GT ``area`` fields that differ from the
box area; predictions are noisy copies with random scores (ties included),
duplicates, misses and false positives.
"""
import numpy as np

from posekit.qa import Poses


def make_dataset(n_images, sigmas, layout=None, seed=0, max_people=10,
                 crowd_rate=0.15, miss_rate=0.2, dup_rate=0.1, fp_rate=0.5,
                 empty_rate=0.05, n_cats=1, width=640, height=480,
                 n_people=None):
    """``(coco_gt_dict, coco_results_list, gt_poses, dt_poses)``;
    ``n_people`` fixes the number of people per image."""
    rng = np.random.default_rng(seed)
    K = len(sigmas)
    if layout is None:
        layout = rng.uniform(0, 100, size=(K, 2))
    layout = np.asarray(layout, dtype=float) / 100.0 - 0.5
    images, anns, res = [], [], []
    g_rows, d_rows = [], []
    ann_id = 1
    for i in range(n_images):
        img_id = i + 1
        images.append({"id": img_id, "width": width, "height": height})
        n = int(rng.integers(0, max_people + 1)) if i % 17 else 0
        if n_people is not None:
            n = n_people
        for _ in range(n):
            cat = int(rng.integers(1, n_cats + 1))
            size = rng.choice([20.0, 60.0, 150.0, 300.0]) * rng.uniform(0.6, 1.4)
            cx, cy = rng.uniform(0, width), rng.uniform(0, height)
            pts = np.c_[cx + layout[:, 0] * size, cy + layout[:, 1] * size]
            pts = np.round(pts + rng.normal(0, size * 0.03, pts.shape), 2)
            v = np.where(rng.random(K) < miss_rate, 0,
                         rng.choice([1, 2], size=K))
            if rng.random() < empty_rate:
                v[:] = 0
            x0, y0 = pts.min(0) - size * 0.05
            x1, y1 = pts.max(0) + size * 0.05
            bbox = [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]
            area = float(bbox[2] * bbox[3] * rng.uniform(0.4, 0.8))
            kp = np.c_[np.where(v[:, None] > 0, pts, 0), v].reshape(-1)
            anns.append({
                "id": ann_id, "image_id": img_id, "category_id": cat,
                "keypoints": kp.tolist(), "num_keypoints": int((v > 0).sum()),
                "bbox": bbox, "area": area, "iscrowd": 0,
            })
            g_rows.append((i, cat, pts, v > 0, area, bbox, False))
            ann_id += 1
            # predictions of this person: missed, once, or duplicated
            if rng.random() < 0.1:
                continue
            for _ in range(2 if rng.random() < dup_rate else 1):
                noise = rng.normal(0, size * rng.choice([0.01, 0.04, 0.1]), pts.shape)
                p = pts + noise
                if rng.random() < 0.1:
                    p = p[::-1]  # badly wrong
                score = float(np.round(rng.random(), 2))
                _add_result(res, d_rows, i, img_id, cat, p, score)
        if rng.random() < crowd_rate:
            cat = int(rng.integers(1, n_cats + 1))
            x0, y0 = rng.uniform(0, width * 0.7), rng.uniform(0, height * 0.7)
            bbox = [float(x0), float(y0), float(rng.uniform(30, 200)),
                    float(rng.uniform(30, 200))]
            area = float(bbox[2] * bbox[3] * 0.7)
            anns.append({
                "id": ann_id, "image_id": img_id, "category_id": cat,
                "keypoints": [0.0] * (3 * K), "num_keypoints": 0,
                "bbox": bbox, "area": area, "iscrowd": 1,
            })
            g_rows.append((i, cat, np.full((K, 2), np.nan), np.zeros(K, bool),
                           area, bbox, True))
            ann_id += 1
            for _ in range(int(rng.integers(0, 3))):
                c = np.array([bbox[0] + bbox[2] / 2, bbox[1] + bbox[3] / 2])
                p = c + layout * rng.uniform(20, 80) + rng.normal(0, 10, (K, 2))
                _add_result(res, d_rows, i, img_id, cat, p,
                            float(np.round(rng.random(), 2)))
        for _ in range(int(rng.poisson(fp_rate))):
            cat = int(rng.integers(1, n_cats + 1))
            c = rng.uniform([0, 0], [width, height])
            p = c + layout * rng.uniform(20, 300) + rng.normal(0, 5, (K, 2))
            _add_result(res, d_rows, i, img_id, cat, p,
                        float(np.round(rng.random(), 2)))
    gt_dict = {
        "images": images, "annotations": anns,
        "categories": [{"id": c, "name": f"c{c}",
                        "keypoints": [f"k{j}" for j in range(K)],
                        "skeleton": []} for c in range(1, n_cats + 1)],
    }
    return gt_dict, res, _poses(g_rows, K, gt=True), _poses(d_rows, K, gt=False)


def _add_result(res, d_rows, i, img_id, cat, p, score):
    p = np.round(np.asarray(p, dtype=float), 2)
    kp = np.c_[p, np.ones(len(p))].reshape(-1)
    res.append({"image_id": img_id, "category_id": cat,
                "keypoints": kp.tolist(), "score": score})
    d_rows.append((i, cat, p, score))


def _poses(rows, K, gt):
    if gt:
        if not rows:
            return Poses(np.zeros(0), np.zeros(0), np.zeros((0, K, 2)),
                         np.zeros((0, K), bool), np.zeros(0), np.zeros((0, 4)))
        img, cat, xy, vis, area, bbox, crowd = zip(*rows)
        return Poses(np.array(img), np.array(cat), np.array(xy), np.array(vis),
                     np.array(area), np.array(bbox), np.array(crowd))
    if not rows:
        return Poses(np.zeros(0), np.zeros(0), np.zeros((0, K, 2)))
    img, cat, xy, score = zip(*rows)
    return Poses(np.array(img), np.array(cat), np.array(xy), score=np.array(score))


def pycocotools_eval(gt_dict, results, sigmas):
    """pycocotools' COCOeval(iouType="keypoints") on the same data:
    ``(stats, eval_dict)``."""
    import contextlib
    import copy
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.deepcopy(gt_dict)
        coco.createIndex()
        dt = coco.loadRes(copy.deepcopy(results)) if results else COCO()
        ev = COCOeval(coco, dt, iouType="keypoints")
        ev.params.kpt_oks_sigmas = np.asarray(sigmas, dtype=float)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats, ev.eval


def to_fiftyone(dataset, gt_dict, results, skeleton=None, gt_field="ground_truth",
                pred_field="predictions", crowd_field="crowd"):
    """Puts a synthetic COCO dataset into ``dataset`` (keypoints relative,
    visible flags, ``area``, crowd regions as ``iscrowd`` detections, scores);
    returns the COCO dicts as posekit reads the FiftyOne fields back (points
    round-tripped through relative coordinates, a keypoint's box = the extent
    of its visible points) for the pycocotools oracle."""
    import copy

    import fiftyone as fo

    if skeleton is not None:
        from posekit.skeleton_store import save_skeleton

        save_skeleton(dataset, skeleton, gt_field)
    by_img_gt, by_img_dt = {}, {}
    for a in gt_dict["annotations"]:
        by_img_gt.setdefault(a["image_id"], []).append(a)
    for r in results:
        by_img_dt.setdefault(r["image_id"], []).append(r)
    cats = {c["id"]: c["name"] for c in gt_dict["categories"]}
    gt2 = copy.deepcopy(gt_dict)
    gt2["annotations"] = []
    res2 = []
    samples = []
    for im in gt_dict["images"]:
        W, H = float(im["width"]), float(im["height"])
        s = fo.Sample(filepath=f"/tmp/posekit-qa/{im['id']:06d}.jpg",
                      metadata=fo.ImageMetadata(width=im["width"], height=im["height"]))
        kps, crowds = [], []
        for a in by_img_gt.get(im["id"], []):
            if a["iscrowd"]:
                x, y, w, h = a["bbox"]
                crowds.append(fo.Detection(label=cats[a["category_id"]],
                                           bounding_box=[x / W, y / H, w / W, h / H],
                                           iscrowd=1, area=a["area"]))
                b = crowds[-1].bounding_box
                a2 = dict(a, bbox=[b[0] * W, b[1] * H, b[2] * W, b[3] * H])
            else:
                k = np.asarray(a["keypoints"], dtype=float).reshape(-1, 3)
                pts = [(x / W, y / H) if v > 0 else (float("nan"),) * 2
                       for x, y, v in k]
                kps.append(fo.Keypoint(label=cats[a["category_id"]], points=pts,
                                       visible=[int(v) for v in k[:, 2]],
                                       area=a["area"]))
                rt = np.array([(p[0] * W, p[1] * H) for p in pts])
                vis = k[:, 2] > 0
                kp = np.c_[np.where(vis[:, None], rt, 0), k[:, 2]]
                if vis.any():
                    x0, y0 = rt[vis].min(0)
                    x1, y1 = rt[vis].max(0)
                    box = [x0, y0, x1 - x0, y1 - y0]
                else:
                    box = [0.0, 0.0, 0.0, 0.0]
                a2 = dict(a, keypoints=kp.reshape(-1).tolist(), bbox=box)
            gt2["annotations"].append(a2)
        preds = []
        for r in by_img_dt.get(im["id"], []):
            k = np.asarray(r["keypoints"], dtype=float).reshape(-1, 3)
            pts = [(x / W, y / H) for x, y, _ in k]
            preds.append(fo.Keypoint(label=cats[r["category_id"]], points=pts,
                                     score=r["score"],
                                     confidence=[r["score"]] * len(pts)))
            rt = np.array([(p[0] * W, p[1] * H) for p in pts])
            res2.append(dict(r, keypoints=np.c_[rt, k[:, 2]].reshape(-1).tolist()))
        s[gt_field] = fo.Keypoints(keypoints=kps)
        s[pred_field] = fo.Keypoints(keypoints=preds)
        s[crowd_field] = fo.Detections(detections=crowds)
        samples.append(s)
    dataset.add_samples(samples)
    dataset.add_dynamic_sample_fields()
    return gt2, res2
