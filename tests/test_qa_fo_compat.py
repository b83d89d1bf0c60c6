"""Contract of the FiftyOne private names posekit.qa uses (posekit/fo_compat.py)."""
import fiftyone as fo
from bson import ObjectId
from pymongo import UpdateOne

from posekit import fo_compat


def test_raw_values_root_dataset_and_bulk_update(dataset):
    dataset.add_sample(fo.Sample(filepath="/tmp/a.jpg", kp=fo.Keypoints(
        keypoints=[fo.Keypoint(label="p", points=[(0.1, 0.2)])])))
    ids, pts = fo_compat.raw_values(dataset, ["id", "kp.keypoints.points"])
    assert pts == [[[[0.1, 0.2]]]] and isinstance(ids[0], str)
    view = dataset.limit(1)
    assert fo_compat.root_dataset(view) is dataset
    dataset.add_sample_field("kp.keypoints.q", fo.StringField)
    kp_id = dataset.first().kp.keypoints[0].id
    res = fo_compat.bulk_update_samples(dataset, [UpdateOne(
        {"_id": ObjectId(ids[0]),
         fo_compat.element_id_path("kp.keypoints", 0): ObjectId(kp_id)},
        {"$set": {"kp.keypoints.0.q": "tp"}})])
    assert res.matched_count == 1
    assert dataset.values("kp.keypoints.q") == [["tp"]]
