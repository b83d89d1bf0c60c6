"""COCO keypoint categories <-> skeletons.

A COCO keypoints file describes its skeletons in ``categories``::

    {"id": 1, "name": "person", "supercategory": "person",
     "keypoints": ["nose", "left_eye", ...],
     "skeleton": [[16, 14], [14, 12], ...]}   # 1-based keypoint indices

:func:`skeleton_from_coco` reads one such category (from a whole file, its
``categories`` list, one category, or their JSON text); the edges become one
edge group, in file order. :func:`skeleton_to_coco` writes the same shape back
(all edge groups, in order), so a round trip gives the same names and pairs.
"""
import json

from posekit.skeleton import EdgeGroup, Skeleton

GROUP_NAME = "skeleton"


class CocoError(ValueError):
    """The COCO input is not a usable keypoints category."""


def keypoint_categories(categories_or_file_json):
    """The categories with ``keypoints`` in a COCO file, categories list,
    single category, or JSON text of any of those."""
    obj = categories_or_file_json
    if isinstance(obj, (str, bytes)):
        try:
            obj = json.loads(obj)
        except ValueError as e:
            raise CocoError(f"Not valid JSON: {e}") from None
    if isinstance(obj, dict) and "categories" in obj:
        obj = obj["categories"]
    if isinstance(obj, dict):
        obj = [obj]
    if not isinstance(obj, list) or not all(isinstance(c, dict) for c in obj):
        raise CocoError(
            "Expected a COCO file, its 'categories' list, or one category"
        )
    cats = [c for c in obj if c.get("keypoints")]
    if not cats:
        raise CocoError("No category has a 'keypoints' list")
    return cats


def _pick(cats, category):
    if category is None:
        if len(cats) > 1:
            names = ", ".join(repr(c.get("name")) for c in cats)
            raise CocoError(f"Several keypoint categories ({names}): pick one")
        return cats[0]
    for c in cats:
        if c.get("name") == category or (
            not isinstance(category, str) and c.get("id") == category
        ):
            return c
    names = ", ".join(repr(c.get("name")) for c in cats)
    raise CocoError(f"No keypoint category {category!r}; found {names}")


def skeleton_from_coco(categories_or_file_json, category=None):
    """A :class:`Skeleton` from a COCO keypoints category.

    Args:
        categories_or_file_json: a COCO file dict, its ``categories`` list,
            one category dict, or JSON text of any of those
        category: the category name or id; needed only when several
            categories have keypoints
    """
    cat = _pick(keypoint_categories(categories_or_file_json), category)
    labels = cat["keypoints"]
    if not all(isinstance(k, str) for k in labels):
        raise CocoError("'keypoints' must be a list of names")
    n = len(labels)
    edges = []
    for k, pair in enumerate(cat.get("skeleton") or []):
        ok = (
            isinstance(pair, (list, tuple))
            and len(pair) == 2
            and all(isinstance(i, int) and 1 <= i <= n for i in pair)
        )
        if not ok:
            raise CocoError(
                f"skeleton pair {k + 1} {pair!r} is not two 1-based indices "
                f"between 1 and {n}"
            )
        edges.append((labels[pair[0] - 1], labels[pair[1] - 1]))
    return Skeleton(labels=list(labels), edge_groups=[EdgeGroup(GROUP_NAME, edges)])


def skeleton_to_coco(skeleton, name="person", id=1, supercategory=None):
    """A COCO keypoints category dict for a skeleton.

    Args:
        skeleton: a :class:`Skeleton` or ``fo.KeypointSkeleton``
        name: the category name
        id: the category id
        supercategory: defaults to ``name``
    """
    if not isinstance(skeleton, Skeleton):
        skeleton = Skeleton.from_fo(skeleton)
    return {
        "supercategory": supercategory if supercategory is not None else name,
        "id": id,
        "name": name,
        "keypoints": list(skeleton.labels),
        "skeleton": [[a + 1, b + 1] for a, b in skeleton.index_edges()],
    }
