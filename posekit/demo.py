"""A local demo dataset (no network) and a launcher for the App with posekit.

Photos come from packages that ship them (scikit-image, matplotlib); the
keypoints were placed by hand in COCO-17 order, NaN where a joint is out of
frame. ``python -m posekit.demo`` builds the dataset and serves the App.
"""
import argparse
import os

import numpy as np
from PIL import Image

DATASET_NAME = "posekit-demo"
REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_N = float("nan")

# (file name, source, COCO-17 points in pixels, occluded node indices)
_PEOPLE = [
    (
        "astronaut.jpg",
        ("skimage", "astronaut.png"),
        [(222, 128), (243, 101), (205, 101), (272, 112), (172, 114),
         (322, 268), (112, 262), (335, 420), (45, 420), (262, 470),
         (152, 492), (_N, _N), (_N, _N), (_N, _N), (_N, _N), (_N, _N),
         (_N, _N)],
        [7, 9],
    ),
    (
        "cameraman.jpg",
        ("skimage", "camera.png"),
        [(248, 183), (252, 158), (236, 160), (_N, _N), (190, 135),
         (205, 190), (150, 180), (262, 240), (180, 255), (312, 192),
         (226, 214), (105, 385), (60, 392), (_N, _N), (108, 478),
         (_N, _N), (_N, _N)],
        [1, 5, 7],
    ),
    (
        "grace_hopper.jpg",
        ("matplotlib", "grace_hopper.jpg"),
        [(258, 235), (308, 192), (205, 193), (350, 212), (165, 216),
         (440, 372), (75, 382), (_N, _N), (_N, _N), (_N, _N), (_N, _N),
         (_N, _N), (_N, _N), (_N, _N), (_N, _N), (_N, _N), (_N, _N)],
        [],
    ),
]
# Photos with nobody annotated yet: something to tag and send to CVAT.
_UNANNOTATED = [("chelsea.jpg", ("skimage", "chelsea.png"))]


def _source_path(source):
    package, name = source
    if package == "skimage":
        import skimage

        return os.path.join(os.path.dirname(skimage.__file__), "data", name)
    import matplotlib

    return os.path.join(
        os.path.dirname(matplotlib.__file__), "mpl-data", "sample_data", name
    )


def write_media(media_dir):
    """Writes the demo photos as RGB JPEGs into ``media_dir``; returns it."""
    os.makedirs(media_dir, exist_ok=True)
    for filename, source, *_ in _PEOPLE + _UNANNOTATED:
        out = os.path.join(media_dir, filename)
        if not os.path.exists(out):
            with Image.open(_source_path(source)) as im:
                im.convert("RGB").save(out, quality=92)
    return media_dir


def _keypoints(points, occluded, width, height, rng, jitter=0.0):
    import fiftyone as fo

    xy = np.asarray(points, dtype=float)
    if jitter:
        xy = xy + rng.normal(0, jitter, xy.shape)
    rel = xy / [width, height]
    flags = [i in occluded for i in range(len(points))]
    kp = fo.Keypoint(label="person", points=rel.tolist(), occluded=flags)
    if jitter:
        conf = np.where(np.isnan(xy[:, 0]), np.nan, rng.uniform(0.3, 1, len(xy)))
        kp.confidence = conf.tolist()
    return fo.Keypoints(keypoints=[kp])


def build_dataset(name=DATASET_NAME, media_dir=None, overwrite=True):
    """Builds the demo dataset: photos of people with COCO-17 ``ground_truth``
    keypoints, jittered ``predictions`` with confidences, and COCO-17 as the
    default skeleton. Returns the dataset."""
    import fiftyone as fo

    from posekit.templates import get_template

    if media_dir is None:
        media_dir = os.path.join(fo.config.default_dataset_dir, name + "-media")
    write_media(media_dir)
    if fo.dataset_exists(name):
        if not overwrite:
            return fo.load_dataset(name)
        fo.delete_dataset(name)

    rng = np.random.default_rng(51)
    dataset = fo.Dataset(name, persistent=True)
    samples = []
    for filename, _, points, occluded in _PEOPLE:
        path = os.path.join(media_dir, filename)
        with Image.open(path) as im:
            width, height = im.size
        sample = fo.Sample(filepath=path)
        sample["ground_truth"] = _keypoints(points, occluded, width, height, rng)
        sample["predictions"] = _keypoints(
            points, occluded, width, height, rng, jitter=4.0
        )
        samples.append(sample)
    for filename, _ in _UNANNOTATED:
        samples.append(fo.Sample(filepath=os.path.join(media_dir, filename)))
    dataset.add_samples(samples)
    dataset.default_skeleton = get_template("coco17").to_skeleton()
    dataset.save()
    dataset.compute_metadata()
    return dataset


def main(argv=None):
    """Builds the demo dataset and serves the App with posekit loaded."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=5151)
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--name", default=DATASET_NAME)
    parser.add_argument(
        "--no-wait", action="store_true", help="build, print the URL and exit"
    )
    args = parser.parse_args(argv)

    os.environ.setdefault("FIFTYONE_PLUGINS_DIR", REPO_DIR)
    os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")
    import fiftyone as fo

    dataset = build_dataset(args.name)
    print(f"posekit demo: dataset '{dataset.name}' with {len(dataset)} samples")
    if args.no_wait:
        return
    session = fo.launch_app(
        dataset, address=args.address, port=args.port, remote=True
    )
    print(f"posekit demo: open {session.url} (Ctrl+C to stop)", flush=True)
    session.wait(-1)


if __name__ == "__main__":
    main()
