"""pre_annotate over a view, with small models (tests/preannotate_models.py): the field comes
out in the target skeleton's order with NaN for missing / low-confidence
nodes, top-down crops land back in full-image coordinates, a FiftyOne
``Model`` works through the same function, and slices are disjoint and
rerunnable."""
import os

import cv2
import fiftyone as fo
import numpy as np
import pytest

from posekit.preannotate import pre_annotate, slice_bounds, slice_view
from posekit.preannotate.run import RUN_ATTR

from preannotate_models import (
    COLOURS, BlobModel, FiftyOneBlobModel, add_blob_samples, write_blob_image,
)


@pytest.fixture
def blob_dataset(dataset, tmp_path):
    """Eight blob images."""
    return add_blob_samples(dataset, tmp_path)


def test_target_order_nan_for_missing_nodes_and_threshold(blob_dataset):
    ds = blob_dataset
    ds.default_skeleton = fo.KeypointSkeleton(labels=["nose", "neck", "left_wrist", "right_wrist"], edges=[])
    ds.save()
    out = pre_annotate(ds, "auto", model=BlobModel(), threshold=0.5)
    assert out["samples"] == 8 and out["instances"] == 8
    for s in ds:
        (kp,) = s.auto.keypoints
        pts = np.asarray(kp.points)
        bx, by = s.blobs["left_wrist"]
        # nose (0.6) kept; neck: no such node; right_wrist below 0.5: NaN
        assert np.allclose(pts[0], np.array([62.5, 62.5]) / [200, 100])
        assert np.isnan(pts[1]).all() and np.isnan(pts[3]).all()
        assert np.allclose(pts[2], np.array([bx + 2.5, 32.5]) / [200, 100])
        assert np.isnan(kp.confidence[1])
        assert kp.confidence[0] == 0.6 and kp.confidence[2] == 0.9 and kp.confidence[3] == 0.2
    # a lower threshold keeps the 0.2 node
    pre_annotate(ds, "auto", model=BlobModel(), threshold=0.1)
    assert not np.isnan(ds.first().auto.keypoints[0].points[3]).any()


def test_no_node_above_threshold_gives_no_instance(blob_dataset):
    pre_annotate(blob_dataset, "auto", model=BlobModel(confidence=(0.1, 0.1, 0.1)),
                 skeleton=["nose", "left_wrist"], threshold=0.5)
    assert all(s.auto is not None and s.auto.keypoints == [] for s in blob_dataset)
    assert blob_dataset.skeletons["auto"].labels == ["nose", "left_wrist"]


def test_top_down_points_land_in_full_image_coordinates(dataset, tmp_path):
    # two people: one in the middle, one cut by the image's bottom-left corner
    path = write_blob_image(str(tmp_path / "two.png"), 1, {"left_wrist": (40, 30)})
    img = cv2.imread(path)
    img[88:93, 3:8, 2] = COLOURS["left_wrist"]  # BGR: R channel is index 2
    cv2.imwrite(path, img)
    boxes = [
        fo.Detection(label="person", bounding_box=[0.15, 0.2, 0.15, 0.3]),
        fo.Detection(label="person", bounding_box=[0.0, 0.8, 0.1, 0.2]),
        fo.Detection(label="car", bounding_box=[0.6, 0.6, 0.3, 0.3]),
    ]
    dataset.add_sample(fo.Sample(filepath=path, people=fo.Detections(detections=boxes)))
    model = BlobModel(confidence=(0.9, 0.9, 0.9))
    out = pre_annotate(dataset, "auto", model=model, skeleton=["left_wrist"],
                       detections_field="people", margin=0.25)
    assert out["instances"] == 2
    assert len(model.calls) == 2  # the car is not a person
    # crop sizes: box grown by 25% a side (7.5 px: 22.5..67.5 -> 22..68), clipped
    assert model.calls[0] == (46, 46, 3) and model.calls[1][:2] == (25, 25)
    kps = dataset.first().auto.keypoints
    got = {kp.detection_id: np.asarray(kp.points[0]) * [200, 100] for kp in kps}
    assert np.allclose(got[boxes[0].id], [42.5, 32.5])
    assert np.allclose(got[boxes[1].id], [5.5, 90.5])


def test_a_fiftyone_model_through_the_same_function(blob_dataset):
    model = FiftyOneBlobModel()
    pre_annotate(blob_dataset, "auto", model=model,
                 model_labels=list(COLOURS), skeleton=["right_wrist", "left_wrist", "nose"],
                 threshold=0.5)
    assert model.entered == 1
    for s in blob_dataset:
        (kp,) = s.auto.keypoints
        x, y = s.blobs["right_wrist"]
        assert np.allclose(np.asarray(kp.points[0]) * [200, 100], [x + 2.5, y + 2.5])
        assert np.isnan(kp.points[2]).all()  # the nose came with 0.1
    # declared labels that do not fit the model's output are an error
    with pytest.raises(ValueError, match="3 keypoints per instance but declares 17"):
        pre_annotate(blob_dataset, "bad", model=FiftyOneBlobModel(), model_labels="coco17")


def test_slices_are_disjoint_and_cover_the_view(blob_dataset):
    view = blob_dataset.match(fo.ViewField("key") != 4)
    bounds = slice_bounds(view, 3)
    assert len(bounds) == 3 and bounds[0][0] is None and bounds[-1][1] is None
    parts = [set(slice_view(view, b).values("id")) for b in bounds]
    assert sum(len(p) for p in parts) == 7 == len(set().union(*parts))
    assert sorted(len(p) for p in parts) == [2, 2, 3]
    with pytest.raises(ValueError):
        slice_bounds(view, 0)


def test_a_failed_slice_reruns_alone_and_no_sample_is_done_twice(blob_dataset):
    ds = blob_dataset
    bounds = slice_bounds(ds, 2)
    second = slice_view(ds, bounds[1])
    fail_key = sorted(second.values("key"))[2]  # third image of the 2nd slice
    model = BlobModel(fail_on={fail_key})
    pre_annotate(ds, "auto", model=model, skeleton=["nose"], run_key="r1", bounds=bounds[0])
    with pytest.raises(RuntimeError, match="model failure"):
        pre_annotate(ds, "auto", model=model, skeleton=["nose"], run_key="r1",
                     bounds=bounds[1], batch_size=1)
    written = ds.match(fo.ViewField("auto." + RUN_ATTR) == "r1")
    assert len(written) == 4 + 2  # slice 1, and slice 2 up to the failure
    # the rerun of the failed slice does only what is left
    fixed = BlobModel()
    out = pre_annotate(ds, "auto", model=fixed, skeleton=["nose"], run_key="r1",
                       bounds=bounds[1])
    assert out["samples"] == 2 and len(fixed.calls) == 2
    assert len(written) == 8
    assert len(model.calls) == 4 + 3  # nothing predicted twice


def test_unreadable_images_are_counted_and_left_unwritten(blob_dataset, tmp_path):
    bad = str(tmp_path / "missing.png")
    blob_dataset.add_sample(fo.Sample(filepath=bad))
    out = pre_annotate(blob_dataset, "auto", model=BlobModel(), skeleton=["nose"])
    assert out["unreadable"] == 1 and out["samples"] == 8
    assert blob_dataset.match(fo.ViewField("filepath") == bad).first().auto is None
    assert not os.path.exists(bad)
