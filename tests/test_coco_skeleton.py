"""COCO keypoint categories <-> skeletons."""
import copy
import json

import pytest

from posekit.coco import CocoError, skeleton_from_coco, skeleton_to_coco
from posekit.skeleton import Skeleton
from posekit.templates import get_template, list_templates

PERSON = {
    "supercategory": "person", "id": 1, "name": "person",
    "keypoints": get_template("coco17").labels,
    "skeleton": [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13],
                 [6, 7], [6, 8], [7, 9], [8, 10], [9, 11], [2, 3], [1, 2], [1, 3],
                 [2, 4], [3, 5], [4, 6], [5, 7]],
}


def test_round_trip_is_exact_including_through_fiftyone():
    s = skeleton_from_coco({"images": [], "categories": [PERSON]})
    assert skeleton_to_coco(s) == PERSON
    back = Skeleton.from_fo(s.to_fo(), s.meta())
    assert skeleton_to_coco(back, name="person", id=1) == PERSON


def test_inputs_file_list_category_or_json_text():
    for obj in ({"categories": [PERSON]}, [PERSON], PERSON, json.dumps({"categories": [PERSON]})):
        assert skeleton_from_coco(obj).labels == PERSON["keypoints"]


def test_coco17_template_matches_official_pairs():
    t = get_template("coco17").to_model()
    ours = {frozenset(e) for e in skeleton_to_coco(t)["skeleton"]}
    assert ours == {frozenset(e) for e in PERSON["skeleton"]}


@pytest.mark.parametrize("tid", [t.id for t in list_templates()])
def test_every_template_round_trips_through_coco(tid):
    model = get_template(tid).to_model()
    cat = skeleton_to_coco(model, name=tid, id=3)
    again = skeleton_to_coco(skeleton_from_coco(json.dumps([cat])), name=tid, id=3)
    assert again == cat


def test_category_choice():
    hand = {"id": 2, "name": "hand", "keypoints": ["w", "t"], "skeleton": [[1, 2]]}
    nokp = {"id": 3, "name": "car"}
    cats = [PERSON, hand, nokp]
    with pytest.raises(CocoError, match="Several keypoint categories"):
        skeleton_from_coco(cats)
    assert skeleton_from_coco(cats, category="hand").labels == ["w", "t"]
    assert skeleton_from_coco(cats, category=2).edges == [("w", "t")]
    with pytest.raises(CocoError, match="No keypoint category 'dog'"):
        skeleton_from_coco(cats, category="dog")


@pytest.mark.parametrize("bad,msg", [
    ("{not json", "Not valid JSON"),
    ({"categories": [{"id": 1, "name": "x"}]}, "No category has a 'keypoints' list"),
    (42, "Expected a COCO file"),
    (dict(PERSON, skeleton=[[0, 1]]), "between 1 and 17"),
    (dict(PERSON, skeleton=[[1, 2, 3]]), "skeleton pair 1"),
])
def test_bad_input_messages(bad, msg):
    with pytest.raises(CocoError, match=msg):
        skeleton_from_coco(copy.deepcopy(bad))


def test_export_of_fiftyone_skeleton():
    import fiftyone as fo

    cat = skeleton_to_coco(fo.KeypointSkeleton(labels=["a", "b", "c"], edges=[[0, 1, 2]]), name="thing")
    assert cat == {"supercategory": "thing", "id": 1, "name": "thing",
                   "keypoints": ["a", "b", "c"], "skeleton": [[1, 2], [2, 3]]}
