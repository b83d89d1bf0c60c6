"""The demo's extra photos of people: a group photo pre-annotated top-down
over its person boxes (one instance per person, each near that person's
hand-placed keypoints), a mirrored astronaut and a closer cameraman."""
import numpy as np

from posekit import demo_people
from posekit.templates import get_template
from preannotate_models import coco_oks


def _oks(sample, kp, gt):
    w, h = sample.metadata.width, sample.metadata.height
    g = np.asarray(gt.points, float) * [w, h]
    p = np.asarray(kp.points, float) * [w, h]
    area = float(np.prod(np.nanmax(g, axis=0) - np.nanmin(g, axis=0)))
    return coco_oks(g, p, area, get_template("coco17").sigmas)


def test_extra_photos_are_pre_annotated_one_instance_per_person(demo_dataset):
    before = len(demo_dataset)
    view = demo_people.add_people_photos(demo_dataset)
    assert len(demo_dataset) == before + 3 and len(view) == 3
    scores = {}
    for s in view:
        name = s.filepath.rsplit("/", 1)[-1]
        pre = s[demo_people.FIELD].keypoints
        assert len(pre) == len(s.ground_truth.keypoints), name
        if s.people is not None:  # the group photo: matched by box
            boxes = {d.id: i for i, d in enumerate(s.people.detections)}
            assert sorted(boxes[kp.detection_id] for kp in pre) == [0, 1, 2]
            for kp in pre:
                gt = s.ground_truth.keypoints[boxes[kp.detection_id]]
                scores["group/%d" % boxes[kp.detection_id]] = _oks(s, kp, gt)
        else:
            scores[name] = _oks(s, pre[0], s.ground_truth.keypoints[0])
    print("COCO OKS of the extra photos:", {k: round(v, 3) for k, v in scores.items()})
    assert len(scores) == 5
    assert min(scores.values()) >= 0.45
