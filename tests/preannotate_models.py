"""Small pose models for the pre-annotation tests: they find coloured blobs,
so where each node should land is known exactly."""
import cv2
import fiftyone as fo
import numpy as np
from fiftyone.core.models import Model

from posekit.preannotate import Prediction

# blob colours (R channel) per node of the test model
COLOURS = {"left_wrist": 250, "right_wrist": 200, "nose": 150}


def blob_centroids(image):
    """Centroid of each node's blob in pixel-edge coordinates (a pixel's
    centre is at +0.5), NaN if absent."""
    out = []
    for value in COLOURS.values():
        ys, xs = np.nonzero(image[:, :, 0] == value)
        out.append((xs.mean() + 0.5, ys.mean() + 0.5) if len(xs) else (np.nan, np.nan))
    return np.asarray(out)


class BlobModel:
    """Finds coloured blobs: one instance per image, node confidences fixed."""

    labels = list(COLOURS)
    single_person = True
    label = "person"

    def __init__(self, confidence=(0.9, 0.2, 0.6), fail_on=()):
        self.confidence = confidence
        self.fail_on = set(fail_on)
        self.calls = []

    def predict(self, image):
        self.calls.append(image.shape)
        key = int(image[0, 0, 1])  # image id stored in the green channel
        if key in self.fail_on:
            raise RuntimeError("model failure on image %d" % key)
        pts = blob_centroids(image)
        if np.isnan(pts).all():
            return []
        return [Prediction(pts, self.confidence)]

    def close(self):
        pass


class FiftyOneBlobModel(Model):
    """A FiftyOne model returning ``fo.Keypoints`` in relative coordinates."""

    media_type = "image"
    ragged_batches = False
    transforms = None
    preprocess = False

    def __init__(self):
        self.entered = 0

    def __enter__(self):
        self.entered += 1
        return self

    def predict(self, arg):
        h, w = arg.shape[:2]
        pts = blob_centroids(arg) / [w, h]
        if np.isnan(pts).all():
            return fo.Keypoints(keypoints=[])
        return fo.Keypoints(keypoints=[fo.Keypoint(
            label="person", points=pts.tolist(), confidence=[0.9, 0.9, 0.1])])


def write_blob_image(path, key, blobs, size=(200, 100)):
    """A black image with square 5x5 blobs at integer pixel corners."""
    img = np.zeros((size[1], size[0], 3), np.uint8)
    img[:, :, 1] = key
    for node, (x, y) in blobs.items():
        img[y:y + 5, x:x + 5, 0] = COLOURS[node]
    cv2.imwrite(path, img[:, :, ::-1])
    return path


def add_blob_samples(dataset, tmp_path, n=8):
    """Adds ``n`` images, each with the three blobs at known places (sample
    fields ``blobs`` and ``key``, the image id in the green channel)."""
    samples = []
    for i in range(n):
        blobs = {"left_wrist": (20 + i, 30), "right_wrist": (120, 10 + i), "nose": (60, 60)}
        path = write_blob_image(str(tmp_path / ("img%d.png" % i)), i + 1, blobs)
        samples.append(fo.Sample(filepath=path, blobs=blobs, key=i + 1))
    dataset.add_samples(samples)
    return dataset


def coco_oks(gt, pred, area, sigmas):
    """COCO's object keypoint similarity (pycocotools' computeOks) for one
    pair, in pixels: over the ground truth's labelled nodes; a node the
    prediction lacks (NaN) scores 0."""
    gt, pred = np.asarray(gt, float), np.asarray(pred, float)
    labelled = ~np.isnan(gt).any(axis=1)
    variances = (2 * np.asarray(sigmas)) ** 2
    d2 = ((pred - gt) ** 2).sum(axis=1)
    e = d2 / variances / (area + np.spacing(1)) / 2
    ks = np.where(np.isnan(e), 0.0, np.exp(-e))
    return float(ks[labelled].sum() / labelled.sum())
